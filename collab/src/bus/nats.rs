//! The bus over NATS core pub/sub. One subject per open document, `<prefix>.doc.<id>`, and
//! per project with tabs, `<prefix>.project.<id>`, subscribed only while this node has it open, so a node does
//! no work for documents its clients do not use (NATS routes by interest: a message reaches
//! only the connections subscribed to its subject). Core NATS is at-most-once: whatever this
//! node cannot have received (published before its subscription was live, while it was
//! disconnected, or dropped by a full queue anywhere) is reported to the owner as a loss, and
//! the owner merges the store, which holds every acknowledged update.
//!
//! Payload: the sending node's id (8 bytes, little-endian), then the y-sync message as its
//! client sent it.
//!
//! A loss makes the owner merge the store and publish its state vector; the owners of the
//! other nodes answer with what it lacks (the y-sync handshake between nodes), which covers
//! updates that were published but not yet committed when the loss happened.
//!
//! Why NATS rather than Redis pub/sub: measured side by side with `tandem-bench broker`
//! (BENCHMARKS.md, issue 15), and its client reconnects and resubscribes by itself and says
//! when, which is what the loss reports hang on. Feature `nats`.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use async_nats::{Client, ConnectOptions, Event};
use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};

use super::{Bus, BusHealth, BusMessage, BusReceiver, BusSender, NodeId, Topic, topic};

/// Messages one node's subscription to one document may queue before its owner is told it
/// lagged (and resyncs from the store), as on the in-process bus.
const TOPIC_CAPACITY: usize = 1024;

/// How long a subscription that failed waits before the owner subscribes again.
const RETRY: Duration = Duration::from_secs(1);

/// Messages waiting to be handed to the NATS client. Publishing is synchronous for the owner
/// (it must never wait on the network); past this, messages are dropped and every node is
/// told to resync.
const OUTBOX_CAPACITY: usize = 8192;

#[derive(Debug, thiserror::Error)]
pub enum NatsBusError {
    #[error("cannot connect to the NATS server at {url}: {source}")]
    Connect {
        url: String,
        source: async_nats::ConnectError,
    },
    #[error("cannot subscribe to {subject}: {source}")]
    Subscribe {
        subject: String,
        source: async_nats::SubscribeError,
    },
}

/// A [`Bus`] whose topics are NATS subjects.
#[derive(Clone)]
pub struct NatsBus(Arc<Inner>);

struct Inner {
    client: Client,
    prefix: String,
    out: mpsc::Sender<(Topic, Bytes)>,
    /// Bumped when every local subscription must resync: after a reconnect, or when this
    /// node or a peer dropped messages.
    losses: watch::Sender<u64>,
    dropped: AtomicU64,
    link: Arc<Link>,
}

/// Connections made to the broker, the first included (from the client's events).
#[derive(Default)]
struct Link {
    connects: AtomicU64,
}

impl NatsBus {
    /// Connects to `url` (`nats://host:port`); subjects start with `prefix`, so several
    /// deployments can share one NATS server.
    pub async fn connect(url: &str, prefix: &str, node: NodeId) -> Result<Self, NatsBusError> {
        let losses = watch::Sender::new(0u64);
        let on_event = losses.clone();
        let link = Arc::new(Link::default());
        let on_link = link.clone();
        let client = ConnectOptions::new()
            .name(format!("tandem node {:016x}", node.0))
            .event_callback(move |event| {
                let losses = on_event.clone();
                let link = on_link.clone();
                async move {
                    match event {
                        // Resubscribed by the client; whatever was published meanwhile is gone.
                        Event::Connected => {
                            tracing::info!("connected to NATS");
                            link.connects.fetch_add(1, Ordering::Relaxed);
                            losses.send_modify(|n| *n += 1);
                        }
                        Event::Disconnected => tracing::warn!("lost the NATS connection"),
                        Event::SlowConsumer(sid) => {
                            tracing::warn!(sid, "NATS dropped messages for a slow subscription");
                            losses.send_modify(|n| *n += 1);
                        }
                        other => tracing::info!(event = %other, "NATS event"),
                    }
                }
            })
            .connect(url)
            .await
            .map_err(|source| NatsBusError::Connect {
                url: url.to_owned(),
                source,
            })?;
        let (out, rx) = mpsc::channel(OUTBOX_CAPACITY);
        let inner = Arc::new(Inner {
            client,
            prefix: prefix.to_owned(),
            out,
            losses,
            dropped: AtomicU64::new(0),
            link,
        });
        let resync = inner.subject_resync();
        let mut peers = inner
            .client
            .subscribe(resync.clone())
            .await
            .map_err(|source| NatsBusError::Subscribe {
                subject: resync.clone(),
                source,
            })?;
        // A peer that dropped messages asks everyone to resync (rare: its outbox overflowed).
        let weak = Arc::downgrade(&inner);
        tokio::spawn(async move {
            while let Some(m) = peers.next().await {
                let Some(inner) = weak.upgrade() else { break };
                if sender_of(&m.payload) != Some(node) {
                    inner.losses.send_modify(|n| *n += 1);
                }
            }
        });
        tokio::spawn(publisher(Arc::downgrade(&inner), rx, node));
        Ok(Self(inner))
    }
}

impl Inner {
    fn subject(&self, topic: Topic) -> String {
        match topic {
            Topic::Doc(doc) => format!("{}.doc.{}", self.prefix, doc.0),
            Topic::Project(project) => format!("{}.project.{project}", self.prefix),
            Topic::Node(block) => format!("{}.node.{block}", self.prefix),
        }
    }

    fn subject_resync(&self) -> String {
        format!("{}.resync", self.prefix)
    }
}

fn encode(from: NodeId, message: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(8 + message.len());
    b.put_u64_le(from.0);
    b.put_slice(message);
    b.freeze()
}

fn sender_of(payload: &[u8]) -> Option<NodeId> {
    let head: [u8; 8] = payload.get(..8)?.try_into().ok()?;
    Some(NodeId(u64::from_le_bytes(head)))
}

fn decode(payload: &Bytes) -> Option<BusMessage> {
    let from = sender_of(payload)?;
    Some(BusMessage {
        from,
        message: payload.slice(8..),
    })
}

/// Hands queued messages to the NATS client (which writes them in batches). After a drop it
/// asks every node to resync once.
async fn publisher(
    inner: std::sync::Weak<Inner>,
    mut rx: mpsc::Receiver<(Topic, Bytes)>,
    node: NodeId,
) {
    while let Some((topic, payload)) = rx.recv().await {
        let Some(inner) = inner.upgrade() else { break };
        if let Err(e) = inner.client.publish(inner.subject(topic), payload).await {
            tracing::warn!(?topic, error = %e, "cannot publish to NATS");
        }
        if inner.dropped.swap(0, Ordering::Relaxed) > 0 {
            let _ = inner
                .client
                .publish(inner.subject_resync(), encode(node, &[]))
                .await;
        }
    }
}

impl Bus for NatsBus {
    fn publish(&self, topic: Topic, message: BusMessage) {
        if self
            .0
            .out
            .try_send((topic, encode(message.from, &message.message)))
            .is_err()
        {
            self.0.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn health(&self) -> BusHealth {
        let reconnects = self
            .0
            .link
            .connects
            .load(Ordering::Relaxed)
            .saturating_sub(1);
        match self.0.client.connection_state() {
            async_nats::connection::State::Connected => BusHealth::Connected { reconnects },
            _ => BusHealth::Disconnected { reconnects },
        }
    }

    fn subscribe(&self, on: Topic, node: NodeId) -> BusReceiver {
        let (tx, rx) = topic(TOPIC_CAPACITY);
        let inner = self.0.clone();
        tokio::spawn(async move {
            forward(inner, on, node, tx).await;
        });
        rx
    }
}

/// Feeds one local subscription from its subject until the owner closes the document. When
/// the subject cannot be read, the queue is closed after a pause, and the owner subscribes
/// again (the pause keeps a broken client from spinning it).
async fn forward(inner: Arc<Inner>, topic: Topic, node: NodeId, tx: BusSender) {
    let subject = inner.subject(topic);
    let mut sub = match inner.client.subscribe(subject.clone()).await {
        Ok(sub) => sub,
        Err(e) => {
            // The owner keeps serving its own clients; a loss makes it merge the store
            // (what other nodes commit) and the next document open subscribes again.
            tracing::warn!(?topic, error = %e, "cannot subscribe to NATS");
            tx.lost(1);
            tokio::time::sleep(RETRY).await;
            return;
        }
    };
    let mut losses = inner.losses.subscribe();
    // Messages published before the server registered the subscription never reach
    // it: once it has (a flush is a round trip), one resync covers that window.
    if inner.client.flush().await.is_ok() {
        tx.lost(1);
    }
    drop(inner);
    loop {
        tokio::select! {
            () = tx.closed() => break,
            changed = losses.changed() => match changed {
                Ok(()) => tx.lost(1),
                Err(_) => break,
            },
            m = sub.next() => match m {
                Some(m) => match decode(&m.payload) {
                    Some(msg) if msg.from != node => {
                        if !tx.send(msg) {
                            break;
                        }
                    }
                    Some(_) => {}
                    None => tracing::warn!(subject, "malformed message on the bus"),
                },
                None => {
                    tx.lost(1);
                    tokio::time::sleep(RETRY).await;
                    break;
                }
            },
        }
    }
    let _ = sub.unsubscribe().await;
}
