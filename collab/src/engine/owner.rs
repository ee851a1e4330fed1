//! The owner task of one live document: it applies updates in arrival order, forwards the
//! received bytes to the other subscribers, gathers updates into batches committed in one
//! store transaction, acknowledges authors once a batch is durable, compacts, and unloads the
//! document when nobody has been subscribed for the idle timeout.

mod commit;

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use bytes::Bytes;
use tokio::{
    sync::{mpsc, oneshot},
    time::{Instant, sleep_until},
};
use yrs::{
    ClientID,
    sync::{AwarenessUpdate, Message, SyncMessage},
};

use crate::{
    DocId,
    bus::{BusEvent, BusMessage, BusReceiver},
    doc::{DocError, LiveDoc},
    protocol::{self},
    store::{Author, Logged, StoreError, Stored},
};

use super::{
    Access, Command, ConnId, Outbound, Shared,
    outbox::{self, Push},
    presence::{self, Pace},
};

pub(super) struct Subscriber {
    access: Access,
    /// Whom this subscriber's updates are logged as.
    author: Author,
    out: outbox::Sender,
    /// Document updates received from this subscriber so far.
    sent: u64,
    /// Awareness client ids this subscriber announced, removed when it leaves.
    clients: HashSet<ClientID>,
    told_read_only: bool,
    /// One of this subscriber's updates was refused for the size limit. Its later updates
    /// build on that one, so they are refused too until it subscribes afresh.
    over_limit: bool,
}

pub(super) struct Batch {
    updates: Vec<Logged>,
    /// (subscriber, its `sent` count) for acknowledgements once the batch is durable.
    marks: Vec<(ConnId, u64)>,
    /// Asked to hear when everything applied before they asked is durable
    /// ([`Command::Durable`]): answered with the batch.
    waiters: Vec<oneshot::Sender<()>>,
}

impl Batch {
    fn empty() -> Self {
        Self {
            updates: Vec::new(),
            marks: Vec::new(),
            waiters: Vec::new(),
        }
    }
}

pub(super) struct Committed {
    batch: Batch,
    result: Result<u64, StoreError>,
}

/// Awareness client ids one connection may announce (a tab has one per open editor).
pub(super) const MAX_AWARENESS_CLIENTS: usize = 16;

/// How often an update at the size limit may fold the log to measure the document.
pub(super) const MEASURE_EVERY: Duration = Duration::from_secs(1);

/// Upper bound for the retry delay after failed commits.
pub(super) const MAX_RETRY: Duration = Duration::from_secs(5);

pub(super) struct Owner {
    doc: DocId,
    live: LiveDoc,
    shared: Arc<Shared>,
    subs: HashMap<ConnId, Subscriber>,
    /// Which connection announced each awareness client, to tell a client's own state from an
    /// echo of it (see `own_awareness`).
    announcers: HashMap<ClientID, ConnId>,
    pending: Batch,
    commit_at: Option<Instant>,
    writing: bool,
    retry: Duration,
    logged_since_snapshot: u64,
    /// What the store holds for this document: the snapshot plus the updates logged after it
    /// (and those queued), the measure of `max_doc_bytes`.
    stored_bytes: u64,
    /// The sequence number of the last update known to be in the store.
    last_seq: u64,
    /// When an update at the size limit last made the log fold to measure the document.
    measured_at: Option<Instant>,
    idle_at: Option<Instant>,
    /// yrs panicked inside this document; the owner stops (see `retire_if_poisoned`).
    poisoned: bool,
    compacting: Arc<std::sync::atomic::AtomicBool>,
    /// Awareness changes gathered for the next tick.
    awareness: Pace,
    // Boxed: a tokio channel allocates its slots in blocks of 32, so a slot the size of a
    // `Committed` cost every open document ~2.5 kB for a channel that holds one at a time.
    done_tx: mpsc::Sender<Box<Committed>>,
    done_rx: mpsc::Receiver<Box<Committed>>,
}

impl Owner {
    /// The owner of `live`, restored from `stored`.
    pub(super) fn new(doc: DocId, live: LiveDoc, shared: Arc<Shared>, stored: &Stored) -> Self {
        let stored_bytes = stored.snapshot.as_ref().map_or(0, |s| s.len() as u64)
            + stored.updates.iter().map(|u| u.len() as u64).sum::<u64>();
        let (done_tx, done_rx) = mpsc::channel(2);
        let idle_at = Some(Instant::now() + shared.config.idle_unload);
        Self {
            doc,
            live,
            shared,
            subs: HashMap::new(),
            announcers: HashMap::new(),
            pending: Batch::empty(),
            commit_at: None,
            writing: false,
            retry: Duration::from_millis(50),
            logged_since_snapshot: stored.updates.len() as u64,
            last_seq: stored.last_seq,
            measured_at: None,
            stored_bytes,
            idle_at,
            poisoned: false,
            compacting: Arc::default(),
            awareness: Pace::default(),
            done_tx,
            done_rx,
        }
    }

    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<Command>, mut bus_rx: BusReceiver) {
        while !self.poisoned {
            let commit_at = self.commit_at.filter(|_| !self.writing);
            let idle_at = self.idle_at;
            let awareness_at = self.awareness.flush_at();
            tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.handle(cmd),
                    None => break,
                },
                Some(done) = self.done_rx.recv() => self.committed(*done),
                event = bus_rx.recv() => match event {
                    BusEvent::Message(msg) => self.apply_remote(msg.message),
                    BusEvent::Lagged(n) => self.resync_after_lag(n).await,
                    BusEvent::Closed => bus_rx = self.shared.bus.subscribe(self.doc.into(), self.shared.node),
                },
                () = sleep_until(commit_at.unwrap_or_else(Instant::now)), if commit_at.is_some() => self.flush(),
                () = sleep_until(awareness_at.unwrap_or_else(Instant::now)), if awareness_at.is_some() => self.flush_awareness(),
                () = sleep_until(idle_at.unwrap_or_else(Instant::now)), if idle_at.is_some() => {
                    if self.subs.is_empty() && self.pending.updates.is_empty() && !self.writing {
                        // Refuse new joins (they retry with a fresh owner, which loads what this
                        // one committed), answer the queued ones by dropping them; everything
                        // is durable, so those asking for that hear yes.
                        rx.close();
                        while let Some(cmd) = rx.recv().await {
                            if let Command::Durable { reply } = cmd {
                                let _ = reply.send(());
                            }
                        }
                        break;
                    }
                    self.idle_at = None;
                }
            }
        }
        tracing::debug!(doc = self.doc.0, "document unloaded");
    }

    pub(super) fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::Join {
                conn,
                access,
                author,
                out,
                joined,
            } => {
                self.idle_at = None;
                // A fresh outbox takes these whole (the awareness snapshot is far below the
                // budget), so the outcome needs no look.
                out.push(Outbound::Message(protocol::sync_step1(
                    self.live.state_vector(),
                )));
                for states in protocol::awareness_snapshot(self.live.awareness()) {
                    out.push(Outbound::Message(states));
                }
                self.subs.insert(
                    conn,
                    Subscriber {
                        access,
                        author,
                        out,
                        sent: 0,
                        clients: HashSet::new(),
                        told_read_only: false,
                        over_limit: false,
                    },
                );
                let _ = joined.send(());
            }
            Command::Leave { conn } => self.remove(conn),
            Command::Message { conn, raw, msg } => self.message(conn, raw, *msg),
            Command::Read { reply } => {
                let _ = reply.send(self.live.snapshot());
            }
            Command::Durable { reply } => {
                // Batches commit in order, so the pending one (or, when nothing is pending,
                // the one being written) is the last that holds an update applied so far.
                if self.pending.updates.is_empty() && !self.writing {
                    let _ = reply.send(());
                } else {
                    self.pending.waiters.push(reply);
                }
            }
            Command::Write {
                update,
                author,
                done,
            } => {
                let _ = done.send(self.server_write(update, author));
            }
        }
    }

    pub(super) fn message(&mut self, conn: ConnId, raw: Bytes, msg: Message) {
        if !self.subs.contains_key(&conn) {
            return;
        }
        match msg {
            Message::Sync(SyncMessage::SyncStep1(sv)) => {
                let reply = protocol::sync_step2(self.live.diff(&sv));
                self.send_to(conn, reply);
            }
            Message::Sync(SyncMessage::SyncStep2(update)) => self.write(conn, None, update),
            Message::Sync(SyncMessage::Update(update)) => self.write(conn, Some(raw), update),
            Message::Awareness(mut update) => {
                let before = update.clients.len();
                self.own_awareness(conn, &mut update);
                if update.clients.is_empty() {
                    return;
                }
                let raw = if update.clients.len() == before {
                    raw
                } else {
                    protocol::encode(&Message::Awareness(update.clone()))
                };
                let Some(sub) = self.subs.get_mut(&conn) else {
                    return;
                };
                let limit = self.shared.config.max_awareness_bytes;
                let largest = update.clients.values().map(|e| e.json.len()).max();
                let announced = update
                    .clients
                    .keys()
                    .filter(|id| !sub.clients.contains(id))
                    .count();
                let refusal = if largest.is_some_and(|n| n > limit) {
                    Some(format!("awareness state over the limit of {limit} bytes"))
                } else if sub.clients.len() + announced > MAX_AWARENESS_CLIENTS {
                    Some(format!(
                        "more than {MAX_AWARENESS_CLIENTS} awareness clients on one connection"
                    ))
                } else {
                    None
                };
                if let Some(reason) = refusal {
                    self.shared
                        .stats
                        .refused_awareness
                        .fetch_add(1, Ordering::Relaxed);
                    self.close(conn, &reason);
                    return;
                }
                for (id, entry) in &update.clients {
                    if &*entry.json == "null" {
                        sub.clients.remove(id);
                        self.announcers.remove(id);
                    } else {
                        sub.clients.insert(*id);
                        self.announcers.insert(*id, conn);
                    }
                }
                let clients: Vec<ClientID> = update.clients.keys().copied().collect();
                if let Err(e) = self.live.awareness_mut().apply_update(update) {
                    self.close(conn, &format!("bad awareness update: {e}"));
                    return;
                }
                if self.awareness.now_or_later(clients) {
                    self.broadcast(Some(conn), &raw);
                }
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

    /// Drops the echoes from an awareness update: states of clients another connection
    /// announced, at a clock the document already has. y-websocket's `WebsocketProvider` sends
    /// every awareness change it receives back to the server; counted as the echoing
    /// connection's own, they broke its 16-client limit and closed it in a loop. A newer clock
    /// is the client itself on a new connection: it moves to this one.
    fn own_awareness(&mut self, conn: ConnId, update: &mut AwarenessUpdate) {
        let awareness = self.live.awareness();
        let mut moved = Vec::new();
        update
            .clients
            .retain(|id, entry| match self.announcers.get(id) {
                Some(by) if *by != conn => {
                    let newer = awareness
                        .meta(*id)
                        .is_none_or(|(clock, _)| entry.clock > clock);
                    if newer {
                        moved.push((*id, *by));
                    }
                    newer
                }
                _ => true,
            });
        for (id, from) in moved {
            if let Some(other) = self.subs.get_mut(&from) {
                other.clients.remove(&id);
            }
            self.announcers.insert(id, conn);
        }
    }

    /// A document update from a subscriber: check access, apply, fan out, queue for commit.
    /// `raw` is the received message when it can be forwarded as is (an Update; a SyncStep2 is
    /// re-tagged as an Update for the others).
    pub(super) fn write(&mut self, conn: ConnId, raw: Option<Bytes>, update: Vec<u8>) {
        // An empty update (no structs, no deletes) changes nothing: nothing to check, store or
        // send. Every client's handshake step 2 is one when it has nothing new.
        if update == [0, 0] {
            return;
        }
        let over = self.would_overflow(&update) && {
            // Deletions free room only once the log is folded into a snapshot: fold it now
            // (it measures the real size) and look again. At most once a second, so a writer
            // at the limit cannot make every keystroke encode the whole document.
            let now = Instant::now();
            if self.logged_since_snapshot > 0
                && self.last_seq > 0
                && self.measured_at.is_none_or(|t| now >= t + MEASURE_EVERY)
            {
                self.measured_at = Some(now);
                self.compact(self.last_seq);
            }
            self.would_overflow(&update)
        };
        let Some(sub) = self.subs.get_mut(&conn) else {
            return;
        };
        if self.shared.frozen.load(Ordering::Relaxed) {
            // Told every time: the connection outlives the maintenance, so "once" would be
            // wrong the next time, and a client in maintenance has no reason to keep writing.
            self.shared
                .stats
                .refused_writes
                .fetch_add(1, Ordering::Relaxed);
            self.send_to(conn, protocol::permission_denied(protocol::MAINTENANCE));
            return;
        }
        if sub.access == Access::ReadOnly {
            self.shared
                .stats
                .refused_writes
                .fetch_add(1, Ordering::Relaxed);
            if !sub.told_read_only {
                sub.told_read_only = true;
                self.send_to(conn, protocol::permission_denied("read-only"));
            }
            return;
        }
        if sub.over_limit || over {
            self.shared
                .stats
                .refused_growth
                .fetch_add(1, Ordering::Relaxed);
            if std::mem::replace(&mut sub.over_limit, true) {
                return;
            }
            let limit = self.shared.config.max_doc_bytes.unwrap_or_default();
            self.send_to(
                conn,
                protocol::permission_denied(&protocol::document_full_reason(limit)),
            );
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
        let mut author = Author::default();
        if let Some(sub) = self.subs.get_mut(&conn) {
            sub.sent += 1;
            author = sub.author;
            self.pending.marks.push((conn, sub.sent));
        }
        self.queue(Bytes::from(update), author);
    }

    /// Whether `update` would take the document past its size limit: only an update that adds
    /// content counts, so deleting from a full document always works.
    fn would_overflow(&self, update: &[u8]) -> bool {
        self.shared.config.max_doc_bytes.is_some_and(|max| {
            self.stored_bytes.saturating_add(update.len() as u64) > max && self.live.extends(update)
        })
    }

    /// An update from the server itself: no subscriber to check or acknowledge.
    pub(super) fn server_write(&mut self, update: Vec<u8>, author: Author) -> Result<(), String> {
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
        self.queue(Bytes::from(update), author);
        self.idle_at = self
            .idle_at
            .map(|_| Instant::now() + self.shared.config.idle_unload);
        Ok(())
    }

    /// Queues an applied update for the next commit.
    pub(super) fn queue(&mut self, update: Bytes, author: Author) {
        self.stored_bytes += update.len() as u64;
        self.pending.updates.push(Logged { update, author });
        let now = Instant::now();
        if self.pending.updates.len() >= self.shared.config.max_batch {
            self.commit_at = Some(now);
        } else if self.commit_at.is_none() {
            self.commit_at = Some(now + self.shared.config.commit_delay);
        }
    }

    pub(super) fn changed(&self) {
        if let Some(hook) = self.shared.on_change.get() {
            hook(self.doc);
        }
    }

    /// After a panic inside yrs the live document cannot be trusted (or even locked): stop
    /// serving it. Subscribers are dropped and reconnect; the next owner loads the store, and
    /// clients resend whatever was not acknowledged.
    pub(super) fn retire_if_poisoned(&mut self, e: &DocError) {
        if matches!(e, DocError::Poisoned) {
            tracing::error!(
                doc = self.doc.0,
                "yrs panicked applying an update; reloading the document"
            );
            self.shared.stats.poisoned.fetch_add(1, Ordering::Relaxed);
            self.poisoned = true;
        }
    }

    pub(super) fn apply_remote(&mut self, message: Bytes) {
        // Another node already validated, applied and stored this; apply and fan out locally.
        match protocol::decode(&message) {
            Ok(Message::Sync(SyncMessage::Update(u))) => {
                if let Err(e) = self.live.apply(&u) {
                    tracing::warn!(doc = self.doc.0, error = %e, "bad update from the bus");
                    self.retire_if_poisoned(&e);
                    return;
                }
                self.changed();
            }
            // A node that lost bus messages asks for what it lacks (`resync_after_lag`).
            Ok(Message::Sync(SyncMessage::SyncStep1(sv))) => {
                self.answer_peer(&sv);
                return;
            }
            // An answer to some node's request: fan out only what was new here.
            Ok(Message::Sync(SyncMessage::SyncStep2(u))) => {
                let before = self.live.state_vector();
                if let Err(e) = self.live.apply(&u) {
                    tracing::warn!(doc = self.doc.0, error = %e, "bad update from the bus");
                    self.retire_if_poisoned(&e);
                    return;
                }
                let news = self.live.diff(&before);
                if news == [0, 0] {
                    return;
                }
                self.changed();
                self.broadcast(None, &protocol::update(news));
                return;
            }
            Ok(Message::Awareness(update)) => {
                let clients: Vec<ClientID> = update.clients.keys().copied().collect();
                if self.live.awareness_mut().apply_update(update).is_err()
                    || !self.awareness.now_or_later(clients)
                {
                    return;
                }
            }
            _ => return,
        }
        self.broadcast(None, &message);
    }

    /// A lagged bus subscriber missed updates from other nodes: they are in the store, so load
    /// and merge it, then send everyone the merged state.
    pub(super) async fn resync_after_lag(&mut self, missed: u64) {
        // Info, not warning: a broker-backed bus reports one loss on every document open
        // (whatever was published before its subscription was live).
        tracing::info!(
            doc = self.doc.0,
            missed,
            "bus reported lost messages; resyncing from the store and the other nodes"
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
        // The store lacks what other nodes published but have not committed yet (and the
        // cursors of their clients): ask them, the y-sync way.
        self.publish(protocol::sync_step1(self.live.state_vector()));
    }

    /// Another node's state vector: publish what it lacks and this node's clients' cursors.
    fn answer_peer(&mut self, sv: &yrs::StateVector) {
        let diff = self.live.diff(sv);
        if diff != [0, 0] {
            self.publish(protocol::sync_step2(diff));
        }
        let own: Vec<ClientID> = self.announcers.keys().copied().collect();
        for chunk in own.chunks(protocol::AWARENESS_CHUNK) {
            if let Some(states) = presence::states_of(self.live.awareness(), chunk) {
                self.publish(states);
            }
        }
    }

    pub(super) fn publish(&self, message: Bytes) {
        self.shared.bus.publish(
            self.doc.into(),
            BusMessage {
                from: self.shared.node,
                message,
            },
        );
    }

    /// Queues `item` for `sub`; counts a merged backlog.
    fn offer(&self, sub: &Subscriber, item: Outbound) -> Push {
        let push = sub.out.push(item);
        if push == Push::Merged {
            self.shared
                .stats
                .merged_backlogs
                .fetch_add(1, Ordering::Relaxed);
        }
        push
    }

    pub(super) fn send_to(&mut self, conn: ConnId, message: Bytes) {
        let Some(sub) = self.subs.get(&conn) else {
            return;
        };
        match self.offer(sub, Outbound::Message(message)) {
            Push::Queued | Push::Merged => {}
            lost => self.drop_slow(vec![(conn, lost)]),
        }
    }

    /// Sends to every subscriber but `except`. One whose backlog passes the hard limit even
    /// after merging is disconnected rather than silently skipped: it reconnects and resyncs,
    /// so it never misses an update.
    pub(super) fn broadcast(&mut self, except: Option<ConnId>, message: &Bytes) {
        let slow = self.fan_out(except, message);
        self.drop_slow(slow);
    }

    /// Offers `message` to every subscriber but `except`; returns those that cannot take it
    /// (over the hard limit, or gone) with the reason.
    pub(super) fn fan_out(&self, except: Option<ConnId>, message: &Bytes) -> Vec<(ConnId, Push)> {
        let mut lost = Vec::new();
        for (id, sub) in &self.subs {
            if Some(*id) == except {
                continue;
            }
            match self.offer(sub, Outbound::Message(message.clone())) {
                Push::Queued | Push::Merged => {}
                push => lost.push((*id, push)),
            }
        }
        lost
    }

    /// Disconnects subscribers that fell too far behind, and forgets those whose connection is
    /// gone (their leave is on its way). Each removal tells the others that its cursors are
    /// gone, which can find more: a work list, not recursion, so a flood of slow clients cannot
    /// exhaust the stack.
    pub(super) fn drop_slow(&mut self, mut lost: Vec<(ConnId, Push)>) {
        while let Some((conn, why)) = lost.pop() {
            if !self.subs.contains_key(&conn) {
                continue;
            }
            if why == Push::Full {
                self.shared
                    .stats
                    .slow_disconnects
                    .fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    doc = self.doc.0,
                    conn = conn.0,
                    "subscriber too far behind; disconnecting it"
                );
            }
            lost.extend(self.detach(conn));
        }
    }

    pub(super) fn close(&mut self, conn: ConnId, reason: &str) {
        if let Some(sub) = self.subs.get(&conn) {
            sub.out.push(Outbound::Close(reason.to_owned()));
        }
        self.remove(conn);
    }

    pub(super) fn remove(&mut self, conn: ConnId) {
        let slow = self.detach(conn);
        self.drop_slow(slow);
    }

    /// Removes a subscriber and announces that its awareness states are gone; returns the
    /// subscribers that were too slow to take that announcement.
    pub(super) fn detach(&mut self, conn: ConnId) -> Vec<(ConnId, Push)> {
        let Some(sub) = self.subs.remove(&conn) else {
            return Vec::new();
        };
        let mut slow = Vec::new();
        if !sub.clients.is_empty() {
            let awareness = self.live.awareness_mut();
            for id in &sub.clients {
                awareness.remove_state(*id);
                self.announcers.remove(id);
            }
            let clients: Vec<ClientID> = sub.clients.into_iter().collect();
            if let Some(gone) = presence::states_of(self.live.awareness(), &clients) {
                if self.awareness.now_or_later(clients) {
                    slow = self.fan_out(None, &gone);
                }
                self.publish(gone);
            }
        }
        if self.subs.is_empty() {
            self.idle_at = Some(Instant::now() + self.shared.config.idle_unload);
        }
        slow
    }

    /// Sends the awareness changes gathered during the tick, as one message to everyone.
    pub(super) fn flush_awareness(&mut self) {
        let clients = self.awareness.take();
        // In chunks, like the snapshot a newcomer gets: a socket's write buffer keeps the
        // capacity of the largest message it ever sent.
        for chunk in clients.chunks(protocol::AWARENESS_CHUNK) {
            if let Some(states) = presence::states_of(self.live.awareness(), chunk) {
                self.broadcast(None, &states);
            }
        }
    }
}
