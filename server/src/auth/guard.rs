//! Page guard: pages that need an account redirect signed-out visitors to the login page (with
//! where they were going, and whether their session expired); signed-in visitors skip the login
//! and sign-up pages. Server functions do their own checks and answer 401 instead.

use app::{
    auth::ssr::{had_session_cookie, user_id_in},
    browser::encode_component,
};
use axum::{
    extract::Request,
    http::Method,
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::Session;

fn needs_account(path: &str) -> bool {
    path == "/" || path.starts_with("/p/") || path.starts_with("/invite/")
}

fn is_auth_page(path: &str) -> bool {
    path == "/login" || path == "/signup"
}

pub async fn guard(session: Session, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if req.method() != Method::GET || !(needs_account(path) || is_auth_page(path)) {
        return next.run(req).await;
    }
    let signed_in = match user_id_in(&session).await {
        Ok(id) => id.is_some(),
        Err(e) => return e.status_response(),
    };
    if needs_account(path) && !signed_in {
        let target = req
            .uri()
            .path_and_query()
            .map_or_else(|| path.to_owned(), |p| p.as_str().to_owned());
        let expired = if had_session_cookie(req.headers()) {
            "&expired=1"
        } else {
            ""
        };
        return Redirect::to(&format!(
            "/login?next={}{expired}",
            encode_component(&target)
        ))
        .into_response();
    }
    if is_auth_page(path) && signed_in {
        return Redirect::to("/").into_response();
    }
    next.run(req).await
}

trait StatusResponse {
    fn status_response(&self) -> Response;
}

impl StatusResponse for app::AppError {
    fn status_response(&self) -> Response {
        let status = axum::http::StatusCode::from_u16(self.status())
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        (status, self.to_string()).into_response()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn guarded_paths() {
        assert!(super::needs_account("/"));
        assert!(super::needs_account("/p/3"));
        assert!(super::needs_account("/invite/abc"));
        assert!(!super::needs_account("/login"));
        assert!(!super::needs_account("/pkg/tandem.js"));
        assert!(!super::needs_account("/api/login"));
    }
}
