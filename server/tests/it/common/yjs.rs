//! A minimal Yjs websocket client (y-websocket's protocol) over tokio-tungstenite and yrs.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use collab::testing::SyncClient;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};

pub struct YClient {
    ws: super::Ws,
    pub sync: SyncClient,
    pub denied: bool,
    pub closed: Option<(u16, String)>,
}

impl YClient {
    pub async fn connect(url: &str, cookie: Option<&str>) -> Result<Self, tungstenite::Error> {
        let ws = super::ws_connect(url, cookie).await?;
        let mut client = Self {
            ws,
            sync: SyncClient::new(),
            denied: false,
            closed: None,
        };
        client
            .ws
            .send(WsMessage::Binary(client.sync.hello()))
            .await?;
        client.pump(Duration::from_millis(150)).await;
        Ok(client)
    }

    pub fn text(&self) -> String {
        self.sync.text()
    }

    pub async fn insert(&mut self, pos: u32, s: &str) {
        let update = self.sync.insert(pos, s);
        self.send_raw(update.to_vec()).await;
    }

    pub async fn send_raw(&mut self, bytes: Vec<u8>) {
        let _ = self.ws.send(WsMessage::Binary(bytes.into())).await;
    }

    /// Handles messages until `cond` holds; panics after [`super::WAIT`] naming `what`.
    pub async fn until(&mut self, what: &str, cond: impl Fn(&Self) -> bool) {
        let deadline = tokio::time::Instant::now() + super::WAIT;
        while !cond(self) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.ws.next()).await {
                Ok(Some(Ok(WsMessage::Binary(bytes)))) => self.handle(&bytes).await,
                Ok(Some(Ok(WsMessage::Close(frame)))) => {
                    self.closed = Some(super::close_of(frame));
                    assert!(cond(self), "the socket closed while waiting for: {what}");
                }
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(_)) | None) => {
                    self.closed.get_or_insert((1006, String::new()));
                    assert!(cond(self), "the socket ended while waiting for: {what}");
                }
                Err(_) => panic!("timed out waiting for: {what}"),
            }
        }
    }

    /// Handles one incoming message (for driving this peer while something else runs).
    pub async fn step(&mut self) {
        match self.ws.next().await {
            Some(Ok(WsMessage::Binary(bytes))) => self.handle(&bytes).await,
            Some(Ok(WsMessage::Close(frame))) => self.closed = Some(super::close_of(frame)),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => {
                self.closed.get_or_insert((1006, String::new()));
                // Nothing more will come: stay pending so a `select!` picks its other branch.
                std::future::pending::<()>().await;
            }
        }
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
        let got = self
            .sync
            .receive(bytes)
            .expect("the server sends valid messages");
        self.denied |= got.denied;
        if let Some(reply) = got.reply {
            self.send_raw(reply.to_vec()).await;
        }
    }
}
