//! Where the Tandem server is. The server's own pages talk to the origin they came from; the
//! static client (the Trunk bundle, README "A static client") may be served from another
//! origin and names the server in its `index.html`:
//! `<meta name="tandem-server" content="https://tandem.example.com">`. Server functions,
//! sockets, downloads and the zip import then go there, with the user's cookies (the server
//! must list the client with `--client-origin`).

/// The configured server origin (no trailing slash), or `None` for this page's own origin.
pub fn server_origin() -> Option<String> {
    #[cfg(feature = "browser")]
    {
        thread_local! {
            static ORIGIN: Option<String> = configured();
        }
        ORIGIN.with(Clone::clone)
    }
    #[cfg(not(feature = "browser"))]
    {
        None
    }
}

#[cfg(feature = "browser")]
fn configured() -> Option<String> {
    let meta = leptos::prelude::document()
        .query_selector("meta[name=tandem-server]")
        .ok()
        .flatten()?;
    let origin = meta.get_attribute("content")?;
    let origin = origin.trim().trim_end_matches('/');
    let own = web_sys::window().and_then(|w| w.location().origin().ok());
    (!origin.is_empty() && own.as_deref() != Some(origin)).then(|| origin.to_owned())
}

/// `path` (starting with `/`) on the Tandem server: unchanged on the server's own pages.
pub fn server_url(path: &str) -> String {
    join(server_origin().as_deref(), path)
}

fn join(origin: Option<&str>, path: &str) -> String {
    match origin {
        Some(o) => format!("{o}{path}"),
        None => path.to_owned(),
    }
}

/// The `ws:`/`wss:` address of `path` on the Tandem server.
pub fn socket_url(path: &str) -> Option<String> {
    #[cfg(feature = "browser")]
    {
        let base = match server_origin() {
            Some(o) => o,
            None => web_sys::window()?.location().origin().ok()?,
        };
        socket_of(&base, path)
    }
    #[cfg(not(feature = "browser"))]
    {
        let _ = path;
        None
    }
}

#[cfg_attr(not(feature = "browser"), allow(dead_code))]
fn socket_of(origin: &str, path: &str) -> Option<String> {
    if let Some(rest) = origin.strip_prefix("https://") {
        Some(format!("wss://{rest}{path}"))
    } else {
        origin
            .strip_prefix("http://")
            .map(|rest| format!("ws://{rest}{path}"))
    }
}

/// Points server functions at the configured server and makes the browser send the session
/// cookie with them. Called once before the app mounts; nothing happens without a
/// `tandem-server` tag.
pub fn connect() {
    #[cfg(feature = "browser")]
    if let Some(origin) = server_origin() {
        // The server-function client keeps a `&'static str`; this runs once per page.
        let leaked: &'static str = Box::leak(origin.clone().into_boxed_str());
        leptos::server_fn::client::set_server_url(leaked);
        shim::include_credentials(&origin);
    }
}

#[cfg(feature = "browser")]
mod shim {
    use wasm_bindgen::prelude::*;

    // Server functions' browser client fetches with the default credentials mode
    // (`same-origin`), which leaves the cookie off a request to another origin, and has no
    // setting for it: requests to the server get `credentials: "include"` here instead.
    #[wasm_bindgen(inline_js = r#"
export function include_credentials(origin) {
  const send = window.fetch.bind(window);
  const ours = (url) => typeof url === "string" && url.startsWith(origin + "/");
  window.fetch = (input, init) => {
    if (input instanceof Request && !init && ours(input.url)) {
      return send(new Request(input, { credentials: "include" }));
    }
    if (ours(typeof input === "string" ? input : input instanceof URL ? input.href : "")) {
      return send(input, { ...init, credentials: "include" });
    }
    return send(input, init);
  };
}
"#)]
    extern "C" {
        pub(super) fn include_credentials(origin: &str);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_sockets_on_the_server() {
        assert_eq!(join(None, "/api/x"), "/api/x");
        assert_eq!(
            join(Some("https://tandem.example.com"), "/api/x"),
            "https://tandem.example.com/api/x"
        );
        assert_eq!(
            socket_of("https://tandem.example.com", "/ws?project=3").as_deref(),
            Some("wss://tandem.example.com/ws?project=3")
        );
        assert_eq!(
            socket_of("http://127.0.0.1:3000", "/yjs/4?token=t").as_deref(),
            Some("ws://127.0.0.1:3000/yjs/4?token=t")
        );
        assert_eq!(socket_of("file://x", "/ws"), None);
    }
}
