//! What every document websocket shares: upgrade limits, a message-rate token bucket, the ping
//! and idle deadline, close frames with reasons, and the one `select!` loop that drives an
//! [`Endpoint`] (`/yjs` for one document, `/ws` for a tab's project and documents).

use std::future::Future;

use axum::{
    extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade, close_code},
    response::Response,
};
use bytes::Bytes;
use futures_util::{FutureExt, SinkExt, StreamExt, stream::SplitSink};
use tokio::time::{Instant, interval};

use super::SocketLimits;
use crate::auth::revoke::Revoked;
use app::{AppError, live::events::close};

/// Per-socket read buffer, allocated up front for every connection: 256 B holds a keystroke or a
/// cursor message, and a frame whose header says it is larger is read into a buffer of its own
/// size (tungstenite reserves the frame's length). The buffer is also what a received frame's
/// bytes point into, so a frame kept after reading (an awareness state) keeps its chunk alive.
/// Measured per idle connection (5,000 Yjs clients): 1 KiB cost 0.5 kB more than 256 B, and
/// 4 KiB another 3 KB (BENCHMARKS.md).
const READ_BUFFER: usize = 256;

/// Frames gathered before the socket writes them out. The buffer grows only as it is used.
const WRITE_BUFFER: usize = 4 * 1024;

/// Frames written per wake-up at most before the socket is flushed, so one busy connection
/// cannot keep its task from reading.
const FRAMES_PER_FLUSH: usize = 64;

/// Why the server ends a connection: a websocket close code and a reason for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Closing {
    pub(crate) code: u16,
    pub(crate) reason: String,
}

impl Closing {
    /// The client sent something malformed (1007).
    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        Self {
            code: close_code::INVALID,
            reason: reason.into(),
        }
    }

    /// The client broke a rule (1008).
    pub(crate) fn policy(reason: impl Into<String>) -> Self {
        Self {
            code: close_code::POLICY,
            reason: reason.into(),
        }
    }

    /// The user lost access while connected; the code tells the browser not to reconnect.
    pub(crate) fn revoked(why: Revoked) -> Self {
        let (code, reason) = match why {
            Revoked::SignedOut => (close::SIGNED_OUT, "signed out"),
            Revoked::NoAccess => (
                close::NO_ACCESS,
                "you no longer have access to this project",
            ),
            Revoked::ProjectDeleted => (close::DELETED, "this project was deleted"),
        };
        Self {
            code,
            reason: reason.to_owned(),
        }
    }

    /// Too slow to keep up; reconnecting resyncs (1013).
    pub(crate) fn again(reason: impl Into<String>) -> Self {
        Self {
            code: close_code::AGAIN,
            reason: reason.into(),
        }
    }
}

/// One kind of document socket. The driver owns the socket and its limits; the endpoint only
/// turns client frames into engine calls and engine output into frames.
pub(crate) trait Endpoint: Send {
    /// A binary frame from the client; returns frames to answer with at once.
    fn received(
        &mut self,
        frame: Bytes,
    ) -> impl Future<Output = Result<Vec<Bytes>, Closing>> + Send;

    /// The next frame for the client, or `Ok(None)` for output with nothing to send. Raced
    /// against the socket, so it must be cancel-safe; it stays pending while there is nothing.
    fn next(&mut self) -> impl Future<Output = Result<Option<Bytes>, Closing>> + Send;
}

/// Applies the size limits and small buffers to an upgrade.
fn configure(ws: WebSocketUpgrade, limits: &SocketLimits) -> WebSocketUpgrade {
    // tungstenite's 128 KiB read and write buffers per socket dominate the memory of an idle
    // connection; y-sync messages are small, and larger ones still assemble.
    ws.max_message_size(limits.max_message_bytes)
        .max_frame_size(limits.max_message_bytes)
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        // What the server sends can be larger than what it accepts: a slow reader's backlog
        // merged into one update.
        .max_write_buffer_size(
            limits.max_message_bytes.max(limits.max_backlog_bytes) + WRITE_BUFFER,
        )
}

/// Upgrades to a websocket run by [`drive`] with `endpoint`. The driver runs inline in the task
/// axum spawns for the upgrade rather than in a box of its own: the task is sized for the
/// largest of its states anyway, and a boxed driver added a second allocation (~760 B of task
/// beside the ~1,450 B box per idle connection, heap profile in BENCHMARKS.md).
pub(crate) fn upgrade<E: Endpoint + 'static>(
    ws: WebSocketUpgrade,
    limits: SocketLimits,
    endpoint: E,
) -> Response {
    configure(ws, &limits).on_upgrade(move |socket| drive(socket, limits, endpoint))
}

/// A refusal before the upgrade, as a plain HTTP response with the error's status.
pub(crate) fn refuse(error: &AppError) -> Response {
    axum::response::IntoResponse::into_response(error.clone())
}

pub(crate) async fn close(mut socket: SplitSink<WebSocket, WsMessage>, closing: Closing) {
    // Close reasons are limited to 123 bytes by the protocol.
    let reason: String = closing.reason.chars().take(100).collect();
    let _ = socket
        .send(WsMessage::Close(Some(CloseFrame {
            code: closing.code,
            reason: reason.into(),
        })))
        .await;
}

/// Sends `first` and whatever else the endpoint has ready at once (at most
/// [`FRAMES_PER_FLUSH`] polls) with one flush: the frames gather in the socket's buffer and go
/// out in one write instead of a system call per message. Returns the endpoint's closing when
/// it ended meanwhile; `Err` when the socket is gone.
async fn send_ready<E: Endpoint>(
    sink: &mut SplitSink<WebSocket, WsMessage>,
    endpoint: &mut E,
    first: Bytes,
) -> Result<Option<Closing>, ()> {
    let mut ended = None;
    let mut frame = Some(first);
    for _ in 0..FRAMES_PER_FLUSH {
        if let Some(bytes) = frame.take() {
            sink.feed(WsMessage::Binary(bytes)).await.map_err(drop)?;
        }
        // An output with nothing to send (an ack on `/yjs`) still counts as a poll.
        match endpoint.next().now_or_never() {
            Some(Ok(next)) => frame = next,
            Some(Err(closing)) => {
                ended = Some(closing);
                break;
            }
            None => break,
        }
    }
    if let Some(bytes) = frame {
        sink.feed(WsMessage::Binary(bytes)).await.map_err(drop)?;
    }
    sink.flush().await.map_err(drop)?;
    Ok(ended)
}

/// Runs one connection until either side ends it: client frames (rate-limited), the
/// endpoint's output, and a ping every third of the idle timeout with a deadline for hearing
/// anything back.
pub(crate) async fn drive<E: Endpoint>(socket: WebSocket, limits: SocketLimits, mut endpoint: E) {
    let (mut sink, mut stream) = socket.split();
    let rate = crate::rate::PerSecond::new(limits.messages_per_sec);
    let mut ping = interval(limits.idle_timeout / 3);
    let mut last_heard = Instant::now();
    let closing = loop {
        tokio::select! {
            incoming = stream.next() => match incoming {
                Some(Ok(WsMessage::Binary(bytes))) => {
                    last_heard = Instant::now();
                    if !rate.allow() {
                        break Closing::policy("message rate limit exceeded");
                    }
                    match endpoint.received(bytes).await {
                        Ok(replies) => {
                            for reply in replies {
                                if sink.send(WsMessage::Binary(reply)).await.is_err() {
                                    return;
                                }
                            }
                        }
                        Err(closing) => break closing,
                    }
                }
                Some(Ok(WsMessage::Text(_))) => break Closing {
                    code: close_code::UNSUPPORTED,
                    reason: "binary messages only".to_owned(),
                },
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => last_heard = Instant::now(),
                Some(Ok(WsMessage::Close(_))) | None => return,
                Some(Err(e)) => {
                    // Oversized messages surface here; the socket is unusable either way.
                    tracing::info!(error = %e, "websocket error");
                    break Closing {
                        code: close_code::SIZE,
                        reason: "message too large or malformed".to_owned(),
                    };
                }
            },
            out = endpoint.next() => match out {
                Ok(Some(bytes)) => match send_ready(&mut sink, &mut endpoint, bytes).await {
                    Ok(None) => {}
                    Ok(Some(closing)) => break closing,
                    Err(()) => return,
                },
                Ok(None) => {}
                Err(closing) => break closing,
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > limits.idle_timeout {
                    break Closing { code: close_code::AWAY, reason: "idle timeout".to_owned() };
                }
                if sink.send(WsMessage::Ping(Bytes::new())).await.is_err() {
                    return;
                }
            }
        }
    };
    // Leave the documents before saying goodbye, so others see this cursor vanish promptly.
    drop(endpoint);
    close(sink, closing).await;
}
