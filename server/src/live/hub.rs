//! The project channel's fan-out: events every member's tab should see (tree changes, chat
//! messages, answer tokens, typing) and who has which file open. An event is encoded into its frame once and the
//! same bytes go to every tab. Each project has a bounded broadcast queue; a tab that falls
//! more than a queue behind is told to resync (refetch) instead of slowing everyone down.

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
use collab::{Channel, Frame};
use tokio::sync::broadcast;

/// Events queued per project before a slow tab is told to resync.
const CAPACITY: usize = 256;

/// One `/ws` tab as presence sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TabId(u64);

struct TabPresence {
    user: UserId,
    name: String,
    docs: HashSet<DocId>,
}

#[derive(Default)]
struct Project {
    tx: Option<broadcast::Sender<Bytes>>,
    tabs: BTreeMap<TabId, TabPresence>,
}

#[derive(Clone, Default)]
pub struct Hub {
    projects: Arc<Mutex<HashMap<ProjectId, Project>>>,
    next_tab: Arc<AtomicU64>,
}

pub fn frame(event: &ServerEvent) -> Bytes {
    Frame::new(Channel::Project, Bytes::from(event.to_json())).encode()
}

impl Hub {
    fn with<R>(&self, f: impl FnOnce(&mut HashMap<ProjectId, Project>) -> R) -> R {
        let mut p = crate::lock::lock(&self.projects);
        f(&mut p)
    }

    /// Sends `event` to every tab of the project (none listening: nothing to do).
    pub fn publish(&self, project: ProjectId, event: &ServerEvent) {
        let tx = self.with(|p| p.get(&project).and_then(|p| p.tx.clone()));
        if let Some(tx) = tx {
            let _ = tx.send(frame(event));
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
        let rx = self.with(|p| {
            let entry = p.entry(project).or_default();
            entry.tabs.insert(
                tab,
                TabPresence {
                    user,
                    name,
                    docs: HashSet::new(),
                },
            );
            entry
                .tx
                .get_or_insert_with(|| broadcast::channel(CAPACITY).0)
                .subscribe()
        });
        (tab, rx)
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
            if entry.tabs.is_empty() {
                p.remove(&project);
            }
            had
        });
        if had_docs {
            self.announce(project);
        }
    }

    /// Who has which documents open, one entry per user (their tabs merged).
    pub fn viewers(&self, project: ProjectId) -> Vec<Viewer> {
        self.with(|p| {
            let mut by_user: BTreeMap<UserId, Viewer> = BTreeMap::new();
            for t in p
                .get(&project)
                .map(|p| p.tabs.values())
                .into_iter()
                .flatten()
            {
                let v = by_user.entry(t.user).or_insert_with(|| Viewer {
                    user: t.user,
                    name: t.name.clone(),
                    docs: Vec::new(),
                });
                v.docs.extend(t.docs.iter().copied());
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
        })
    }

    fn announce(&self, project: ProjectId) {
        let viewers = self.viewers(project);
        self.publish(project, &ServerEvent::Viewers { viewers });
    }
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
