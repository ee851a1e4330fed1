//! The tab's one websocket to `/ws?project=ID`: frames in and out, the documents open on it,
//! and reconnection with exponential backoff and jitter. It goes quiet (status "Offline") when
//! the browser reports no network and comes back the moment the network does.

use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
    future::poll_fn,
    rc::{Rc, Weak},
    task::{Context, Poll, Waker},
};

use bytes::Bytes;
use collab::{Channel, Frame};
use futures_util::{SinkExt, StreamExt};
use gloo_net::websocket::{Message, WebSocketError, events::CloseEvent, futures::WebSocket};
use leptos::{ev, prelude::*, task::spawn_local};

use super::{
    events::{ClientEvent, ServerEvent},
    status::{Link, backoff},
};
use crate::types::{DocId, ProjectId};

/// The server bounds what it sends too; this only stops a confused proxy from feeding us junk.
const MAX_FRAME: usize = 256 << 20;

/// What the connection needs of an open document (the editor's session is one): the frames of
/// its channel, the server's answers about its subscription, and shutdown.
pub(crate) trait DocChannel {
    fn on_message(&self, payload: &[u8]);
    fn opened(&self, writable: bool);
    fn saved(&self, n: u64);
    fn failed(&self, message: String);
    fn disconnected(&self);
    /// Access to the project ended (removed, deleted, signed out): nothing more can be saved.
    fn revoked(&self, why: &str);
    fn has_unsaved(&self) -> bool;
    fn dispose(&self);
}

/// One socket: gloo-net's `Stream` + `Sink` over it, read by one task ([`drive`]) that owns
/// the browser callbacks through it, so none can run after the socket it serves is gone.
struct Socket {
    io: RefCell<WebSocket>,
    /// The same browser socket, to read its state and to close it with a code while the task
    /// still waits for the close event (gloo's `close` consumes the stream).
    raw: web_sys::WebSocket,
}

impl Socket {
    fn open(url: &str) -> Option<Rc<Self>> {
        let raw = web_sys::WebSocket::new(url).ok()?;
        let io = WebSocket::try_from(raw.clone()).ok()?;
        Some(Rc::new(Self {
            io: RefCell::new(io),
            raw,
        }))
    }

    fn is_open(&self) -> bool {
        self.raw.ready_state() == web_sys::WebSocket::OPEN
    }

    fn close(&self, reason: &str) {
        let _ = self.raw.close_with_code_and_reason(1000, reason);
    }

    /// Hands one frame to the browser, which queues it: the sink is ready whenever the socket
    /// is open, so this never waits.
    fn send(&self, frame: Vec<u8>) -> bool {
        let Ok(mut io) = self.io.try_borrow_mut() else {
            return false;
        };
        let mut cx = Context::from_waker(Waker::noop());
        matches!(io.poll_ready_unpin(&mut cx), Poll::Ready(Ok(())))
            && io.start_send_unpin(Message::Bytes(frame)).is_ok()
    }
}

pub(crate) struct Connection {
    project: ProjectId,
    link: RwSignal<Link>,
    on_event: Callback<ServerEvent>,
    /// The newest socket; the task of an older one finds it replaced and stops.
    socket: RefCell<Option<Rc<Socket>>>,
    docs: RefCell<HashMap<DocId, Rc<dyn DocChannel>>>,
    attempt: Cell<u32>,
    retry: RefCell<Option<TimeoutHandle>>,
    listeners: RefCell<Vec<WindowListenerHandle>>,
    stopped: Cell<bool>,
}

fn online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

fn socket_url(project: ProjectId) -> Option<String> {
    crate::remote::socket_url(&format!("/ws?project={project}"))
}

impl Connection {
    pub(crate) fn start(
        project: ProjectId,
        link: RwSignal<Link>,
        on_event: Callback<ServerEvent>,
    ) -> Rc<Self> {
        let conn = Rc::new(Self {
            project,
            link,
            on_event,
            socket: RefCell::new(None),
            docs: RefCell::new(HashMap::new()),
            attempt: Cell::new(0),
            retry: RefCell::new(None),
            listeners: RefCell::new(Vec::new()),
            stopped: Cell::new(false),
        });
        let weak = Rc::downgrade(&conn);
        let on_online = {
            let weak = weak.clone();
            window_event_listener(ev::online, move |_| {
                if let Some(c) = weak.upgrade() {
                    c.network_back();
                }
            })
        };
        let on_offline = {
            let weak = weak.clone();
            window_event_listener(ev::offline, move |_| {
                if let Some(c) = weak.upgrade() {
                    c.network_lost();
                }
            })
        };
        // Closing the tab with edits the server has not committed would lose them: ask first.
        let on_unload = window_event_listener(ev::beforeunload, move |e| {
            if weak.upgrade().is_some_and(|c| c.has_unsaved()) {
                e.prevent_default();
                e.set_return_value("Some changes are not saved yet.");
            }
        });
        conn.listeners
            .borrow_mut()
            .extend([on_online, on_offline, on_unload]);
        conn.connect();
        conn
    }

    pub(crate) fn stop(&self) {
        self.stopped.set(true);
        self.cancel_retry();
        for l in self.listeners.borrow_mut().drain(..) {
            l.remove();
        }
        if let Some(socket) = self.socket.borrow_mut().take() {
            // Its task sees the socket replaced and ends without calling back into the page.
            socket.close("tab closed");
        }
        let docs: Vec<_> = self.docs.borrow_mut().drain().map(|(_, d)| d).collect();
        for d in docs {
            d.dispose();
        }
    }

    fn connect(self: &Rc<Self>) {
        if self.stopped.get() {
            return;
        }
        if !online() {
            self.link.set(Link::Offline);
            return;
        }
        let Some(socket) = socket_url(self.project).and_then(|url| Socket::open(&url)) else {
            self.schedule_retry();
            return;
        };
        *self.socket.borrow_mut() = Some(socket.clone());
        spawn_local(drive(Rc::downgrade(self), socket));
        if self.attempt.get() == 0 {
            self.link.set(Link::Connecting);
        }
    }

    fn on_open(&self) {
        self.attempt.set(0);
        self.link.set(Link::Connected);
        // Tree changes made while this tab was away were not sent to it: catch up.
        self.on_event.run(ServerEvent::Resync);
        let ids: Vec<DocId> = self.docs.borrow().keys().copied().collect();
        for doc in ids {
            self.send_event(&ClientEvent::Open { doc });
        }
    }

    fn on_message(self: &Rc<Self>, bytes: Vec<u8>) {
        let bytes = Bytes::from(bytes);
        let frame = match Frame::decode(bytes, MAX_FRAME) {
            Ok(f) => f,
            Err(err) => {
                leptos::logging::warn!("ignoring a malformed frame: {err}");
                return;
            }
        };
        match frame.channel {
            Channel::Doc(id) => {
                let doc = DocId::try_from(id)
                    .ok()
                    .and_then(|id| self.docs.borrow().get(&id).cloned());
                if let Some(doc) = doc {
                    doc.on_message(&frame.payload);
                }
            }
            Channel::Project => match serde_json::from_slice::<ServerEvent>(&frame.payload) {
                Ok(event) => self.on_event(event),
                Err(err) => leptos::logging::warn!("ignoring an unknown project event: {err}"),
            },
        }
    }

    fn on_event(self: &Rc<Self>, event: ServerEvent) {
        let doc_of = |id: DocId| self.docs.borrow().get(&id).cloned();
        match event {
            ServerEvent::Opened { doc, writable } => {
                if let Some(d) = doc_of(doc) {
                    d.opened(writable);
                }
            }
            ServerEvent::Saved { doc, n } => {
                if let Some(d) = doc_of(doc) {
                    d.saved(n);
                }
            }
            ServerEvent::DocError { doc, message } => {
                if let Some(d) = doc_of(doc) {
                    d.failed(message);
                }
            }
            ServerEvent::Closed { doc, .. } => {
                // Dropped for falling behind: subscribe again; the handshake resyncs both ways.
                if let Some(d) = doc_of(doc) {
                    d.disconnected();
                    self.send_event(&ClientEvent::Open { doc });
                }
            }
            other @ (ServerEvent::Tree { .. }
            | ServerEvent::Purged { .. }
            | ServerEvent::Viewers { .. }
            | ServerEvent::Resync
            | ServerEvent::Chat { .. }
            | ServerEvent::ChatDelta { .. }
            | ServerEvent::Typing { .. }
            | ServerEvent::RoleChanged { .. }
            | ServerEvent::Run { .. }
            | ServerEvent::RunOutput { .. }
            | ServerEvent::RunStats { .. }
            | ServerEvent::Terminal { .. }
            | ServerEvent::TermOutput { .. }
            | ServerEvent::TermRefused { .. }
            | ServerEvent::Completion { .. }
            | ServerEvent::CompletionFailed { .. }
            | ServerEvent::Suggestion { .. }) => self.on_event.run(other),
            // For team dashboards.
            ServerEvent::Activity => {}
            ServerEvent::Notice { notice } => crate::ops::banner::received(notice),
        }
    }

    fn on_close(self: &Rc<Self>, was_open: bool, e: Option<CloseEvent>) {
        self.socket.borrow_mut().take();
        let docs: Vec<_> = self.docs.borrow().values().cloned().collect();
        for d in docs {
            d.disconnected();
        }
        if self.stopped.get() {
            return;
        }
        if !online() {
            self.link.set(Link::Offline);
            return;
        }
        if let Some(e) = e {
            leptos::logging::log!("socket closed ({}): {}", e.code, e.reason);
            if let Some(last) = Link::final_for(e.code) {
                self.revoked(last);
                return;
            }
        }
        if !was_open {
            // Refused before the upgrade: find out whether the session is gone, since no
            // number of retries fixes that.
            self.check_session();
        }
        self.schedule_retry();
    }

    /// The server ended this tab's access: stop for good, lock the editors, say why.
    fn revoked(&self, last: Link) {
        self.cancel_retry();
        self.stopped.set(true);
        self.link.set(last);
        let docs: Vec<_> = self.docs.borrow().values().cloned().collect();
        for d in docs {
            d.revoked(last.label());
        }
    }

    fn check_session(self: &Rc<Self>) {
        let weak = Rc::downgrade(self);
        spawn_local(async move {
            let signed_out = match crate::auth::me().await {
                Ok(me) => me.is_none(),
                Err(e) => e.needs_login(),
            };
            if let (true, Some(c)) = (signed_out, weak.upgrade()) {
                c.revoked(Link::SignedOut);
            }
        });
    }

    fn cancel_retry(&self) {
        if let Some(t) = self.retry.borrow_mut().take() {
            t.clear();
        }
    }

    fn schedule_retry(self: &Rc<Self>) {
        self.cancel_retry();
        let attempt = self.attempt.get();
        self.attempt.set(attempt + 1);
        self.link.set(Link::Reconnecting {
            attempt: attempt + 1,
        });
        let weak = Rc::downgrade(self);
        let delay = backoff(attempt, js_sys::Math::random());
        let handle = set_timeout_with_handle(
            move || {
                if let Some(c) = weak.upgrade() {
                    c.retry.borrow_mut().take();
                    c.connect();
                }
            },
            delay,
        );
        *self.retry.borrow_mut() = handle.ok();
    }

    fn network_back(self: &Rc<Self>) {
        if self.stopped.get() || self.socket.borrow().is_some() {
            return;
        }
        self.cancel_retry();
        self.attempt.set(0);
        self.connect();
    }

    fn network_lost(&self) {
        if self.stopped.get() {
            return;
        }
        self.cancel_retry();
        self.link.set(Link::Offline);
        // The browser may keep a dead socket "open" for a long time; close it so edits are
        // honestly shown as unsaved and merge through the handshake when the network returns.
        if let Some(socket) = self.socket.borrow().as_ref() {
            socket.close("offline");
        }
    }

    fn has_unsaved(&self) -> bool {
        self.docs.borrow().values().any(|d| d.has_unsaved())
    }

    /// The tab closed the file: unsubscribe and dispose of its session.
    pub(crate) fn close_doc(&self, id: DocId) {
        let session = self.docs.borrow_mut().remove(&id);
        if let Some(s) = session {
            self.send_event(&ClientEvent::Close { doc: id });
            s.dispose();
        }
    }

    /// Subscribes to document `id`; its frames and events go to `doc` until `close_doc`.
    pub(crate) fn open_doc(&self, id: DocId, doc: Rc<dyn DocChannel>) {
        self.docs.borrow_mut().insert(id, doc);
        self.send_event(&ClientEvent::Open { doc: id });
    }

    pub(crate) fn send_event(&self, event: &ClientEvent) -> bool {
        self.send(Channel::Project, Bytes::from(event.to_json()))
    }

    /// Sends one frame if the socket is open; false otherwise (the caller keeps the state
    /// that the next handshake will carry).
    pub(crate) fn send(&self, channel: Channel, payload: Bytes) -> bool {
        let socket = self.socket.borrow();
        socket
            .as_ref()
            .filter(|s| s.is_open())
            .is_some_and(|s| s.send(Vec::from(Frame::new(channel, payload).encode())))
    }

    /// This connection, while `socket` is still its current one.
    fn current(weak: &ConnectionRef, socket: &Rc<Socket>) -> Option<Rc<Self>> {
        weak.upgrade().filter(|c| {
            c.socket
                .borrow()
                .as_ref()
                .is_some_and(|s| Rc::ptr_eq(s, socket))
        })
    }
}

/// Reads one socket until it closes, feeding the connection while the socket is its current
/// one. A replaced or stopped socket's task ends at its next event.
async fn drive(conn: ConnectionRef, socket: Rc<Socket>) {
    // The sink turns ready when the socket opens or fails to.
    let _ = poll_fn(|cx| socket.io.borrow_mut().poll_ready_unpin(cx)).await;
    let opened = socket.is_open();
    if opened {
        let Some(c) = Connection::current(&conn, &socket) else {
            return;
        };
        c.on_open();
    }
    let close = loop {
        match poll_fn(|cx| socket.io.borrow_mut().poll_next_unpin(cx)).await {
            Some(Ok(Message::Bytes(bytes))) => {
                let Some(c) = Connection::current(&conn, &socket) else {
                    return;
                };
                c.on_message(bytes);
            }
            // The server sends only binary frames; an error event is followed by the close.
            Some(Ok(Message::Text(_)) | Err(WebSocketError::ConnectionError)) => {}
            Some(Err(WebSocketError::ConnectionClose(e))) => break Some(e),
            Some(Err(e)) => leptos::logging::warn!("socket: {e}"),
            None => break None,
        }
    };
    if let Some(c) = Connection::current(&conn, &socket) {
        c.on_close(opened, close);
    }
}

pub(crate) type ConnectionRef = Weak<Connection>;
