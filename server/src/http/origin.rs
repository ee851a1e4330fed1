//! Cross-site request refusal (finding 5 of the security review). Cookies go along with
//! requests a page on another site makes (`SameSite=Lax` stops only cross-site POSTs, not those
//! from a sibling subdomain or another port of the same host, and not websocket upgrades), so
//! every state-changing request and every websocket upgrade must come from this site's own
//! pages. The browser says where a request comes from (`Sec-Fetch-Site`, `Origin`), and a page
//! cannot forge either; a client that sends neither is not a browser and carries no victim's
//! cookies. Server functions also refuse bodies a cross-site form could send without a
//! preflight but the app never does (`text/plain`).

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{HeaderMap, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// Origins besides the request's own host that may make state-changing requests: a site
/// behind a proxy that rewrites `Host` names its public origin here (`--allowed-origin`).
#[derive(Debug, Clone, Default)]
pub struct Origins(Arc<Vec<String>>);

impl Origins {
    pub fn new(allowed: &[String]) -> Self {
        Self(Arc::new(
            allowed
                .iter()
                .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                .filter(|o| !o.is_empty())
                .collect(),
        ))
    }

    fn allows(&self, origin: &str) -> bool {
        self.0.iter().any(|o| o.eq_ignore_ascii_case(origin))
    }
}

/// The body types server functions and the import take.
const BODY_TYPES: [&str; 3] = [
    "application/x-www-form-urlencoded",
    "application/json",
    "multipart/form-data",
];

fn changes_state(req: &Request) -> bool {
    let upgrade = req
        .headers()
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    upgrade || !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether a state-changing request may proceed, from what the browser says about it.
pub(crate) fn same_site(headers: &HeaderMap, origins: &Origins) -> bool {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if origin.is_some_and(|o| origins.allows(o)) {
        return true;
    }
    match headers.get("sec-fetch-site").map(|v| v.as_bytes()) {
        // `none`: the user started it (typed the address, a bookmark).
        Some(b"same-origin" | b"none") => return true,
        Some(_) => return false,
        None => {}
    }
    match origin {
        None => true,
        // Sandboxed frames and some redirects: never this site's own pages.
        Some("null") => false,
        Some(o) => {
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
            let origin_host = o.split_once("://").map(|(_, h)| h);
            origin_host.is_some()
                && origin_host.map(str::to_ascii_lowercase) == host.map(str::to_ascii_lowercase)
        }
    }
}

fn acceptable_body(req: &Request) -> bool {
    if !req.uri().path().starts_with("/api/") || req.method() != Method::POST {
        return true;
    }
    let Some(kind) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        // No body type at all: nothing for a server function to parse either.
        return true;
    };
    let essence = kind.split(';').next().unwrap_or_default().trim();
    BODY_TYPES.iter().any(|t| t.eq_ignore_ascii_case(essence))
}

pub async fn check(State(origins): State<Origins>, req: Request, next: Next) -> Response {
    if changes_state(&req) && !same_site(req.headers(), &origins) {
        tracing::warn!(
            method = %req.method(),
            path = req.uri().path(),
            origin = ?req.headers().get(header::ORIGIN),
            "refused a cross-site request"
        );
        return (
            StatusCode::FORBIDDEN,
            "Cross-site request refused: this server only takes changes from its own pages \
             (behind a proxy, list the public origin with --allowed-origin).",
        )
            .into_response();
    }
    if !acceptable_body(&req) {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send application/x-www-form-urlencoded, application/json or multipart/form-data.",
        )
            .into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn browsers_are_judged_by_what_they_say() {
        let none = Origins::default();
        let allowed = Origins::new(&["https://tandem.example.com/".to_owned()]);
        let cases: [(&[(&str, &str)], bool); 10] = [
            // Not a browser: no ambient cookies to abuse.
            (&[], true),
            (&[("sec-fetch-site", "same-origin")], true),
            (&[("sec-fetch-site", "none")], true),
            (
                &[
                    ("sec-fetch-site", "same-site"),
                    ("origin", "http://app.example:8080"),
                ],
                false,
            ),
            (
                &[
                    ("sec-fetch-site", "cross-site"),
                    ("origin", "http://evil.example"),
                ],
                false,
            ),
            // Older browsers send only Origin: it must name this host.
            (
                &[
                    ("origin", "http://127.0.0.1:3000"),
                    ("host", "127.0.0.1:3000"),
                ],
                true,
            ),
            (
                &[
                    ("origin", "http://127.0.0.1:3001"),
                    ("host", "127.0.0.1:3000"),
                ],
                false,
            ),
            (
                &[
                    ("origin", "http://evil.example"),
                    ("host", "127.0.0.1:3000"),
                ],
                false,
            ),
            (&[("origin", "null"), ("host", "127.0.0.1:3000")], false),
            (
                &[("origin", "127.0.0.1:3000"), ("host", "127.0.0.1:3000")],
                false,
            ),
        ];
        for (pairs, want) in cases {
            assert_eq!(same_site(&headers(pairs), &none), want, "{pairs:?}");
        }
        // A proxy's public origin, listed, passes even where the browser calls it cross-site.
        let behind_proxy = headers(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://tandem.example.com"),
            ("host", "127.0.0.1:3000"),
        ]);
        assert!(same_site(&behind_proxy, &allowed));
        assert!(!same_site(&behind_proxy, &none));
    }
}
