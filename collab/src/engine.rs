//! The live-document engine: one owner task per open document applies updates, fans the
//! received bytes out to the other subscribers, logs updates with group commit (one store
//! transaction per batch) and acknowledges them to their authors only once durable. Documents
//! with no subscribers are unloaded after an idle timeout. Transport-free: a connection is a
//! [`Subscription`] with a bounded outbound queue, so tests drive it over in-memory channels.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use tokio::{
    sync::{broadcast, mpsc, oneshot},
    time::{Instant, sleep_until},
};
use yrs::{
    ClientID,
    sync::{Message, SyncMessage},
};

use crate::{
    DocId,
    bus::{Bus, BusMessage, NodeId},
    doc::{DocError, LiveDoc},
    protocol::{self, ProtocolError},
    store::{DocStore, StoreError},
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
    /// Messages queued per subscriber before it counts as too slow and is disconnected.
    pub outbound_capacity: usize,
    /// Commands queued per document before senders wait (backpressure on writers).
    pub command_capacity: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            commit_delay: Duration::ZERO,
            max_batch: 512,
            compact_after: 1000,
            idle_unload: Duration::from_secs(30),
            outbound_capacity: 512,
            command_capacity: 1024,
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
    pub slow_disconnects: AtomicU64,
    pub commits: AtomicU64,
    pub commit_failures: AtomicU64,
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
        out: mpsc::Sender<Outbound>,
        joined: oneshot::Sender<()>,
    },
    Leave {
        conn: ConnId,
    },
    Message {
        conn: ConnId,
        raw: Bytes,
        msg: Message,
    },
    /// The whole current state, as one v1 update.
    Read {
        reply: oneshot::Sender<Vec<u8>>,
    },
    /// An update made by the server itself (a change on disk): applied, stored and sent to
    /// every subscriber like a client's.
    Write {
        update: Vec<u8>,
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
        }))
    }

    /// Installs the change hook (once; later calls are ignored).
    pub fn on_change(&self, hook: ChangeHook) {
        let _ = self.0.on_change.set(hook);
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
    pub async fn write(&self, doc: DocId, update: Vec<u8>) -> Result<(), EngineError> {
        for _ in 0..3 {
            let tx = self.owner(doc);
            let (done, rx) = oneshot::channel();
            let update = update.clone();
            if tx.send(Command::Write { update, done }).await.is_err() {
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
    pub async fn subscribe(&self, doc: DocId, access: Access) -> Result<Subscription, EngineError> {
        let conn = ConnId(self.0.next_conn.fetch_add(1, Ordering::Relaxed));
        // An owner that is unloading closes its queue; a second try opens a fresh one.
        for _ in 0..3 {
            let tx = self.owner(doc);
            let (out, rx) = mpsc::channel(self.0.config.outbound_capacity);
            let (joined, ok) = oneshot::channel();
            if tx
                .send(Command::Join {
                    conn,
                    access,
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
            let bus_rx = shared.bus.subscribe(doc, shared.node);
            match shared.store.load(doc).await {
                Ok(stored) => {
                    let restored = LiveDoc::restore(
                        stored.snapshot.as_deref(),
                        stored.updates.iter().map(|u| u.as_ref()),
                    );
                    match restored {
                        Ok(live) => {
                            Owner::new(doc, live, shared.clone(), stored.updates.len() as u64)
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
    rx: mpsc::Receiver<Outbound>,
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
                msg,
            })
            .await
            .map_err(|_| EngineError::Gone)
    }

    /// The next message for the client; `None` when the engine dropped this subscriber (too
    /// slow, or the document closed), after which the client must reconnect and resync.
    pub async fn recv(&mut self) -> Option<Outbound> {
        self.rx.recv().await
    }

    pub fn try_recv(&mut self) -> Option<Outbound> {
        self.rx.try_recv().ok()
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

struct Subscriber {
    access: Access,
    out: mpsc::Sender<Outbound>,
    /// Document updates received from this subscriber so far.
    sent: u64,
    /// Awareness client ids this subscriber announced, removed when it leaves.
    clients: HashSet<ClientID>,
    told_read_only: bool,
}

struct Batch {
    updates: Vec<Bytes>,
    /// (subscriber, its `sent` count) for acknowledgements once the batch is durable.
    marks: Vec<(ConnId, u64)>,
}

struct Committed {
    batch: Batch,
    result: Result<u64, StoreError>,
}

/// Upper bound for the retry delay after failed commits.
const MAX_RETRY: Duration = Duration::from_secs(5);

struct Owner {
    doc: DocId,
    live: LiveDoc,
    shared: Arc<Shared>,
    subs: HashMap<ConnId, Subscriber>,
    pending: Batch,
    commit_at: Option<Instant>,
    writing: bool,
    retry: Duration,
    logged_since_snapshot: u64,
    idle_at: Option<Instant>,
    /// yrs panicked inside this document; the owner stops (see `retire_if_poisoned`).
    poisoned: bool,
    compacting: Arc<std::sync::atomic::AtomicBool>,
    done_tx: mpsc::Sender<Committed>,
    done_rx: mpsc::Receiver<Committed>,
}

impl Owner {
    fn new(doc: DocId, live: LiveDoc, shared: Arc<Shared>, logged: u64) -> Self {
        let (done_tx, done_rx) = mpsc::channel(2);
        let idle_at = Some(Instant::now() + shared.config.idle_unload);
        Self {
            doc,
            live,
            shared,
            subs: HashMap::new(),
            pending: Batch {
                updates: Vec::new(),
                marks: Vec::new(),
            },
            commit_at: None,
            writing: false,
            retry: Duration::from_millis(50),
            logged_since_snapshot: logged,
            idle_at,
            poisoned: false,
            compacting: Arc::default(),
            done_tx,
            done_rx,
        }
    }

    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Command>,
        mut bus_rx: broadcast::Receiver<BusMessage>,
    ) {
        while !self.poisoned {
            let commit_at = self.commit_at.filter(|_| !self.writing);
            let idle_at = self.idle_at;
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.handle(cmd),
                    None => break,
                },
                Some(done) = self.done_rx.recv() => self.committed(done),
                msg = bus_rx.recv() => match msg {
                    Ok(msg) => self.apply_remote(msg.message),
                    Err(broadcast::error::RecvError::Lagged(n)) => self.resync_after_lag(n).await,
                    Err(broadcast::error::RecvError::Closed) => bus_rx = self.shared.bus.subscribe(self.doc, self.shared.node),
                },
                () = sleep_until(commit_at.unwrap_or_else(Instant::now)), if commit_at.is_some() => self.flush(),
                () = sleep_until(idle_at.unwrap_or_else(Instant::now)), if idle_at.is_some() => {
                    if self.subs.is_empty() && self.pending.updates.is_empty() && !self.writing {
                        // Refuse new joins (they retry with a fresh owner, which loads what this
                        // one committed), answer the queued ones by dropping them.
                        rx.close();
                        while rx.recv().await.is_some() {}
                        break;
                    }
                    self.idle_at = None;
                }
            }
        }
        tracing::debug!(doc = self.doc.0, "document unloaded");
    }

    fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Join {
                conn,
                access,
                out,
                joined,
            } => {
                self.idle_at = None;
                let _ = out.try_send(Outbound::Message(protocol::sync_step1(
                    self.live.state_vector(),
                )));
                for states in protocol::awareness_snapshot(self.live.awareness()) {
                    let _ = out.try_send(Outbound::Message(states));
                }
                self.subs.insert(
                    conn,
                    Subscriber {
                        access,
                        out,
                        sent: 0,
                        clients: HashSet::new(),
                        told_read_only: false,
                    },
                );
                let _ = joined.send(());
            }
            Command::Leave { conn } => self.remove(conn),
            Command::Message { conn, raw, msg } => self.message(conn, raw, msg),
            Command::Read { reply } => {
                let _ = reply.send(self.live.snapshot());
            }
            Command::Write { update, done } => {
                let _ = done.send(self.server_write(update));
            }
        }
    }

    fn message(&mut self, conn: ConnId, raw: Bytes, msg: Message) {
        let Some(sub) = self.subs.get_mut(&conn) else {
            return;
        };
        match msg {
            Message::Sync(SyncMessage::SyncStep1(sv)) => {
                let reply = protocol::sync_step2(self.live.diff(&sv));
                self.send_to(conn, reply);
            }
            Message::Sync(SyncMessage::SyncStep2(update)) => self.write(conn, None, update),
            Message::Sync(SyncMessage::Update(update)) => self.write(conn, Some(raw), update),
            Message::Awareness(update) => {
                for (id, entry) in &update.clients {
                    if &*entry.json == "null" {
                        sub.clients.remove(id);
                    } else {
                        sub.clients.insert(*id);
                    }
                }
                if let Err(e) = self.live.awareness_mut().apply_update(update) {
                    self.close(conn, &format!("bad awareness update: {e}"));
                    return;
                }
                self.broadcast(Some(conn), &raw);
                self.publish(raw);
            }
            Message::AwarenessQuery => {
                for states in protocol::awareness_snapshot(self.live.awareness()) {
                    self.send_to(conn, states);
                }
            }
            // Auth is server-to-client only; custom tags are not ours to interpret.
            Message::Auth(_) | Message::Custom(..) => {}
        }
    }

    /// A document update from a subscriber: check access, apply, fan out, queue for commit.
    /// `raw` is the received message when it can be forwarded as is (an Update; a SyncStep2 is
    /// re-tagged as an Update for the others).
    fn write(&mut self, conn: ConnId, raw: Option<Bytes>, update: Vec<u8>) {
        // An empty update (no structs, no deletes) changes nothing: nothing to check, store or
        // send. Every client's handshake step 2 is one when it has nothing new.
        if update == [0, 0] {
            return;
        }
        let Some(sub) = self.subs.get_mut(&conn) else {
            return;
        };
        if sub.access == Access::ReadOnly {
            self.shared
                .stats
                .refused_writes
                .fetch_add(1, Ordering::Relaxed);
            if !sub.told_read_only {
                sub.told_read_only = true;
                let _ = sub
                    .out
                    .try_send(Outbound::Message(protocol::permission_denied("read-only")));
            }
            return;
        }
        if let Err(e) = self.live.apply(&update) {
            self.retire_if_poisoned(&e);
            self.close(conn, &format!("{e}"));
            return;
        }
        self.shared
            .stats
            .updates_applied
            .fetch_add(1, Ordering::Relaxed);
        self.changed();
        let forward = raw.unwrap_or_else(|| protocol::update(update.clone()));
        self.broadcast(Some(conn), &forward);
        self.publish(forward);
        if let Some(sub) = self.subs.get_mut(&conn) {
            sub.sent += 1;
            self.pending.marks.push((conn, sub.sent));
        }
        self.queue(Bytes::from(update));
    }

    /// An update from the server itself: no subscriber to check or acknowledge.
    fn server_write(&mut self, update: Vec<u8>) -> Result<(), String> {
        if update == [0, 0] {
            return Ok(());
        }
        if let Err(e) = self.live.apply(&update) {
            self.retire_if_poisoned(&e);
            return Err(e.to_string());
        }
        self.changed();
        let forward = protocol::update(update.clone());
        self.broadcast(None, &forward);
        self.publish(forward);
        self.queue(Bytes::from(update));
        self.idle_at = self
            .idle_at
            .map(|_| Instant::now() + self.shared.config.idle_unload);
        Ok(())
    }

    /// Queues an applied update for the next commit.
    fn queue(&mut self, update: Bytes) {
        self.pending.updates.push(update);
        let now = Instant::now();
        if self.pending.updates.len() >= self.shared.config.max_batch {
            self.commit_at = Some(now);
        } else if self.commit_at.is_none() {
            self.commit_at = Some(now + self.shared.config.commit_delay);
        }
    }

    fn changed(&self) {
        if let Some(hook) = self.shared.on_change.get() {
            hook(self.doc);
        }
    }

    /// After a panic inside yrs the live document cannot be trusted (or even locked): stop
    /// serving it. Subscribers are dropped and reconnect; the next owner loads the store, and
    /// clients resend whatever was not acknowledged.
    fn retire_if_poisoned(&mut self, e: &DocError) {
        if matches!(e, DocError::Poisoned) {
            tracing::error!(
                doc = self.doc.0,
                "yrs panicked applying an update; reloading the document"
            );
            self.shared.stats.poisoned.fetch_add(1, Ordering::Relaxed);
            self.poisoned = true;
        }
    }

    fn apply_remote(&mut self, message: Bytes) {
        // Another node already validated, applied and stored this; apply and fan out locally.
        match protocol::decode(&message) {
            Ok(Message::Sync(SyncMessage::Update(u)))
            | Ok(Message::Sync(SyncMessage::SyncStep2(u))) => {
                if let Err(e) = self.live.apply(&u) {
                    tracing::warn!(doc = self.doc.0, error = %e, "bad update from the bus");
                    self.retire_if_poisoned(&e);
                    return;
                }
                self.changed();
            }
            Ok(Message::Awareness(update)) => {
                let _ = self.live.awareness_mut().apply_update(update);
            }
            _ => return,
        }
        self.broadcast(None, &message);
    }

    /// A lagged bus subscriber missed updates from other nodes: they are in the store, so load
    /// and merge it, then send everyone the merged state.
    async fn resync_after_lag(&mut self, missed: u64) {
        tracing::warn!(
            doc = self.doc.0,
            missed,
            "bus lagged; resyncing from the store"
        );
        if let Ok(stored) = self.shared.store.load(self.doc).await {
            let before = self.live.state_vector();
            for u in stored
                .snapshot
                .iter()
                .map(|s| s.as_slice())
                .chain(stored.updates.iter().map(|u| u.as_ref()))
            {
                let _ = self.live.apply(u);
            }
            let catch_up = protocol::update(self.live.diff(&before));
            self.broadcast(None, &catch_up);
        }
    }

    fn publish(&self, message: Bytes) {
        self.shared.bus.publish(
            self.doc,
            BusMessage {
                from: self.shared.node,
                message,
            },
        );
    }

    fn send_to(&mut self, conn: ConnId, message: Bytes) {
        let full = match self.subs.get(&conn) {
            Some(sub) => sub.out.try_send(Outbound::Message(message)).is_err(),
            None => false,
        };
        if full {
            self.drop_slow(vec![conn]);
        }
    }

    /// Sends to every subscriber but `except`. One that cannot keep up is disconnected rather
    /// than silently skipped: it reconnects and resyncs, so it never misses an update.
    fn broadcast(&mut self, except: Option<ConnId>, message: &Bytes) {
        let slow = self.fan_out(except, message);
        self.drop_slow(slow);
    }

    /// Offers `message` to every subscriber but `except`; returns those whose queue is full.
    fn fan_out(&self, except: Option<ConnId>, message: &Bytes) -> Vec<ConnId> {
        self.subs
            .iter()
            .filter(|(id, _)| Some(**id) != except)
            .filter(|(_, sub)| {
                sub.out
                    .try_send(Outbound::Message(message.clone()))
                    .is_err()
            })
            .map(|(id, _)| *id)
            .collect()
    }

    /// Disconnects slow subscribers. Each removal tells the others that its cursors are gone,
    /// which can find more slow subscribers: a work list, not recursion, so a flood of slow
    /// clients cannot exhaust the stack.
    fn drop_slow(&mut self, mut slow: Vec<ConnId>) {
        while let Some(conn) = slow.pop() {
            if !self.subs.contains_key(&conn) {
                continue;
            }
            self.shared
                .stats
                .slow_disconnects
                .fetch_add(1, Ordering::Relaxed);
            tracing::info!(
                doc = self.doc.0,
                conn = conn.0,
                "subscriber too slow; disconnecting it"
            );
            slow.extend(self.detach(conn));
        }
    }

    fn close(&mut self, conn: ConnId, reason: &str) {
        if let Some(sub) = self.subs.get(&conn) {
            let _ = sub.out.try_send(Outbound::Close(reason.to_owned()));
        }
        self.remove(conn);
    }

    fn remove(&mut self, conn: ConnId) {
        let slow = self.detach(conn);
        self.drop_slow(slow);
    }

    /// Removes a subscriber and announces that its awareness states are gone; returns the
    /// subscribers that were too slow to take that announcement.
    fn detach(&mut self, conn: ConnId) -> Vec<ConnId> {
        let Some(sub) = self.subs.remove(&conn) else {
            return Vec::new();
        };
        let mut slow = Vec::new();
        if !sub.clients.is_empty() {
            let awareness = self.live.awareness_mut();
            for id in &sub.clients {
                awareness.remove_state(*id);
            }
            if let Ok(update) = awareness.update_with_clients(sub.clients.iter().copied()) {
                let gone = protocol::awareness(update);
                slow = self.fan_out(None, &gone);
                self.publish(gone);
            }
        }
        if self.subs.is_empty() {
            self.idle_at = Some(Instant::now() + self.shared.config.idle_unload);
        }
        slow
    }

    /// Hands the pending batch to a writer task; the owner keeps applying updates meanwhile,
    /// and whatever arrives during the write forms the next batch (group commit).
    fn flush(&mut self) {
        self.commit_at = None;
        if self.writing || self.pending.updates.is_empty() {
            return;
        }
        self.writing = true;
        let batch = std::mem::replace(
            &mut self.pending,
            Batch {
                updates: Vec::new(),
                marks: Vec::new(),
            },
        );
        let store = self.shared.store.clone();
        let done = self.done_tx.clone();
        let doc = self.doc;
        tokio::spawn(async move {
            let result = store.append(doc, &batch.updates).await;
            let _ = done.send(Committed { batch, result }).await;
        });
    }

    fn committed(&mut self, done: Committed) {
        self.writing = false;
        let Committed { mut batch, result } = done;
        match result {
            Ok(last_seq) => {
                self.retry = Duration::from_millis(50);
                self.shared.stats.commits.fetch_add(1, Ordering::Relaxed);
                let mut acks: HashMap<ConnId, u64> = HashMap::new();
                for (conn, n) in &batch.marks {
                    let e = acks.entry(*conn).or_default();
                    *e = (*e).max(*n);
                }
                for (conn, n) in acks {
                    if let Some(sub) = self.subs.get(&conn) {
                        // An ack that does not fit is superseded by the next one; never fatal.
                        let _ = sub.out.try_send(Outbound::Saved(n));
                    }
                }
                self.logged_since_snapshot += batch.updates.len() as u64;
                if self.logged_since_snapshot >= self.shared.config.compact_after {
                    self.compact(last_seq);
                }
                if !self.pending.updates.is_empty() && self.commit_at.is_none() {
                    self.commit_at = Some(Instant::now());
                }
            }
            Err(e) => {
                // Keep the updates (unacknowledged) ahead of newer ones and retry with backoff.
                self.shared
                    .stats
                    .commit_failures
                    .fetch_add(1, Ordering::Relaxed);
                tracing::error!(doc = self.doc.0, error = %e, retry_in = ?self.retry, "commit failed");
                batch.updates.append(&mut self.pending.updates);
                batch.marks.append(&mut self.pending.marks);
                self.pending = batch;
                self.commit_at = Some(Instant::now() + self.retry);
                self.retry = (self.retry * 2).min(MAX_RETRY);
            }
        }
        if self.subs.is_empty() && self.idle_at.is_none() {
            self.idle_at = Some(Instant::now() + self.shared.config.idle_unload);
        }
    }

    /// Folds the log into a snapshot in the background. One compaction at a time per
    /// document: each holds a full snapshot, and a slow store must not let them pile up.
    fn compact(&mut self, through: u64) {
        if self.compacting.swap(true, Ordering::AcqRel) {
            return;
        }
        self.logged_since_snapshot = 0;
        let snapshot = self.live.snapshot();
        let store = self.shared.store.clone();
        let stats = self.shared.stats.clone();
        let compacting = self.compacting.clone();
        let doc = self.doc;
        tokio::spawn(async move {
            match store.compact(doc, snapshot, through).await {
                Ok(()) => {
                    stats.compactions.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    tracing::warn!(doc = doc.0, error = %e, "compaction failed; the log stays as it is")
                }
            }
            compacting.store(false, Ordering::Release);
        });
    }
}
