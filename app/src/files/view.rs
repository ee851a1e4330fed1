//! The file tree pane, the editor tabs, search and quick open (Ctrl+P). All of them read one
//! [`Files`] state: the tree model (kept current by project events), the open tabs and who is
//! viewing what. Expanded folders and open tabs are remembered per project in this browser.

use std::collections::HashSet;

use leptos::{ev, prelude::*, task::spawn_local};

use super::{
    FileEntry, FileKind, MAX_TEXT_BYTES, SearchQuery, SearchResults, create_entry, duplicate_entry,
    empty_trash, fuzzy, list_files, move_entry, names, rename_entry, restore_entry, search_files,
    trash_entry,
    tree::{Row, TreeModel},
};
use crate::{
    browser::{on_window, storage},
    editor::{
        DocView, FileDoc, LiveSignals, OpenDocs, Reveal, lang::icon_for, presence::color_index,
        status::Save,
    },
    live::{
        events::{ServerEvent, Viewer},
        status::Link,
    },
    types::{ProjectId, UserInfo},
};

/// Height of one tree row in pixels (the CSS uses the same).
const ROW_H: f64 = 24.0;
/// Rows rendered above and below the visible ones, so fast scrolling shows no gaps.
const OVERSCAN: usize = 10;
/// Open tabs kept at most; opening another closes the oldest inactive one.
const MAX_TABS: usize = 20;

/// One open editor tab.
#[derive(Clone, Copy)]
pub struct OpenTab {
    pub file: i64,
    pub signals: LiveSignals,
    pub reveal: RwSignal<Option<Reveal>>,
}

/// The tabs open in the editor area, in order, and the active one.
#[derive(Clone, Copy)]
pub struct OpenTabs {
    pub open: RwSignal<Vec<OpenTab>>,
    pub active: RwSignal<Option<i64>>,
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
    pub me: i64,
    pub writable: bool,
    pub tree: RwSignal<TreeModel>,
    pub expanded: RwSignal<HashSet<i64>>,
    pub selected: RwSignal<Option<i64>>,
    pub viewers: RwSignal<Vec<Viewer>>,
    pub error: RwSignal<Option<String>>,
    pub tabs: OpenTabs,
    link: RwSignal<Link>,
    /// Tab signals are created under this owner, not under whichever row's handler opened
    /// the tab (a row's owner goes away when it scrolls out of view).
    owner: StoredValue<Option<Owner>>,
}

fn key(kind: &str, project: ProjectId) -> String {
    format!("tandem.{kind}.{project}")
}

fn load_ids(kind: &str, project: ProjectId) -> Vec<i64> {
    storage()
        .and_then(|s| s.get_item(&key(kind, project)).ok().flatten())
        .and_then(|raw| serde_json::from_str(&raw).ok())
        .unwrap_or_default()
}

fn save_ids(kind: &str, project: ProjectId, ids: &[i64]) {
    if let (Some(s), Ok(raw)) = (storage(), serde_json::to_string(ids)) {
        let _ = s.set_item(&key(kind, project), &raw);
    }
}

impl Files {
    pub fn new(
        project: ProjectId,
        me: &UserInfo,
        writable: bool,
        entries: Vec<FileEntry>,
        link: RwSignal<Link>,
    ) -> Self {
        let files = Self {
            project,
            me: me.id.0,
            writable,
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
            let mut open: HashSet<i64> = saved_expanded
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
    pub fn active_doc(&self) -> Option<(i64, i64)> {
        let file = self.tabs.active.get_untracked()?;
        let doc = self
            .tree
            .with_untracked(|t| t.get(file).and_then(|e| e.doc))?;
        Some((file, doc))
    }

    /// Applies a project event.
    pub fn on_event(&self, event: ServerEvent) {
        match event {
            ServerEvent::Tree { entries } => self.tree.update(|t| t.apply(entries)),
            ServerEvent::Purged { ids } => {
                self.tree.update(|t| t.purge(&ids));
                for id in ids {
                    self.close(id);
                }
            }
            ServerEvent::Viewers { viewers } => self.viewers.set(viewers),
            ServerEvent::Resync => self.refetch(),
            _ => {}
        }
    }

    fn refetch(&self) {
        let (project, tree) = (self.project, self.tree);
        spawn_local(async move {
            if let Ok(entries) = list_files(project).await {
                tree.set(TreeModel::new(entries));
            }
        });
    }

    fn save_tabs(&self) {
        let mut ids: Vec<i64> = self
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
    pub fn open(&self, id: i64) {
        let Some(entry) = self.tree.with_untracked(|t| t.get(id).cloned()) else {
            return;
        };
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
    pub fn open_at(&self, id: i64, reveal: Reveal) {
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
    pub fn close(&self, id: i64) {
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

    fn toggle(&self, id: i64) {
        self.expanded.update(|e| {
            if !e.remove(&id) {
                e.insert(id);
            }
        });
        self.save_expanded();
    }

    fn save_expanded(&self) {
        let ids: Vec<i64> = self
            .expanded
            .with_untracked(|e| e.iter().copied().collect());
        save_ids("expanded", self.project, &ids);
    }

    /// The folder new entries go into: the selected folder, or the selected file's folder.
    fn target_folder(&self) -> Option<i64> {
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

    /// Moves `id` into `folder` (`None`: the root), unless that would put it inside itself.
    fn move_into(&self, id: i64, folder: Option<i64>) {
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

    fn trash(&self, id: i64) {
        self.run(trash_entry(self.project, id));
    }

    /// Other people (not me) who have `doc` open.
    fn viewers_of(&self, doc: Option<i64>) -> Vec<(i64, String)> {
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
    fn unsaved(&self, id: i64) -> bool {
        self.tabs.open.with(|o| {
            o.iter()
                .find(|t| t.file == id)
                .is_some_and(|t| matches!(t.signals.save.get(), Save::Saving | Save::Unsaved))
        })
    }
}

/// What the file pane is showing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PaneMode {
    Tree,
    Search,
}

/// A pending inline create: in which folder, a file or a folder.
type Creating = Option<(Option<i64>, FileKind)>;

/// The file pane: toolbar, filter, the virtualised tree, the trash; or search.
#[component]
pub fn FileTree(files: Files) -> AnyView {
    let view = {
        let mode = RwSignal::new(PaneMode::Tree);
        let filter = RwSignal::new(String::new());
        let creating = RwSignal::new(None::<(Option<i64>, FileKind)>);
        let renaming = RwSignal::new(None::<i64>);
        let menu = RwSignal::new(None::<(i32, i32, Option<i64>)>);
        on_window(ev::click, move |_| {
            if menu.get_untracked().is_some() {
                menu.set(None);
            }
        });
        let project = files.project;
        let new_entry = move |kind: FileKind| {
            mode.set(PaneMode::Tree);
            let parent = files.target_folder();
            if let Some(p) = parent {
                files.expanded.update(|e| {
                    e.insert(p);
                });
            }
            creating.set(Some((parent, kind)));
        };
        view! {
            <div class="tree-toolbar">
                <button type="button" class="icon-button" class:active=move || mode.get() == PaneMode::Tree
                    title="Files" data-test="mode-tree" on:click=move |_| mode.set(PaneMode::Tree)>"Files"</button>
                <button type="button" class="icon-button" class:active=move || mode.get() == PaneMode::Search
                    title="Search in files" data-test="mode-search" on:click=move |_| mode.set(PaneMode::Search)>"Search"</button>
                <span class="spacer"></span>
                {files.writable.then(|| view! {
                    <button type="button" class="icon-button" title="New file" data-test="new-file"
                        on:click=move |_| new_entry(FileKind::File)>"+ File"</button>
                    <button type="button" class="icon-button" title="New folder" data-test="new-folder"
                        on:click=move |_| new_entry(FileKind::Folder)>"+ Folder"</button>
                })}
                <button type="button" class="icon-button" title="Collapse all folders" data-test="collapse-all"
                    on:click=move |_| { files.expanded.set(HashSet::new()); files.save_expanded(); }>"⊟"</button>
                <a class="icon-button" href=format!("/api/projects/{project}/export.zip") download
                    title="Download the project as a zip" data-test="download-zip">"⤓"</a>
            </div>
            {move || files.error.get().map(|e| view! {
                <div class="error tree-error" role="alert" data-test="tree-error">
                    {e}<button type="button" class="link" aria-label="Dismiss" on:click=move |_| files.error.set(None)>"×"</button>
                </div>
            })}
            <Show when=move || mode.get() == PaneMode::Tree fallback=move || view! { <SearchPanel files=files/> }>
                <input class="tree-filter" type="search" placeholder="Filter files" aria-label="Filter files"
                    data-test="tree-filter" prop:value=move || filter.get()
                    on:input=move |ev| filter.set(event_target_value(&ev))/>
                <CreateInput files=files creating=creating/>
                <TreeRows files=files filter=filter renaming=renaming menu=menu/>
                <Trash files=files/>
            </Show>
            <ContextMenu files=files menu=menu renaming=renaming creating=creating/>
        }
    };
    view.into_any()
}

/// The inline input for a new file or folder, with its validation shown as you type.
#[component]
fn CreateInput(files: Files, creating: RwSignal<Creating>) -> AnyView {
    let view = {
        let name = RwSignal::new(String::new());
        let problem = RwSignal::new(None::<String>);
        let submit = move || {
            let Some((parent, kind)) = creating.get_untracked() else {
                return;
            };
            let n = name.get_untracked();
            if let Err(e) = names::check_name(&n) {
                problem.set(Some(e));
                return;
            }
            let project = files.project;
            spawn_local(async move {
                match create_entry(project, parent, n, kind).await {
                    Ok(entry) => {
                        files.tree.update(|t| t.apply(vec![entry.clone()]));
                        creating.set(None);
                        name.set(String::new());
                        problem.set(None);
                        files.selected.set(Some(entry.id));
                        if kind == FileKind::File {
                            files.open(entry.id);
                        }
                    }
                    Err(e) => problem.set(Some(e.to_string())),
                }
            });
        };
        let where_ = move || {
            let (parent, kind) = creating.get()?;
            let place = match parent {
                Some(p) => files.tree.with(|t| t.path(p)).unwrap_or_default(),
                None => "the project root".into(),
            };
            let what = if kind == FileKind::Folder {
                "folder"
            } else {
                "file"
            };
            Some(format!("New {what} in {place}"))
        };
        view! {
            {move || where_().map(|label| view! {
                <form class="create-entry" data-test="create-entry" on:submit=move |ev| { ev.prevent_default(); submit(); }>
                    <label class="muted small">{label.clone()}</label>
                    <input type="text" aria-label=label autofocus data-test="create-name"
                        prop:value=move || name.get()
                        on:input=move |ev| {
                            let v = event_target_value(&ev);
                            problem.set(names::check_name(&v).err().filter(|_| !v.is_empty()));
                            name.set(v);
                        }
                        on:keydown=move |ev| if ev.key() == "Escape" { creating.set(None); problem.set(None); name.set(String::new()); }/>
                    {move || problem.get().map(|p| view! { <p class="field-error" role="alert" data-test="create-error">{p}</p> })}
                </form>
            })}
        }
    };
    view.into_any()
}

/// The tree's rows, rendered only around the visible part.
#[component]
fn TreeRows(
    files: Files,
    filter: RwSignal<String>,
    renaming: RwSignal<Option<i64>>,
    menu: RwSignal<Option<(i32, i32, Option<i64>)>>,
) -> AnyView {
    let view = {
        let list = NodeRef::<leptos::html::Div>::new();
        let scroll_top = RwSignal::new(0.0f64);
        // Before the first measurement (and on the server): a typical pane's height.
        let height = RwSignal::new(800.0f64);
        let rows = Memo::new(move |_| {
            let f = filter.get();
            files
                .expanded
                .with(|open| files.tree.with(|t| t.rows(open, &f)))
        });
        let dragging = RwSignal::new(None::<i64>);
        let drop_target = RwSignal::new(None::<Option<i64>>);
        let measure = move || {
            if let Some(el) = list.get_untracked() {
                height.set(f64::from(el.client_height()).max(ROW_H));
            }
        };
        list.on_load(move |_| measure());
        on_window(ev::resize, move |_| measure());
        let window = move || {
            let all = rows.get();
            let first = ((scroll_top.get() / ROW_H) as usize).saturating_sub(OVERSCAN);
            let count = (height.get() / ROW_H).ceil() as usize + 2 * OVERSCAN;
            all.into_iter()
                .enumerate()
                .skip(first)
                .take(count)
                .collect::<Vec<_>>()
        };
        let scroll_to = move |index: usize| {
            let Some(el) = list.get_untracked() else {
                return;
            };
            let top = index as f64 * ROW_H;
            let view_h = f64::from(el.client_height());
            let cur = f64::from(el.scroll_top());
            if top < cur {
                el.set_scroll_top(top as i32);
            } else if top + ROW_H > cur + view_h {
                el.set_scroll_top((top + ROW_H - view_h) as i32);
            }
        };
        let on_key = move |ev: ev::KeyboardEvent| {
            if renaming.get_untracked().is_some() {
                return;
            }
            let all = rows.get_untracked();
            let pos = files
                .selected
                .get_untracked()
                .and_then(|s| all.iter().position(|r| r.id == s));
            let select = |i: usize| {
                if let Some(r) = all.get(i) {
                    files.selected.set(Some(r.id));
                    scroll_to(i);
                }
            };
            match ev.key().as_str() {
                "ArrowDown" => select(pos.map_or(0, |p| (p + 1).min(all.len().saturating_sub(1)))),
                "ArrowUp" => select(pos.map_or(0, |p| p.saturating_sub(1))),
                "Home" => select(0),
                "End" => select(all.len().saturating_sub(1)),
                "ArrowRight" => {
                    if let Some(r) = pos.and_then(|p| all.get(p)) {
                        if r.kind == FileKind::Folder && !r.expanded {
                            files.toggle(r.id);
                        } else if r.kind == FileKind::Folder {
                            select(pos.unwrap_or(0) + 1);
                        }
                    }
                }
                "ArrowLeft" => {
                    if let Some(r) = pos.and_then(|p| all.get(p)) {
                        if r.kind == FileKind::Folder && r.expanded {
                            files.toggle(r.id);
                        } else if let Some(parent) =
                            files.tree.with_untracked(|t| t.get(r.id)?.parent)
                            && let Some(i) = all.iter().position(|x| x.id == parent)
                        {
                            select(i);
                        }
                    }
                }
                "Enter" => {
                    if let Some(r) = pos.and_then(|p| all.get(p)) {
                        if r.kind == FileKind::Folder {
                            files.toggle(r.id);
                        } else {
                            files.open(r.id);
                        }
                    }
                }
                "F2" if files.writable => renaming.set(files.selected.get_untracked()),
                "Delete" if files.writable => {
                    if let Some(id) = files.selected.get_untracked() {
                        files.trash(id);
                    }
                }
                _ => return,
            }
            ev.prevent_default();
        };
        // Dropping on the empty part of the list moves to the root.
        let root_over = move |ev: ev::DragEvent| {
            if dragging.get_untracked().is_some() {
                ev.prevent_default();
                drop_target.set(Some(None));
            }
        };
        let root_drop = move |ev: ev::DragEvent| {
            ev.prevent_default();
            if let Some(id) = dragging.get_untracked() {
                files.move_into(id, None);
            }
            dragging.set(None);
            drop_target.set(None);
        };
        view! {
            <div class="tree-list" node_ref=list tabindex="0" role="tree" aria-label="Project files"
                data-test="file-tree" data-count=move || rows.with(Vec::len)
                class:drop-root=move || drop_target.get() == Some(None)
                on:scroll=move |_| if let Some(el) = list.get_untracked() { scroll_top.set(f64::from(el.scroll_top())); }
                on:keydown=on_key on:dragover=root_over on:drop=root_drop
                on:dragleave=move |_| drop_target.set(None)
                on:contextmenu=move |ev: ev::MouseEvent| {
                    ev.prevent_default();
                    menu.set(Some((ev.client_x(), ev.client_y(), None)));
                }>
                {move || rows.with(Vec::is_empty).then(|| view! {
                    <p class="empty" data-test="tree-empty">{move || if filter.with(String::is_empty) { "No files yet" } else { "No matching files" }}</p>
                })}
                <div class="tree-spacer" style=move || format!("height:{}px", rows.with(Vec::len) as f64 * ROW_H)>
                    <For each=window key=|(i, r)| (*i, r.clone()) let:item>
                        <TreeRow files=files index=item.0 row=item.1 renaming=renaming menu=menu
                            dragging=dragging drop_target=drop_target/>
                    </For>
                </div>
            </div>
        }
    };
    view.into_any()
}

#[component]
fn TreeRow(
    files: Files,
    index: usize,
    row: Row,
    renaming: RwSignal<Option<i64>>,
    menu: RwSignal<Option<(i32, i32, Option<i64>)>>,
    dragging: RwSignal<Option<i64>>,
    drop_target: RwSignal<Option<Option<i64>>>,
) -> AnyView {
    let view = {
        let id = row.id;
        let folder = row.kind == FileKind::Folder;
        let doc = files.tree.with_untracked(|t| t.get(id).and_then(|e| e.doc));
        let icon = if folder {
            if row.expanded {
                "folder-open"
            } else {
                "folder"
            }
        } else if row.kind == FileKind::Blob {
            "binary"
        } else {
            icon_for(&row.name)
        };
        // Where a drop on this row goes: into a folder, or next to a file.
        let drop_folder = move || {
            if folder {
                Some(id)
            } else {
                files
                    .tree
                    .with_untracked(|t| t.get(id).and_then(|e| e.parent))
            }
        };
        let on_click = move |_| {
            files.selected.set(Some(id));
            if folder {
                files.toggle(id);
            } else {
                files.open(id);
            }
        };
        let on_drag_start = move |ev: ev::DragEvent| {
            if !files.writable {
                ev.prevent_default();
                return;
            }
            if let Some(dt) = ev.data_transfer() {
                let _ = dt.set_data("text/plain", &id.to_string());
                dt.set_effect_allowed("move");
            }
            dragging.set(Some(id));
        };
        let on_drag_over = move |ev: ev::DragEvent| {
            let Some(d) = dragging.get_untracked() else {
                return;
            };
            let target = drop_folder();
            if target.is_some_and(|t| files.tree.with_untracked(|tree| tree.is_within(t, d))) {
                return; // no drop into itself
            }
            ev.prevent_default();
            ev.stop_propagation();
            drop_target.set(Some(target));
        };
        let on_drop = move |ev: ev::DragEvent| {
            ev.prevent_default();
            ev.stop_propagation();
            if let Some(d) = dragging.get_untracked() {
                files.move_into(d, drop_folder());
            }
            dragging.set(None);
            drop_target.set(None);
        };
        let name = row.name.clone();
        view! {
            <div class="tree-row" role="treeitem" data-test="tree-row" data-name=row.name.clone()
                data-id=id data-kind=row.kind.as_str()
                aria-expanded=folder.then(|| row.expanded.to_string())
                attr:aria-level=row.depth + 1 data-depth=row.depth
                style=format!("top:{}px;padding-left:{}px", index as f64 * ROW_H, 8 + row.depth * 14)
                class:selected=move || files.selected.get() == Some(id)
                class:active=move || files.tabs.active.get() == Some(id)
                class:drop-into=move || folder && drop_target.get() == Some(Some(id))
                draggable=if files.writable { "true" } else { "false" }
                on:click=on_click
                on:dblclick=move |_| if files.writable { renaming.set(Some(id)); }
                on:contextmenu=move |ev: ev::MouseEvent| {
                    ev.prevent_default();
                    ev.stop_propagation();
                    files.selected.set(Some(id));
                    menu.set(Some((ev.client_x(), ev.client_y(), Some(id))));
                }
                on:dragstart=on_drag_start on:dragover=on_drag_over on:drop=on_drop
                on:dragend=move |_| { dragging.set(None); drop_target.set(None); }>
                <span class="chevron" aria-hidden="true">{if folder { if row.expanded { "▾" } else { "▸" } } else { "" }}</span>
                <span class=format!("file-icon icon-{icon}") aria-hidden="true"></span>
                {move || if renaming.get() == Some(id) {
                    view! { <RenameInput files=files id=id name=name.clone() renaming=renaming/> }.into_any()
                } else {
                    view! { <span class="name">{name.clone()}</span> }.into_any()
                }}
                <span class="row-badges">
                    {move || files.unsaved(id).then(|| view! {
                        <span class="unsaved-dot" title="Unsaved changes" data-test="unsaved-dot">"●"</span>
                    })}
                    {move || files.viewers_of(doc).into_iter().map(|(user, who)| view! {
                        <span class=format!("viewer-dot tandem-rc-{}", color_index(user)) title=format!("{who} has this open")
                            data-test="viewer-dot" data-name=who.clone()>{who.chars().next().map(|c| c.to_uppercase().to_string())}</span>
                    }).collect_view()}
                </span>
            </div>
        }
    };
    view.into_any()
}

#[component]
fn RenameInput(files: Files, id: i64, name: String, renaming: RwSignal<Option<i64>>) -> AnyView {
    let view = {
        let value = RwSignal::new(name.clone());
        let input = NodeRef::<leptos::html::Input>::new();
        input.on_load(move |el| {
            let _ = el.focus();
            // Select the name without its extension, as editors do.
            let v = el.value();
            let end = v.rfind('.').filter(|i| *i > 0).unwrap_or(v.len());
            let end = v[..end].encode_utf16().count() as u32;
            let _ = el.set_selection_range(0, end);
        });
        let name = StoredValue::new(name);
        let commit = move || {
            let name = name.get_value();
            if renaming.get_untracked() != Some(id) {
                return;
            }
            let new = value.get_untracked();
            if new == name {
                renaming.set(None);
                return;
            }
            if let Err(e) = names::check_name(&new) {
                files.error.set(Some(e));
                return;
            }
            renaming.set(None);
            files.run(rename_entry(files.project, id, new));
        };
        view! {
            <input class="rename-input" node_ref=input type="text" aria-label="New name" data-test="rename-input"
                prop:value=move || value.get()
                on:click=|ev| ev.stop_propagation()
                on:input=move |ev| value.set(event_target_value(&ev))
                on:keydown=move |ev| {
                    ev.stop_propagation();
                    match ev.key().as_str() {
                        "Enter" => commit(),
                        "Escape" => { renaming.set(None); files.error.set(None); }
                        _ => {}
                    }
                }
                on:blur=move |_| commit()/>
        }
    };
    view.into_any()
}

#[component]
fn ContextMenu(
    files: Files,
    menu: RwSignal<Option<(i32, i32, Option<i64>)>>,
    renaming: RwSignal<Option<i64>>,
    creating: RwSignal<Creating>,
) -> AnyView {
    let view = {
        let project = files.project;
        let item =
            move |label: &'static str, test: &'static str, action: Box<dyn Fn() + Send + Sync>| {
                view! {
                    <li><button type="button" role="menuitem" data-test=test
                        on:click=move |_| { menu.set(None); action(); }>{label}</button></li>
                }
            };
        move || {
            let (x, y, target) = menu.get()?;
            let entry = target.and_then(|id| files.tree.with_untracked(|t| t.get(id).cloned()));
            let folder_for_new = match &entry {
                Some(e) if e.kind == FileKind::Folder => Some(e.id),
                Some(e) => e.parent,
                None => None,
            };
            let mut items = Vec::new();
            if files.writable {
                items.push(
                    item(
                        "New file",
                        "menu-new-file",
                        Box::new(move || {
                            if let Some(f) = folder_for_new {
                                files.expanded.update(|e| {
                                    e.insert(f);
                                });
                            }
                            creating.set(Some((folder_for_new, FileKind::File)));
                        }),
                    )
                    .into_any(),
                );
                items.push(
                    item(
                        "New folder",
                        "menu-new-folder",
                        Box::new(move || {
                            if let Some(f) = folder_for_new {
                                files.expanded.update(|e| {
                                    e.insert(f);
                                });
                            }
                            creating.set(Some((folder_for_new, FileKind::Folder)));
                        }),
                    )
                    .into_any(),
                );
            }
            if let Some(e) = &entry {
                let id = e.id;
                if e.kind != FileKind::Folder {
                    items.push(
                        item("Open", "menu-open", Box::new(move || files.open(id))).into_any(),
                    );
                }
                if files.writable {
                    items.push(
                        item(
                            "Rename",
                            "menu-rename",
                            Box::new(move || renaming.set(Some(id))),
                        )
                        .into_any(),
                    );
                    items.push(
                        item(
                            "Duplicate",
                            "menu-duplicate",
                            Box::new(move || files.run(duplicate_entry(project, id))),
                        )
                        .into_any(),
                    );
                    items.push(
                        item("Delete", "menu-delete", Box::new(move || files.trash(id))).into_any(),
                    );
                }
                let href = if e.kind == FileKind::Folder {
                    format!("/api/projects/{project}/export.zip?folder={id}")
                } else {
                    format!("/api/projects/{project}/files/{id}/raw")
                };
                items.push(view! {
                <li><a role="menuitem" href=href download data-test="menu-download">"Download"</a></li>
            }.into_any());
            }
            Some(view! {
                <ul class="context-menu" role="menu" data-test="context-menu"
                    style=format!("left:{x}px;top:{y}px") on:click=|ev| ev.stop_propagation()>
                    {items}
                </ul>
            })
        }
    };
    view.into_any()
}

/// Trashed entries with restore, and emptying the trash.
#[component]
fn Trash(files: Files) -> AnyView {
    let view = {
        let project = files.project;
        let items = Memo::new(move |_| {
            files.tree.with(|t| {
                t.trash()
                    .into_iter()
                    .map(|e| (e.id, t.path(e.id).unwrap_or_else(|| e.name.clone()), e.kind))
                    .collect::<Vec<_>>()
            })
        });
        view! {
            <details class="trash" data-test="trash">
                <summary>{move || format!("Trash ({})", items.with(Vec::len))}</summary>
                <ul>
                    <For each=move || items.get() key=|i| i.clone() let:item>
                        <li class="trash-item" data-test="trash-item" data-name=item.1.clone()>
                            <span class=format!("file-icon icon-{}", if item.2 == FileKind::Folder { "folder" } else { icon_for(&item.1) }) aria-hidden="true"></span>
                            <span class="name">{item.1.clone()}</span>
                            {files.writable.then(|| view! {
                                <button type="button" class="link" data-test="restore"
                                    on:click=move |_| files.run(restore_entry(project, item.0))>"Restore"</button>
                            })}
                        </li>
                    </For>
                </ul>
                {move || (files.writable && !items.with(Vec::is_empty)).then(|| view! {
                    <button type="button" class="danger small" data-test="empty-trash"
                        on:click=move |_| {
                            let ok = web_sys::window()
                                .and_then(|w| w.confirm_with_message("Delete everything in the trash for good?").ok())
                                .unwrap_or(false);
                            if ok {
                                files.run(empty_trash(project));
                            }
                        }>"Empty trash"</button>
                })}
            </details>
        }
    };
    view.into_any()
}

/// Content search over the project, results grouped by file.
#[component]
fn SearchPanel(files: Files) -> AnyView {
    let view = {
        let text = RwSignal::new(String::new());
        let regex = RwSignal::new(false);
        let case = RwSignal::new(false);
        let results = RwSignal::new(None::<Result<SearchResults, String>>);
        let busy = RwSignal::new(false);
        let run = move || {
            let query = SearchQuery {
                text: text.get_untracked(),
                regex: regex.get_untracked(),
                case_sensitive: case.get_untracked(),
            };
            if query.text.is_empty() {
                results.set(None);
                return;
            }
            busy.set(true);
            let project = files.project;
            spawn_local(async move {
                let r = search_files(project, query)
                    .await
                    .map_err(|e| e.to_string());
                results.set(Some(r));
                busy.set(false);
            });
        };
        view! {
            <form class="search-form" data-test="search-form" on:submit=move |ev| { ev.prevent_default(); run(); }>
                <input type="search" placeholder="Search in files (Enter)" aria-label="Search in files" autofocus
                    data-test="search-input" prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))/>
                <label class="toggle" title="Regular expression">
                    <input type="checkbox" data-test="search-regex" prop:checked=move || regex.get()
                        on:change=move |ev| { regex.set(event_target_checked(&ev)); run(); }/>".*"
                </label>
                <label class="toggle" title="Match case">
                    <input type="checkbox" data-test="search-case" prop:checked=move || case.get()
                        on:change=move |ev| { case.set(event_target_checked(&ev)); run(); }/>"Aa"
                </label>
            </form>
            {move || busy.get().then(|| view! { <p class="muted small">"Searching…"</p> })}
            {move || results.get().map(|r| match r {
                Err(e) => view! { <p class="field-error" role="alert" data-test="search-error">{e}</p> }.into_any(),
                Ok(r) => {
                    let hits: usize = r.files.iter().map(|f| f.hits.len()).sum();
                    let summary = format!(
                        "{hits} result{} in {} file{}{}{}",
                        if hits == 1 { "" } else { "s" },
                        r.files.len(),
                        if r.files.len() == 1 { "" } else { "s" },
                        if r.truncated { " (more not shown)" } else { "" },
                        if r.timed_out { " (search stopped early: time limit)" } else { "" },
                    );
                    view! {
                        <p class="muted small" data-test="search-summary">{summary}</p>
                        <ul class="search-results" data-test="search-results">
                            {r.files.into_iter().map(|f| {
                                let file = f.file;
                                view! {
                                    <li class="search-file" data-test="search-file" data-path=f.path.clone()>
                                        <div class="search-path">{f.path.clone()}</div>
                                        <ul>
                                            {f.hits.into_iter().map(|h| {
                                                let reveal = Reveal { line: h.line, column: h.column, end_column: h.end_column };
                                                view! {
                                                    <li><button type="button" class="search-hit" data-test="search-hit" data-line=h.line
                                                        on:click=move |_| files.open_at(file, reveal)>
                                                        <span class="line-no">{h.line}</span>
                                                        <span class="preview">{h.preview.clone()}</span>
                                                    </button></li>
                                                }
                                            }).collect_view()}
                                        </ul>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
            })}
        }
    };
    view.into_any()
}

/// Ctrl+P / Cmd+P: open a file by fuzzy name.
#[component]
pub fn QuickOpen(files: Files) -> AnyView {
    let view = {
        let open = RwSignal::new(false);
        let query = RwSignal::new(String::new());
        let cursor = RwSignal::new(0usize);
        on_window(ev::keydown, move |ev| {
            if (ev.ctrl_key() || ev.meta_key())
                && !ev.shift_key()
                && ev.key().eq_ignore_ascii_case("p")
            {
                ev.prevent_default();
                query.set(String::new());
                cursor.set(0);
                open.set(true);
            }
        });
        let found = Memo::new(move |_| {
            if !open.get() {
                return Vec::new();
            }
            let q = query.get();
            let all = files.tree.with(|t| t.files());
            fuzzy::rank(&q, all.iter().map(|(id, p)| (*id, p.as_str())), 50)
                .into_iter()
                .filter_map(|(id, m)| {
                    let path = all.iter().find(|(i, _)| *i == id)?.1.clone();
                    Some((id, path, m.positions))
                })
                .collect::<Vec<_>>()
        });
        let choose = move |id: i64| {
            open.set(false);
            files.open(id);
        };
        move || {
            open.get().then(|| view! {
        <div class="quick-open-backdrop" on:click=move |_| open.set(false)>
            <div class="quick-open" role="dialog" aria-label="Open file" data-test="quick-open"
                on:click=|ev| ev.stop_propagation()>
                <input type="text" autofocus placeholder="Type a file name" aria-label="File name"
                    data-test="quick-open-input" prop:value=move || query.get()
                    on:input=move |ev| { query.set(event_target_value(&ev)); cursor.set(0); }
                    on:keydown=move |ev| match ev.key().as_str() {
                        "Escape" => open.set(false),
                        "ArrowDown" => { ev.prevent_default(); cursor.update(|c| *c = (*c + 1).min(found.with(Vec::len).saturating_sub(1))); }
                        "ArrowUp" => { ev.prevent_default(); cursor.update(|c| *c = c.saturating_sub(1)); }
                        "Enter" => {
                            if let Some(id) = found.with(|f| f.get(cursor.get_untracked()).map(|x| x.0)) {
                                choose(id);
                            }
                        }
                        _ => {}
                    }/>
                <ul class="quick-open-list">
                    {move || found.get().into_iter().enumerate().map(|(i, (id, path, hits))| {
                        let chars = path.chars().enumerate().map(|(n, c)| {
                            if hits.contains(&n) { view! { <b>{c.to_string()}</b> }.into_any() } else { c.to_string().into_any() }
                        }).collect_view();
                        view! {
                            <li><button type="button" class:selected=move || cursor.get() == i data-test="quick-open-item"
                                data-path=path.clone() on:click=move |_| choose(id)>{chars}</button></li>
                        }
                    }).collect_view()}
                    {move || (found.with(Vec::is_empty)).then(|| view! { <li class="muted">"No matching files"</li> })}
                </ul>
            </div>
        </div>
    })
        }
    };
    view.into_any()
}

/// The tab strip and the open documents under it.
#[component]
pub fn EditorTabs(files: Files, me: UserInfo, docs: OpenDocs) -> AnyView {
    let view = {
        let tabs = files.tabs;
        let dragged = RwSignal::new(None::<i64>);
        let entry_of = move |id: i64| files.tree.with(|t| t.get(id).cloned());
        let close = move |id: i64| {
            let unsaved = tabs.open.with_untracked(|o| {
                o.iter()
                    .find(|t| t.file == id)
                    .is_some_and(|t| matches!(t.signals.save.get_untracked(), Save::Unsaved))
            });
            let ok = !unsaved
            || web_sys::window()
                .and_then(|w| {
                    w.confirm_with_message(
                        "This file has changes that are not saved yet (you are offline). Close it anyway?",
                    )
                    .ok()
                })
                .unwrap_or(false);
            if ok {
                files.close(id);
            }
        };
        let reorder = move |from: i64, to: i64| {
            tabs.open.update(|o| {
                let (Some(a), Some(b)) = (
                    o.iter().position(|t| t.file == from),
                    o.iter().position(|t| t.file == to),
                ) else {
                    return;
                };
                let t = o.remove(a);
                o.insert(b, t);
            });
            files.save_tabs();
        };
        view! {
            <div class="tab-strip" role="tablist" data-test="tab-strip">
                <For each=move || tabs.open.get() key=|t| t.file let:tab>
                    {
                        let id = tab.file;
                        let name = move || entry_of(id).map(|e| e.name).unwrap_or_default();
                        view! {
                            <div class="file-tab" role="tab" data-test="file-tab" data-name=name
                                aria-selected=move || (tabs.active.get() == Some(id)).to_string()
                                class:active=move || tabs.active.get() == Some(id)
                                class:trashed=move || !files.tree.with(|t| t.is_live(id))
                                draggable="true" title=move || files.tree.with(|t| t.path(id)).unwrap_or_default()
                                on:click=move |_| { tabs.active.set(Some(id)); files.selected.set(Some(id)); files.save_tabs(); }
                                on:auxclick=move |ev: ev::MouseEvent| if ev.button() == 1 { close(id); }
                                on:dragstart=move |_| dragged.set(Some(id))
                                on:dragover=move |ev: ev::DragEvent| if dragged.get_untracked().is_some() { ev.prevent_default(); }
                                on:drop=move |ev: ev::DragEvent| {
                                    ev.prevent_default();
                                    if let Some(from) = dragged.get_untracked() { reorder(from, id); }
                                    dragged.set(None);
                                }>
                                <span class=move || format!("file-icon icon-{}", icon_for(&name())) aria-hidden="true"></span>
                                <span class="name">{name}</span>
                                {move || matches!(tab.signals.save.get(), Save::Saving | Save::Unsaved)
                                    .then(|| view! { <span class="unsaved-dot" title="Unsaved changes">"●"</span> })}
                                <button type="button" class="tab-close" aria-label="Close" data-test="tab-close"
                                    on:click=move |ev| { ev.stop_propagation(); close(id); }>"×"</button>
                            </div>
                        }
                    }
                </For>
            </div>
            {move || tabs.open.with(Vec::is_empty).then(|| view! {
                <div class="empty-editor" data-test="no-open-file">
                    <h2>{move || if files.tree.with(|t| t.files().is_empty()) { "No files yet" } else { "No file open" }}</h2>
                    <p class="muted">{if files.writable { "Pick a file in the tree, create one, or press Ctrl+P." } else { "Pick a file in the tree or press Ctrl+P." }}</p>
                </div>
            })}
            <For each=move || tabs.open.get() key=|t| t.file let:tab>
                {
                    let id = tab.file;
                    let entry = files.tree.with_untracked(|t| t.get(id).cloned());
                    let me = me.clone();
                    view! {
                        <div class="doc-pane" class:hidden=move || tabs.active.get() != Some(id) data-file=id>
                            {entry.map(|e| match (e.kind, e.doc) {
                                (FileKind::File, Some(doc)) => view! {
                                    <DocView file=FileDoc { file: id, name: e.name.clone(), doc } project=files.project
                                        me=me.clone() docs=docs signals=tab.signals reveal=tab.reveal
                                        name=Signal::derive(move || files.tree.with(|t| t.get(id).map(|e| e.name.clone())).unwrap_or_default())
                                        trashed=Signal::derive(move || !files.tree.with(|t| t.is_live(id)))/>
                                }.into_any(),
                                _ => view! { <BlobView files=files entry=e/> }.into_any(),
                            })}
                        </div>
                    }
                }
            </For>
        }
    };
    view.into_any()
}

/// A binary or too-large file: what it is and a download link, never loaded into Monaco.
#[component]
fn BlobView(files: Files, entry: FileEntry) -> AnyView {
    let view = {
        let size = entry.size.unwrap_or(0);
        let what = if size as usize > MAX_TEXT_BYTES {
            "This file is too large to edit in the browser"
        } else {
            "This is a binary file"
        };
        view! {
            <div class="blob-view" data-test="blob-view">
                <h2>{entry.name.clone()}</h2>
                <p>{format!("{what} ({}).", human_size(size))}</p>
                <a class="button" href=format!("/api/projects/{}/files/{}/raw", files.project, entry.id) download>"Download"</a>
            </div>
        }
    };
    view.into_any()
}

pub fn human_size(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    if b < 1024.0 {
        format!("{bytes} B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.1} KB", b / 1024.0)
    } else {
        format!("{:.1} MB", b / (1024.0 * 1024.0))
    }
}
