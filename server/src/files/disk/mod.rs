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
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use app::{
    AppError, AppResult,
    types::{DocId, ProjectId, UserId},
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use tokio::sync::{Notify, mpsc};

mod mirror;
mod root;
mod scan;

use mirror::Mirror;
pub use root::{DiskError, Root, relative};
pub use scan::{Scan, scan};

use super::Files;
use crate::db::entities::{project, user};

/// Files larger than this are not imported from disk at all (reported and skipped).
pub(super) const MAX_DISK_FILE: u64 = 64 << 20;
/// How long the watcher waits for a burst of events (a git checkout) to settle.
pub(super) const SETTLE: Duration = Duration::from_millis(100);
/// Longest the watcher waits before handling a burst that keeps going.
pub(super) const SETTLE_MAX: Duration = Duration::from_secs(1);

/// Messages to a bound directory's task.
pub(super) enum Work {
    /// Paths changed on disk.
    Disk(Vec<PathBuf>),
    /// A file or folder was renamed or moved on disk (both ends inside the root).
    Renamed(PathBuf, PathBuf),
    /// The tree changed in the database.
    Tree,
    /// Write edited documents now and answer when they are on disk (before a run starts).
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// Documents edited since the last write, and the bell that wakes the writer.
type Dirty = (HashSet<DocId>, Arc<Notify>);

/// The bound directories of this server.
#[derive(Clone, Default)]
pub struct Disks {
    inner: Arc<DisksInner>,
}

/// A bound project's task: its work queue, and a flag for tree changes. The flag carries a
/// tree change the full queue could not take: a queue full of disk events would not re-read
/// the tree, and the change would reach the disk only with the next one.
struct Queue {
    tx: mpsc::Sender<Work>,
    tree: Arc<AtomicBool>,
}

#[derive(Default)]
struct DisksInner {
    projects: Mutex<HashMap<ProjectId, Queue>>,
    /// Document → project, for the engine's change hook.
    docs: Mutex<HashMap<DocId, ProjectId>>,
    /// Edited documents per project, written after the debounce.
    dirty: Mutex<HashMap<ProjectId, Dirty>>,
    /// The `--dir-ignore` names of each bound project (besides `.git`, always kept out).
    ignore: Mutex<HashMap<ProjectId, Vec<String>>>,
    /// Each bound project's folder, for the `.gitignore` check of new paths.
    roots: Mutex<HashMap<ProjectId, Arc<Root>>>,
}

impl Disks {
    pub fn is_bound(&self, project: ProjectId) -> bool {
        crate::lock::lock(&self.inner.projects).contains_key(&project)
    }

    /// Refuses a file or folder name the disk of a bound project must never receive: `.git`
    /// (a `config` there runs commands for whoever next runs git), the ignore list, and the
    /// mirror's own temporary names. The tree asks before it creates or renames anything, so
    /// nothing it holds maps onto such a path.
    pub fn check_name(&self, project: ProjectId, name: &str) -> AppResult<()> {
        let ignore = crate::lock::lock(&self.inner.ignore);
        let Some(ignore) = ignore.get(&project) else {
            return Ok(());
        };
        if root::is_protected(name) || scan::is_temp(name) || ignore.iter().any(|i| i == name) {
            return Err(AppError::invalid(
                "name",
                format!(
                    "“{name}” is kept out of this project's folder on disk (.git and the ignore list); choose another name."
                ),
            ));
        }
        Ok(())
    }

    /// Refuses a path (relative, `/`-separated) of a bound project that its `.gitignore` or
    /// `.ignore` files keep out: the mirror never reads such paths, so the tree must not write
    /// them either (a team's ignored `build/` or `.env` stays the machine's own).
    pub async fn check_path(
        &self,
        project: ProjectId,
        path: String,
        is_dir: bool,
    ) -> AppResult<()> {
        let Some(root) = crate::lock::lock(&self.inner.roots).get(&project).cloned() else {
            return Ok(());
        };
        let shown = path.clone();
        if crate::error::blocking(move || scan::ignored(&root, &path, is_dir)).await? {
            return Err(AppError::invalid(
                "name",
                format!(
                    "“{shown}” is ignored by this project's .gitignore, so it would never reach \
                     the folder on disk; choose another name or place."
                ),
            ));
        }
        Ok(())
    }

    /// Called by the tree after every change it commits.
    pub fn tree_changed(&self, project: ProjectId) {
        if let Some(q) = crate::lock::lock(&self.inner.projects).get(&project) {
            q.tree.store(true, Ordering::Release);
            // Full: the task reads the flag after the batch it is handling.
            let _ = q.tx.try_send(Work::Tree);
        }
    }

    /// The engine's change hook: cheap, never blocks.
    pub fn doc_changed(&self, doc: collab::DocId) {
        let Ok(doc) = DocId::try_from(doc) else {
            return;
        };
        let Some(project) = crate::lock::lock(&self.inner.docs).get(&doc).copied() else {
            return;
        };
        if let Some((set, wake)) = crate::lock::lock(&self.inner.dirty).get_mut(&project) {
            set.insert(doc);
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
        let root = crate::error::blocking({
            let dir = dir.to_owned();
            move || Root::open(&dir)
        })
        .await?
        .map_err(|e| AppError::invalid("dir", format!("{}: {e}", dir.display())))?;
        let root = Arc::new(root);
        let key = root.path.to_string_lossy().into_owned();
        let db = &files.tree.db;
        let existing = project::Entity::find()
            .filter(project::Column::DiskRoot.eq(key.as_str()))
            .one(db)
            .await?;
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
                .await?;
                created.id
            }
        };
        let task = Bound {
            project,
            owner,
            root,
            ignore,
            files: files.clone(),
            disks: self.clone(),
            mirror: Mirror::default(),
        };
        // Disk wins at start: whatever changed while the server was down is taken in.
        self.start(task, true, flush_delay).await?;
        tracing::info!(project = project.0, dir = %key, "mirroring directory");
        Ok(project)
    }

    /// Gives a project that lives in the database a working folder `dir` for runs and
    /// terminals, kept in step with the tree by the same mirror as a disk-backed project's.
    /// The tree wins: what the folder holds from an earlier run is replaced by the tree,
    /// except the `keep` names (build caches such as `target`, `node_modules`), which also
    /// stay out of the tree. Returns the folder. A project already bound keeps its folder.
    pub async fn bind_work(
        &self,
        files: &Files,
        project: ProjectId,
        owner: UserId,
        dir: &Path,
        keep: Vec<String>,
        flush_delay: Duration,
    ) -> AppResult<PathBuf> {
        if let Some(root) = self.root(project) {
            return Ok(root);
        }
        let root = crate::error::blocking({
            let dir = dir.to_owned();
            let keep = keep.clone();
            move || -> std::io::Result<Root> {
                std::fs::create_dir_all(&dir)?;
                // Start from the tree: remove what an earlier server left, but the caches.
                for entry in std::fs::read_dir(&dir)? {
                    let entry = entry?;
                    let name = entry.file_name();
                    let name = name.to_string_lossy();
                    if name == ".git" || keep.iter().any(|k| *k == name) {
                        continue;
                    }
                    if entry.file_type()?.is_dir() {
                        std::fs::remove_dir_all(entry.path())?;
                    } else {
                        std::fs::remove_file(entry.path())?;
                    }
                }
                Root::open(&dir)
            }
        })
        .await?
        .map_err(|e| {
            tracing::error!(dir = %dir.display(), error = %e, "cannot prepare a working folder");
            AppError::Internal
        })?;
        let path = root.path.clone();
        let task = Bound {
            project,
            owner,
            root: Arc::new(root),
            ignore: keep,
            files: files.clone(),
            disks: self.clone(),
            mirror: Mirror::default(),
        };
        self.start(task, false, flush_delay).await?;
        tracing::info!(project = project.0, dir = %path.display(), "working folder ready");
        Ok(path)
    }

    /// Brings a bound folder in step (disk first, or the tree first), then starts its task.
    async fn start(
        &self,
        mut task: Bound,
        disk_wins: bool,
        flush_delay: Duration,
    ) -> AppResult<()> {
        let project = task.project;
        let (tx, rx) = mpsc::channel(64);
        let wake = Arc::new(Notify::new());
        crate::lock::lock(&self.inner.dirty).insert(project, (HashSet::new(), wake.clone()));
        if disk_wins {
            // First sight of the tree: what the database already has at each path.
            task.learn_tree().await;
            task.reconcile("").await;
        }
        task.sync_from_tree().await;
        let watcher = task.watch(tx.clone())?;
        crate::lock::lock(&self.inner.ignore).insert(project, task.ignore.clone());
        crate::lock::lock(&self.inner.roots).insert(project, task.root.clone());
        let tree = Arc::new(AtomicBool::new(false));
        crate::lock::lock(&self.inner.projects).insert(
            project,
            Queue {
                tx,
                tree: tree.clone(),
            },
        );
        tokio::spawn(task.run(rx, wake, tree, watcher, flush_delay));
        Ok(())
    }

    /// The folder of a bound project.
    pub fn root(&self, project: ProjectId) -> Option<PathBuf> {
        crate::lock::lock(&self.inner.roots)
            .get(&project)
            .map(|r| r.path.clone())
    }

    /// Writes the project's edited documents to its folder now and returns once they are
    /// there (nothing to do for a project without one).
    pub async fn flush(&self, project: ProjectId) {
        let tx = crate::lock::lock(&self.inner.projects)
            .get(&project)
            .map(|q| q.tx.clone());
        if let Some(tx) = tx {
            let (done, wait) = tokio::sync::oneshot::channel();
            if tx.send(Work::Flush(done)).await.is_ok() {
                let _ = wait.await;
            }
        }
    }

    /// Stops mirroring a project (deleted): its task ends with its queue.
    pub fn unbind(&self, project: ProjectId) {
        crate::lock::lock(&self.inner.projects).remove(&project);
        crate::lock::lock(&self.inner.dirty).remove(&project);
        crate::lock::lock(&self.inner.ignore).remove(&project);
        crate::lock::lock(&self.inner.roots).remove(&project);
    }
}

pub(super) struct Bound {
    project: ProjectId,
    owner: UserId,
    root: Arc<Root>,
    ignore: Vec<String>,
    files: Files,
    disks: Disks,
    mirror: Mirror,
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
    let Some(name) = &args.dir_owner else {
        return Err(crate::error::ServerError::Usage(
            "--dir needs --dir-owner NAME (or TANDEM_DIR_OWNER): the account that owns the \
             folders' projects"
                .into(),
        ));
    };
    let owner = user::Entity::find()
        .filter(user::Column::NameKey.eq(name.to_lowercase()))
        .one(db)
        .await?;
    let Some(owner) = owner else {
        return Err(crate::error::ServerError::Usage(format!(
            "--dir-owner {name}: no such account; create it with `tandem user add {name}`, \
             then start again"
        )));
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
