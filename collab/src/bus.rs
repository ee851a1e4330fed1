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
    /// Delivers `message` to every other node that has `doc` open; never back to its sender.
    fn publish(&self, doc: DocId, message: BusMessage);
    /// Messages other nodes publish for `doc` from now on. A lagging receiver loses messages
    /// and must resync, which the owner does by merging the store.
    fn subscribe(&self, doc: DocId, node: NodeId) -> broadcast::Receiver<BusMessage>;
}

/// Per-document, per-node broadcast channels inside one process. Each node has its own channel
/// so that a busy node is never flooded (and lagged) by its own messages.
#[derive(Clone, Default)]
pub struct InProcessBus {
    topics: Arc<Mutex<HashMap<DocId, Vec<NodeChannel>>>>,
}

/// One node's channel for one document.
type NodeChannel = (NodeId, broadcast::Sender<BusMessage>);

/// Bounded: a node that falls this far behind is told it lagged instead of growing a queue.
const TOPIC_CAPACITY: usize = 1024;

impl Bus for InProcessBus {
    fn publish(&self, doc: DocId, message: BusMessage) {
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(nodes) = topics.get_mut(&doc) {
            // Forget nodes that closed the document.
            nodes.retain(|(_, tx)| tx.receiver_count() > 0);
            for (node, tx) in nodes.iter() {
                if *node != message.from {
                    let _ = tx.send(message.clone());
                }
            }
        }
    }

    fn subscribe(&self, doc: DocId, node: NodeId) -> broadcast::Receiver<BusMessage> {
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        let nodes = topics.entry(doc).or_default();
        nodes.retain(|(_, tx)| tx.receiver_count() > 0);
        if let Some((_, tx)) = nodes.iter().find(|(n, _)| *n == node) {
            return tx.subscribe();
        }
        let (tx, rx) = broadcast::channel(TOPIC_CAPACITY);
        nodes.push((node, tx));
        rx
    }
}
