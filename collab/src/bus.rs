//! Fan-out between server nodes. Each document owner publishes what its own clients sent and
//! applies what other nodes publish. [`InProcessBus`] links owners inside one process (one node,
//! or several simulated nodes in tests); Redis or NATS implementations come with scale-out.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicU64, Ordering},
};

use bytes::Bytes;
use tokio::sync::mpsc;

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

pub trait Bus: Send + Sync + 'static {
    /// Delivers `message` to every other node that has `doc` open; never back to its sender.
    fn publish(&self, doc: DocId, message: BusMessage);
    /// Messages other nodes publish for `doc` from now on. A lagging receiver loses messages
    /// and must resync, which the owner does by merging the store.
    fn subscribe(&self, doc: DocId, node: NodeId) -> BusReceiver;
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
    rx: mpsc::Receiver<BusMessage>,
    lagged: Arc<AtomicU64>,
}

/// The sending end, kept by the bus.
#[derive(Clone)]
pub struct BusSender {
    tx: mpsc::Sender<BusMessage>,
    lagged: Arc<AtomicU64>,
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
        match self.tx.try_send(message) {
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
}

impl BusReceiver {
    /// The next event. Cancel-safe. A loss is reported before the messages queued after it,
    /// which is early rather than late: the resync merges the store, and applying a message
    /// twice changes nothing.
    pub async fn recv(&mut self) -> BusEvent {
        let lost = self.lagged.swap(0, Ordering::Relaxed);
        if lost > 0 {
            return BusEvent::Lagged(lost);
        }
        match self.rx.recv().await {
            Some(m) => BusEvent::Message(m),
            None => BusEvent::Closed,
        }
    }
}

/// Per-document, per-node queues inside one process. Each node has its own queue so that a
/// busy node is never flooded (and lagged) by its own messages.
#[derive(Clone, Default)]
pub struct InProcessBus {
    topics: Arc<Mutex<std::collections::HashMap<DocId, Vec<NodeChannel>>>>,
}

/// One node's queue for one document.
type NodeChannel = (NodeId, BusSender);

/// Bounded: a node that falls this far behind is told it lagged instead of growing a queue.
const TOPIC_CAPACITY: usize = 1024;

impl Bus for InProcessBus {
    fn publish(&self, doc: DocId, message: BusMessage) {
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        let Some(nodes) = topics.get_mut(&doc) else {
            return;
        };
        // Forget nodes that closed the document.
        nodes.retain(|(node, tx)| *node == message.from || tx.send(message.clone()));
        nodes.retain(|(_, tx)| !tx.is_closed());
        if nodes.is_empty() {
            topics.remove(&doc);
        }
    }

    fn subscribe(&self, doc: DocId, node: NodeId) -> BusReceiver {
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        let nodes = topics.entry(doc).or_default();
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
        let mut a = bus.subscribe(crate::DocId(1), NodeId(1));
        let mut b = bus.subscribe(crate::DocId(1), NodeId(2));
        bus.publish(crate::DocId(1), msg(1, b"hi"));
        assert!(matches!(b.recv().await, BusEvent::Message(m) if &m.message[..] == b"hi"));
        bus.publish(crate::DocId(1), msg(2, b"back"));
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
}
