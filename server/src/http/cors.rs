//! Tandem's static client served from another origin (the Trunk bundle; README, "A static
//! client"). A browser lets a page call another origin with the user's cookies and read the
//! answer only when that origin says so (CORS with credentials). Only the origins listed with
//! `--client-origin` are told yes, each by name (credentials never go with a wildcard), and
//! nothing is listed by default. The origin check (`origin.rs`) still judges every change and
//! every socket; a listed client passes it as the server's own pages do.

use std::sync::Arc;

pub use crate::auth::parse_origin;
use axum::{
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// The listed client origins, as `Origin` headers carry them.
#[derive(Debug, Clone, Default)]
pub struct ClientOrigins(Arc<Vec<String>>);

impl ClientOrigins {
    /// Entries that do not parse are left out; `Args::check` refuses them at start.
    pub fn new(listed: &[String]) -> Self {
        Self(Arc::new(
            listed.iter().filter_map(|o| parse_origin(o).ok()).collect(),
        ))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// The request's `Origin` when it is a listed client.
    fn of(&self, headers: &HeaderMap) -> Option<String> {
        let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
        self.0
            .iter()
            .find(|o| o.eq_ignore_ascii_case(origin))
            .cloned()
    }
}

/// A redirect to one of the server's paths, answered to a listed client, points back at the
/// client: the zip import (a form posted from the client) lands on the client's project page,
/// not on the server's own.
fn back_to_client(h: &mut HeaderMap, origin: &str) {
    let Some(location) = h.get(header::LOCATION).and_then(|v| v.to_str().ok()) else {
        return;
    };
    if !location.starts_with('/') || location.starts_with("//") {
        return;
    }
    if let Ok(v) = HeaderValue::from_str(&format!("{origin}{location}")) {
        h.insert(header::LOCATION, v);
    }
}

/// What the app sends: server functions (GET and POST, form or JSON bodies), the zip import.
const METHODS: &str = "GET, HEAD, POST";
const HEADERS: &str = "accept, content-type";
/// Seconds a browser may keep a preflight's answer.
const PREFLIGHT_MAX_AGE: &str = "600";

fn allow(h: &mut HeaderMap, origin: &str) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    h.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
}

pub async fn cors(State(clients): State<ClientOrigins>, req: Request, next: Next) -> Response {
    if clients.is_empty() {
        return next.run(req).await;
    }
    let Some(origin) = clients.of(req.headers()) else {
        let mut res = next.run(req).await;
        // Answers differ by origin: a cache must not hand one origin's to another.
        res.headers_mut()
            .append(header::VARY, HeaderValue::from_static("origin"));
        return res;
    };
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let mut res = StatusCode::NO_CONTENT.into_response();
        let h = res.headers_mut();
        allow(h, &origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(METHODS),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(HEADERS),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static(PREFLIGHT_MAX_AGE),
        );
        h.append(header::VARY, HeaderValue::from_static("origin"));
        return res;
    }
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    allow(h, &origin);
    back_to_client(h, &origin);
    h.append(header::VARY, HeaderValue::from_static("origin"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_checked_and_normalised() {
        assert_eq!(
            parse_origin(" HTTPS://App.Example.com/ ").as_deref(),
            Ok("https://app.example.com")
        );
        assert_eq!(
            parse_origin("http://127.0.0.1:8080").as_deref(),
            Ok("http://127.0.0.1:8080")
        );
        for bad in [
            "app.example.com",
            "ftp://app.example.com",
            "https://app.example.com/ide",
            "https://*.example.com",
            "https://user@app.example.com",
            "https://",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_listed_origins_are_found() {
        let clients = ClientOrigins::new(&["https://app.example.com".to_owned()]);
        let with = |o: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::ORIGIN, HeaderValue::from_static(o));
            h
        };
        assert_eq!(
            clients.of(&with("https://app.example.com")).as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(clients.of(&with("https://evil.example")), None);
        assert_eq!(clients.of(&with("http://app.example.com")), None);
        assert_eq!(clients.of(&HeaderMap::new()), None);
    }

    #[test]
    fn redirects_to_own_paths_go_back_to_the_client() {
        let moved = |to: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::LOCATION, HeaderValue::from_static(to));
            back_to_client(&mut h, "https://app.example.com");
            h[header::LOCATION]
                .to_str()
                .map(str::to_owned)
                .unwrap_or_default()
        };
        assert_eq!(moved("/p/3"), "https://app.example.com/p/3");
        assert_eq!(
            moved("/login?next=/"),
            "https://app.example.com/login?next=/"
        );
        assert_eq!(moved("//evil.example/x"), "//evil.example/x");
        assert_eq!(
            moved("https://elsewhere.example/"),
            "https://elsewhere.example/"
        );
    }
}
