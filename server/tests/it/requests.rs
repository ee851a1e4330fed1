//! Finding 5 of the security review: a POST with `Origin: http://evil.example` got 200 and a
//! websocket upgrade with it got 101, and server functions took `text/plain` bodies. Now
//! cross-site changes and upgrades are refused, wrong body types too, and pages carry a strict
//! Content-Security-Policy whose nonce is the one on their inline scripts.

use reqwest::StatusCode;

use crate::common::{Backend, PASSWORD, TestServer, tab::TabClient};

/// A websocket upgrade with a session cookie, as a page of `origin` makes it.
async fn upgrade(
    url: &str,
    cookie: &str,
    origin: &str,
) -> Result<impl Sized, tokio_tungstenite::tungstenite::Error> {
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)
            .expect("request");
    request
        .headers_mut()
        .insert("cookie", cookie.parse().expect("cookie"));
    request
        .headers_mut()
        .insert("origin", origin.parse().expect("origin"));
    tokio_tungstenite::connect_async(request).await
}

async fn cross_site_requests_are_refused(backend: Backend) {
    let server = TestServer::start_with(backend, |c| {
        c.auth.allowed_origins = vec!["https://tandem.example.com".into()];
    })
    .await;
    let owner = server.client();
    owner.signup("oona").await;
    let project = owner.create_project("Origins").await;
    let host = server.url("").trim_start_matches("http://").to_owned();
    let login = |headers: Vec<(&'static str, String)>| {
        let http = owner.http.clone();
        let url = server.url("/api/login");
        async move {
            let mut req = http
                .post(url)
                .form(&[("name", "oona"), ("password", PASSWORD)]);
            for (k, v) in headers {
                req = req.header(k, v);
            }
            req.send().await.expect("request").status()
        }
    };
    // Forged from another site: refused before anything runs (login CSRF included).
    for headers in [
        vec![("origin", "http://evil.example".to_owned())],
        vec![
            ("origin", "http://evil.example".to_owned()),
            ("sec-fetch-site", "cross-site".to_owned()),
        ],
        vec![
            ("origin", "http://sibling.example".to_owned()),
            ("sec-fetch-site", "same-site".to_owned()),
        ],
        vec![("origin", "null".to_owned())],
    ] {
        assert_eq!(
            login(headers.clone()).await,
            StatusCode::FORBIDDEN,
            "{headers:?}"
        );
    }
    // The site's own pages, the listed proxy origin, and non-browser clients pass.
    for headers in [
        vec![("origin", format!("http://{host}"))],
        vec![
            ("origin", format!("http://{host}")),
            ("sec-fetch-site", "same-origin".to_owned()),
        ],
        vec![
            ("origin", "https://tandem.example.com".to_owned()),
            ("sec-fetch-site", "cross-site".to_owned()),
        ],
        vec![],
    ] {
        assert_eq!(login(headers.clone()).await, StatusCode::OK, "{headers:?}");
    }

    // A text/plain body (what a cross-site form can send without a preflight) is refused.
    let plain = owner
        .http
        .post(server.url("/api/projects/create"))
        .header("content-type", "text/plain")
        .body("name=Sneaky")
        .send()
        .await
        .expect("request");
    assert_eq!(plain.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        owner
            .ok("projects/list", &[])
            .await
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    // Websocket upgrades from another site are refused too.
    let url = server.ws_url(&format!("/ws?project={project}"));
    let refused = upgrade(&url, &owner.cookie(), "http://evil.example")
        .await
        .err()
        .map(|e| e.to_string());
    assert!(refused.is_some_and(|e| e.contains("403")));
    TabClient::connect(&url, &owner.cookie())
        .await
        .expect("a same-site upgrade still works");
    server.finish().await;
}

async fn pages_carry_a_strict_policy(backend: Backend) {
    let server = TestServer::start_with(backend, |c| c.auth.secure_cookies = true).await;
    let visitor = server.client();
    let page = visitor.get("/login").await;
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert_eq!(page.headers()["referrer-policy"], "same-origin");
    assert!(
        page.headers()["strict-transport-security"]
            .to_str()
            .is_ok_and(|v| v.starts_with("max-age="))
    );
    let html = page.text().await.expect("body");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("the policy names a nonce");
    assert!(nonce.len() >= 16, "{csp}");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'"));
    assert!(!csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
    // Every inline script of the page carries the nonce (otherwise hydration would not run).
    let inline_scripts = html.matches("<script").count();
    assert!(inline_scripts > 0);
    assert_eq!(
        html.matches(&format!("nonce=\"{nonce}\"")).count(),
        inline_scripts,
        "{html}"
    );
    // Another render, another nonce.
    let again = visitor.get("/login").await;
    assert_ne!(
        again.headers()["content-security-policy"].to_str().ok(),
        Some(csp.as_str())
    );
    // Server-function answers are data.
    let api = visitor
        .http
        .post(server.url("/api/me"))
        .send()
        .await
        .expect("me");
    assert_eq!(
        api.headers()["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
    server.finish().await;
}

/// The static client served from another origin (README, "A static client"): a listed origin
/// gets CORS answers with credentials (preflights too), may change things and open sockets,
/// and a redirect answered to it points back at it; any other origin gets no CORS at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listed_client_origins_get_cors_with_credentials() {
    const CLIENT: &str = "http://app.example:8080";
    const OTHER: &str = "http://evil.example";
    let server = TestServer::start_with(Backend::Sqlite, |c| {
        c.auth.client_origins = vec![format!("{CLIENT}/")];
    })
    .await;
    let owner = server.client();
    owner.signup("cora").await;
    let header = |res: &reqwest::Response, name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };

    // A JSON call needs a preflight: answered for the client, not for anyone else.
    let preflight = |origin: &'static str| {
        owner
            .http
            .request(reqwest::Method::OPTIONS, server.url("/api/projects/create"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let ok = preflight(CLIENT).await.expect("preflight");
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        header(&ok, "access-control-allow-origin").as_deref(),
        Some(CLIENT)
    );
    assert_eq!(
        header(&ok, "access-control-allow-credentials").as_deref(),
        Some("true")
    );
    assert!(header(&ok, "access-control-allow-methods").is_some_and(|m| m.contains("POST")));
    assert!(
        header(&ok, "access-control-allow-headers").is_some_and(|h| h.contains("content-type"))
    );
    let other = preflight(OTHER).await.expect("preflight");
    assert_eq!(header(&other, "access-control-allow-origin"), None);

    // The call itself, with the session cookie, as the browser sends it from the client.
    let create = |origin: &'static str, name: &'static str| {
        owner
            .http
            .post(server.url("/api/projects/create"))
            .header("origin", origin)
            .header("sec-fetch-site", "same-site")
            .form(&[("name", name)])
            .send()
    };
    let made = create(CLIENT, "From the client").await.expect("create");
    assert_eq!(made.status(), StatusCode::OK);
    assert_eq!(
        header(&made, "access-control-allow-origin").as_deref(),
        Some(CLIENT)
    );
    assert_eq!(
        header(&made, "access-control-allow-credentials").as_deref(),
        Some("true")
    );
    assert!(header(&made, "vary").is_some_and(|v| v.contains("origin")));
    let refused = create(OTHER, "Forged").await.expect("create");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(header(&refused, "access-control-allow-origin"), None);
    let names: Vec<String> = owner
        .ok("projects/list", &[])
        .await
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(names, ["From the client"]);

    // The zip import is a form the client posts: its redirect leads back to the client.
    let form = reqwest::multipart::Form::new()
        .text("name", "Imported")
        .part(
            "file",
            reqwest::multipart::Part::bytes(crate::files::zip_of(&[("a.txt", b"a")]))
                .file_name("a.zip"),
        );
    let imported = owner
        .http
        .post(server.url("/api/projects/import"))
        .header("origin", CLIENT)
        .header("sec-fetch-site", "same-site")
        .multipart(form)
        .send()
        .await
        .expect("import");
    assert!(imported.status().is_redirection(), "{}", imported.status());
    let to = header(&imported, "location").unwrap_or_default();
    assert!(to.starts_with(&format!("{CLIENT}/p/")), "{to}");

    // Its sockets open; the server's own pages are unchanged.
    let project = owner.create_project("Sockets").await;
    let url = server.ws_url(&format!("/ws?project={project}"));
    upgrade(&url, &owner.cookie(), CLIENT)
        .await
        .expect("a listed client's socket opens");
    let page = owner.get("/").await;
    assert_eq!(header(&page, "access-control-allow-origin"), None);
    server.finish().await;
}

/// Settings that cannot work are refused at start, saying why.
#[tokio::test]
async fn client_origin_settings_are_checked() {
    let dir = tempfile::tempdir().expect("dir");
    for (tweak, want) in [
        (
            (|c: &mut server::config::Config| c.auth.client_origins = vec!["app.example".into()])
                as fn(&mut server::config::Config),
            "not an origin",
        ),
        (
            |c: &mut server::config::Config| c.auth.cross_site_cookies = true,
            "needs --secure-cookies",
        ),
    ] {
        let mut config = server::config::Config::for_data_dir(dir.path());
        config.bind = "127.0.0.1:0".parse().expect("addr");
        tweak(&mut config);
        let err = server::start(config).await.err().map(|e| e.to_string());
        assert!(err.as_deref().is_some_and(|e| e.contains(want)), "{err:?}");
    }
}

db_tests!(cross_site_requests_are_refused, pages_carry_a_strict_policy);
