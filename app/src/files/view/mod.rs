//! The file tree pane, the editor tabs, search and quick open (Ctrl+P). All of them read one
//! [`Files`] state (this module): the tree model (kept current by project events), the open
//! tabs and who is viewing what. Expanded folders and open tabs are remembered per project in
//! this browser.

use std::collections::HashSet;

use leptos::{prelude::*, task::spawn_local};

mod menu;
mod search;
mod tabs;
mod tree;

pub use search::QuickOpen;
pub use tabs::{EditorTabs, human_size};
pub use tree::FileTree;

use super::{
    FileEntry, FileKind, list_files, move_entry, trash_entry,
    tree::{Refetch, TreeChange, TreeModel},
};
use crate::{
    browser::storage,
    editor::{LiveSignals, Reveal, status::Save},
    live::{
        events::{ServerEvent, Viewer},
        status::Link,
    },
    types::{DocId, FileId, ProjectId, UserId, UserInfo},
};

/// Open tabs kept at most; opening another closes the oldest inactive one.
const MAX_TABS: usize = 20;

/// One open editor tab.
#[derive(Clone, Copy)]
pub struct OpenTab {
    pub file: FileId,
    pub signals: LiveSignals,
    pub reveal: RwSignal<Option<Reveal>>,
}

/// The tabs open in the editor area, in order, and the active one.
#[derive(Clone, Copy)]
pub struct OpenTabs {
    pub open: RwSignal<Vec<OpenTab>>,
    pub active: RwSignal<Option<FileId>>,
}

impl OpenTabs {
    /// The active tab's live signals (for the status bar).
    pub fn active_signals(&self) -> Option<LiveSignals> {
        let active = self.active.get()?;
        self.open
            .with(|o| o.iter().find(|t| t.file == active).map(|t| t.signals))
    }
}

/// Everything the file pane and the editor tabs share.
#[derive(Clone, Copy)]
pub struct Files {
    pub project: ProjectId,
    pub me: UserId,
    pub writable: bool,
    /// Owners bring back files deleted for good.
    pub is_owner: bool,
    /// Files someone else changed since this person last had them open (the server keeps
    /// what each person saw); refreshed on focus and every minute, cleared on opening.
    pub changed: RwSignal<HashSet<FileId>>,
    pub tree: RwSignal<TreeModel>,
    pub expanded: RwSignal<HashSet<FileId>>,
    pub selected: RwSignal<Option<FileId>>,
    pub viewers: RwSignal<Vec<Viewer>>,
    pub error: RwSignal<Option<String>>,
    pub tabs: OpenTabs,
    link: RwSignal<Link>,
    /// Changes seen while the whole tree is refetched (see [`Refetch`]).
    refetch: StoredValue<Refetch>,
    /// Tab signals are created under this owner, not under whichever row's handler opened
    /// the tab (a row's owner goes away when it scrolls out of view).
    owner: StoredValue<Option<Owner>>,
}

fn key(kind: &str, project: ProjectId) -> String {
    format!("tandem.{kind}.{project}")
}

fn load_ids(kind: &str, project: ProjectId) -> Vec<FileId> {
    storage()
        .and_then(|s| s.get_item(&key(kind, project)).ok().flatten())
        .and_then(|raw| serde_json::from_str(&raw).ok())
        .unwrap_or_default()
}

fn save_ids(kind: &str, project: ProjectId, ids: &[FileId]) {
    if let (Some(s), Ok(raw)) = (storage(), serde_json::to_string(ids)) {
        let _ = s.set_item(&key(kind, project), &raw);
    }
}

impl Files {
    pub fn new(
        project: ProjectId,
        me: &UserInfo,
        role: crate::types::Role,
        entries: Vec<FileEntry>,
        link: RwSignal<Link>,
    ) -> Self {
        let files = Self {
            project,
            me: me.id,
            writable: role >= crate::types::Role::Editor,
            is_owner: role == crate::types::Role::Owner,
            changed: RwSignal::new(HashSet::new()),
            tree: RwSignal::new(TreeModel::new(entries)),
            expanded: RwSignal::new(HashSet::new()),
            selected: RwSignal::new(None),
            viewers: RwSignal::new(Vec::new()),
            error: RwSignal::new(None),
            tabs: OpenTabs {
                open: RwSignal::new(Vec::new()),
                active: RwSignal::new(None),
            },
            link,
            refetch: StoredValue::new(Refetch::default()),
            owner: StoredValue::new(Owner::current()),
        };
        // What this browser remembers: read now, before opening the default file rewrites it,
        // and applied after hydration so the server's HTML matches.
        let saved_expanded = load_ids("expanded", project);
        let saved_tabs = load_ids("tabs", project);
        Effect::new(move |prev: Option<()>| {
            if prev.is_some() {
                return;
            }
            let tree = files.tree.get_untracked();
            let mut open: HashSet<FileId> = saved_expanded
                .iter()
                .copied()
                .filter(|id| tree.get(*id).is_some_and(|e| e.kind == FileKind::Folder))
                .collect();
            open.extend(files.expanded.get_untracked());
            files.expanded.set(open);
            let mut tabs = saved_tabs.clone();
            let active = tabs.pop();
            for id in tabs.into_iter().chain(active) {
                if tree.is_live(id) {
                    files.open(id);
                }
            }
        });
        files
    }

    /// The active tab's file and document, if it is a text file.
    pub fn active_doc(&self) -> Option<(FileId, DocId)> {
        let file = self.tabs.active.get_untracked()?;
        let doc = self
            .tree
            .with_untracked(|t| t.get(file).and_then(|e| e.doc))?;
        Some((file, doc))
    }

    /// Applies a project event.
    pub fn on_event(&self, event: ServerEvent) {
        match event {
            ServerEvent::Tree { entries } => self.change(TreeChange::Apply(entries)),
            ServerEvent::Purged { ids } => {
                self.change(TreeChange::Purge(ids.clone()));
                for id in ids {
                    self.close(id);
                }
            }
            ServerEvent::Viewers { viewers } => self.viewers.set(viewers),
            ServerEvent::Resync => self.refetch(),
            _ => {}
        }
    }

    fn change(&self, change: TreeChange) {
        self.refetch.update_value(|r| r.saw(&change));
        self.tree.update(|t| change.apply_to(t));
    }

    fn refetch(&self) {
        let files = *self;
        let Some(ticket) = self.refetch.try_update_value(Refetch::start) else {
            return;
        };
        spawn_local(async move {
            let answer = list_files(files.project).await.ok();
            let tree = files
                .refetch
                .try_update_value(|r| r.finish(ticket, answer))
                .flatten();
            if let Some(tree) = tree {
                files.tree.set(tree);
            }
        });
    }

    fn save_tabs(&self) {
        let mut ids: Vec<FileId> = self
            .tabs
            .open
            .with_untracked(|o| o.iter().map(|t| t.file).collect());
        // The active tab goes last, so it is restored last (and so active).
        if let Some(a) = self.tabs.active.get_untracked() {
            ids.retain(|i| *i != a);
            ids.push(a);
        }
        save_ids("tabs", self.project, &ids);
    }

    /// Opens a file in a tab (or switches to its tab) and reveals it in the tree.
    pub fn open(&self, id: FileId) {
        let Some(entry) = self.tree.with_untracked(|t| t.get(id).cloned()) else {
            return;
        };
        self.changed.update(|c| {
            c.remove(&id);
        });
        if entry.kind == FileKind::Folder {
            return;
        }
        let already = self
            .tabs
            .open
            .with_untracked(|o| o.iter().any(|t| t.file == id));
        if !already {
            let link = self.link;
            let make = move || OpenTab {
                file: id,
                signals: LiveSignals::new(link),
                reveal: RwSignal::new(None),
            };
            let tab = match self.owner.get_value() {
                Some(owner) => owner.with(make),
                None => make(),
            };
            let active = self.tabs.active.get_untracked();
            self.tabs.open.update(|o| {
                o.push(tab);
                if o.len() > MAX_TABS
                    && let Some(i) = o.iter().position(|t| Some(t.file) != active)
                {
                    o.remove(i);
                }
            });
        }
        self.tabs.active.set(Some(id));
        self.selected.set(Some(id));
        let above = self.tree.with_untracked(|t| t.ancestors(id));
        if above
            .iter()
            .any(|a| !self.expanded.with_untracked(|e| e.contains(a)))
        {
            self.expanded.update(|e| e.extend(above));
            self.save_expanded();
        }
        self.save_tabs();
    }

    /// Opens a file at a search hit.
    pub fn open_at(&self, id: FileId, reveal: Reveal) {
        self.open(id);
        if let Some(tab) = self
            .tabs
            .open
            .with_untracked(|o| o.iter().find(|t| t.file == id).copied())
        {
            tab.reveal.set(Some(reveal));
        }
    }

    /// Closes a tab; the neighbour becomes active.
    pub fn close(&self, id: FileId) {
        let mut next = None;
        self.tabs.open.update(|o| {
            if let Some(i) = o.iter().position(|t| t.file == id) {
                o.remove(i);
                next = o.get(i).or_else(|| o.last()).map(|t| t.file);
            }
        });
        if self.tabs.active.get_untracked() == Some(id) {
            self.tabs.active.set(next);
        }
        self.save_tabs();
    }

    fn toggle(&self, id: FileId) {
        self.expanded.update(|e| {
            if !e.remove(&id) {
                e.insert(id);
            }
        });
        self.save_expanded();
    }

    fn save_expanded(&self) {
        let ids: Vec<FileId> = self
            .expanded
            .with_untracked(|e| e.iter().copied().collect());
        save_ids("expanded", self.project, &ids);
    }

    /// The folder new entries go into: the selected folder, or the selected file's folder.
    fn target_folder(&self) -> Option<FileId> {
        let sel = self.selected.get_untracked()?;
        self.tree.with_untracked(|t| {
            let e = t.get(sel)?;
            if e.kind == FileKind::Folder {
                Some(e.id)
            } else {
                e.parent
            }
        })
    }

    /// Runs a tree operation; its error shows above the tree.
    fn run<F, T>(&self, op: F)
    where
        F: std::future::Future<Output = Result<T, crate::AppError>> + 'static,
        T: 'static,
    {
        let error = self.error;
        spawn_local(async move {
            match op.await {
                Ok(_) => error.set(None),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    }

    /// Asks the server which files others changed since this person last looked (open tabs
    /// are being looked at: never marked).
    pub fn refresh_changed(&self) {
        let (project, changed, tabs) = (self.project, self.changed, self.tabs);
        spawn_local(async move {
            if let Ok(ids) = crate::files::changed_files(project).await {
                let open: HashSet<FileId> = tabs
                    .open
                    .with_untracked(|o| o.iter().map(|t| t.file).collect());
                changed.set(ids.into_iter().filter(|id| !open.contains(id)).collect());
            }
        });
    }

    /// Moves `id` into `folder` (`None`: the root), unless that would put it inside itself.
    fn move_into(&self, id: FileId, folder: Option<FileId>) {
        let (same, cycle) = self.tree.with_untracked(|t| {
            (
                t.get(id).map(|e| e.parent) == Some(folder),
                folder.is_some_and(|f| t.is_within(f, id)),
            )
        });
        if same {
            return;
        }
        if cycle {
            self.error
                .set(Some("A folder cannot be moved into itself.".into()));
            return;
        }
        if let Some(f) = folder {
            self.expanded.update(|e| {
                e.insert(f);
            });
        }
        self.run(move_entry(self.project, id, folder));
    }

    fn trash(&self, id: FileId) {
        self.run(trash_entry(self.project, id));
    }

    /// Other people (not me) who have `doc` open.
    fn viewers_of(&self, doc: Option<DocId>) -> Vec<(UserId, String)> {
        let Some(doc) = doc else {
            return Vec::new();
        };
        self.viewers.with(|v| {
            v.iter()
                .filter(|v| v.user != self.me && v.docs.contains(&doc))
                .map(|v| (v.user, v.name.clone()))
                .collect()
        })
    }

    /// My tab of the file has edits the server has not confirmed.
    fn unsaved(&self, id: FileId) -> bool {
        self.tabs.open.with(|o| {
            o.iter()
                .find(|t| t.file == id)
                .is_some_and(|t| matches!(t.signals.save.get(), Save::Saving | Save::Unsaved))
        })
    }
}
