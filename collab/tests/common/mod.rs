//! A Yjs-like test client over an engine subscription, shared by the engine tests.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use bytes::Bytes;
use collab::{
    DocId,
    engine::{Access, Engine, Outbound, Subscription},
    store::Author,
    testing::SyncClient,
};
use yrs::{GetString, Transact};

pub const DOC: DocId = DocId(7);

/// How long a test waits for something that should happen before it fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// A yrs document kept in sync through one subscription, like a y-websocket client.
pub struct Client {
    pub sync: SyncClient,
    /// `None` while offline: local edits keep accumulating and merge on reconnect.
    sub: Option<Subscription>,
    pub saved: u64,
    pub sent: u64,
    pub denied: bool,
    /// The server's step 2 arrived since the last (re)join.
    pub synced: bool,
    pub awareness_seen: Vec<Bytes>,
    /// Whom the engine logs this client's updates as.
    pub author: Author,
}

impl Client {
    pub async fn join(engine: &Engine, access: Access) -> Self {
        Self::join_as(engine, access, Author::default()).await
    }

    pub async fn join_as(engine: &Engine, access: Access, author: Author) -> Self {
        let mut c = Self {
            sync: SyncClient::new(),
            sub: None,
            saved: 0,
            sent: 0,
            denied: false,
            synced: false,
            awareness_seen: Vec::new(),
            author,
        };
        c.reconnect(engine, access).await;
        c
    }

    /// (Re)joins with the local document as it is. Client side of the handshake: our step 1,
    /// then answering the server's step 1 with what it lacks, merges both sides.
    pub async fn reconnect(&mut self, engine: &Engine, access: Access) {
        let sub = engine.subscribe(DOC, access, self.author).await;
        self.sub = Some(sub.expect("subscribe"));
        self.saved = 0;
        self.sent = 0;
        self.synced = false;
        let step1 = self.sync.hello();
        self.sub().send(step1).await.expect("send step1");
        self.until("the handshake", |c| c.synced).await;
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
                    // Edits made offline travel in this reply and are acknowledged like any.
                    self.sent += u64::from(got.reply_has_changes);
                    self.sub().send(reply).await.expect("send step2");
                }
                self.synced |= got.synced;
                self.denied |= got.denied;
                self.awareness_seen.extend(got.awareness);
            }
        }
    }

    /// Processes what has already arrived, without waiting (a random interleaving's pump).
    pub async fn pump(&mut self) {
        while let Some(out) = self.sub.as_mut().and_then(Subscription::try_recv) {
            self.handle(out).await;
        }
    }

    /// Processes messages until `done` holds; fails the test after [`WAIT`].
    pub async fn until(&mut self, what: &str, done: impl Fn(&Self) -> bool) {
        let wait = async {
            while !done(self) {
                let out = self.sub_mut().recv().await.expect("subscription open");
                self.handle(out).await;
            }
        };
        if tokio::time::timeout(WAIT, wait).await.is_err() {
            panic!("timed out waiting for {what}");
        }
    }

    /// Every edit this client sent is acknowledged, so durable.
    pub async fn until_saved(&mut self) {
        self.until("every edit acknowledged", |c| c.saved >= c.sent)
            .await;
    }

    pub async fn until_text(&mut self, want: &str) {
        self.until(&format!("the text {want:?}"), |c| c.text() == want)
            .await;
    }
}

/// The text of a document restored from a snapshot and updates, as a fresh load sees it.
pub fn text_of(snapshot: Option<&[u8]>, updates: &[Bytes]) -> String {
    let live = collab::doc::LiveDoc::restore(snapshot, updates.iter().map(|u| u.as_ref()))
        .expect("restore");
    let text = live.doc().get_or_insert_text("content");
    text.get_string(&live.doc().transact())
}

/// Waits for a condition outside any client (engine statistics, the store); polls, since
/// nothing announces it. Fails the test after [`WAIT`].
pub async fn eventually(what: &str, done: impl Fn() -> bool) {
    let wait = async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    if tokio::time::timeout(WAIT, wait).await.is_err() {
        panic!("timed out waiting for {what}");
    }
}

/// Brings every client up to date with the engine's copy of the document: all edits
/// acknowledged, then every client holding the engine's text.
pub async fn converge(engine: &Engine, clients: &mut [&mut Client]) -> String {
    for c in clients.iter_mut() {
        c.until_saved().await;
    }
    let state = engine.state(DOC).await.expect("engine state");
    let text = text_of(Some(&state), &[]);
    for c in clients.iter_mut() {
        c.until_text(&text).await;
    }
    text
}
