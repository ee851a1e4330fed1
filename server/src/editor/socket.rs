//! `GET /yjs/{doc}`: the plain y-websocket protocol, one document per socket, so any Yjs client
//! (y-websocket's `WebsocketProvider`, y-sweet-style scripts) can join a Tandem document.
//! Authentication (session cookie or `?token=`) and the role check happen before the upgrade;
//! the socket loop is one `select!` over client frames, the document's messages and a ping
//! ticker with an idle deadline.

use app::{AppError, auth::ssr::user_id_in, types::ProjectId};
use axum::{
    extract::{
        Path, Query, State,
        ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade, close_code},
    },
    http::StatusCode,
    response::{IntoResponse, Response},
};
use collab::{
    DocId,
    engine::{Access, Outbound},
};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::time::{Instant, interval};
use tower_sessions::Session;

use super::{DocRef, Editor, SocketLimits, access_for, token};
use crate::{db::now, http::AppState};

/// Per-socket read and write buffer size.
const SOCKET_BUFFER: usize = 4 * 1024;

#[derive(Debug, Deserialize)]
pub struct YjsQuery {
    token: Option<String>,
    project: Option<i64>,
}

fn refuse(error: &AppError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, error.to_string()).into_response()
}

pub async fn yjs(
    ws: WebSocketUpgrade,
    Path(doc): Path<String>,
    Query(query): Query<YjsQuery>,
    session: Session,
    State(state): State<AppState>,
) -> Response {
    match authorize(&state, &session, &doc, &query).await {
        Ok((doc, access)) => {
            let editor = state.editor.clone();
            let limits = editor.limits;
            // tungstenite's 128 KiB read and write buffers per socket dominate the memory of an
            // idle connection; y-sync messages are small, and larger ones still assemble.
            ws.max_message_size(limits.max_message_bytes)
                .max_frame_size(limits.max_message_bytes)
                .read_buffer_size(SOCKET_BUFFER)
                .write_buffer_size(SOCKET_BUFFER)
                .max_write_buffer_size(limits.max_message_bytes + SOCKET_BUFFER)
                .on_upgrade(move |socket| serve(socket, editor, doc, access))
        }
        Err(e) => refuse(&e),
    }
}

/// Who is asking (token or session), which document, and with what access.
async fn authorize(
    state: &AppState,
    session: &Session,
    doc: &str,
    query: &YjsQuery,
) -> Result<(DocId, Access), AppError> {
    let doc = DocRef::parse(doc)?;
    // A token names one document of one project; the session cookie opens any document of the
    // user's projects. Either way the user's current role decides.
    let (user, project, token_doc) = match &query.token {
        Some(t) => {
            let claims = token::verify(state.editor.secret(), t, now()).map_err(|e| {
                tracing::info!(error = %e, "refused a Yjs token");
                AppError::NotSignedIn
            })?;
            if query.project.is_some_and(|p| p != claims.p) {
                return Err(AppError::Forbidden);
            }
            (
                app::types::UserId(claims.u),
                Some(ProjectId(claims.p)),
                Some(claims.d),
            )
        }
        None => {
            let user = user_id_in(session).await?.ok_or(AppError::NotSignedIn)?;
            (user, query.project.map(ProjectId), None)
        }
    };
    if state.services.accounts.user(user).await?.is_none() {
        return Err(AppError::NotSignedIn);
    }
    let (doc, _, role) = state
        .editor
        .resolve(&doc, project, user, state.services.projects.as_ref())
        .await?;
    if token_doc.is_some_and(|d| d != doc.0) {
        return Err(AppError::Forbidden);
    }
    Ok((doc, access_for(role)))
}

/// A token bucket: `rate` messages per second, bursts up to twice that.
struct RateLimit {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimit {
    fn new(per_sec: u32) -> Self {
        let rate = f64::from(per_sec.max(1));
        Self {
            rate,
            tokens: rate * 2.0,
            last: Instant::now(),
        }
    }

    fn allow(&mut self) -> bool {
        self.allow_at(Instant::now())
    }

    fn allow_at(&mut self, now: Instant) -> bool {
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate)
            .min(self.rate * 2.0);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

async fn close(
    mut socket: futures_util::stream::SplitSink<WebSocket, WsMessage>,
    code: u16,
    reason: &str,
) {
    // Close reasons are limited to 123 bytes by the protocol.
    let reason: String = reason.chars().take(100).collect();
    let _ = socket
        .send(WsMessage::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await;
}

async fn serve(socket: WebSocket, editor: Editor, doc: DocId, access: Access) {
    let SocketLimits {
        messages_per_sec,
        idle_timeout,
        ..
    } = editor.limits;
    let (mut sink, mut stream) = socket.split();
    let mut sub = match editor.engine.subscribe(doc, access).await {
        Ok(sub) => sub,
        Err(e) => {
            tracing::error!(doc = doc.0, error = %e, "cannot open document");
            return close(sink, close_code::ERROR, "document unavailable").await;
        }
    };
    let mut rate = RateLimit::new(messages_per_sec);
    let mut ping = interval(idle_timeout / 3);
    let mut last_heard = Instant::now();
    let (code, reason) = loop {
        tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Ok(WsMessage::Binary(bytes))) => {
                    last_heard = Instant::now();
                    if !rate.allow() {
                        break (close_code::POLICY, "message rate limit exceeded".to_owned());
                    }
                    if let Err(e) = sub.send(bytes).await {
                        break (close_code::INVALID, e.to_string());
                    }
                }
                Some(Ok(WsMessage::Text(_))) => break (close_code::UNSUPPORTED, "binary y-sync messages only".to_owned()),
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => last_heard = Instant::now(),
                Some(Ok(WsMessage::Close(_))) | None => return,
                Some(Err(e)) => {
                    // Oversized messages surface here; the socket is unusable either way.
                    tracing::info!(doc = doc.0, error = %e, "websocket error");
                    break (close_code::SIZE, "message too large or malformed".to_owned());
                }
            },
            out = sub.recv() => match out {
                Some(Outbound::Message(bytes)) => {
                    if sink.send(WsMessage::Binary(bytes)).await.is_err() {
                        return;
                    }
                }
                // Durability acks travel on `/ws`; plain y-websocket has no message for them.
                Some(Outbound::Saved(_)) => {}
                Some(Outbound::Close(reason)) => break (close_code::INVALID, reason),
                None => break (close_code::AGAIN, "too slow to keep up; reconnect to resync".to_owned()),
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > idle_timeout {
                    break (close_code::AWAY, "idle timeout".to_owned());
                }
                if sink.send(WsMessage::Ping(bytes::Bytes::new())).await.is_err() {
                    return;
                }
            }
        }
    };
    drop(sub);
    close(sink, code, &reason).await;
}

#[cfg(test)]
mod tests {
    #[test]
    fn rate_limit_allows_bursts_then_refills() {
        let mut r = super::RateLimit::new(10);
        let t0 = r.last;
        let allowed = (0..30).filter(|_| r.allow_at(t0)).count();
        assert_eq!(allowed, 20, "burst of twice the rate");
        let later = t0 + std::time::Duration::from_millis(500);
        assert_eq!((0..30).filter(|_| r.allow_at(later)).count(), 5);
    }
}
