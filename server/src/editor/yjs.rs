//! `GET /yjs/{doc}`: the plain y-websocket protocol, one document per socket, so any Yjs client
//! (y-websocket's `WebsocketProvider`, y-sweet-style scripts) can join a Tandem document.
//! Authentication (session cookie or `?token=`) and the role check happen before the upgrade;
//! the shared driver (`socket.rs`) runs the connection.

use app::{
    AppError,
    auth::ssr::user_id_in,
    types::{ProjectId, history::Via},
};
use axum::{
    extract::{Path, Query, State, ws::WebSocketUpgrade},
    response::Response,
};
use bytes::Bytes;
use collab::{
    DocId,
    engine::{Outbound, Subscription},
};
use serde::Deserialize;
use tower_sessions::Session;

use super::{
    DocRef, Editor, access_for,
    socket::{Closing, Endpoint, refuse, upgrade},
    token,
};
use crate::{
    auth::{
        Membership,
        revoke::{AccessWatch, Grant, Verdict},
    },
    db::now,
};

#[derive(Debug, Deserialize)]
pub struct YjsQuery {
    token: Option<String>,
    project: Option<i64>,
}

pub async fn yjs(
    ws: WebSocketUpgrade,
    Path(doc): Path<String>,
    Query(query): Query<YjsQuery>,
    session: Session,
    State(editor): State<Editor>,
    State(membership): State<Membership>,
    State(ops): State<crate::ops::Ops>,
) -> Response {
    match authorize(&editor, &membership, &session, &doc, &query).await {
        Ok((doc, grant, name)) => {
            let slot = match membership.sockets.take(grant.user) {
                Ok(slot) => slot,
                Err(e) => return refuse(&e),
            };
            let user = grant.user;
            let watch = membership.watch(grant).await;
            // Subscribed before the upgrade, so the upgrade task holds only the driver: a
            // future that subscribed after the upgrade kept the socket, the endpoint and the
            // subscribing future beside the driver for the life of the connection (5 KB).
            let author = super::author(Some(user), Via::Yjs);
            let joined = editor
                .engine
                .subscribe(doc, access_for(watch.role()), author);
            let sub = match joined.await {
                Ok(sub) => sub,
                Err(e) => {
                    tracing::error!(doc = doc.0, error = %e, "cannot open document");
                    return refuse(&AppError::Unavailable(
                        "The document could not be opened; try again.".to_owned(),
                    ));
                }
            };
            let notices = ops.subscribe();
            let frozen = notices.borrow().maintenance.is_some();
            let endpoint = YjsEndpoint {
                sub,
                user,
                name,
                access: watch,
                notices,
                frozen,
                _slot: slot,
            };
            upgrade(ws, editor.limits, endpoint)
        }
        Err(e) => refuse(&e),
    }
}

/// Who is asking (token or session), which document, and with what role.
async fn authorize(
    editor: &Editor,
    membership: &Membership,
    session: &Session,
    doc: &str,
    query: &YjsQuery,
) -> Result<(DocId, Grant, String), AppError> {
    let doc = DocRef::parse(doc)?;
    // A token names one document of one project; the session cookie opens any document of the
    // user's projects. Either way the user's current role decides.
    let (user, project, token_doc, session_id) = match &query.token {
        Some(t) => {
            let claims = token::verify(editor.secret(), t, now()).map_err(|e| {
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
                None,
            )
        }
        None => {
            let user = user_id_in(session).await?.ok_or(AppError::NotSignedIn)?;
            (
                user,
                query.project.map(ProjectId),
                None,
                session.id().map(|id| id.to_string()),
            )
        }
    };
    // The account (for its name and to see it still exists) and the document with the user's
    // role on its project are independent reads: ask both at once. (A 5,000-client join storm
    // did not get measurably faster: the client process paces it; BENCHMARKS.md.)
    let (account, (doc, project, role)) = tokio::try_join!(
        membership.accounts.user(user),
        editor.resolve(&doc, project, user, membership.projects.as_ref()),
    )?;
    let Some(account) = account else {
        return Err(AppError::NotSignedIn);
    };
    if token_doc.is_some_and(|d| d != doc.0) {
        return Err(AppError::Forbidden);
    }
    Ok((
        doc,
        Grant {
            user,
            project,
            role,
            session: session_id,
        },
        account.name,
    ))
}

/// Plain y-websocket: the socket carries one document's messages as they are.
struct YjsEndpoint {
    sub: Subscription,
    /// Stamped into the awareness states this client publishes.
    user: app::types::UserId,
    name: String,
    access: AccessWatch,
    /// Maintenance starting or ending closes a writer's socket (see `next`).
    notices: tokio::sync::watch::Receiver<app::ops::Notice>,
    frozen: bool,
    /// This socket's place in the user's open-socket limit.
    _slot: crate::auth::SocketSlot,
}

impl Endpoint for YjsEndpoint {
    async fn received(&mut self, frame: Bytes) -> Result<Vec<Bytes>, Closing> {
        let frame = super::presence::stamp(frame, self.user, &self.name);
        self.sub
            .send(frame)
            .await
            .map_err(|e| Closing::invalid(e.to_string()))?;
        Ok(Vec::new())
    }

    async fn next(&mut self) -> Result<Option<Bytes>, Closing> {
        let before = access_for(self.access.role());
        let out = tokio::select! {
            out = self.sub.recv() => out,
            verdict = self.access.changed() => return match verdict {
                // One document per socket and no way to say "reopen" in plain y-websocket:
                // close, and the client's reconnect subscribes with the new access.
                Verdict::Role(role) if access_for(role) != before => {
                    Err(Closing::again("your role changed; reconnect"))
                }
                Verdict::Role(_) => Ok(None),
                Verdict::Revoked(why) => Err(Closing::revoked(why)),
            },
            changed = self.notices.changed() => {
                if changed.is_err() {
                    return Err(Closing::again("the server is restarting; reconnect"));
                }
                let frozen = self.notices.borrow_and_update().maintenance.is_some();
                if frozen == self.frozen || before == collab::engine::Access::ReadOnly {
                    self.frozen = frozen;
                    return Ok(None);
                }
                // Plain y-websocket cannot be told "read-only now" or "writable again": close,
                // and the client's reconnect syncs both ways (what it typed meanwhile was
                // refused and stays in its copy until then).
                return Err(Closing::again(if frozen {
                    "the server is in maintenance; reconnect"
                } else {
                    "maintenance ended; reconnect"
                }));
            }
        };
        match out {
            Some(Outbound::Message(bytes)) => Ok(Some(bytes)),
            // Durability acks travel on `/ws`; plain y-websocket has no message for them.
            Some(Outbound::Saved(_)) => Ok(None),
            Some(Outbound::Close(reason)) => Err(Closing::invalid(reason)),
            None => Err(Closing::again("too slow to keep up; reconnect to resync")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{auth::revoke, editor::socket::drive};

    /// The size of the future `f` returns, without calling it.
    fn output_size<A, B, C, F>(_: impl FnOnce(A, B, C) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// An idle connection keeps its driver future (the endpoint and its pending `next` and
    /// `received` inside) and the access watch's wait on the heap for as long as it stays open,
    /// so their sizes are memory per connection (issue 14 in BENCHMARKS.md): a guard against a
    /// large rarely-taken await growing every socket.
    #[test]
    fn an_idle_connection_keeps_small_futures() {
        let driver = output_size(drive::<YjsEndpoint>);
        let watch = revoke::wait_size();
        eprintln!("driver {driver} B, access wait {watch} B");
        assert!(
            driver <= 2048,
            "the driver future is {driver} B (1,472 B on 2026-12-05)"
        );
    }
}
