//! `GET /api/dashboard/live`: the team dashboard's server-sent events. The stream follows the
//! project channel of each project the signed-in person is a member of (as a watcher, not a
//! tab: no presence of its own) and sends `{"project": id}` whenever something the dashboard
//! shows changed there (presence, chat, runs, edits folded into the feed); the page then
//! refetches. The access announcements are followed too: a project the person loses stops at
//! once, one they join starts, and signing out ends the stream. The browser's `EventSource`
//! reconnects by itself, so the stream also ends after [`MAX_LIFE`] and starts afresh with the
//! projects and session checked again.

use std::{collections::HashMap, convert::Infallible, time::Duration};

use app::{
    AppError,
    types::{ProjectId, UserId},
};
use axum::{
    extract::State,
    response::{
        IntoResponse, Response,
        sse::{Event, KeepAlive, Sse},
    },
};
use bytes::Bytes;
use collab::Frame;
use tokio::{
    sync::{broadcast, mpsc},
    task::AbortHandle,
};
use tower_sessions::Session;

use crate::{
    auth::{Membership, revoke::AccessChange},
    live::Hub,
};

/// A stream's longest life before the browser reconnects (and everything is checked anew).
const MAX_LIFE: Duration = Duration::from_secs(600);
/// Pokes waiting for a slow browser; past it they are dropped (one is enough to refetch).
const QUEUE: usize = 16;
/// The project channel's frames are small JSON events; this bounds what is parsed.
const MAX_FRAME: usize = 1 << 20;

pub async fn live(
    session: Session,
    State(membership): State<Membership>,
    State(hub): State<Hub>,
    State(ops): State<crate::ops::Ops>,
) -> Response {
    let me = match app::auth::ssr::user_id_in(&session).await {
        Ok(Some(id)) => id,
        Ok(None) => return AppError::NotSignedIn.into_response(),
        Err(e) => return e.into_response(),
    };
    let slot = match membership.sockets.take(me) {
        Ok(slot) => slot,
        Err(e) => return e.into_response(),
    };
    // Subscribed before listing, so a change in between is in the queue.
    let changes = membership.revocations.subscribe();
    let projects = match membership.projects.list_for(me).await {
        Ok(list) => list,
        Err(e) => return e.into_response(),
    };
    let (tx, mut rx) = mpsc::channel::<Event>(QUEUE);
    let follow = Follow {
        me,
        session: session.id().map(|id| id.to_string()),
        hub,
        tx,
        forwards: HashMap::new(),
        notices: ops.subscribe(),
    };
    tokio::spawn(follow.run(projects.into_iter().map(|p| p.id).collect(), changes, slot));
    let stream = futures_util::stream::poll_fn(move |cx| {
        rx.poll_recv(cx).map(|e| e.map(Ok::<_, Infallible>))
    });
    let mut response = Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response();
    // Proxies must not hold the events back.
    response.headers_mut().insert(
        "x-accel-buffering",
        axum::http::HeaderValue::from_static("no"),
    );
    response
}

/// One dashboard's stream: a forwarding task per project it may see.
struct Follow {
    me: UserId,
    session: Option<String>,
    hub: Hub,
    tx: mpsc::Sender<Event>,
    forwards: HashMap<ProjectId, AbortHandle>,
    /// The server's notice: sent as a `notice` event whenever it changes.
    notices: tokio::sync::watch::Receiver<app::ops::Notice>,
}

impl Drop for Follow {
    fn drop(&mut self) {
        for (_, f) in self.forwards.drain() {
            f.abort();
        }
    }
}

fn poke(project: ProjectId) -> Event {
    Event::default().data(format!("{{\"project\":{}}}", project.0))
}

impl Follow {
    async fn run(
        mut self,
        projects: Vec<ProjectId>,
        mut changes: broadcast::Receiver<AccessChange>,
        _slot: crate::auth::SocketSlot,
    ) {
        for p in projects {
            self.start(p);
        }
        let _ = self.tx.try_send(Event::default().event("ready").data("{}"));
        let end = tokio::time::sleep(MAX_LIFE);
        tokio::pin!(end);
        loop {
            tokio::select! {
                () = self.tx.closed() => return,
                () = &mut end => return,
                changed = self.notices.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let notice = self.notices.borrow_and_update().clone();
                    let json = serde_json::to_string(&notice).unwrap_or_default();
                    let _ = self.tx.try_send(Event::default().event("notice").data(json));
                }
                change = changes.recv() => match change {
                    Ok(AccessChange::Role { project, user, role }) if user == self.me => {
                        match role {
                            Some(_) => self.start(project),
                            None => self.stop(project),
                        }
                        let _ = self.tx.try_send(poke(project));
                    }
                    Ok(AccessChange::ProjectDeleted { project }) => {
                        if self.forwards.contains_key(&project) {
                            self.stop(project);
                            let _ = self.tx.try_send(poke(project));
                        }
                    }
                    Ok(AccessChange::SessionEnded { session }) if self.session.as_deref() == Some(&session) => {
                        let _ = self.tx.send(Event::default().event("signed_out").data("{}")).await;
                        return;
                    }
                    Ok(_) => {}
                    // Missed announcements: start again, checked from the database.
                    Err(broadcast::error::RecvError::Lagged(_)) => return,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    }

    fn start(&mut self, project: ProjectId) {
        if self.forwards.contains_key(&project) {
            return;
        }
        let (watch, events) = self.hub.watch(project);
        let task = tokio::spawn(forward(project, watch, events, self.tx.clone()));
        self.forwards.insert(project, task.abort_handle());
    }

    fn stop(&mut self, project: ProjectId) {
        if let Some(f) = self.forwards.remove(&project) {
            f.abort();
        }
    }
}

/// Pokes the dashboard for the project's events it shows.
async fn forward(
    project: ProjectId,
    _watch: crate::live::hub::Watch,
    mut events: broadcast::Receiver<Bytes>,
    tx: mpsc::Sender<Event>,
) {
    loop {
        let shown = match events.recv().await {
            Ok(frame) => shows(frame),
            // Missed some: refetching covers them.
            Err(broadcast::error::RecvError::Lagged(_)) => true,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if shown && tx.try_send(poke(project)).is_err() && tx.is_closed() {
            return;
        }
    }
}

/// Whether a project event changes what the dashboard shows.
fn shows(frame: Bytes) -> bool {
    #[derive(serde::Deserialize)]
    struct Kind<'a> {
        #[serde(rename = "type", borrow)]
        kind: &'a str,
    }
    let Ok(f) = Frame::decode(frame, MAX_FRAME) else {
        return false;
    };
    serde_json::from_slice::<Kind<'_>>(&f.payload).is_ok_and(|k| {
        matches!(
            k.kind,
            "viewers" | "chat" | "run" | "activity" | "resync" | "tree"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::live::events::ServerEvent;

    #[test]
    fn only_what_the_dashboard_shows_pokes_it() {
        assert!(shows(crate::live::frame(&ServerEvent::Activity)));
        assert!(shows(crate::live::frame(&ServerEvent::Viewers {
            viewers: vec![]
        })));
        assert!(!shows(crate::live::frame(&ServerEvent::Typing {
            user: UserId(1),
            name: "ann".into(),
            active: true
        })));
        assert!(!shows(Bytes::from_static(b"\xff\xff")));
    }
}
