//! A Yjs-like test client over an engine subscription, shared by the engine tests.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use bytes::Bytes;
use collab::{
    DocId,
    engine::{Access, Engine, Outbound, Subscription},
    testing::SyncClient,
};

pub const DOC: DocId = DocId(7);

/// A yrs document kept in sync through one subscription, like a y-websocket client.
pub struct Client {
    pub sync: SyncClient,
    /// `None` while offline: local edits keep accumulating and merge on reconnect.
    sub: Option<Subscription>,
    pub saved: u64,
    pub sent: u64,
    pub denied: bool,
    pub awareness_seen: Vec<Bytes>,
}

impl Client {
    pub async fn join(engine: &Engine, access: Access) -> Self {
        let mut c = Self {
            sync: SyncClient::new(),
            sub: None,
            saved: 0,
            sent: 0,
            denied: false,
            awareness_seen: Vec::new(),
        };
        c.reconnect(engine, access).await;
        c
    }

    /// (Re)joins with the local document as it is. Client side of the handshake: our step 1,
    /// then answering the server's step 1 with what it lacks, merges both sides.
    pub async fn reconnect(&mut self, engine: &Engine, access: Access) {
        self.sub = Some(engine.subscribe(DOC, access).await.expect("subscribe"));
        self.saved = 0;
        self.sent = 0;
        let step1 = self.sync.hello();
        self.sub().send(step1).await.expect("send step1");
        self.settle().await;
    }

    pub fn sub(&self) -> &Subscription {
        self.sub.as_ref().expect("online")
    }

    pub fn sub_mut(&mut self) -> &mut Subscription {
        self.sub.as_mut().expect("online")
    }

    pub fn is_online(&self) -> bool {
        self.sub.is_some()
    }

    pub fn go_offline(&mut self) {
        self.sub = None;
    }

    pub fn text(&self) -> String {
        self.sync.text()
    }

    pub async fn insert(&mut self, pos: u32, s: &str) {
        let update = self.sync.insert(pos, s);
        self.send_update(update).await;
    }

    pub async fn delete(&mut self, pos: u32, len: u32) {
        let update = self.sync.delete(pos, len);
        self.send_update(update).await;
    }

    /// Sends a local edit, or keeps it in the document while offline (it merges on reconnect).
    async fn send_update(&mut self, update: Bytes) {
        if let Some(sub) = &self.sub {
            self.sent += 1;
            sub.send(update).await.expect("send update");
        }
    }

    async fn handle(&mut self, out: Outbound) {
        match out {
            Outbound::Saved(n) => self.saved = self.saved.max(n),
            Outbound::Close(reason) => panic!("closed: {reason}"),
            Outbound::Message(bytes) => {
                let got = self
                    .sync
                    .receive(&bytes)
                    .expect("server sends valid messages");
                if let Some(reply) = got.reply {
                    self.sub().send(reply).await.expect("send step2");
                }
                self.denied |= got.denied;
                self.awareness_seen.extend(got.awareness);
            }
        }
    }

    /// Processes messages until none arrive for a short while.
    pub async fn settle(&mut self) {
        self.settle_for(Duration::from_millis(60)).await;
    }

    /// Processes messages until none arrive for `quiet`.
    pub async fn settle_for(&mut self, quiet: Duration) {
        while let Some(sub) = self.sub.as_mut()
            && let Ok(Some(out)) = tokio::time::timeout(quiet, sub.recv()).await
        {
            self.handle(out).await;
        }
    }
}

pub async fn settle_all(clients: &mut [&mut Client]) {
    for _ in 0..3 {
        for c in clients.iter_mut() {
            c.settle().await;
        }
    }
}
