//! The project channel between nodes. A node follows a project's bus topic while one of its
//! own tabs has the project open: every event one node publishes reaches the tabs on the
//! others, and each node says who has files open through it, so presence is the union.
//!
//! Presence is soft state: a node repeats its part every [`PRESENCE_EVERY`] while it has
//! viewers, and what a node said is forgotten [`PRESENCE_TTL`] after it last said it, so the
//! viewers of a node that died (kill -9, a lost network) disappear without anyone's help. A
//! node that joins a project, or missed messages, says [`Message::Hello`] and the others answer
//! with their part at once; its tabs are told to resync (refetch the tree and chat), which is
//! what a tab does when it falls behind on one node.
//!
//! Payload on the topic: one tag byte, then the event frame as tabs get it, or JSON.

use std::{collections::HashMap, time::Duration};

use app::{
    live::events::{ServerEvent, Viewer},
    types::ProjectId,
};
use bytes::{BufMut, Bytes, BytesMut};
use collab::bus::{BusEvent, BusMessage, BusReceiver, NodeId, Topic};
use tokio::time::Instant;

use super::hub::{Hub, frame};

/// How often a node with viewers repeats who they are.
pub const PRESENCE_EVERY: Duration = Duration::from_secs(10);
/// How long what a node said about its viewers holds without being repeated.
pub const PRESENCE_TTL: Duration = Duration::from_secs(35);

const EVENT: u8 = 0;
const PRESENCE: u8 = 1;
const HELLO: u8 = 2;

/// What one node tells the others about a project.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// An event for every tab, as its frame.
    Event(Bytes),
    /// Everyone with files open through the sending node (empty: nobody any more).
    Presence(Vec<Viewer>),
    /// The sender (re)joined the topic: tell it your presence.
    Hello,
}

impl Message {
    fn encode(&self) -> Bytes {
        let (tag, body): (u8, &[u8]) = match self {
            Self::Event(frame) => (EVENT, frame),
            Self::Presence(viewers) => {
                let json = serde_json::to_vec(viewers).unwrap_or_default();
                return tagged(PRESENCE, &json);
            }
            Self::Hello => (HELLO, &[]),
        };
        tagged(tag, body)
    }

    fn decode(payload: &Bytes) -> Option<Self> {
        match *payload.first()? {
            EVENT => Some(Self::Event(payload.slice(1..))),
            PRESENCE => serde_json::from_slice(&payload[1..])
                .ok()
                .map(Self::Presence),
            HELLO => Some(Self::Hello),
            _ => None,
        }
    }
}

fn tagged(tag: u8, body: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(1 + body.len());
    b.put_u8(tag);
    b.put_slice(body);
    b.freeze()
}

/// What another node last said about its viewers of a project.
pub struct Remote {
    pub viewers: Vec<Viewer>,
    said: Instant,
}

/// Publishes `message` on the project's topic for the other nodes.
pub(super) fn send(hub: &Hub, project: ProjectId, message: Message) {
    hub.bus.publish(
        Topic::Project(project.0 as u64),
        BusMessage {
            from: hub.node,
            message: message.encode(),
        },
    );
}

/// The task following one project's topic; dropping it stops the task and its subscription.
pub struct Follow(tokio::task::AbortHandle);

impl Drop for Follow {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts following `project`'s topic (called under the hub's lock: it only spawns).
pub(super) fn follow(hub: &Hub, project: ProjectId) -> Follow {
    let topic = Topic::Project(project.0 as u64);
    let rx = hub.bus.subscribe(topic, hub.node);
    let hub = hub.clone();
    Follow(tokio::spawn(run(hub, project, topic, rx)).abort_handle())
}

async fn run(hub: Hub, project: ProjectId, topic: Topic, mut rx: BusReceiver) {
    let mut tick = tokio::time::interval_at(Instant::now() + PRESENCE_EVERY, PRESENCE_EVERY);
    loop {
        tokio::select! {
            event = rx.recv() => match event {
                BusEvent::Message(m) => heard(&hub, project, m),
                BusEvent::Lagged(n) => {
                    tracing::debug!(project = project.0, lost = n, "project events missed; tabs resync");
                    hub.publish_here(project, frame(&ServerEvent::Resync));
                    send(&hub, project, Message::Hello);
                }
                BusEvent::Closed => rx = hub.bus.subscribe(topic, hub.node),
            },
            _ = tick.tick() => {
                let mine = hub.local_viewers(project);
                if !mine.is_empty() {
                    send(&hub, project, Message::Presence(mine));
                }
                let now = Instant::now();
                if hub.with_remote(project, |remote| {
                    let before = remote.len();
                    remote.retain(|_, r| now.duration_since(r.said) < PRESENCE_TTL);
                    remote.len() != before
                }) {
                    hub.show_viewers(project);
                }
            }
        }
    }
}

fn heard(hub: &Hub, project: ProjectId, m: BusMessage) {
    match Message::decode(&m.message) {
        Some(Message::Event(frame)) => hub.publish_here(project, frame),
        Some(Message::Presence(viewers)) => {
            if hub.with_remote(project, |remote| update(remote, m.from, viewers)) {
                hub.show_viewers(project);
            }
        }
        Some(Message::Hello) => {
            let mine = hub.local_viewers(project);
            if !mine.is_empty() {
                send(hub, project, Message::Presence(mine));
            }
        }
        None => tracing::warn!(project = project.0, "malformed project message on the bus"),
    }
}

/// Records what `from` said; true when the viewers it holds changed.
fn update(remote: &mut HashMap<NodeId, Remote>, from: NodeId, viewers: Vec<Viewer>) -> bool {
    let said = Instant::now();
    if viewers.is_empty() {
        return remote.remove(&from).is_some();
    }
    let changed = remote.get(&from).is_none_or(|r| r.viewers != viewers);
    remote.insert(from, Remote { viewers, said });
    changed
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use app::types::{DocId, UserId};
    use collab::{Frame, bus::InProcessBus};

    fn two_nodes() -> (Hub, Hub) {
        let bus = Arc::new(InProcessBus::default());
        (Hub::new(bus.clone(), NodeId(1)), Hub::new(bus, NodeId(2)))
    }

    async fn next_event(rx: &mut tokio::sync::broadcast::Receiver<Bytes>) -> ServerEvent {
        // Long enough for the paused clock to pass the presence ticks first.
        let bytes = tokio::time::timeout(Duration::from_secs(60), rx.recv())
            .await
            .expect("an event in time")
            .expect("an event");
        let f = Frame::decode(bytes, 1 << 20).expect("frame");
        serde_json::from_slice(&f.payload).expect("event json")
    }

    /// Waits for a `Viewers` event that `ok` accepts.
    async fn viewers_until(
        rx: &mut tokio::sync::broadcast::Receiver<Bytes>,
        ok: impl Fn(&[Viewer]) -> bool,
    ) {
        loop {
            if let ServerEvent::Viewers { viewers } = next_event(rx).await
                && ok(&viewers)
            {
                return;
            }
        }
    }

    #[test]
    fn messages_round_trip_and_garbage_is_refused() {
        let viewers = vec![Viewer {
            user: UserId(3),
            name: "<ann>".into(),
            docs: vec![DocId(9)],
        }];
        for m in [
            Message::Event(Bytes::from_static(b"\x01frame")),
            Message::Presence(viewers),
            Message::Presence(Vec::new()),
            Message::Hello,
        ] {
            assert_eq!(Message::decode(&m.encode()), Some(m));
        }
        for bad in [&b""[..], b"\x07", b"\x01{not json"] {
            assert_eq!(Message::decode(&Bytes::copy_from_slice(bad)), None);
        }
    }

    #[tokio::test]
    async fn events_and_presence_cross_nodes() {
        let (one, two) = two_nodes();
        let p = ProjectId(5);
        let (a, mut rx_a) = one.join(p, UserId(1), "ann".into());
        let (b, mut rx_b) = two.join(p, UserId(2), "bob".into());
        one.publish(p, &ServerEvent::Resync);
        assert_eq!(next_event(&mut rx_b).await, ServerEvent::Resync);

        one.viewing(p, a, DocId(10), true);
        viewers_until(&mut rx_b, |v| v.len() == 1 && v[0].user == UserId(1)).await;
        two.viewing(p, b, DocId(10), true);
        viewers_until(&mut rx_a, |v| v.len() == 2).await;
        assert_eq!(two.viewers(p).len(), 2);

        // A node whose last tab leaves takes its viewers with it.
        two.leave(p, b);
        viewers_until(&mut rx_a, |v| v.len() == 1 && v[0].user == UserId(1)).await;
    }

    #[tokio::test]
    async fn a_node_that_joins_late_learns_who_is_there() {
        let (one, two) = two_nodes();
        let p = ProjectId(6);
        let (a, _rx_a) = one.join(p, UserId(1), "ann".into());
        one.viewing(p, a, DocId(10), true);
        let (_b, mut rx_b) = two.join(p, UserId(2), "bob".into());
        viewers_until(&mut rx_b, |v| v.len() == 1 && v[0].user == UserId(1)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_node_is_forgotten() {
        let (one, two) = two_nodes();
        let p = ProjectId(7);
        let (_a, mut rx_a) = one.join(p, UserId(1), "ann".into());
        // Node two says it has a viewer, then never speaks again (it died).
        let dead = vec![Viewer {
            user: UserId(2),
            name: "bob".into(),
            docs: vec![DocId(1)],
        }];
        two.bus.publish(
            Topic::Project(p.0 as u64),
            BusMessage {
                from: NodeId(2),
                message: Message::Presence(dead).encode(),
            },
        );
        viewers_until(&mut rx_a, |v| v.len() == 1).await;
        viewers_until(&mut rx_a, <[Viewer]>::is_empty).await;
        assert!(one.viewers(p).is_empty());
    }
}
