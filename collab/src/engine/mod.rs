//! The live-document engine: one owner task per open document applies updates, fans the
//! received bytes out to the other subscribers, logs updates with group commit (one store
//! transaction per batch) and acknowledges them to their authors only once durable. Documents
//! with no subscribers are unloaded after an idle timeout. Transport-free: a connection is a
//! [`Subscription`] with a bounded outbound queue, so tests drive it over in-memory channels.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use yrs::sync::Message;

mod outbox;
mod owner;
mod presence;

pub use outbox::Budget;
use owner::Owner;

use crate::{
    DocId,
    bus::{Bus, NodeId},
    doc::LiveDoc,
    protocol::{self, ProtocolError},
    store::{Author, DocStore},
};

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How long the first update of a batch waits for company before the batch is committed.
    /// Zero by default: updates that arrive while a commit is being written form the next
    /// batch anyway, so waiting only adds latency when the load is light (measured: edit to
    /// "saved" p50 4.0 ms with 2 ms, 2.0 ms with 0, same throughput; BENCHMARKS.md).
    pub commit_delay: Duration,
    /// A batch this large is committed at once.
    pub max_batch: usize,
    /// Logged updates after which the log is folded into a snapshot.
    pub compact_after: u64,
    /// How long a document with no subscribers stays loaded.
    pub idle_unload: Duration,
    /// Bytes queued per subscriber before the document updates waiting for it are merged into
    /// one (`soft`), and after merging before it counts as too slow and is disconnected (`hard`).
    pub outbound: Budget,
    /// Commands queued per document before senders wait (backpressure on writers).
    pub command_capacity: usize,
    /// Largest awareness state (cursor, name, colour: a few hundred bytes in practice) one
    /// client may publish; a connection sending a larger one is closed.
    pub max_awareness_bytes: usize,
    /// Bytes a document may hold in the store (its snapshot plus the updates logged after it).
    /// An update that would take it past this and adds content is refused with a message; one
    /// that only deletes (or brings nothing new) always passes, so a full document can shrink.
    /// `None`: no limit.
    pub max_doc_bytes: Option<u64>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            commit_delay: Duration::ZERO,
            max_batch: 512,
            compact_after: 1000,
            idle_unload: Duration::from_secs(30),
            // 1 MiB is a few thousand keystrokes or a large paste; 32 MiB fits twice the default
            // document size limit (16 MiB), so a reader can always catch up in one message.
            outbound: Budget {
                soft: 1 << 20,
                hard: 32 << 20,
            },
            command_capacity: 1024,
            max_awareness_bytes: 8 * 1024,
            max_doc_bytes: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Receives the document and awareness; writes are refused.
    ReadOnly,
    ReadWrite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outbound {
    /// A y-sync or awareness message for the client.
    Message(Bytes),
    /// The subscriber's first `n` document updates are durable ("Saved").
    Saved(u64),
    /// The engine closed this subscription; the connection should close with this reason.
    Close(String),
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error("the document could not be loaded: {0}")]
    Load(String),
    #[error("the document is no longer open here; reconnect")]
    Gone,
}

/// Counters for /metrics.
#[derive(Debug, Default)]
pub struct Stats {
    pub updates_applied: AtomicU64,
    pub refused_writes: AtomicU64,
    /// Connections closed for an awareness state over the limit or too many awareness clients.
    pub refused_awareness: AtomicU64,
    /// Updates refused because their document is at its size limit.
    pub refused_growth: AtomicU64,
    pub slow_disconnects: AtomicU64,
    /// Times a subscriber's backlog was merged into one update instead of disconnecting it.
    pub merged_backlogs: AtomicU64,
    pub commits: AtomicU64,
    pub commit_failures: AtomicU64,
    /// Time spent writing committed batches to the store, in microseconds (with `commits`:
    /// the mean commit latency over any interval).
    pub commit_micros: AtomicU64,
    /// The slowest commit since this was last taken (`swap(0)`), in microseconds.
    pub commit_micros_max: AtomicU64,
    pub compactions: AtomicU64,
    /// Documents retired because yrs panicked applying an update to them.
    pub poisoned: AtomicU64,
    pub live_docs: AtomicI64,
    pub subscribers: AtomicI64,
}

enum Command {
    Join {
        conn: ConnId,
        access: Access,
        author: Author,
        out: outbox::Sender,
        joined: oneshot::Sender<()>,
    },
    Leave {
        conn: ConnId,
    },
    Message {
        conn: ConnId,
        raw: Bytes,
        /// Boxed so that every command is small: the owner's queue allocates 32 slots at a
        /// time, and a decoded message is the largest variant by far (with the boxed commit
        /// result in `owner.rs`: 8.9 → 8.3 kB per idle connection at ten per document).
        msg: Box<Message>,
    },
    /// The whole current state, as one v1 update.
    Read {
        reply: oneshot::Sender<Vec<u8>>,
    },
    /// Answered once every update applied before it is durable.
    Durable {
        reply: oneshot::Sender<()>,
    },
    /// An update made by the server itself (a change on disk): applied, stored and sent to
    /// every subscriber like a client's.
    Write {
        update: Vec<u8>,
        author: Author,
        done: oneshot::Sender<Result<(), String>>,
    },
}

/// Called with a document's id whenever its content changes on this node (from a client, the
/// server or another node). Must not block: it runs on the document's owner task.
pub type ChangeHook = Arc<dyn Fn(DocId) + Send + Sync>;

struct Shared {
    store: Arc<dyn DocStore>,
    bus: Arc<dyn Bus>,
    node: NodeId,
    config: EngineConfig,
    stats: Arc<Stats>,
    docs: Mutex<HashMap<DocId, mpsc::Sender<Command>>>,
    next_conn: AtomicU64,
    on_change: std::sync::OnceLock<ChangeHook>,
    /// Maintenance: every client's write is refused (the server's own, from disk, still apply).
    frozen: AtomicBool,
}

/// The registry of live documents on this node.
#[derive(Clone)]
pub struct Engine(Arc<Shared>);

impl Engine {
    pub fn new(
        store: Arc<dyn DocStore>,
        bus: Arc<dyn Bus>,
        node: NodeId,
        config: EngineConfig,
    ) -> Self {
        Self(Arc::new(Shared {
            store,
            bus,
            node,
            config,
            stats: Arc::new(Stats::default()),
            docs: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(1),
            on_change: std::sync::OnceLock::new(),
            frozen: AtomicBool::new(false),
        }))
    }

    /// Installs the change hook (once; later calls are ignored).
    pub fn on_change(&self, hook: ChangeHook) {
        let _ = self.0.on_change.set(hook);
    }

    /// Maintenance on or off: while on, every subscriber's update is refused with
    /// [`protocol::MAINTENANCE`] (the connection stays open). Callers reopen subscriptions when
    /// it lifts, so the clients' handshakes bring in whatever they kept meanwhile.
    pub fn set_frozen(&self, on: bool) {
        self.0.frozen.store(on, Ordering::Relaxed);
    }

    pub fn is_frozen(&self) -> bool {
        self.0.frozen.load(Ordering::Relaxed)
    }

    /// The live owner of `doc` on this node, if it is open here.
    fn live_owner(&self, doc: DocId) -> Option<mpsc::Sender<Command>> {
        let docs = self.0.docs.lock().unwrap_or_else(|p| p.into_inner());
        docs.get(&doc).filter(|tx| !tx.is_closed()).cloned()
    }

    /// Whether `doc` is open (loaded, with an owner) on this node.
    pub fn is_open(&self, doc: DocId) -> bool {
        self.live_owner(doc).is_some()
    }

    /// The document's whole current state as one v1 update: from its owner when it is open
    /// (including updates not yet committed), else from the store without opening it.
    pub async fn state(&self, doc: DocId) -> Result<Vec<u8>, EngineError> {
        if let Some(tx) = self.live_owner(doc) {
            let (reply, rx) = oneshot::channel();
            if tx.send(Command::Read { reply }).await.is_ok()
                && let Ok(state) = rx.await
            {
                return Ok(state);
            }
        }
        // Not open (or unloading, after committing everything): the store has it all.
        let stored = self
            .0
            .store
            .load(doc)
            .await
            .map_err(|e| EngineError::Load(e.to_string()))?;
        let live = LiveDoc::restore(
            stored.snapshot.as_deref(),
            stored.updates.iter().map(|u| u.as_ref()),
        )
        .map_err(|e| EngineError::Load(e.to_string()))?;
        Ok(live.snapshot())
    }

    /// Applies an update made by the server (not by a client) to `doc`, opening it if needed;
    /// stored and forwarded like any client's. Resolves once it is applied (not yet durable).
    pub async fn write(
        &self,
        doc: DocId,
        update: Vec<u8>,
        author: Author,
    ) -> Result<(), EngineError> {
        for _ in 0..3 {
            let tx = self.owner(doc);
            let (done, rx) = oneshot::channel();
            let update = update.clone();
            let write = Command::Write {
                update,
                author,
                done,
            };
            if tx.send(write).await.is_err() {
                continue;
            }
            return match rx.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(EngineError::Load(e)),
                Err(_) => continue,
            };
        }
        Err(EngineError::Gone)
    }

    /// Resolves once every update this node applied to `doc` before the call is in the store
    /// (at once when the document is not open here: then the store has it all). Readers of
    /// the store that must agree with the live text (who wrote what, the timeline) and
    /// writers that answer "done" (a restore) wait for it. A failing store makes it wait
    /// for the retries: callers bound it.
    pub async fn durable(&self, doc: DocId) -> Result<(), EngineError> {
        let Some(tx) = self.live_owner(doc) else {
            return Ok(());
        };
        let (reply, rx) = oneshot::channel();
        if tx.send(Command::Durable { reply }).await.is_err() {
            // The owner unloaded after committing everything.
            return Ok(());
        }
        // Dropped unanswered: the owner stopped (a poisoned document) with updates unsaved.
        rx.await.map_err(|_| EngineError::Gone)
    }

    pub fn stats(&self) -> &Arc<Stats> {
        &self.0.stats
    }

    pub fn live_docs(&self) -> usize {
        let mut docs = self.0.docs.lock().unwrap_or_else(|p| p.into_inner());
        docs.retain(|_, tx| !tx.is_closed());
        docs.len()
    }

    /// Joins `doc`, opening (loading) it if needed. The subscription receives sync step 1 and
    /// the current awareness states first, as y-websocket servers send them.
    /// `author`: whom the subscriber's updates are logged as.
    pub async fn subscribe(
        &self,
        doc: DocId,
        access: Access,
        author: Author,
    ) -> Result<Subscription, EngineError> {
        let conn = ConnId(self.0.next_conn.fetch_add(1, Ordering::Relaxed));
        // An owner that is unloading closes its queue; a second try opens a fresh one.
        for _ in 0..3 {
            let tx = self.owner(doc);
            let (out, rx) = outbox::outbox(self.0.config.outbound);
            let (joined, ok) = oneshot::channel();
            if tx
                .send(Command::Join {
                    conn,
                    access,
                    author,
                    out,
                    joined,
                })
                .await
                .is_err()
            {
                continue;
            }
            if ok.await.is_ok() {
                self.0.stats.subscribers.fetch_add(1, Ordering::Relaxed);
                return Ok(Subscription {
                    conn,
                    tx,
                    rx,
                    stats: self.0.stats.clone(),
                });
            }
        }
        Err(EngineError::Load(format!(
            "document {} failed to open",
            doc.0
        )))
    }

    fn owner(&self, doc: DocId) -> mpsc::Sender<Command> {
        let mut docs = self.0.docs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = docs.get(&doc)
            && !tx.is_closed()
        {
            return tx.clone();
        }
        let (tx, rx) = mpsc::channel(self.0.config.command_capacity);
        docs.insert(doc, tx.clone());
        let shared = self.0.clone();
        tokio::spawn(async move {
            shared.stats.live_docs.fetch_add(1, Ordering::Relaxed);
            let bus_rx = shared.bus.subscribe(doc.into(), shared.node);
            match shared.store.load(doc).await {
                Ok(stored) => {
                    let restored = LiveDoc::restore(
                        stored.snapshot.as_deref(),
                        stored.updates.iter().map(|u| u.as_ref()),
                    );
                    match restored {
                        Ok(live) => {
                            Owner::new(doc, live, shared.clone(), &stored)
                                .run(rx, bus_rx)
                                .await
                        }
                        Err(e) => {
                            tracing::error!(doc = doc.0, error = %e, "stored document is corrupt")
                        }
                    }
                }
                Err(e) => tracing::error!(doc = doc.0, error = %e, "document failed to load"),
            }
            shared.stats.live_docs.fetch_sub(1, Ordering::Relaxed);
        });
        tx
    }
}

/// One client's membership in one document.
pub struct Subscription {
    pub conn: ConnId,
    tx: mpsc::Sender<Command>,
    rx: outbox::Receiver,
    stats: Arc<Stats>,
}

impl Subscription {
    /// Hands one received message to the document. A malformed message is an error for the
    /// caller to close the connection with; the document never sees it.
    pub async fn send(&self, raw: Bytes) -> Result<(), EngineError> {
        let msg = protocol::decode(&raw)?;
        self.tx
            .send(Command::Message {
                conn: self.conn,
                raw,
                msg: Box::new(msg),
            })
            .await
            .map_err(|_| EngineError::Gone)
    }

    /// The next message for the client; `None` when the engine dropped this subscriber (too
    /// slow, or the document closed), after which the client must reconnect and resync.
    pub async fn recv(&mut self) -> Option<Outbound> {
        std::future::poll_fn(|cx| self.rx.poll_recv(cx)).await
    }

    pub fn try_recv(&mut self) -> Option<Outbound> {
        self.rx.try_recv()
    }

    /// [`Self::recv`] as a poll, so one connection can wait on many subscriptions at once.
    pub fn poll_recv(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Outbound>> {
        self.rx.poll_recv(cx)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.stats.subscribers.fetch_sub(1, Ordering::Relaxed);
        let leave = Command::Leave { conn: self.conn };
        if let Err(mpsc::error::TrySendError::Full(leave)) = self.tx.try_send(leave) {
            let tx = self.tx.clone();
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let _ = tx.send(leave).await;
                });
            }
        }
    }
}
