//! Disk-backed projects: a project mirrors a directory on the server. One task per bound
//! directory owns its disk state and handles, in order:
//! - changes on disk (a `notify` watcher, debounced): each changed path's subtree is compared
//!   with what the mirror last saw there, and differences become tree operations or, for an
//!   edited text file, the minimal edit to its document (`text::diff_update`), so concurrent
//!   browser edits and cursors elsewhere in the file survive;
//! - edited documents (the engine's change hook), written back after a short debounce with an
//!   atomic write (temporary file, fsync, rename);
//! - tree operations made in the browser (renames, moves, deletes, creates), replayed on disk.
//!
//! All disk access goes through a `cap_std::fs::Dir` opened on the root, which refuses
//! absolute paths, `..` out of the root and symlinks that lead outside it; on top of that,
//! symlinks are never followed: they are reported and skipped. What the mirror wrote is
//! remembered by content hash, so the watcher's echo of our own write never reverts a newer
//! edit.

use std::{
    collections::{HashMap, HashSet, hash_map::DefaultHasher},
    hash::{Hash, Hasher},
    io::{self, Write},
    path::{Component, Path, PathBuf},
    sync::{Arc, Mutex},
    time::Duration,
};

use app::{
    AppError, AppResult,
    files::{FileKind, names},
    types::{ProjectId, UserId},
};
use cap_std::fs::{Dir, OpenOptions};
use collab::DocId;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use tokio::sync::{Notify, mpsc};

use super::{
    Files,
    archive::{Unpacked, as_text},
    text::{diff_update, text_of},
    tree::snapshot,
};
use crate::{
    db::entities::{file_blob, project, user},
    error::Internal,
};

/// Files larger than this are not imported from disk at all (reported and skipped).
const MAX_DISK_FILE: u64 = 64 << 20;
/// How long the watcher waits for a burst of events (a git checkout) to settle.
const SETTLE: Duration = Duration::from_millis(100);
/// Longest the watcher waits before handling a burst that keeps going.
const SETTLE_MAX: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    #[error("“{0}” is not a relative path inside the project")]
    Outside(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Checks a path relative to the root before it reaches the file system: no absolute paths,
/// no `..`, no empty or `.` parts, no NUL. (cap-std enforces the same and also refuses
/// symlinks out of the root; this makes the refusal explicit and testable.)
pub fn relative(raw: &str) -> Result<PathBuf, DiskError> {
    let outside = || DiskError::Outside(raw.to_owned());
    if raw.is_empty() || raw.contains('\0') || raw.contains('\\') {
        return Err(outside());
    }
    let path = Path::new(raw);
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(part) => out.push(part),
            _ => return Err(outside()),
        }
    }
    if out.as_os_str().is_empty() {
        return Err(outside());
    }
    Ok(out)
}

/// The directory of one project, capability-style.
pub struct Root {
    pub path: PathBuf,
    dir: Dir,
}

impl Root {
    pub fn open(path: &Path) -> io::Result<Self> {
        let path = path.canonicalize()?;
        let dir = Dir::open_ambient_dir(&path, cap_std::ambient_authority())?;
        Ok(Self { path, dir })
    }

    /// Reads a regular file; symlinks (even inside the root) are refused.
    pub fn read(&self, rel: &str) -> Result<Vec<u8>, DiskError> {
        let rel = relative(rel)?;
        let meta = self.dir.symlink_metadata(&rel)?;
        if meta.is_symlink() {
            return Err(DiskError::Outside(rel.display().to_string()));
        }
        if meta.len() > MAX_DISK_FILE {
            return Err(DiskError::Io(io::Error::other("file too large")));
        }
        Ok(self.dir.read(&rel)?)
    }

    /// Replaces a file's content atomically: a temporary file next to it, written and synced,
    /// then renamed over it, so a reader (or a crash) sees the old or the new file, never half.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), DiskError> {
        let rel = relative(rel)?;
        let name = rel
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| DiskError::Outside(rel.display().to_string()))?;
        let parent = rel.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(p) = parent {
            self.dir.create_dir_all(p)?;
        }
        if self
            .dir
            .symlink_metadata(&rel)
            .is_ok_and(|m| m.is_symlink())
        {
            return Err(DiskError::Outside(rel.display().to_string()));
        }
        let tmp_name = format!(".{name}.tandem-{:016x}.tmp", rand::random::<u64>());
        let tmp = parent.map_or_else(|| PathBuf::from(&tmp_name), |p| p.join(&tmp_name));
        let result = (|| -> io::Result<()> {
            let mut f = self
                .dir
                .open_with(&tmp, OpenOptions::new().write(true).create_new(true))?;
            f.write_all(bytes)?;
            f.sync_all()?;
            drop(f);
            // Keep the file's mode (an executable script stays executable).
            if let Ok(meta) = self.dir.metadata(&rel) {
                self.dir.set_permissions(&tmp, meta.permissions())?;
            }
            self.dir.rename(&tmp, &self.dir, &rel)?;
            // The rename itself is durable once the directory is synced.
            let d = match parent {
                Some(p) => self.dir.open_dir(p)?,
                None => self.dir.try_clone()?,
            };
            d.open(".").and_then(|f| f.sync_all()).or(Ok(()))
        })();
        if result.is_err() {
            let _ = self.dir.remove_file(&tmp);
        }
        Ok(result?)
    }

    fn mkdir(&self, rel: &str) -> Result<(), DiskError> {
        Ok(self.dir.create_dir_all(relative(rel)?)?)
    }

    fn rename(&self, from: &str, to: &str) -> Result<(), DiskError> {
        let (from, to) = (relative(from)?, relative(to)?);
        if let Some(p) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
            self.dir.create_dir_all(p)?;
        }
        Ok(self.dir.rename(from, &self.dir, to)?)
    }

    fn remove(&self, rel: &str) -> Result<(), DiskError> {
        let rel = relative(rel)?;
        let result = match self.dir.symlink_metadata(&rel) {
            Ok(m) if m.is_dir() => self.dir.remove_dir_all(&rel),
            Ok(_) => self.dir.remove_file(&rel),
            Err(e) => Err(e),
        };
        match result {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

/// What a scan found on disk.
#[derive(Debug, Default)]
pub struct Scan {
    /// Relative path (with `/`) → `None` for a folder, the bytes for a file.
    pub entries: HashMap<String, Option<Vec<u8>>>,
    /// Paths skipped, with why (symlinks, names the tree refuses, unreadable files).
    pub skipped: Vec<(String, String)>,
}

/// Walks `under` (relative; `""` for the whole root), honouring `.gitignore` files and the
/// ignore list, never following symlinks.
pub fn scan(root: &Root, under: &str, ignore: &[String]) -> Scan {
    let mut out = Scan::default();
    let start = if under.is_empty() {
        root.path.clone()
    } else {
        root.path.join(under)
    };
    let names: HashSet<String> = ignore.iter().cloned().chain([".git".to_owned()]).collect();
    let walker = ignore::WalkBuilder::new(&start)
        .hidden(false)
        .git_ignore(true)
        .git_exclude(false)
        .git_global(false)
        .require_git(false)
        .parents(true)
        .follow_links(false)
        .filter_entry(move |e| {
            let n = e.file_name().to_string_lossy();
            !names.contains(n.as_ref()) && !is_temp(&n)
        })
        .build();
    for entry in walker.flatten() {
        let Ok(rel) = entry.path().strip_prefix(&root.path) else {
            continue;
        };
        let Some(rel) = rel.to_str().map(str::to_owned) else {
            out.skipped
                .push((entry.path().display().to_string(), "not UTF-8".into()));
            continue;
        };
        if rel.is_empty() {
            continue;
        }
        if let Some(bad) = rel
            .split('/')
            .find_map(|part| names::check_name(part).err())
        {
            out.skipped.push((rel, bad));
            continue;
        }
        let Some(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_symlink() {
            let why = match root.dir.metadata(&rel) {
                Ok(_) => "symbolic link (not followed)",
                Err(_) => "symbolic link leading outside the project (unsafe, not followed)",
            };
            tracing::warn!(path = %rel, "{why}");
            out.skipped.push((rel, why.into()));
        } else if kind.is_dir() {
            out.entries.insert(rel, None);
        } else if kind.is_file() {
            match root.read(&rel) {
                Ok(bytes) => {
                    out.entries.insert(rel, Some(bytes));
                }
                Err(e) => out.skipped.push((rel, e.to_string())),
            }
        }
    }
    out
}

fn is_temp(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tandem-") && name.ends_with(".tmp")
}

fn hash(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// The mirror's view of the disk: what it last saw or wrote, by tree entry.
#[derive(Default)]
struct Mirror {
    /// Entry → path on disk (`a/b.rs`).
    paths: HashMap<i64, String>,
    ids: HashMap<String, i64>,
    /// Path → hash of the content last read from or written to it.
    seen: HashMap<String, u64>,
}

impl Mirror {
    fn set(&mut self, id: i64, path: String) {
        if let Some(old) = self.paths.insert(id, path.clone()) {
            self.ids.remove(&old);
        }
        self.ids.insert(path, id);
    }

    fn forget(&mut self, id: i64) {
        if let Some(p) = self.paths.remove(&id) {
            self.ids.remove(&p);
        }
    }

    /// `from` (and everything below it) is now at `to` on disk.
    fn moved(&mut self, from: &str, to: &str) {
        for (path, id) in self.under(from) {
            let moved = format!("{to}{}", &path[from.len()..]);
            if let Some(h) = self.seen.remove(&path) {
                self.seen.insert(moved.clone(), h);
            }
            self.set(id, moved);
        }
    }

    /// Entries at `prefix` or below it.
    fn under(&self, prefix: &str) -> Vec<(String, i64)> {
        self.ids
            .iter()
            .filter(|(p, _)| {
                prefix.is_empty() || *p == prefix || p.starts_with(&format!("{prefix}/"))
            })
            .map(|(p, i)| (p.clone(), *i))
            .collect()
    }
}

/// Messages to a bound directory's task.
enum Work {
    /// Paths changed on disk.
    Disk(Vec<PathBuf>),
    /// A file or folder was renamed or moved on disk (both ends inside the root).
    Renamed(PathBuf, PathBuf),
    /// The tree changed in the database.
    Tree,
}

/// Documents edited since the last write, and the bell that wakes the writer.
type Dirty = (HashSet<i64>, Arc<Notify>);

/// The bound directories of this server.
#[derive(Clone, Default)]
pub struct Disks {
    inner: Arc<DisksInner>,
}

#[derive(Default)]
struct DisksInner {
    projects: Mutex<HashMap<ProjectId, mpsc::Sender<Work>>>,
    /// Document → project, for the engine's change hook.
    docs: Mutex<HashMap<i64, ProjectId>>,
    /// Edited documents per project, written after the debounce.
    dirty: Mutex<HashMap<ProjectId, Dirty>>,
}

impl Disks {
    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_bound(&self, project: ProjectId) -> bool {
        Self::lock(&self.inner.projects).contains_key(&project)
    }

    /// Called by the tree after every change it commits.
    pub fn tree_changed(&self, project: ProjectId) {
        if let Some(tx) = Self::lock(&self.inner.projects).get(&project) {
            // A full queue already holds work that will re-read the whole tree.
            let _ = tx.try_send(Work::Tree);
        }
    }

    /// The engine's change hook: cheap, never blocks.
    pub fn doc_changed(&self, doc: DocId) {
        let Some(project) = Self::lock(&self.inner.docs).get(&(doc.0 as i64)).copied() else {
            return;
        };
        if let Some((set, wake)) = Self::lock(&self.inner.dirty).get_mut(&project) {
            set.insert(doc.0 as i64);
            wake.notify_one();
        }
    }

    /// Binds `dir` to a project (found by its directory, or created for `owner`), imports
    /// what is on disk and starts mirroring. Returns the project.
    pub async fn bind(
        &self,
        files: &Files,
        dir: &Path,
        owner: UserId,
        ignore: Vec<String>,
        flush_delay: Duration,
    ) -> AppResult<ProjectId> {
        let root = tokio::task::spawn_blocking({
            let dir = dir.to_owned();
            move || Root::open(&dir)
        })
        .await
        .internal()?
        .map_err(|e| AppError::invalid("dir", format!("{}: {e}", dir.display())))?;
        let root = Arc::new(root);
        let key = root.path.to_string_lossy().into_owned();
        let db = &files.tree.db;
        let existing = project::Entity::find()
            .filter(project::Column::DiskRoot.eq(key.as_str()))
            .one(db)
            .await
            .internal()?;
        let project = match existing {
            // Already mirrored by this server: nothing more to do.
            Some(p) if self.is_bound(ProjectId(p.id)) => return Ok(ProjectId(p.id)),
            Some(p) => ProjectId(p.id),
            None => {
                let name = root
                    .path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("project")
                    .chars()
                    .take(64)
                    .collect::<String>();
                let created = files.projects.create(owner, &name).await?;
                project::ActiveModel {
                    id: Set(created.id.0),
                    disk_root: Set(Some(key.clone())),
                    ..Default::default()
                }
                .update(db)
                .await
                .internal()?;
                created.id
            }
        };
        let (tx, rx) = mpsc::channel(64);
        let wake = Arc::new(Notify::new());
        Self::lock(&self.inner.dirty).insert(project, (HashSet::new(), wake.clone()));
        let mut task = Bound {
            project,
            owner,
            root,
            ignore,
            files: files.clone(),
            disks: self.clone(),
            mirror: Mirror::default(),
        };
        // Disk wins at start: whatever changed while the server was down is taken in.
        task.reconcile("").await;
        task.sync_from_tree().await;
        let watcher = task.watch(tx.clone())?;
        Self::lock(&self.inner.projects).insert(project, tx);
        tokio::spawn(task.run(rx, wake, watcher, flush_delay));
        tracing::info!(project = project.0, dir = %key, "mirroring directory");
        Ok(project)
    }
}

struct Bound {
    project: ProjectId,
    owner: UserId,
    root: Arc<Root>,
    ignore: Vec<String>,
    files: Files,
    disks: Disks,
    mirror: Mirror,
}

impl Bound {
    fn watch(&self, tx: mpsc::Sender<Work>) -> AppResult<notify::RecommendedWatcher> {
        use notify::Watcher;
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            if let Ok(event) = res {
                use notify::event::{EventKind, ModifyKind, RenameMode};
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

    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Work>,
        wake: Arc<Notify>,
        _watcher: notify::RecommendedWatcher,
        flush_delay: Duration,
    ) {
        loop {
            tokio::select! {
                work = rx.recv() => {
                    let Some(work) = work else { break };
                    let mut paths = Vec::new();
                    let mut renames = Vec::new();
                    let mut tree = false;
                    let mut add = |w: Work| match w {
                        Work::Disk(p) => paths.extend(p),
                        Work::Renamed(from, to) => renames.push((from, to)),
                        Work::Tree => tree = true,
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
                    if tree {
                        self.sync_from_tree().await;
                    }
                    if !paths.is_empty() {
                        self.disk_changed(paths).await;
                    }
                }
                () = wake.notified() => {
                    tokio::time::sleep(flush_delay).await;
                    self.flush().await;
                }
            }
        }
    }

    fn rel(&self, abs: &Path) -> Option<String> {
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
    async fn renamed(&mut self, from: &Path, to: &Path) {
        let (Some(from), Some(to)) = (self.rel(from), self.rel(to)) else {
            return;
        };
        let Some(&id) = self.mirror.ids.get(&from) else {
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
        let Ok(row) = tree.row(self.project, id).await else {
            return;
        };
        if row.parent_id != parent && tree.move_to(self.project, id, parent).await.is_err() {
            return;
        }
        if row.name != name && tree.rename(self.project, id, &name).await.is_err() {
            return;
        }
        // The disk already has it there: move the mirror (and everything below) along, so
        // replaying the tree finds nothing to do.
        self.mirror.moved(&from, &to);
    }

    async fn disk_changed(&mut self, paths: Vec<PathBuf>) {
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
    async fn reconcile(&mut self, prefix: &str) {
        let (root, prefix_owned, ignore) =
            (self.root.clone(), prefix.to_owned(), self.ignore.clone());
        let found = tokio::task::spawn_blocking(move || {
            if prefix_owned.is_empty() {
                return scan(&root, "", &ignore);
            }
            // A single changed file needs no walk.
            match root.dir.symlink_metadata(&prefix_owned) {
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
        if prefix.is_empty() {
            // First sight of the tree: learn what the database already has at each path.
            self.learn_tree().await;
        }
        // Gone from disk: to the trash (restorable; the content is still in the database).
        let mut gone: Vec<(String, i64)> = self
            .mirror
            .under(prefix)
            .into_iter()
            .filter(|(p, _)| !found.entries.contains_key(p))
            .collect();
        gone.sort();
        let mut trashed: Vec<String> = Vec::new();
        for (path, id) in gone {
            if !trashed.iter().any(|t| path.starts_with(&format!("{t}/"))) {
                if let Err(e) = self.files.tree.trash(self.project, id).await {
                    tracing::debug!(path, error = %e, "could not trash an entry removed on disk");
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
                    bytes: bytes.clone().unwrap_or_default(),
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
                        self.track(row.id, row.document_id, path);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not import new files from disk"),
            }
        }
    }

    fn track(&mut self, id: i64, doc: Option<i64>, path: String) {
        if let Some(doc) = doc {
            Disks::lock(&self.disks.inner.docs).insert(doc, self.project);
        }
        self.mirror.set(id, path);
    }

    /// A file changed on disk: its document gets the minimal edit (or its blob the bytes).
    async fn update(&mut self, id: i64, path: &str, bytes: &[u8]) {
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
                let Ok(state) = engine.state(DocId(doc as u64)).await else {
                    return;
                };
                let target = text.to_owned();
                let update =
                    tokio::task::spawn_blocking(move || diff_update(&state, &target)).await;
                if let Ok(Ok(Some(update))) = update
                    && let Err(e) = engine.write(DocId(doc as u64), update).await
                {
                    tracing::warn!(path, error = %e, "could not apply a change from disk");
                }
            }
            (None, None) if row.kind == FileKind::Blob.as_str() => {
                let _ = file_blob::Entity::insert(file_blob::ActiveModel {
                    file_id: Set(id),
                    data: Set(bytes.to_vec()),
                })
                .on_conflict(
                    sea_orm::sea_query::OnConflict::column(file_blob::Column::FileId)
                        .update_column(file_blob::Column::Data)
                        .to_owned(),
                )
                .exec(&self.files.tree.db)
                .await;
                let _ = crate::db::entities::file::ActiveModel {
                    id: Set(id),
                    size: Set(Some(bytes.len() as i64)),
                    ..Default::default()
                }
                .update(&self.files.tree.db)
                .await;
            }
            // It became binary, or text: replace the entry.
            _ => {
                let _ = self.files.tree.trash(self.project, id).await;
                self.mirror.forget(id);
                let unpacked = Unpacked {
                    path: path.split('/').map(str::to_owned).collect(),
                    bytes: bytes.to_vec(),
                    is_dir: false,
                };
                if let Ok(rows) = self
                    .files
                    .create_all(self.project, self.owner, vec![unpacked])
                    .await
                {
                    for (p, row) in rows {
                        self.track(row.id, row.document_id, p);
                    }
                }
            }
        }
    }

    /// Learns the database's live entries and their paths (at start).
    async fn learn_tree(&mut self) {
        let Ok(tree) = snapshot(&self.files.tree.db, self.project).await else {
            return;
        };
        for (row, path) in tree.live() {
            self.track(row.id, row.document_id, path);
        }
    }

    /// Replays the database's tree on disk: renames and moves, removals, new entries.
    async fn sync_from_tree(&mut self) {
        let Ok(tree) = snapshot(&self.files.tree.db, self.project).await else {
            return;
        };
        let live: HashMap<i64, String> = tree.live().map(|(r, path)| (r.id, path)).collect();
        // Renames and moves, shallowest first; a moved folder carries its contents along.
        let mut moved: Vec<(i64, String, String)> = live
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
        let mut gone: Vec<(i64, String)> = self
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
        let mut added: Vec<(&String, i64)> = live
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
                Ok(()) => self.track(id, row.document_id, path.clone()),
                Err(e) => tracing::warn!(path, error = %e, "could not write to disk"),
            }
        }
    }

    /// Writes the documents edited since the last flush.
    async fn flush(&mut self) {
        let docs: Vec<i64> = Disks::lock(&self.disks.inner.dirty)
            .get_mut(&self.project)
            .map(|(set, _)| set.drain().collect())
            .unwrap_or_default();
        if docs.is_empty() {
            return;
        }
        let by_doc: HashMap<i64, i64> = match crate::db::entities::file::Entity::find()
            .filter(crate::db::entities::file::Column::DocumentId.is_in(docs.clone()))
            .all(&self.files.tree.db)
            .await
        {
            Ok(rows) => rows
                .into_iter()
                .filter_map(|r| Some((r.document_id?, r.id)))
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
            let Ok(state) = self.files.tree.editor.engine.state(DocId(doc as u64)).await else {
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

/// Binds the `--dir` directories at start-up.
pub async fn bind_configured(
    disks: &Disks,
    files: &Files,
    args: &super::Args,
) -> crate::error::Result<()> {
    if args.dirs.is_empty() {
        return Ok(());
    }
    let db = &files.tree.db;
    let owner = match &args.dir_owner {
        Some(name) => {
            user::Entity::find()
                .filter(user::Column::Name.eq(name.as_str()))
                .one(db)
                .await?
        }
        None => {
            user::Entity::find()
                .order_by_asc(user::Column::Id)
                .one(db)
                .await?
        }
    };
    let Some(owner) = owner else {
        return Err(crate::error::ServerError::Usage(
            "--dir needs an account to own the project: sign up first (or `tandem user add NAME`), \
             then start again (with --dir-owner NAME to pick the owner)"
                .into(),
        ));
    };
    for dir in &args.dirs {
        disks
            .bind(
                files,
                dir,
                UserId(owner.id),
                args.dir_ignore.clone(),
                Duration::from_millis(args.dir_flush_ms),
            )
            .await
            .map_err(|e| {
                crate::error::ServerError::Usage(format!("--dir {}: {e}", dir.display()))
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_only() {
        for ok in ["a.txt", "src/main.rs", "a/b/c"] {
            assert!(relative(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a/..",
            "..",
            "a\\..\\b",
            "a\0b",
            "/",
        ] {
            assert!(relative(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
