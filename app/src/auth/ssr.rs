//! Server side of accounts: the `Accounts` service the binary implements, and the session helpers
//! every server function uses to find out who is calling.

use std::{net::IpAddr, sync::Arc};

use async_trait::async_trait;
use axum::{extract::ConnectInfo, http::HeaderMap};
use tower_sessions::Session;

use crate::{
    error::{AppError, AppResult},
    types::{SessionInfo, UserId, UserInfo},
};

/// Session key holding the signed-in user's id.
pub const USER_KEY: &str = "user_id";
/// Session key: when the session signed in (Unix seconds).
pub const SINCE_KEY: &str = "since";
/// Session key: the browser's User-Agent at sign-in, shortened to [`AGENT_CHARS`].
pub const AGENT_KEY: &str = "agent";
/// Session key: when the session was last marked as used (Unix seconds).
pub const TOUCHED_KEY: &str = "touched";
/// How much of a User-Agent a session keeps.
pub const AGENT_CHARS: usize = 160;
/// Name of the session cookie; also how an expired session is told apart from no session.
pub const SESSION_COOKIE: &str = "tandem_session";

#[async_trait]
pub trait Accounts: Send + Sync + 'static {
    /// Creates the account; `Invalid { field: "name" }` when the name is taken. `invite`: the
    /// invite link's token the visitor is signing up to accept (what `--signup invite` asks
    /// for; checked to be live).
    async fn sign_up(
        &self,
        name: &str,
        password: &str,
        invite: Option<&str>,
        ip: IpAddr,
    ) -> AppResult<UserInfo>;
    /// Checks the password, rate-limited per IP and per account.
    async fn log_in(&self, name: &str, password: &str, ip: IpAddr) -> AppResult<UserInfo>;
    async fn user(&self, id: UserId) -> AppResult<Option<UserInfo>>;
    /// A server admin (`tandem user admin NAME`), who may open server folders as projects.
    async fn is_admin(&self, id: UserId) -> AppResult<bool>;
    /// Checks `current`, sets `new`, and ends the user's other sessions (all but `keep`, the
    /// id of the session asking), closing their sockets.
    async fn change_password(
        &self,
        user: UserId,
        current: &str,
        new: &str,
        keep: Option<String>,
    ) -> AppResult<()>;
    /// The user's live sessions; `current` is the id of the session asking.
    async fn sessions(&self, user: UserId, current: Option<String>) -> AppResult<Vec<SessionInfo>>;
    /// Ends one of the user's sessions, by its handle (`SessionInfo::handle`).
    async fn end_session(&self, user: UserId, handle: &str) -> AppResult<()>;
    /// Ends every session of the user but `keep`; returns how many ended.
    async fn end_other_sessions(&self, user: UserId, keep: Option<String>) -> AppResult<u64>;
    /// `Invalid { field }` unless `password` is the user's.
    async fn check_password(&self, user: UserId, password: &str, field: &str) -> AppResult<()>;
    /// Deletes the account: its name (freed for others) and password are gone and every
    /// session ends. The row stays as `deleted-<id>`, so what the user wrote keeps an author.
    /// Memberships are the caller's to settle first (`account::leaving::leave_all`).
    async fn delete_account(&self, user: UserId) -> AppResult<()>;
}

/// The accounts service, from the registry the binary provides.
pub fn accounts() -> AppResult<Arc<dyn Accounts>> {
    crate::services::service()
}

async fn session() -> AppResult<Session> {
    leptos_axum::extract::<Session>().await.map_err(|e| {
        tracing::error!(error = ?e, "session layer missing");
        AppError::Internal
    })
}

/// Reads the user id from a session; shared by server functions and the page guard.
pub async fn user_id_in(session: &Session) -> AppResult<Option<UserId>> {
    session.get::<UserId>(USER_KEY).await.map_err(|e| {
        tracing::error!(error = %e, "session store failed");
        AppError::Internal
    })
}

/// True when the request carried a session cookie; with no user in the session that means the
/// session expired (or was revoked) rather than that the caller never logged in.
pub fn had_session_cookie(headers: &HeaderMap) -> bool {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .any(|c| c.trim_start().starts_with(&format!("{SESSION_COOKIE}=")))
}

pub async fn current_user() -> AppResult<UserInfo> {
    let session = session().await?;
    let Some(id) = user_id_in(&session).await? else {
        let headers = leptos_axum::extract::<HeaderMap>()
            .await
            .unwrap_or_default();
        return Err(if had_session_cookie(&headers) {
            AppError::SessionExpired
        } else {
            AppError::NotSignedIn
        });
    };
    match accounts()?.user(id).await? {
        Some(user) => Ok(user),
        // The account is gone: drop the stale session.
        None => {
            let _ = session.flush().await;
            Err(AppError::NotSignedIn)
        }
    }
}

pub async fn start_session(user: &UserInfo) -> AppResult<()> {
    let session = session().await?;
    // A fresh id on login defeats session fixation.
    let store_err = |e: tower_sessions::session::Error| {
        tracing::error!(error = %e, "session store failed");
        AppError::Internal
    };
    session.cycle_id().await.map_err(store_err)?;
    let agent: String = leptos_axum::extract::<HeaderMap>()
        .await
        .ok()
        .and_then(|h| {
            h.get(axum::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(AGENT_CHARS).collect())
        })
        .unwrap_or_default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    session.insert(SINCE_KEY, now).await.map_err(store_err)?;
    session.insert(TOUCHED_KEY, now).await.map_err(store_err)?;
    session.insert(AGENT_KEY, agent).await.map_err(store_err)?;
    session.insert(USER_KEY, user.id).await.map_err(store_err)
}

/// The id of the calling request's session, if it has one.
pub async fn session_id() -> AppResult<Option<String>> {
    Ok(session().await?.id().map(|id| id.to_string()))
}

pub async fn end_session() -> AppResult<()> {
    session().await?.flush().await.map_err(|e| {
        tracing::error!(error = %e, "session store failed");
        AppError::Internal
    })
}

/// The client's address as the server decided it (the peer, or what a trusted proxy reports),
/// set on every request by the server's middleware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

pub async fn client_ip() -> IpAddr {
    if let Ok(axum::Extension(ClientIp(ip))) =
        leptos_axum::extract::<axum::Extension<ClientIp>>().await
    {
        return ip;
    }
    leptos_axum::extract::<ConnectInfo<std::net::SocketAddr>>()
        .await
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]))
}
