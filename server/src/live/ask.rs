//! Requests from one node to another. A terminal or a run lives in the process that started
//! it (its pty, its sandbox, its pipes), while the people typing into it, stopping it or
//! listing it may be connected to any node. Those requests go to the owning node's inbox (the
//! bus topic named by its 20-bit block, which every node follows from start to stop) and the
//! answer comes back to the asker's inbox.
//!
//! The transport knows nothing of what is asked: a request is JSON that the node's
//! [`Answerer`] (`crate::remote`) reads, and the answer is a JSON value or the `AppError` the
//! owner would have returned to its own client. A node that does not answer within
//! [`ASK_TIMEOUT`] (killed, cut off from the broker) makes the request fail with a message that
//! says so; nothing waits for ever.
//!
//! Each request is answered on its own task, so a slow one (stopping a run waits for it to
//! end) does not hold up the others. Order between two requests holds where it matters
//! because their sender waits for the first answer before it sends the next (keystrokes from
//! one tab).

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use app::{AppError, AppResult};
use async_trait::async_trait;
use bytes::Bytes;
use collab::bus::{Bus, BusEvent, BusMessage, NodeId, Topic};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::oneshot;

/// How long an asker waits for the owning node.
pub const ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// What a request to a node that stays silent fails with.
pub const SILENT: &str = "The Tandem node running this did not answer (it may have stopped or \
                          lost its link to the others); try again in a moment.";

/// A node's block: the low 20 bits of its id. Terminal ids carry it, and it names the node's
/// inbox.
pub fn block(node: NodeId) -> u64 {
    node.0 & 0xF_FFFF
}

/// What a node does with the requests other nodes send it.
#[async_trait]
pub trait Answerer: Send + Sync + 'static {
    async fn answer(&self, request: Value) -> AppResult<Value>;
}

#[derive(Debug, Serialize, Deserialize)]
enum Wire {
    Ask {
        id: u64,
        /// The asker's block: where the answer goes.
        from: u64,
        request: Value,
    },
    Answer {
        id: u64,
        result: AppResult<Value>,
    },
}

type Pending = Mutex<HashMap<u64, oneshot::Sender<AppResult<Value>>>>;

/// This node's side of the requests: what it waits for, and who answers what it is asked.
pub struct Asks {
    bus: Arc<dyn Bus>,
    node: NodeId,
    next: AtomicU64,
    pending: Pending,
    answerer: OnceLock<Arc<dyn Answerer>>,
}

/// Forgets a request whose asker stopped waiting (timed out, or its future was dropped).
struct Waiting<'a>(&'a Pending, u64);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        crate::lock::lock(self.0).remove(&self.1);
    }
}

impl Asks {
    pub(super) fn new(bus: Arc<dyn Bus>, node: NodeId) -> Self {
        Self {
            bus,
            node,
            next: AtomicU64::new(1),
            pending: Mutex::default(),
            answerer: OnceLock::new(),
        }
    }

    /// Starts answering requests and receiving answers; once, at start-up (a second call
    /// changes nothing).
    pub fn serve(self: &Arc<Self>, answerer: Arc<dyn Answerer>) {
        if self.answerer.set(answerer).is_err() {
            return;
        }
        let topic = Topic::Node(block(self.node));
        let mut rx = self.bus.subscribe(topic, self.node);
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    BusEvent::Message(m) => this.heard(&m.message),
                    BusEvent::Lagged(n) => {
                        // Their askers time out and say so.
                        tracing::warn!(lost = n, "requests from other nodes were dropped");
                    }
                    BusEvent::Closed => rx = this.bus.subscribe(topic, this.node),
                }
            }
        });
    }

    /// Asks the node with block `to` and waits (at most [`ASK_TIMEOUT`]) for its answer.
    pub async fn ask(&self, to: u64, request: Value) -> AppResult<Value> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        crate::lock::lock(&self.pending).insert(id, tx);
        let _waiting = Waiting(&self.pending, id);
        self.send(
            to,
            &Wire::Ask {
                id,
                from: block(self.node),
                request,
            },
        );
        match tokio::time::timeout(ASK_TIMEOUT, rx).await {
            Ok(Ok(result)) => result,
            _ => Err(AppError::Unavailable(SILENT.to_owned())),
        }
    }

    /// [`Asks::ask`] with the answer read as `T`.
    pub async fn ask_for<T: serde::de::DeserializeOwned>(
        &self,
        to: u64,
        request: Value,
    ) -> AppResult<T> {
        let value = self.ask(to, request).await?;
        serde_json::from_value(value).map_err(|e| {
            tracing::error!(error = %e, "a node answered with something this one cannot read");
            AppError::Internal
        })
    }

    fn send(&self, to: u64, wire: &Wire) {
        let Ok(json) = serde_json::to_vec(wire) else {
            return;
        };
        self.bus.publish(
            Topic::Node(to),
            BusMessage {
                from: self.node,
                message: Bytes::from(json),
            },
        );
    }

    fn heard(self: &Arc<Self>, payload: &[u8]) {
        match serde_json::from_slice::<Wire>(payload) {
            Ok(Wire::Answer { id, result }) => {
                if let Some(tx) = crate::lock::lock(&self.pending).remove(&id) {
                    let _ = tx.send(result);
                }
            }
            Ok(Wire::Ask { id, from, request }) => {
                let Some(answerer) = self.answerer.get().cloned() else {
                    return;
                };
                let this = self.clone();
                tokio::spawn(async move {
                    let result = answerer.answer(request).await;
                    this.send(from, &Wire::Answer { id, result });
                });
            }
            Err(e) => tracing::warn!(error = %e, "malformed request from another node"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use collab::bus::InProcessBus;

    struct Echo;

    #[async_trait]
    impl Answerer for Echo {
        async fn answer(&self, request: Value) -> AppResult<Value> {
            match request.as_str() {
                Some("refuse") => Err(AppError::Forbidden),
                Some("slow") => {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    Ok(Value::Null)
                }
                _ => Ok(serde_json::json!({ "echo": request })),
            }
        }
    }

    fn node(bus: &Arc<InProcessBus>, id: u64) -> Arc<Asks> {
        let asks = Arc::new(Asks::new(bus.clone(), NodeId(id)));
        asks.serve(Arc::new(Echo));
        asks
    }

    #[tokio::test(start_paused = true)]
    async fn a_node_answers_what_it_is_asked_and_silence_times_out() {
        let bus = Arc::new(InProcessBus::default());
        let (one, _two) = (node(&bus, 0xA_0001), node(&bus, 0xB_0002));
        let two = block(NodeId(0xB_0002));
        let answer = one.ask(two, Value::from("hi")).await;
        assert_eq!(answer, Ok(serde_json::json!({ "echo": "hi" })));
        // The owner's refusal is the asker's.
        assert_eq!(
            one.ask(two, Value::from("refuse")).await,
            Err(AppError::Forbidden)
        );
        // A slow answer and a node nobody runs both end at the timeout, and are forgotten.
        for to in [two, 0x7_7777] {
            let request = Value::from("slow");
            assert_eq!(
                one.ask(to, request).await,
                Err(AppError::Unavailable(SILENT.to_owned()))
            );
        }
        assert!(crate::lock::lock(&one.pending).is_empty());
        // Garbage in the inbox is dropped; the inbox goes on.
        bus.publish(
            Topic::Node(two),
            BusMessage {
                from: NodeId(1),
                message: Bytes::from_static(b"{not json"),
            },
        );
        let n: serde_json::Map<String, Value> =
            one.ask_for(two, Value::from(2)).await.expect("an answer");
        assert_eq!(n["echo"], 2);
    }
}
