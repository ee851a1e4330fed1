//! Page guard: pages that need an account redirect signed-out visitors to the login page (with
//! where they were going, and whether their session expired); signed-in visitors skip the login
//! and sign-up pages. Server functions do their own checks and answer 401 instead.
//!
//! Also where a session's idle expiry moves: tower-sessions only saves a session that was
//! modified, so without [`touch`] "idle" would mean "since sign-in". Saving on every request
//! would write the database for every asset; marking the session at most every
//! [`touch_every`] bounds that to a handful of writes per session per day.

use app::{
    auth::ssr::{TOUCHED_KEY, had_session_cookie, user_id_in},
    browser::encode_component,
};
use std::time::Duration;

use axum::{
    extract::{Request, State},
    http::Method,
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use tower_sessions::Session;

/// The configured idle timeout, as the guard's state.
#[derive(Debug, Clone, Copy)]
pub struct SessionIdle(pub Duration);

fn needs_account(path: &str) -> bool {
    path == "/" || path == "/account" || path.starts_with("/p/") || path.starts_with("/invite/")
}

fn is_auth_page(path: &str) -> bool {
    path == "/login" || path == "/signup"
}

/// How stale the mark may get: an eighth of the idle timeout, at most an hour. A session is
/// then never logged out earlier than 7/8 of the idle timeout after its last request.
pub fn touch_every(idle: Duration) -> Duration {
    (idle / 8).min(Duration::from_secs(3600))
}

/// Marks a signed-in session as used when the last mark is older than `every`; the changed
/// session is saved with a fresh expiry.
pub async fn touch(session: &Session, every: Duration) {
    if !matches!(user_id_in(session).await, Ok(Some(_))) {
        return;
    }
    let now = crate::db::now();
    let last = session.get::<i64>(TOUCHED_KEY).await.ok().flatten();
    let stale = last.is_none_or(|t| now.saturating_sub(t) >= every.as_secs() as i64);
    if stale && let Err(e) = session.insert(TOUCHED_KEY, now).await {
        tracing::warn!(error = %e, "could not mark a session as used");
    }
}

pub async fn guard(
    State(idle): State<SessionIdle>,
    session: Session,
    req: Request,
    next: Next,
) -> Response {
    touch(&session, touch_every(idle.0)).await;
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
        assert!(super::needs_account("/account"));
        assert!(!super::needs_account("/login"));
        assert!(!super::needs_account("/pkg/tandem.js"));
        assert!(!super::needs_account("/api/login"));
    }

    #[test]
    fn sessions_are_marked_a_few_times_per_idle_period() {
        use std::time::Duration;
        let week = Duration::from_secs(7 * 24 * 3600);
        assert_eq!(super::touch_every(week), Duration::from_secs(3600));
        assert_eq!(
            super::touch_every(Duration::from_secs(60)),
            Duration::from_millis(7_500)
        );
    }
}
