//! Response headers that narrow what a page may do: a strict Content-Security-Policy on pages
//! (inline scripts only with the render's nonce, which Leptos puts on its hydration and
//! resource scripts; Monaco's workers and styles allowed explicitly; no framing), and on every
//! response `nosniff`, a same-origin referrer and, with `--secure-cookies`, HSTS.

use axum::{
    extract::{Request, State},
    http::{HeaderValue, header},
    middleware::Next,
    response::Response,
};

/// The policy of a page rendered with `nonce`. Monaco adds `<style>` elements and lays out
/// with inline styles, and the page sets CSS variables in `style` attributes, hence
/// `'unsafe-inline'` for styles only; `'wasm-unsafe-eval'` lets the app's wasm compile.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; \
         worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; \
         form-action 'self'; object-src 'none'"
    )
}

/// Server-function answers are data: nothing in them may run or be framed.
const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// Sets the page policy for the page being rendered (called in every render's Leptos
/// context, where the render's nonce and response options live).
pub fn provide_page_policy() {
    use leptos::prelude::use_context;
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    if let Ok(value) = HeaderValue::from_str(&page_policy(&nonce)) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Whether HSTS is sent (only over HTTPS, which `--secure-cookies` says the site is behind).
#[derive(Debug, Clone, Copy)]
pub struct Hsts(pub bool);

pub async fn security_headers(State(hsts): State<Hsts>, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    if api {
        h.entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(HeaderValue::from_static(API_POLICY));
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Invite links carry their token in the path: never send it to another site.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if hsts.0 {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    res
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_policy_names_the_nonce_and_forbids_framing() {
        let p = super::page_policy("abc123");
        assert!(p.contains("script-src 'self' 'nonce-abc123' 'wasm-unsafe-eval';"));
        assert!(p.contains("frame-ancestors 'none'"));
        assert!(!p.contains("unsafe-eval'") || p.contains("wasm-unsafe-eval"));
        assert!(!p.contains("script-src 'self' 'unsafe-inline'"));
    }
}

/// The build's version (`Site::build`), if this binary carries a stamped site.
#[derive(Debug, Clone)]
pub struct Build(pub Option<HeaderValue>);

/// Adds `x-tandem-build` to pages, so the service worker knows which build a page is
/// (`public/sw.js`).
pub async fn build_header(State(build): State<Build>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    if let Some(v) = build.0
        && res
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|t| t.as_bytes().starts_with(b"text/html"))
    {
        res.headers_mut().insert("x-tandem-build", v);
    }
    res
}
