//! A minimal Yjs websocket client (y-websocket's protocol) over tokio-tungstenite and yrs.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use yrs::{
    Doc, GetString, ReadTxn, Text, Transact, Update,
    sync::{Message, SyncMessage},
    updates::decoder::Decode,
};

pub struct YClient {
    ws: super::Ws,
    pub doc: Doc,
    pub denied: bool,
    pub closed: Option<(u16, String)>,
}

impl YClient {
    pub async fn connect(url: &str, cookie: Option<&str>) -> Result<Self, tungstenite::Error> {
        let ws = super::ws_connect(url, cookie).await?;
        let mut client = Self {
            ws,
            doc: Doc::new(),
            denied: false,
            closed: None,
        };
        let step1 = collab::protocol::sync_step1(client.doc.transact().state_vector());
        client.ws.send(WsMessage::Binary(step1)).await?;
        client.pump(Duration::from_millis(150)).await;
        Ok(client)
    }

    pub fn text(&self) -> String {
        let t = self.doc.get_or_insert_text("content");
        t.get_string(&self.doc.transact())
    }

    pub async fn insert(&mut self, pos: u32, s: &str) {
        let t = self.doc.get_or_insert_text("content");
        let before = self.doc.transact().state_vector();
        t.insert(&mut self.doc.transact_mut(), pos, s);
        let update = self.doc.transact().encode_state_as_update_v1(&before);
        self.send_raw(collab::protocol::update(update).to_vec())
            .await;
    }

    pub async fn send_raw(&mut self, bytes: Vec<u8>) {
        let _ = self.ws.send(WsMessage::Binary(bytes.into())).await;
    }

    /// Handles incoming messages until none arrive for `quiet`.
    pub async fn pump(&mut self, quiet: Duration) {
        while let Ok(Some(msg)) = tokio::time::timeout(quiet, self.ws.next()).await {
            match msg {
                Ok(WsMessage::Binary(bytes)) => self.handle(&bytes).await,
                Ok(WsMessage::Close(frame)) => {
                    self.closed = Some(super::close_of(frame));
                    return;
                }
                Ok(_) => {}
                Err(_) => {
                    self.closed.get_or_insert((1006, String::new()));
                    return;
                }
            }
        }
    }

    async fn handle(&mut self, bytes: &[u8]) {
        match collab::protocol::decode(bytes).expect("the server sends valid messages") {
            Message::Sync(SyncMessage::SyncStep1(sv)) => {
                let diff = self.doc.transact().encode_state_as_update_v1(&sv);
                self.send_raw(collab::protocol::sync_step2(diff).to_vec())
                    .await;
            }
            Message::Sync(SyncMessage::SyncStep2(u) | SyncMessage::Update(u)) => {
                let update = Update::decode_v1(&u).expect("update");
                self.doc.transact_mut().apply_update(update).expect("apply");
            }
            Message::Auth(Some(_)) => self.denied = true,
            _ => {}
        }
    }
}
