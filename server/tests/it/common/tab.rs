//! A test client for `/ws`, speaking what a browser tab speaks: framed channels, open/close
//! events, y-sync per document, and the server's "saved up to n" acknowledgements.
#![allow(dead_code, unreachable_pub)]

use std::{
    collections::{HashMap, HashSet},
    time::Duration,
};

use app::{
    live::events::{ClientEvent, ServerEvent},
    types::DocId,
};
use bytes::Bytes;
use collab::{Channel, Frame, testing::SyncClient};
use futures_util::{SinkExt, StreamExt};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use yrs::Doc;

/// The `/ws` channel of a document id as the tests hold it (read from JSON).
fn channel(doc: i64) -> Channel {
    Channel::Doc(collab::DocId(
        u64::try_from(doc).expect("document ids are positive"),
    ))
}

pub struct TabClient {
    ws: super::Ws,
    docs: HashMap<i64, SyncClient>,
    /// Highest acknowledgement per document.
    pub saved: HashMap<i64, u64>,
    /// Updates sent per document since it was opened.
    pub sent: HashMap<i64, u64>,
    pub events: Vec<ServerEvent>,
    /// Documents whose handshake finished (the server's step 2 arrived).
    pub synced: HashSet<i64>,
    pub denied: bool,
    pub closed: Option<(u16, String)>,
}

impl TabClient {
    pub async fn connect(url: &str, cookie: &str) -> Result<Self, tungstenite::Error> {
        let ws = super::ws_connect(url, Some(cookie)).await?;
        Ok(Self {
            ws,
            docs: HashMap::new(),
            saved: HashMap::new(),
            sent: HashMap::new(),
            events: Vec::new(),
            synced: HashSet::new(),
            denied: false,
            closed: None,
        })
    }

    pub async fn send_frame(&mut self, channel: Channel, payload: impl Into<Bytes>) {
        let frame = Frame::new(channel, payload).encode();
        let _ = self.ws.send(WsMessage::Binary(frame)).await;
    }

    pub async fn send_raw(&mut self, bytes: Vec<u8>) {
        let _ = self.ws.send(WsMessage::Binary(bytes.into())).await;
    }

    pub async fn event(&mut self, e: &ClientEvent) {
        self.send_frame(Channel::Project, e.to_json()).await;
    }

    /// Opens a document and waits until its handshake finished, or the server refused it.
    pub async fn open(&mut self, doc: i64) {
        self.docs.entry(doc).or_default();
        self.synced.remove(&doc);
        let before = self.events.len();
        self.event(&ClientEvent::Open { doc: DocId(doc) }).await;
        self.until("the document to open", |t| {
            t.synced.contains(&doc)
                || t.events[before..]
                    .iter()
                    .any(|e| matches!(e, ServerEvent::DocError { doc: d, .. } if d.0 == doc))
        })
        .await;
    }

    pub fn opened(&self, doc: i64) -> Option<bool> {
        self.events.iter().rev().find_map(|e| match e {
            ServerEvent::Opened { doc: d, writable } if d.0 == doc => Some(*writable),
            _ => None,
        })
    }

    /// The tab's replica of a document.
    pub fn doc(&self, doc: i64) -> &Doc {
        &self.docs[&doc].doc
    }

    pub fn text(&self, doc: i64) -> String {
        self.docs[&doc].text()
    }

    pub async fn insert(&mut self, doc: i64, pos: u32, s: &str) {
        self.edit(doc, |d| d.insert(pos, s)).await;
    }

    pub async fn delete(&mut self, doc: i64, pos: u32, len: u32) {
        self.edit(doc, |d| d.delete(pos, len)).await;
    }

    /// Edits the open document `doc` locally and sends the update.
    async fn edit(&mut self, doc: i64, change: impl FnOnce(&mut SyncClient) -> Bytes) {
        let Some(d) = self.docs.get_mut(&doc) else {
            panic!("document {doc} is not open");
        };
        let update = change(d);
        *self.sent.entry(doc).or_default() += 1;
        self.send_frame(channel(doc), update).await;
    }

    /// Handles frames until `cond` holds; panics after [`super::WAIT`] naming `what`.
    pub async fn until(&mut self, what: &str, cond: impl Fn(&Self) -> bool) {
        self.until_within(what, super::WAIT, cond).await;
    }

    /// [`Self::until`] for a condition that takes longer by design (a lease running out).
    pub async fn until_within(
        &mut self,
        what: &str,
        within: Duration,
        cond: impl Fn(&Self) -> bool,
    ) {
        let deadline = Instant::now() + within;
        while !cond(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, self.ws.next()).await {
                Ok(Some(msg)) => {
                    if !self.handle_ws(msg).await && !cond(self) {
                        panic!("the socket closed while waiting for: {what}");
                    }
                }
                Ok(None) => {
                    self.closed.get_or_insert((1006, String::new()));
                    assert!(cond(self), "the socket ended while waiting for: {what}");
                }
                Err(_) => panic!("timed out waiting for: {what}"),
            }
        }
    }

    /// Handles incoming frames until none arrive for `quiet`.
    pub async fn pump(&mut self, quiet: Duration) {
        while let Ok(Some(msg)) = tokio::time::timeout(quiet, self.ws.next()).await {
            if !self.handle_ws(msg).await {
                return;
            }
        }
    }

    /// Pumps until every update sent on `doc` is acknowledged; false on timeout.
    pub async fn wait_saved(&mut self, doc: i64, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            let want = self.sent.get(&doc).copied().unwrap_or(0);
            if self.saved.get(&doc).copied().unwrap_or(0) >= want {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match tokio::time::timeout(left, self.ws.next()).await {
                Ok(Some(msg)) => {
                    if !self.handle_ws(msg).await {
                        return false;
                    }
                }
                _ => return false,
            }
        }
    }

    async fn handle_ws(&mut self, msg: Result<WsMessage, tungstenite::Error>) -> bool {
        match msg {
            Ok(WsMessage::Binary(bytes)) => {
                let frame = Frame::decode(bytes, usize::MAX).expect("server frames decode");
                match frame.channel {
                    Channel::Project => {
                        let e: ServerEvent =
                            serde_json::from_slice(&frame.payload).expect("server event");
                        match &e {
                            ServerEvent::Saved { doc, n } => {
                                let s = self.saved.entry(doc.0).or_default();
                                *s = (*s).max(*n);
                            }
                            ServerEvent::Opened { doc, .. } => {
                                self.sent.insert(doc.0, 0);
                                self.saved.insert(doc.0, 0);
                                let hello = self.docs.entry(doc.0).or_default().hello();
                                self.send_frame(channel(doc.0), hello).await;
                            }
                            _ => {}
                        }
                        self.events.push(e);
                    }
                    Channel::Doc(id) => {
                        let id = i64::try_from(id.0).expect("the server sends our ids");
                        self.handle_doc(id, &frame.payload).await;
                    }
                }
                true
            }
            Ok(WsMessage::Close(frame)) => {
                self.closed = Some(super::close_of(frame));
                false
            }
            Ok(_) => true,
            Err(_) => {
                self.closed.get_or_insert((1006, String::new()));
                false
            }
        }
    }

    async fn handle_doc(&mut self, doc: i64, payload: &[u8]) {
        let Some(d) = self.docs.get_mut(&doc) else {
            return;
        };
        let got = d.receive(payload).expect("the server sends valid messages");
        self.denied |= got.denied;
        if got.synced {
            self.synced.insert(doc);
        }
        if let Some(reply) = got.reply {
            if got.reply_has_changes {
                *self.sent.entry(doc).or_default() += 1;
            }
            self.send_frame(channel(doc), reply).await;
        }
    }
}
