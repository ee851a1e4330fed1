//! `GET /ws?project=ID`: one websocket per browser tab. Frames name their channel (`collab::wire`):
//! the project channel carries JSON events (open/close a document, "saved up to n"), each
//! document channel carries standard y-sync messages. The session cookie and membership of the
//! project are checked before the upgrade, the role on each document when the tab opens it.

use std::{
    collections::{HashMap, VecDeque},
    future::{Future, poll_fn},
    pin::Pin,
    sync::Arc,
    task::Poll,
    time::{Duration, Instant},
};

use app::{
    live::events::{ClientEvent, CompletionError, ServerEvent},
    projects::ssr::Projects,
    types::{DocId, ProjectId, Role, UserId, history::Via},
};
use axum::{
    extract::{Query, State, ws::WebSocketUpgrade},
    response::Response,
};
use bytes::Bytes;
use collab::{
    Channel, Frame,
    engine::{Access, Outbound, Subscription},
};
use serde::Deserialize;
use tokio::sync::broadcast;
use tower_sessions::Session;

use super::{CompletionAsk, CompletionHandle, CompletionPort, Hub, TabId, TerminalHandle, frame};
use crate::{
    auth::{
        Membership,
        revoke::{AccessWatch, Grant, Verdict},
    },
    editor::{
        DocRef, Editor, access_for,
        socket::{Closing, Endpoint, refuse, upgrade},
    },
    held::Held,
};

/// Documents one tab may have open at once; each costs the server a subscription.
const MAX_OPEN_DOCS: usize = 64;
/// "Is typing" is relayed at most this often per tab (the browser sends it every 2 s at most;
/// this bounds what a misbehaving one costs everyone else).
const TYPING_EVERY: Duration = Duration::from_millis(1_000);

#[derive(Debug, Deserialize)]
pub struct WsQuery {
    project: ProjectId,
}

// An axum handler: each state it needs is one extractor argument.
#[allow(clippy::too_many_arguments)]
pub async fn ws(
    ws: WebSocketUpgrade,
    Query(query): Query<WsQuery>,
    session: Session,
    State(editor): State<Editor>,
    State(hub): State<Hub>,
    State(membership): State<Membership>,
    State(TerminalHandle(terminals)): State<TerminalHandle>,
    State(CompletionHandle(completions)): State<CompletionHandle>,
    State(audit): State<crate::audit::Audit>,
    State(ops): State<crate::ops::Ops>,
) -> Response {
    let project = query.project;
    // Any role may connect; documents check theirs when opened.
    match membership.member_of(&session, project, Role::Viewer).await {
        Ok((user, role)) => {
            let slot = match membership.sockets.take(user.id) {
                Ok(slot) => slot,
                Err(e) => return refuse(&e),
            };
            let who = user.id;
            tokio::spawn(async move { audit.opened(project, who).await });
            let access = membership
                .watch(Grant {
                    user: user.id,
                    project,
                    role,
                    session: session.id().map(|id| id.to_string()),
                })
                .await;
            let (tab, events) = hub.join(project, user.id, user.name.clone());
            let greeting = frame(&ServerEvent::Viewers {
                viewers: hub.viewers(project),
            });
            let limits = editor.limits;
            let notices = ops.subscribe();
            let mut outbox = VecDeque::from([greeting]);
            // A tab that (re)connects during a notice learns it at once.
            let notice = notices.borrow().clone();
            let frozen = notice.maintenance.is_some();
            if !notice.is_empty() {
                outbox.push_back(frame(&ServerEvent::Notice { notice }));
            }
            let endpoint = TabSocket {
                editor,
                terminals,
                completions,
                completion: None,
                projects: membership.projects.clone(),
                user: user.id,
                name: user.name.clone(),
                last_typing: None,
                project,
                subs: HashMap::new(),
                turn: 0,
                hub,
                tab,
                events: Held::new(next_event(events)),
                access,
                outbox,
                notices,
                frozen,
                _slot: slot,
            };
            upgrade(ws, limits, endpoint)
        }
        Err(e) => refuse(&e),
    }
}

/// A completion on its way: its request id and the future that answers it.
type PendingCompletion = (
    u64,
    Pin<Box<dyn Future<Output = Result<String, (CompletionError, String)>> + Send>>,
);

struct TabSocket {
    editor: Editor,
    terminals: Arc<dyn super::TerminalPort>,
    completions: Arc<dyn CompletionPort>,
    /// This tab's one pending completion (a newer request replaces it).
    completion: Option<PendingCompletion>,
    projects: Arc<dyn Projects>,
    user: UserId,
    name: String,
    /// When this tab's last typing indicator went out (they are relayed at most every
    /// [`TYPING_EVERY`]).
    last_typing: Option<Instant>,
    project: ProjectId,
    subs: HashMap<collab::DocId, Subscription>,
    /// Where the next poll of the subscriptions starts, so a busy document cannot starve the
    /// others.
    turn: usize,
    hub: Hub,
    tab: TabId,
    /// Tree changes and presence for the whole project.
    events: Held<broadcast::Receiver<Bytes>, Result<Bytes, broadcast::error::RecvError>>,
    /// This tab's user's access, kept current while the socket is open.
    access: AccessWatch,
    /// Frames to send before anything else: first who has which files open right now, later
    /// what a role change means for the open documents.
    outbox: VecDeque<Bytes>,
    /// The server's notice (broadcast, maintenance, restart), relayed as it changes.
    notices: tokio::sync::watch::Receiver<app::ops::Notice>,
    /// Whether this tab's documents were opened during maintenance (read-only).
    frozen: bool,
    /// This socket's place in the user's open-socket limit.
    _slot: crate::auth::SocketSlot,
}

/// The project's next event, its receiver kept for the one after (see [`Held`]).
async fn next_event(
    mut events: broadcast::Receiver<Bytes>,
) -> (
    broadcast::Receiver<Bytes>,
    Result<Bytes, broadcast::error::RecvError>,
) {
    let event = events.recv().await;
    (events, event)
}

impl Drop for TabSocket {
    fn drop(&mut self) {
        let open: Vec<i64> = self
            .subs
            .keys()
            .filter_map(|id| i64::try_from(id.0).ok())
            .collect();
        self.editor.seen(self.user, open);
        self.hub.leave(self.project, self.tab);
        self.terminals.detach_tab(self.project, self.tab);
    }
}

impl TabSocket {
    /// The user's role changed while connected: say so, and close the documents whose access
    /// changed with it (the tab reopens them, and the new subscription has the new access).
    fn role_changed(&mut self, role: Role, before: Access) -> Result<(), Closing> {
        self.outbox
            .push_back(frame(&ServerEvent::RoleChanged { role }));
        if access_for(role) != before {
            self.close_all("your role changed")?;
        }
        Ok(())
    }

    /// Closes every open document with `reason`; the tab reopens them, and the new
    /// subscriptions get the access that holds now (a role change, maintenance).
    fn close_all(&mut self, reason: &str) -> Result<(), Closing> {
        let open: Vec<collab::DocId> = self.subs.drain().map(|(id, _)| id).collect();
        for id in open {
            let doc = DocId::try_from(id).map_err(|e| Closing::policy(e.to_string()))?;
            self.outbox.push_back(frame(&ServerEvent::Closed {
                doc,
                reason: reason.to_owned(),
            }));
        }
        Ok(())
    }

    /// The server's notice changed: relay it, and when maintenance started or ended close the
    /// open documents so they reopen with the access it leaves (the handshake then sends the
    /// server whatever the tab kept while it was read-only).
    fn notice_changed(&mut self) -> Result<Option<Bytes>, Closing> {
        let notice = self.notices.borrow_and_update().clone();
        let frozen = notice.maintenance.is_some();
        if frozen != self.frozen {
            self.frozen = frozen;
            self.close_all(if frozen {
                "maintenance started"
            } else {
                "maintenance ended"
            })?;
        }
        Ok(Some(frame(&ServerEvent::Notice { notice })))
    }

    /// Takes completion request `id`: refused at once when the person may not edit, the
    /// document is not open in this tab, or completions are off; otherwise it waits the
    /// debounce and asks the assistant, replacing (and so cancelling) the pending one.
    fn complete(&mut self, id: u64, doc: DocId, ask: CompletionAsk) -> Option<ServerEvent> {
        // Whatever happens, the pending request is superseded.
        self.completion = None;
        let refused =
            |error, message: &str| Some(completion_event(id, Err((error, message.to_owned()))));
        if self.access.role() < Role::Editor {
            return refused(
                CompletionError::NotAllowed,
                "Completions are for people who may edit this project.",
            );
        }
        let open = collab::DocId::try_from(doc).is_ok_and(|d| self.subs.contains_key(&d));
        if !open {
            return refused(
                CompletionError::NotAllowed,
                "That document is not open here.",
            );
        }
        let Some(debounce) = self.completions.debounce() else {
            return refused(
                CompletionError::Off,
                "Inline completions are off on this server.",
            );
        };
        let (port, project, user) = (self.completions.clone(), self.project, self.user);
        self.completion = Some((
            id,
            Box::pin(async move {
                tokio::time::sleep(debounce).await;
                port.complete(project, user, ask).await
            }),
        ));
        None
    }

    async fn open(&mut self, doc: DocId) -> ServerEvent {
        let Ok(id) = collab::DocId::try_from(doc) else {
            return ServerEvent::DocError {
                doc,
                message: "No such document.".to_owned(),
            };
        };
        // Opening again (after the server dropped a slow subscription) starts a fresh handshake.
        self.subs.remove(&id);
        if self.subs.len() >= MAX_OPEN_DOCS {
            return ServerEvent::DocError {
                doc,
                message: format!("At most {MAX_OPEN_DOCS} documents can be open in one tab."),
            };
        }
        let resolved = self
            .editor
            .resolve(
                &DocRef::Id(doc),
                Some(self.project),
                self.user,
                self.projects.as_ref(),
            )
            .await;
        let access = match resolved {
            Ok((_, _, role)) => access_for(role),
            Err(e) => {
                return ServerEvent::DocError {
                    doc,
                    message: e.to_string(),
                };
            }
        };
        let author = crate::editor::author(Some(self.user), Via::Browser);
        match self.editor.engine.subscribe(id, access, author).await {
            Ok(sub) => {
                self.subs.insert(id, sub);
                self.hub.viewing(self.project, self.tab, doc, true);
                self.editor.seen(self.user, vec![doc.0]);
                ServerEvent::Opened {
                    doc,
                    writable: access == Access::ReadWrite && !self.editor.engine.is_frozen(),
                }
            }
            Err(e) => {
                tracing::error!(doc = doc.0, error = %e, "cannot open document");
                ServerEvent::DocError {
                    doc,
                    message: "The document could not be opened. Try again.".to_owned(),
                }
            }
        }
    }
}

/// The pending completion's answer, with its id; never ready while there is none.
async fn next_completion(
    pending: &mut Option<PendingCompletion>,
) -> (u64, Result<String, (CompletionError, String)>) {
    match pending {
        Some((id, answer)) => (*id, answer.await),
        None => std::future::pending().await,
    }
}

/// The event that answers completion request `id`.
fn completion_event(id: u64, result: Result<String, (CompletionError, String)>) -> ServerEvent {
    match result {
        Ok(text) => ServerEvent::Completion { id, text },
        Err((error, message)) => ServerEvent::CompletionFailed { id, error, message },
    }
}

/// The next output of any open document (fairly rotated), with the document it is from.
async fn next_output(
    subs: &mut HashMap<collab::DocId, Subscription>,
    turn: &mut usize,
) -> (collab::DocId, Option<Outbound>) {
    poll_fn(|cx| {
        let n = subs.len();
        if n == 0 {
            return Poll::Pending;
        }
        // Start at a rotating position: first the subscriptions from there to the end, then
        // the ones before it. Two plain passes, no allocation per message.
        let start = *turn % n;
        let passes = [(start, n - start), (0, start)];
        for (skip, take) in passes {
            for (id, sub) in subs.iter_mut().skip(skip).take(take) {
                if let Poll::Ready(out) = sub.poll_recv(cx) {
                    *turn = turn.wrapping_add(1);
                    return Poll::Ready((*id, out));
                }
            }
        }
        Poll::Pending
    })
    .await
}

impl Endpoint for TabSocket {
    async fn received(&mut self, raw: Bytes) -> Result<Vec<Bytes>, Closing> {
        let incoming = Frame::decode(raw, self.editor.limits.max_message_bytes)
            .map_err(|e| Closing::invalid(e.to_string()))?;
        match incoming.channel {
            Channel::Project => {
                let request: ClientEvent = serde_json::from_slice(&incoming.payload)
                    .map_err(|e| Closing::invalid(format!("bad project event: {e}")))?;
                match request {
                    ClientEvent::Open { doc } => Ok(vec![frame(&self.open(doc).await)]),
                    ClientEvent::Close { doc } => {
                        if let Ok(id) = collab::DocId::try_from(doc)
                            && self.subs.remove(&id).is_some()
                        {
                            self.hub.viewing(self.project, self.tab, doc, false);
                            self.editor.seen(self.user, vec![doc.0]);
                        }
                        Ok(Vec::new())
                    }
                    ClientEvent::Typing { active } => {
                        let now = Instant::now();
                        let recent = self
                            .last_typing
                            .is_some_and(|t| now.duration_since(t) < TYPING_EVERY);
                        // "Stopped typing" always goes out, so indicators never linger.
                        if !active || !recent {
                            self.last_typing = active.then_some(now);
                            self.hub.publish(
                                self.project,
                                &ServerEvent::Typing {
                                    user: self.user,
                                    name: self.name.clone(),
                                    active,
                                },
                            );
                        }
                        Ok(Vec::new())
                    }
                    ClientEvent::TermInput { term, data } => {
                        let role = self.access.role();
                        Ok(self
                            .terminals
                            .input(self.project, self.user, role, term, data)
                            .await
                            .err()
                            .map(|message| frame(&ServerEvent::TermRefused { term, message }))
                            .into_iter()
                            .collect())
                    }
                    ClientEvent::TermAttach { term, cols, rows } => {
                        self.terminals
                            .attach(self.project, self.tab, term, cols, rows)
                            .await;
                        Ok(Vec::new())
                    }
                    ClientEvent::TermDetach { term } => {
                        self.terminals.detach(self.project, self.tab, term).await;
                        Ok(Vec::new())
                    }
                    ClientEvent::Complete {
                        id,
                        doc,
                        prefix,
                        suffix,
                        language,
                        path,
                    } => {
                        let ask = CompletionAsk {
                            prefix,
                            suffix,
                            language,
                            path,
                        };
                        Ok(self
                            .complete(id, doc, ask)
                            .map(|e| frame(&e))
                            .into_iter()
                            .collect())
                    }
                    ClientEvent::CancelCompletion { id } => {
                        // Dropping the future closes its upstream request, if it has one.
                        if self.completion.as_ref().is_some_and(|(p, _)| *p == id) {
                            self.completion = None;
                        }
                        Ok(Vec::new())
                    }
                }
            }
            Channel::Doc(id) => {
                let sub = self
                    .subs
                    .get(&id)
                    .ok_or_else(|| Closing::policy(format!("document {} is not open", id.0)))?;
                let payload =
                    crate::editor::presence::stamp(incoming.payload, self.user, &self.name);
                sub.send(payload)
                    .await
                    .map_err(|e| Closing::invalid(e.to_string()))?;
                Ok(Vec::new())
            }
        }
    }

    async fn next(&mut self) -> Result<Option<Bytes>, Closing> {
        if let Some(first) = self.outbox.pop_front() {
            return Ok(Some(first));
        }
        // Every arm is cancel-safe: a broadcast receive, the access watch, a poll of the
        // subscriptions, and the pending completion (kept in `self` between polls).
        let before = access_for(self.access.role());
        let (id, out) = tokio::select! {
            verdict = self.access.changed() => return match verdict {
                Verdict::Role(role) => self.role_changed(role, before).map(|()| None),
                Verdict::Revoked(why) => Err(Closing::revoked(why)),
            },
            changed = self.notices.changed() => return match changed {
                Ok(()) => self.notice_changed(),
                // The server is stopping.
                Err(_) => Err(Closing::again("the server is restarting; reconnect")),
            },
            project_event = self.events.next(next_event) => return Ok(match project_event {
                Ok(bytes) => Some(bytes),
                Err(broadcast::error::RecvError::Lagged(_)) => Some(frame(&ServerEvent::Resync)),
                Err(broadcast::error::RecvError::Closed) => {
                    return Err(Closing::policy("project events ended; reconnect".to_owned()));
                }
            }),
            output = next_output(&mut self.subs, &mut self.turn) => output,
            (id, result) = next_completion(&mut self.completion) => {
                self.completion = None;
                return Ok(Some(frame(&completion_event(id, result))));
            }
        };
        // Subscriptions are only made from ids that fit (see `open`).
        let doc = DocId::try_from(id).map_err(|e| Closing::policy(e.to_string()))?;
        match out {
            Some(Outbound::Message(bytes)) => {
                Ok(Some(Frame::new(Channel::Doc(id), bytes).encode()))
            }
            Some(Outbound::Saved(n)) => Ok(Some(frame(&ServerEvent::Saved { doc, n }))),
            Some(Outbound::Close(reason)) => Err(Closing::invalid(reason)),
            None => {
                // Dropped for being too slow: the tab reopens it and the handshake resyncs.
                self.subs.remove(&id);
                Ok(Some(frame(&ServerEvent::Closed {
                    doc,
                    reason: "fell behind; reopen to resync".to_owned(),
                })))
            }
        }
    }
}
