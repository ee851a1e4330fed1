//! A test client for `/ws`, speaking what a browser tab speaks: framed channels, open/close
//! events, y-sync per document, and the server's "saved up to n" acknowledgements.
#![allow(dead_code, unreachable_pub)]

use std::{collections::HashMap, time::Duration};

use app::live::events::{ClientEvent, ServerEvent};
use bytes::Bytes;
use collab::{Channel, DocId, Frame};
use futures_util::{SinkExt, StreamExt};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use yrs::{
    Doc, GetString, ReadTxn, Text, Transact, Update,
    sync::{Message, SyncMessage},
    updates::decoder::Decode,
};

pub struct TabClient {
    ws: super::Ws,
    docs: HashMap<i64, Doc>,
    /// Highest acknowledgement per document.
    pub saved: HashMap<i64, u64>,
    /// Updates sent per document since it was opened.
    pub sent: HashMap<i64, u64>,
    pub events: Vec<ServerEvent>,
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

    /// Opens a document and completes the handshake.
    pub async fn open(&mut self, doc: i64) {
        self.docs.entry(doc).or_default();
        self.event(&ClientEvent::Open { doc }).await;
        self.pump(Duration::from_millis(150)).await;
    }

    pub fn opened(&self, doc: i64) -> Option<bool> {
        self.events.iter().rev().find_map(|e| match e {
            ServerEvent::Opened { doc: d, writable } if *d == doc => Some(*writable),
            _ => None,
        })
    }

    /// The tab's replica of a document.
    pub fn doc(&self, doc: i64) -> &Doc {
        &self.docs[&doc]
    }

    pub fn text(&self, doc: i64) -> String {
        let d = &self.docs[&doc];
        d.get_or_insert_text("content").get_string(&d.transact())
    }

    pub async fn insert(&mut self, doc: i64, pos: u32, s: &str) {
        let d = &self.docs[&doc];
        let t = d.get_or_insert_text("content");
        let before = d.transact().state_vector();
        t.insert(&mut d.transact_mut(), pos, s);
        let update = d.transact().encode_state_as_update_v1(&before);
        *self.sent.entry(doc).or_default() += 1;
        self.send_frame(
            Channel::Doc(DocId(doc as u64)),
            collab::protocol::update(update),
        )
        .await;
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
                                let s = self.saved.entry(*doc).or_default();
                                *s = (*s).max(*n);
                            }
                            ServerEvent::Opened { doc, .. } => {
                                self.sent.insert(*doc, 0);
                                self.saved.insert(*doc, 0);
                                let sv =
                                    self.docs.entry(*doc).or_default().transact().state_vector();
                                self.send_frame(
                                    Channel::Doc(DocId(*doc as u64)),
                                    collab::protocol::sync_step1(sv),
                                )
                                .await;
                            }
                            _ => {}
                        }
                        self.events.push(e);
                    }
                    Channel::Doc(DocId(id)) => self.handle_doc(id as i64, &frame.payload).await,
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
        let Some(d) = self.docs.get(&doc) else {
            return;
        };
        match collab::protocol::decode(payload).expect("the server sends valid messages") {
            Message::Sync(SyncMessage::SyncStep1(sv)) => {
                let diff = d.transact().encode_state_as_update_v1(&sv);
                if diff != [0, 0] {
                    *self.sent.entry(doc).or_default() += 1;
                }
                self.send_frame(
                    Channel::Doc(DocId(doc as u64)),
                    collab::protocol::sync_step2(diff),
                )
                .await;
            }
            Message::Sync(SyncMessage::SyncStep2(u) | SyncMessage::Update(u)) => {
                let update = Update::decode_v1(&u).expect("update");
                d.transact_mut().apply_update(update).expect("apply");
            }
            Message::Auth(Some(_)) => self.denied = true,
            _ => {}
        }
    }
}
