//! The task of one bound directory: the watcher, reconciling disk changes into the tree and
//! documents, replaying tree changes on disk, and writing edited documents back.

use std::{
    collections::HashMap,
    io,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use app::{
    AppError, AppResult,
    files::FileKind,
    types::{DocId, FileId, history::Via},
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use tokio::sync::{Notify, mpsc};

use crate::db::entities::{file, file_blob};
use crate::files::{
    archive::{Data, Unpacked, as_text},
    text::{diff_update, text_of},
    tree::snapshot,
};

use super::{
    Bound, SETTLE, SETTLE_MAX, Work,
    scan::{Scan, hash, ignored, is_temp, scan},
};

/// The mirror's view of the disk: what it last saw or wrote, by tree entry.
#[derive(Default)]
pub(super) struct Mirror {
    /// Entry → path on disk (`a/b.rs`).
    paths: HashMap<FileId, String>,
    ids: HashMap<String, FileId>,
    /// Path → hash of the content last read from or written to it.
    seen: HashMap<String, u64>,
    /// Entries trashed because their path vanished from disk, by that path, for a moment: a
    /// rename whose event comes after the reconcile that missed the file claims them back.
    vanished: HashMap<String, (FileId, std::time::Instant)>,
}

/// How long an entry trashed because its path vanished can still be claimed by a rename.
const VANISHED_FOR: Duration = Duration::from_secs(10);

impl Mirror {
    pub(super) fn set(&mut self, id: FileId, path: String) {
        if let Some(old) = self.paths.insert(id, path.clone()) {
            self.ids.remove(&old);
        }
        self.ids.insert(path, id);
    }

    pub(super) fn forget(&mut self, id: FileId) {
        if let Some(p) = self.paths.remove(&id) {
            self.ids.remove(&p);
        }
    }

    /// `from` (and everything below it) is now at `to` on disk.
    pub(super) fn moved(&mut self, from: &str, to: &str) {
        for (path, id) in self.under(from) {
            let moved = format!("{to}{}", &path[from.len()..]);
            if let Some(h) = self.seen.remove(&path) {
                self.seen.insert(moved.clone(), h);
            }
            self.set(id, moved);
        }
    }

    /// Entries at `prefix` or below it.
    pub(super) fn under(&self, prefix: &str) -> Vec<(String, FileId)> {
        self.ids
            .iter()
            .filter(|(p, _)| {
                prefix.is_empty() || *p == prefix || p.starts_with(&format!("{prefix}/"))
            })
            .map(|(p, i)| (p.clone(), *i))
            .collect()
    }
}

impl Bound {
    pub(super) fn watch(&self, tx: mpsc::Sender<Work>) -> AppResult<notify::RecommendedWatcher> {
        use notify::Watcher;
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            if let Ok(event) = res {
                use notify::event::{EventKind, ModifyKind, RenameMode};
                // Opening or reading changes nothing, and the mirror's own reads would come
                // back as work: each reconcile reads what it reconciles, inotify reports the
                // open, and the file (or, for a scan, the whole folder) is read again, for
                // ever, ten times a second.
                if matches!(event.kind, EventKind::Access(_)) {
                    return;
                }
                // The watcher's own thread: waiting here is backpressure, not a stall.
                if let (EventKind::Modify(ModifyKind::Name(RenameMode::Both)), [from, to]) =
                    (event.kind, event.paths.as_slice())
                {
                    let _ = tx.blocking_send(Work::Renamed(from.clone(), to.clone()));
                }
                let _ = tx.blocking_send(Work::Disk(event.paths));
            }
        })
        .map_err(|e| {
            tracing::error!(error = %e, "cannot watch the directory");
            AppError::Internal
        })?;
        watcher
            .watch(&self.root.path, notify::RecursiveMode::Recursive)
            .map_err(|e| {
                tracing::error!(error = %e, "cannot watch the directory");
                AppError::Internal
            })?;
        Ok(watcher)
    }

    pub(super) async fn run(
        mut self,
        mut rx: mpsc::Receiver<Work>,
        wake: Arc<Notify>,
        tree_changed: Arc<AtomicBool>,
        _watcher: notify::RecommendedWatcher,
        flush_delay: Duration,
    ) {
        loop {
            tokio::select! {
                work = rx.recv() => {
                    let Some(work) = work else { break };
                    // A flush is waited on (a run is about to start): no settling first.
                    let work = match work {
                        Work::Flush(done) => {
                            self.flush().await;
                            let _ = done.send(());
                            continue;
                        }
                        other => other,
                    };
                    let mut paths = Vec::new();
                    let mut renames = Vec::new();
                    let mut tree = false;
                    let mut flushed = Vec::new();
                    let mut add = |w: Work| match w {
                        Work::Disk(p) => paths.extend(p),
                        Work::Renamed(from, to) => renames.push((from, to)),
                        Work::Tree => tree = true,
                        Work::Flush(done) => flushed.push(done),
                    };
                    add(work);
                    // Let a burst settle, then handle it at once.
                    let deadline = tokio::time::Instant::now() + SETTLE_MAX;
                    while let Ok(Some(w)) = tokio::time::timeout_at(
                        deadline.min(tokio::time::Instant::now() + SETTLE),
                        rx.recv(),
                    )
                    .await
                    {
                        add(w);
                    }
                    for (from, to) in renames {
                        self.renamed(&from, &to).await;
                    }
                    // Also when the change's queue message was dropped (`Disks::tree_changed`).
                    if tree_changed.swap(false, Ordering::AcqRel) || tree {
                        self.sync_from_tree().await;
                    }
                    if !paths.is_empty() {
                        self.disk_changed(paths).await;
                    }
                    if !flushed.is_empty() {
                        self.flush().await;
                        for done in flushed {
                            let _ = done.send(());
                        }
                    }
                }
                () = wake.notified() => {
                    tokio::time::sleep(flush_delay).await;
                    self.flush().await;
                }
            }
        }
    }

    pub(super) fn rel(&self, abs: &Path) -> Option<String> {
        let rel = abs.strip_prefix(&self.root.path).ok()?.to_str()?.to_owned();
        let ignored = rel
            .split('/')
            .any(|p| p == ".git" || is_temp(p) || self.ignore.iter().any(|i| i == p));
        (!ignored).then_some(rel)
    }

    /// A rename or move made on disk by another tool (`mv`, `git mv`, an editor) becomes the
    /// same operation in the tree, so the file keeps its document, its history and the
    /// cursors in it. Anything this cannot express (a target folder the tree does not have, a
    /// name it refuses, a clash) is left to the reconcile that follows, as a delete and a
    /// create.
    pub(super) async fn renamed(&mut self, from: &Path, to: &Path) {
        let (Some(from), Some(to)) = (self.rel(from), self.rel(to)) else {
            return;
        };
        let now = std::time::Instant::now();
        self.mirror
            .vanished
            .retain(|_, (_, at)| now.duration_since(*at) < VANISHED_FOR);
        // A file written and renamed at once (an editor's save, then `git mv`) can vanish
        // from a reconcile before its rename event arrives: it was trashed; take it back.
        let claimed = match self.mirror.ids.get(&from) {
            Some(&id) => Some((id, false)),
            None => self.mirror.vanished.remove(&from).map(|(id, _)| (id, true)),
        };
        let Some((id, was_trashed)) = claimed else {
            return; // ours (already moved in the mirror) or never tracked
        };
        if self.mirror.ids.contains_key(&to) {
            return;
        }
        let (parent_path, name) = match to.rsplit_once('/') {
            Some((p, n)) => (Some(p.to_owned()), n.to_owned()),
            None => (None, to.clone()),
        };
        let parent = match &parent_path {
            Some(p) => match self.mirror.ids.get(p) {
                Some(&folder) => Some(folder),
                None => return,
            },
            None => None,
        };
        let tree = &self.files.tree;
        if was_trashed && let Err(e) = tree.restore(self.project, id).await {
            tracing::debug!(path = from, error = %e, "cannot take back an entry renamed on disk");
            return;
        }
        let Ok(row) = tree.row(self.project, id).await else {
            return;
        };
        if row.parent_id.map(FileId) != parent
            && tree.move_to(self.project, id, parent).await.is_err()
        {
            return;
        }
        if row.name != name && tree.rename(self.project, id, &name).await.is_err() {
            return;
        }
        // The disk already has it there: move the mirror (and everything below) along, so
        // replaying the tree finds nothing to do.
        if was_trashed {
            self.track_at(&to).await;
        } else {
            self.mirror.moved(&from, &to);
        }
    }

    /// Tracks the tree's live entries at `path` and below it where the tree has them (the
    /// disk has them there too: a rename on disk just put them there).
    async fn track_at(&mut self, path: &str) {
        let Ok(tree) = snapshot(&self.files.tree.db, self.project).await else {
            return;
        };
        let below = format!("{path}/");
        for (row, p) in tree.live() {
            if p == path || p.starts_with(&below) {
                self.track_row(row, p);
            }
        }
    }

    pub(super) async fn disk_changed(&mut self, paths: Vec<PathBuf>) {
        let mut rels: Vec<String> = paths.iter().filter_map(|p| self.rel(p)).collect();
        rels.sort();
        rels.dedup();
        // A path inside another changed path is covered by it.
        let mut done: Vec<String> = Vec::new();
        for rel in rels {
            if done
                .iter()
                .any(|d| rel.starts_with(&format!("{d}/")) || d.is_empty())
            {
                continue;
            }
            self.reconcile(&rel).await;
            done.push(rel);
        }
    }

    /// Makes the tree match the disk at `prefix` (a path, or `""` for everything).
    pub(super) async fn reconcile(&mut self, prefix: &str) {
        let (root, prefix_owned, ignore) =
            (self.root.clone(), prefix.to_owned(), self.ignore.clone());
        let found = tokio::task::spawn_blocking(move || {
            if prefix_owned.is_empty() {
                return scan(&root, "", &ignore);
            }
            // A path the ignore files keep out is not there, as far as the tree goes (the
            // walk below honours them for what is under it, not for where it starts).
            let meta = root.dir.symlink_metadata(&prefix_owned);
            if meta
                .as_ref()
                .is_ok_and(|m| ignored(&root, &prefix_owned, m.is_dir()))
            {
                return Scan::default();
            }
            // A single changed file needs no walk.
            match meta {
                Ok(m) if m.is_file() => {
                    let mut s = Scan::default();
                    match root.read(&prefix_owned) {
                        Ok(bytes) => {
                            s.entries.insert(prefix_owned, Some(bytes));
                        }
                        Err(e) => s.skipped.push((prefix_owned, e.to_string())),
                    }
                    s
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => Scan::default(),
                _ => scan(&root, &prefix_owned, &ignore),
            }
        })
        .await;
        let Ok(found) = found else {
            return;
        };
        // Gone from disk: to the trash (restorable; the content is still in the database).
        let mut gone: Vec<(String, FileId)> = self
            .mirror
            .under(prefix)
            .into_iter()
            .filter(|(p, _)| !found.entries.contains_key(p))
            .collect();
        gone.sort();
        let mut trashed: Vec<String> = Vec::new();
        for (path, id) in gone {
            if !trashed.iter().any(|t| path.starts_with(&format!("{t}/"))) {
                match self.files.tree.trash(self.project, id).await {
                    Ok(_) => {
                        let now = std::time::Instant::now();
                        let vanished = &mut self.mirror.vanished;
                        vanished.retain(|_, (_, at)| now.duration_since(*at) < VANISHED_FOR);
                        vanished.insert(path.clone(), (id, now));
                    }
                    Err(e) => {
                        tracing::debug!(path, error = %e, "could not trash an entry removed on disk");
                    }
                }
                trashed.push(path.clone());
            }
            self.mirror.forget(id);
            self.mirror.seen.remove(&path);
        }
        // New or changed on disk.
        let mut new = Vec::new();
        let mut paths: Vec<&String> = found.entries.keys().collect();
        paths.sort();
        for path in paths {
            let bytes = &found.entries[path];
            match (self.mirror.ids.get(path).copied(), bytes) {
                (Some(_), None) => {}
                (Some(id), Some(bytes)) => self.update(id, path, bytes).await,
                (None, _) => new.push(Unpacked {
                    path: path.split('/').map(str::to_owned).collect(),
                    data: Data::Bytes(bytes.clone().unwrap_or_default()),
                    is_dir: bytes.is_none(),
                }),
            }
        }
        if !new.is_empty() {
            match self.files.create_all(self.project, self.owner, new).await {
                Ok(rows) => {
                    for (path, row) in rows {
                        if let Some(content) = found.entries.get(&path).and_then(|b| b.as_ref()) {
                            self.mirror.seen.insert(path.clone(), hash(content));
                        }
                        self.track_row(&row, path);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not import new files from disk"),
            }
        }
    }

    pub(super) fn track_row(&mut self, row: &file::Model, path: String) {
        self.track(FileId(row.id), row.document_id.map(DocId), path);
    }

    pub(super) fn track(&mut self, id: FileId, doc: Option<DocId>, path: String) {
        if let Some(doc) = doc {
            crate::lock::lock(&self.disks.inner.docs).insert(doc, self.project);
        }
        self.mirror.set(id, path);
    }

    /// A file changed on disk: its document gets the minimal edit (or its blob the bytes).
    pub(super) async fn update(&mut self, id: FileId, path: &str, bytes: &[u8]) {
        let h = hash(bytes);
        if self.mirror.seen.get(path) == Some(&h) {
            return; // what we wrote or last read: our own echo
        }
        self.mirror.seen.insert(path.to_owned(), h);
        let Ok(row) = self.files.tree.row(self.project, id).await else {
            return;
        };
        let text = as_text(bytes);
        match (row.document_id, text) {
            (Some(doc), Some(text)) => {
                let engine = &self.files.tree.editor.engine;
                let Ok(key) = crate::editor::engine_id(DocId(doc)) else {
                    return;
                };
                let Ok(state) = engine.state(key).await else {
                    return;
                };
                let target = text.to_owned();
                let update =
                    tokio::task::spawn_blocking(move || diff_update(&state, &target)).await;
                if let Ok(Ok(Some(update))) = update
                    && let Err(e) = engine
                        .write(key, update, crate::editor::author(None, Via::Disk))
                        .await
                {
                    tracing::warn!(path, error = %e, "could not apply a change from disk");
                }
            }
            (None, None) if row.kind == FileKind::Blob.as_str() => {
                let stored = file_blob::Entity::insert(file_blob::ActiveModel {
                    file_id: Set(id.0),
                    data: Set(bytes.to_vec()),
                })
                .on_conflict(
                    sea_orm::sea_query::OnConflict::column(file_blob::Column::FileId)
                        .update_column(file_blob::Column::Data)
                        .to_owned(),
                )
                .exec(&self.files.tree.db)
                .await;
                if let Err(e) = stored {
                    tracing::warn!(path, error = %e, "could not store a binary file changed on disk");
                    return;
                }
                let sized = crate::db::entities::file::ActiveModel {
                    id: Set(id.0),
                    size: Set(Some(bytes.len() as i64)),
                    ..Default::default()
                }
                .update(&self.files.tree.db)
                .await;
                if let Err(e) = sized {
                    tracing::warn!(path, error = %e, "could not record a binary file's new size");
                }
            }
            // It became binary, or text: replace the entry.
            _ => {
                if let Err(e) = self.files.tree.trash(self.project, id).await {
                    tracing::warn!(path, error = %e, "could not replace an entry whose kind changed on disk");
                    return;
                }
                self.mirror.forget(id);
                let unpacked = Unpacked {
                    path: path.split('/').map(str::to_owned).collect(),
                    data: Data::Bytes(bytes.to_vec()),
                    is_dir: false,
                };
                if let Ok(rows) = self
                    .files
                    .create_all(self.project, self.owner, vec![unpacked])
                    .await
                {
                    for (p, row) in rows {
                        self.track_row(&row, p);
                    }
                }
            }
        }
    }

    /// Learns the database's live entries and their paths: at start only, before the first
    /// reconcile, when the disk wins. Never later: an entry the tree has and the disk does not
    /// yet (a restore this task has not replayed) would look deleted on disk and be trashed.
    pub(super) async fn learn_tree(&mut self) {
        let Ok(tree) = snapshot(&self.files.tree.db, self.project).await else {
            return;
        };
        for (row, path) in tree.live() {
            self.track_row(row, path);
        }
    }

    /// Replays the database's tree on disk: renames and moves, removals, new entries.
    pub(super) async fn sync_from_tree(&mut self) {
        let Ok(tree) = snapshot(&self.files.tree.db, self.project).await else {
            return;
        };
        let live: HashMap<FileId, String> =
            tree.live().map(|(r, path)| (FileId(r.id), path)).collect();
        // Renames and moves, shallowest first; a moved folder carries its contents along.
        let mut moved: Vec<(FileId, String, String)> = live
            .iter()
            .filter_map(|(id, new)| {
                let old = self.mirror.paths.get(id)?;
                (old != new).then(|| (*id, old.clone(), new.clone()))
            })
            .collect();
        moved.sort_by_key(|(_, old, _)| old.matches('/').count());
        for (id, _, new) in moved {
            let Some(old) = self.mirror.paths.get(&id).cloned() else {
                continue;
            };
            if old == new {
                continue; // moved along with its folder
            }
            if let Err(e) = self.root.rename(&old, &new) {
                tracing::warn!(from = old, to = new, error = %e, "could not rename on disk");
                continue;
            }
            // Everything under a moved folder now lives under its new path.
            self.mirror.moved(&old, &new);
        }
        // Removed (trashed or purged): off the disk.
        let mut gone: Vec<(FileId, String)> = self
            .mirror
            .paths
            .iter()
            .filter(|(id, _)| !live.contains_key(id))
            .map(|(id, p)| (*id, p.clone()))
            .collect();
        gone.sort_by(|a, b| a.1.cmp(&b.1));
        for (id, path) in gone {
            if let Err(e) = self.root.remove(&path) {
                tracing::warn!(path, error = %e, "could not remove from disk");
            }
            self.mirror.forget(id);
            self.mirror.seen.remove(&path);
        }
        // New in the tree (created, restored, duplicated): onto the disk.
        let mut added: Vec<(&String, FileId)> = live
            .iter()
            .filter(|(id, _)| !self.mirror.paths.contains_key(id))
            .map(|(id, p)| (p, *id))
            .collect();
        added.sort();
        for (path, id) in added {
            let Some(row) = tree.rows.get(&id) else {
                continue;
            };
            let result = if row.kind == FileKind::Folder.as_str() {
                self.root.mkdir(path)
            } else {
                match self.files.content(self.project, id).await {
                    Ok((_, bytes)) => {
                        self.mirror.seen.insert(path.clone(), hash(&bytes));
                        self.root.write(path, &bytes)
                    }
                    Err(e) => {
                        tracing::warn!(path, error = %e, "cannot read a new file to write it");
                        continue;
                    }
                }
            };
            match result {
                Ok(()) => self.track(id, row.document_id.map(DocId), path.clone()),
                Err(e) => tracing::warn!(path, error = %e, "could not write to disk"),
            }
        }
    }

    /// Writes the documents edited since the last flush.
    pub(super) async fn flush(&mut self) {
        let docs: Vec<DocId> = crate::lock::lock(&self.disks.inner.dirty)
            .get_mut(&self.project)
            .map(|(set, _)| set.drain().collect())
            .unwrap_or_default();
        if docs.is_empty() {
            return;
        }
        let by_doc: HashMap<DocId, FileId> = match crate::db::entities::file::Entity::find()
            .filter(crate::db::entities::file::Column::DocumentId.is_in(docs.iter().map(|d| d.0)))
            .all(&self.files.tree.db)
            .await
        {
            Ok(rows) => rows
                .into_iter()
                .filter_map(|r| Some((DocId(r.document_id?), FileId(r.id))))
                .collect(),
            Err(_) => return,
        };
        for doc in docs {
            let Some(path) = by_doc
                .get(&doc)
                .and_then(|id| self.mirror.paths.get(id))
                .cloned()
            else {
                continue;
            };
            let Ok(state) = self.files.tree.editor.state(doc).await else {
                continue;
            };
            let Ok(Ok(text)) = tokio::task::spawn_blocking(move || text_of(&state)).await else {
                continue;
            };
            let h = hash(text.as_bytes());
            if self.mirror.seen.get(&path) == Some(&h) {
                continue;
            }
            let root = self.root.clone();
            let p = path.clone();
            match tokio::task::spawn_blocking(move || root.write(&p, text.as_bytes())).await {
                Ok(Ok(())) => {
                    self.mirror.seen.insert(path, h);
                }
                Ok(Err(e)) => tracing::warn!(path, error = %e, "could not write a file"),
                Err(e) => tracing::warn!(path, error = %e, "disk writer failed"),
            }
        }
    }
}
