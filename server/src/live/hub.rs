//! The project channel's fan-out: events every member's tab should see (tree changes, chat
//! messages, answer tokens, typing) and who has which file open. An event is encoded into its frame once and the
//! same bytes go to every tab. Each project has a bounded broadcast queue; a tab that falls
//! more than a queue behind is told to resync (refetch) instead of slowing everyone down.
//!
//! With several nodes (`--bus`), every event also goes out on the project's bus topic and the
//! other nodes' events come in through it ([`super::nodes`]); a node follows a project's topic
//! only while one of its own tabs has the project open.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

use app::{
    live::events::{ServerEvent, Viewer},
    types::{DocId, ProjectId, UserId},
};
use bytes::Bytes;
use collab::{
    Channel, Frame,
    bus::{Bus, InProcessBus, NodeId},
};
use tokio::sync::broadcast;

use super::{
    ask::Asks,
    nodes::{self, Remote},
};

/// Events queued per project before a slow tab is told to resync.
const CAPACITY: usize = 256;

/// One `/ws` tab as presence sees it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct TabId(u64);

/// A tab anywhere in the cluster: its node's block and its id there (tab ids are per node).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct View {
    pub node: u64,
    pub tab: TabId,
}

struct TabPresence {
    user: UserId,
    name: String,
    docs: HashSet<DocId>,
}

struct Project {
    tx: broadcast::Sender<Bytes>,
    tabs: BTreeMap<TabId, TabPresence>,
    /// Who has files open through other nodes, as each node last said.
    remote: HashMap<NodeId, Remote>,
    /// Team dashboards following the project's events (they are not tabs: no presence).
    watchers: usize,
    /// Follows the project's bus topic; ends (and unsubscribes) when the last tab or
    /// dashboard leaves.
    _follow: nodes::Follow,
}

/// A dashboard's hold on a project's events; dropping it lets the project go.
pub struct Watch {
    hub: Hub,
    project: ProjectId,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.hub.with(|p| {
            if let Some(entry) = p.get_mut(&self.project) {
                entry.watchers = entry.watchers.saturating_sub(1);
                if entry.tabs.is_empty() && entry.watchers == 0 {
                    p.remove(&self.project);
                }
            }
        });
    }
}

#[derive(Clone)]
pub struct Hub {
    projects: Arc<Mutex<HashMap<ProjectId, Project>>>,
    next_tab: Arc<AtomicU64>,
    pub(super) bus: Arc<dyn Bus>,
    pub(super) node: NodeId,
    asks: Arc<Asks>,
}

/// One node on its own (tests, and the embedded default).
impl Default for Hub {
    fn default() -> Self {
        Self::new(Arc::new(InProcessBus::default()), NodeId(0))
    }
}

pub fn frame(event: &ServerEvent) -> Bytes {
    Frame::new(Channel::Project, Bytes::from(event.to_json())).encode()
}

impl Hub {
    /// A hub whose projects reach the other nodes on `bus` (the editor's), as `node`.
    pub fn new(bus: Arc<dyn Bus>, node: NodeId) -> Self {
        Self {
            projects: Arc::default(),
            next_tab: Arc::default(),
            asks: Arc::new(Asks::new(bus.clone(), node)),
            bus,
            node,
        }
    }

    /// This node's id on the bus.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// This node's block (what its terminal ids and its inbox carry).
    pub fn block(&self) -> u64 {
        super::ask::block(self.node)
    }

    /// Requests to and from the other nodes.
    pub fn asks(&self) -> &Arc<Asks> {
        &self.asks
    }

    /// `tab` of this node, as the other nodes name it.
    pub fn view(&self, tab: TabId) -> View {
        View {
            node: self.block(),
            tab,
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut HashMap<ProjectId, Project>) -> R) -> R {
        let mut p = crate::lock::lock(&self.projects);
        f(&mut p)
    }

    /// Sends `event` to every tab of the project, on this node and the others.
    pub fn publish(&self, project: ProjectId, event: &ServerEvent) {
        let frame = frame(event);
        self.publish_here(project, frame.clone());
        nodes::send(self, project, nodes::Message::Event(frame));
    }

    /// Sends an encoded event to this node's tabs of the project (none listening: nothing to
    /// do).
    pub(super) fn publish_here(&self, project: ProjectId, frame: Bytes) {
        let tx = self.with(|p| p.get(&project).map(|p| p.tx.clone()));
        if let Some(tx) = tx {
            let _ = tx.send(frame);
        }
    }

    /// A tab joins: its event stream and its presence key.
    pub fn join(
        &self,
        project: ProjectId,
        user: UserId,
        name: String,
    ) -> (TabId, broadcast::Receiver<Bytes>) {
        let tab = TabId(self.next_tab.fetch_add(1, Ordering::Relaxed));
        let (rx, first) = self.with(|p| {
            let first = !p.contains_key(&project);
            let entry = self.entry(p, project);
            entry.tabs.insert(
                tab,
                TabPresence {
                    user,
                    name,
                    docs: HashSet::new(),
                },
            );
            (entry.tx.subscribe(), first)
        });
        if first {
            // The other nodes say who has files open there.
            nodes::send(self, project, nodes::Message::Hello);
        }
        (tab, rx)
    }

    fn entry<'p>(
        &self,
        p: &'p mut HashMap<ProjectId, Project>,
        project: ProjectId,
    ) -> &'p mut Project {
        p.entry(project).or_insert_with(|| Project {
            tx: broadcast::channel(CAPACITY).0,
            tabs: BTreeMap::new(),
            remote: HashMap::new(),
            watchers: 0,
            _follow: nodes::follow(self, project),
        })
    }

    /// A team dashboard follows the project's events (presence, chat, runs, activity) without
    /// being a tab of it.
    pub fn watch(&self, project: ProjectId) -> (Watch, broadcast::Receiver<Bytes>) {
        let (rx, first) = self.with(|p| {
            let first = !p.contains_key(&project);
            let entry = self.entry(p, project);
            entry.watchers += 1;
            (entry.tx.subscribe(), first)
        });
        if first {
            nodes::send(self, project, nodes::Message::Hello);
        }
        let watch = Watch {
            hub: self.clone(),
            project,
        };
        (watch, rx)
    }

    /// The tab opened (`true`) or closed a document; everyone gets the new viewer list.
    pub fn viewing(&self, project: ProjectId, tab: TabId, doc: DocId, open: bool) {
        let changed = self.with(|p| {
            let Some(t) = p.get_mut(&project).and_then(|p| p.tabs.get_mut(&tab)) else {
                return false;
            };
            if open {
                t.docs.insert(doc)
            } else {
                t.docs.remove(&doc)
            }
        });
        if changed {
            self.announce(project);
        }
    }

    /// The tab is gone.
    pub fn leave(&self, project: ProjectId, tab: TabId) {
        let had_docs = self.with(|p| {
            let Some(entry) = p.get_mut(&project) else {
                return false;
            };
            let had = entry.tabs.remove(&tab).is_some_and(|t| !t.docs.is_empty());
            if entry.tabs.is_empty() && entry.watchers == 0 {
                p.remove(&project);
            }
            had
        });
        if had_docs {
            self.announce(project);
        }
    }

    /// Who has which documents open, one entry per user (their tabs merged, on every node).
    pub fn viewers(&self, project: ProjectId) -> Vec<Viewer> {
        self.with(|p| {
            let Some(p) = p.get(&project) else {
                return Vec::new();
            };
            let remote = p.remote.values().flat_map(|r| r.viewers.iter().cloned());
            merge(local(p).chain(remote))
        })
    }

    /// This node's viewers of the project (what it tells the others).
    pub(super) fn local_viewers(&self, project: ProjectId) -> Vec<Viewer> {
        self.with(|p| p.get(&project).map(|p| merge(local(p))).unwrap_or_default())
    }

    /// Runs `f` on the other nodes' presence of a followed project; true when it changed it.
    pub(super) fn with_remote(
        &self,
        project: ProjectId,
        f: impl FnOnce(&mut HashMap<NodeId, Remote>) -> bool,
    ) -> bool {
        self.with(|p| p.get_mut(&project).is_some_and(|p| f(&mut p.remote)))
    }

    /// This node's presence changed: its tabs get the new list, the other nodes this node's
    /// part of it.
    fn announce(&self, project: ProjectId) {
        self.show_viewers(project);
        nodes::send(
            self,
            project,
            nodes::Message::Presence(self.local_viewers(project)),
        );
    }

    /// Sends the merged viewer list to this node's tabs.
    pub(super) fn show_viewers(&self, project: ProjectId) {
        let viewers = self.viewers(project);
        self.publish_here(project, frame(&ServerEvent::Viewers { viewers }));
    }
}

fn local(p: &Project) -> impl Iterator<Item = Viewer> + '_ {
    p.tabs.values().map(|t| Viewer {
        user: t.user,
        name: t.name.clone(),
        docs: t.docs.iter().copied().collect(),
    })
}

/// One entry per user with their documents together; users with nothing open left out.
fn merge(viewers: impl Iterator<Item = Viewer>) -> Vec<Viewer> {
    let mut by_user: BTreeMap<UserId, Viewer> = BTreeMap::new();
    for v in viewers {
        by_user
            .entry(v.user)
            .or_insert_with(|| Viewer {
                user: v.user,
                name: v.name.clone(),
                docs: Vec::new(),
            })
            .docs
            .extend(v.docs);
    }
    by_user
        .into_values()
        .filter(|v| !v.docs.is_empty())
        .map(|mut v| {
            v.docs.sort_unstable();
            v.docs.dedup();
            v
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn events_reach_every_tab_and_presence_merges_tabs() {
        let hub = Hub::default();
        let p = ProjectId(1);
        let (a, mut rx_a) = hub.join(p, UserId(1), "ann".into());
        let (a2, _rx_a2) = hub.join(p, UserId(1), "ann".into());
        let (_b, mut rx_b) = hub.join(p, UserId(2), "bob".into());
        hub.viewing(p, a, DocId(10), true);
        hub.viewing(p, a2, DocId(11), true);
        let viewers = hub.viewers(p);
        assert_eq!(viewers.len(), 1);
        assert_eq!(viewers[0].docs, [DocId(10), DocId(11)]);
        // Both tabs saw two presence events.
        for rx in [&mut rx_a, &mut rx_b] {
            for _ in 0..2 {
                let frame = rx.recv().await.expect("event");
                let f = Frame::decode(frame, 1 << 20).expect("frame");
                assert_eq!(f.channel, Channel::Project);
            }
        }
        hub.leave(p, a);
        assert_eq!(hub.viewers(p)[0].docs, [DocId(11)]);
        hub.publish(ProjectId(99), &ServerEvent::Resync);
    }

    #[tokio::test]
    async fn a_lagging_tab_learns_it_missed_events() {
        let hub = Hub::default();
        let p = ProjectId(1);
        let (_t, mut rx) = hub.join(p, UserId(1), "ann".into());
        for _ in 0..CAPACITY + 5 {
            hub.publish(p, &ServerEvent::Resync);
        }
        assert!(matches!(
            rx.recv().await,
            Err(broadcast::error::RecvError::Lagged(_))
        ));
    }
}
