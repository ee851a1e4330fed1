//! Fan-out between server nodes. Each document owner publishes what its own clients sent and
//! applies what other nodes publish. [`InProcessBus`] links owners inside one process (one node,
//! or several simulated nodes in tests); the server's `cluster` module carries the same
//! messages over a broker (NATS) and feeds them into the same [`BusReceiver`].

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, Ordering},
};

use bytes::Bytes;
use tokio::sync::mpsc;

#[cfg(feature = "nats")]
pub mod nats;

use crate::DocId;

/// Identifies the node (process) a bus message came from, so a node skips its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeId(pub u64);

#[derive(Debug, Clone)]
pub struct BusMessage {
    pub from: NodeId,
    /// A complete y-sync or awareness message, as a client sent it.
    pub message: Bytes,
}

/// What a bus message is about: one document (its y-sync and awareness traffic), one
/// project's channel (tree events, chat, presence; the server's `live` hub), or one node's
/// inbox (requests addressed to the node that runs a terminal or a run, and their answers),
/// named by the node's 20-bit block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    Doc(DocId),
    Project(u64),
    Node(u64),
}

impl From<DocId> for Topic {
    fn from(doc: DocId) -> Self {
        Self::Doc(doc)
    }
}

/// Whether a node's messages reach the other nodes now (for `/healthz` and `/metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusHealth {
    /// One process: nothing to reach.
    Local,
    /// Connected to the broker; `reconnects` counts the connections after the first.
    Connected { reconnects: u64 },
    /// The broker is unreachable: this node serves its own clients alone until it returns.
    Disconnected { reconnects: u64 },
}

pub trait Bus: Send + Sync + 'static {
    /// Delivers `message` to every other node subscribed to `topic`; never back to its sender.
    fn publish(&self, topic: Topic, message: BusMessage);
    /// Messages other nodes publish on `topic` from now on. A lagging receiver loses messages
    /// and must resync (a document owner merges the store; the hub tells its tabs to refetch).
    fn subscribe(&self, topic: Topic, node: NodeId) -> BusReceiver;
    /// How the link to the other nodes is now.
    fn health(&self) -> BusHealth {
        BusHealth::Local
    }
}

/// What a node hears on a document's topic.
#[derive(Debug)]
pub enum BusEvent {
    Message(BusMessage),
    /// This many messages were dropped because the node fell behind: resync from the store.
    Lagged(u64),
    /// The topic ended (the bus is gone); subscribe again.
    Closed,
}

/// The receiving end of one node's subscription to one document: a bounded queue that
/// allocates as messages arrive (a broadcast channel would reserve its whole capacity per open
/// document, 64 KiB each, even on a single node where nothing is ever sent to it), plus a count
/// of the messages dropped while it was full.
pub struct BusReceiver {
    rx: mpsc::Receiver<Item>,
    lagged: Arc<AtomicU64>,
}

/// The sending end, kept by the bus.
#[derive(Clone)]
pub struct BusSender {
    tx: mpsc::Sender<Item>,
    lagged: Arc<AtomicU64>,
}

/// What travels in a topic queue: a message, or a wake-up for a receiver parked on an empty
/// queue when a loss was counted without a message behind it.
#[derive(Debug)]
enum Item {
    Message(BusMessage),
    Lost,
}

/// A topic queue of `capacity` messages.
pub fn topic(capacity: usize) -> (BusSender, BusReceiver) {
    let (tx, rx) = mpsc::channel(capacity);
    let lagged = Arc::new(AtomicU64::new(0));
    (
        BusSender {
            tx,
            lagged: lagged.clone(),
        },
        BusReceiver { rx, lagged },
    )
}

impl BusSender {
    /// Queues `message`, or counts it as lost when the receiver is this far behind. False once
    /// the receiver is gone.
    pub fn send(&self, message: BusMessage) -> bool {
        match self.tx.try_send(Item::Message(message)) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.lagged.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Counts `n` messages as lost without one to deliver, so the receiver resyncs from the
    /// store: a broker-backed bus reports this way what it cannot have delivered (published
    /// before its subscription was live, or while it was disconnected from the broker).
    pub fn lost(&self, n: u64) {
        self.lagged.fetch_add(n, Ordering::Relaxed);
        // A full queue wakes the receiver anyway; a closed one has nobody to tell.
        let _ = self.tx.try_send(Item::Lost);
    }

    /// Resolves once the receiver is gone (the document was closed on this node).
    pub async fn closed(&self) {
        self.tx.closed().await;
    }
}

impl BusReceiver {
    /// The next event. Cancel-safe. A loss is reported before the messages queued after it,
    /// which is early rather than late: the resync merges the store, and applying a message
    /// twice changes nothing.
    pub async fn recv(&mut self) -> BusEvent {
        loop {
            let lost = self.lagged.swap(0, Ordering::Relaxed);
            if lost > 0 {
                return BusEvent::Lagged(lost);
            }
            match self.rx.recv().await {
                Some(Item::Message(m)) => return BusEvent::Message(m),
                None => return BusEvent::Closed,
                // Counted before it was sent: the swap above reports it (or already did).
                Some(Item::Lost) => {}
            }
        }
    }
}

/// Per-document, per-node queues inside one process. Each node has its own queue so that a
/// busy node is never flooded (and lagged) by its own messages.
#[derive(Clone, Default)]
pub struct InProcessBus {
    topics: Arc<Mutex<std::collections::HashMap<Topic, Vec<NodeChannel>>>>,
}

/// One node's queue for one document.
type NodeChannel = (NodeId, BusSender);

/// Bounded: a node that falls this far behind is told it lagged instead of growing a queue.
const TOPIC_CAPACITY: usize = 1024;

impl Bus for InProcessBus {
    fn publish(&self, topic: Topic, message: BusMessage) {
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        let Some(nodes) = topics.get_mut(&topic) else {
            return;
        };
        // Forget nodes that closed the document.
        nodes.retain(|(node, tx)| *node == message.from || tx.send(message.clone()));
        nodes.retain(|(_, tx)| !tx.is_closed());
        if nodes.is_empty() {
            topics.remove(&topic);
        }
    }

    fn subscribe(&self, on: Topic, node: NodeId) -> BusReceiver {
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        let nodes = topics.entry(on).or_default();
        nodes.retain(|(_, tx)| !tx.is_closed());
        let (tx, rx) = topic(TOPIC_CAPACITY);
        nodes.push((node, tx));
        rx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(from: u64, b: &'static [u8]) -> BusMessage {
        BusMessage {
            from: NodeId(from),
            message: Bytes::from_static(b),
        }
    }

    #[tokio::test]
    async fn other_nodes_hear_a_message_and_its_sender_does_not() {
        let bus = InProcessBus::default();
        let mut a = bus.subscribe(crate::DocId(1).into(), NodeId(1));
        let mut b = bus.subscribe(crate::DocId(1).into(), NodeId(2));
        bus.publish(crate::DocId(1).into(), msg(1, b"hi"));
        assert!(matches!(b.recv().await, BusEvent::Message(m) if &m.message[..] == b"hi"));
        bus.publish(crate::DocId(1).into(), msg(2, b"back"));
        assert!(matches!(a.recv().await, BusEvent::Message(m) if &m.message[..] == b"back"));
    }

    #[tokio::test]
    async fn a_full_queue_reports_the_loss() {
        let (tx, mut rx) = topic(2);
        for _ in 0..5 {
            assert!(tx.send(msg(1, b"x")));
        }
        assert!(matches!(rx.recv().await, BusEvent::Lagged(3)));
        assert!(matches!(rx.recv().await, BusEvent::Message(_)));
        drop(rx);
        assert!(!tx.send(msg(1, b"x")));
    }

    #[tokio::test]
    async fn a_loss_without_a_message_wakes_a_waiting_receiver() {
        let (tx, mut rx) = topic(4);
        let waiting = tokio::spawn(async move { rx.recv().await });
        tokio::task::yield_now().await;
        tx.lost(1);
        assert!(matches!(waiting.await, Ok(BusEvent::Lagged(1))));
    }

    #[tokio::test]
    async fn closed_resolves_when_the_receiver_is_dropped() {
        let (tx, rx) = topic(4);
        drop(rx);
        tokio::time::timeout(std::time::Duration::from_secs(5), tx.closed())
            .await
            .expect("closed() resolves once the receiver is gone");
    }
}
