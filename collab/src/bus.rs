//! Fan-out between server nodes. Each document owner publishes what its own clients sent and
//! applies what other nodes publish. [`InProcessBus`] links owners inside one process (one node,
//! or several simulated nodes in tests); Redis or NATS implementations come with scale-out.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use bytes::Bytes;
use tokio::sync::broadcast;

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
    fn publish(&self, doc: DocId, message: BusMessage);
    /// Messages published for `doc` from now on. A lagging receiver loses messages and must
    /// resync with the other nodes, which the owner does by reloading from the store.
    fn subscribe(&self, doc: DocId) -> broadcast::Receiver<BusMessage>;
}

/// Per-document broadcast channels inside one process.
#[derive(Clone, Default)]
pub struct InProcessBus {
    topics: Arc<Mutex<HashMap<DocId, broadcast::Sender<BusMessage>>>>,
}

/// Bounded: a node that falls this far behind is told it lagged instead of growing a queue.
const TOPIC_CAPACITY: usize = 1024;

impl InProcessBus {
    fn topic(&self, doc: DocId) -> broadcast::Sender<BusMessage> {
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        // Drop topics nobody listens to any more, so the map does not grow with every document.
        topics.retain(|_, tx| tx.receiver_count() > 0);
        topics
            .entry(doc)
            .or_insert_with(|| broadcast::channel(TOPIC_CAPACITY).0)
            .clone()
    }
}

impl Bus for InProcessBus {
    fn publish(&self, doc: DocId, message: BusMessage) {
        // No receivers is normal (no other node has the document open).
        let _ = self.topic(doc).send(message);
    }

    fn subscribe(&self, doc: DocId) -> broadcast::Receiver<BusMessage> {
        self.topic(doc).subscribe()
    }
}
