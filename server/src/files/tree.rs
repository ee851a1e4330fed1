//! The tree service: validated operations on a project's folders and files, each serialised
//! per project (so two renames cannot both take one name) and announced to every tab of the
//! project. Content never moves: a rename or move changes one row, and a file's text stays in
//! its document.

mod snapshot;

pub(crate) use snapshot::{Snapshot, entry, snapshot};

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
};

use app::{
    AppError, AppResult,
    files::{
        FileEntry, FileKind,
        names::{MAX_DEPTH, clash_key, copy_name, free_name, validate_name},
    },
    live::events::ServerEvent,
    types::{DocId, FileId, ProjectId, UserId},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};

use crate::{
    db::{
        entities::{document, file, file_blob, purged_file},
        now,
    },
    editor::Editor,
    live::Hub,
};

/// SQLite allows a limited number of bound variables per statement.
const CHUNK: usize = 300;

impl NewEntry<'_> {
    pub(crate) fn folder(parent: Option<FileId>, name: &str) -> NewEntry<'_> {
        NewEntry {
            parent,
            name,
            kind: FileKind::Folder,
            doc: None,
            size: None,
        }
    }
}

/// A row to insert.
pub(crate) struct NewEntry<'a> {
    pub parent: Option<FileId>,
    pub name: &'a str,
    pub kind: FileKind,
    pub doc: Option<DocId>,
    pub size: Option<i64>,
}

#[derive(Clone)]
pub struct Tree {
    pub(crate) db: DatabaseConnection,
    pub(crate) editor: Editor,
    pub(crate) hub: Hub,
    /// Directories mirroring projects; told about every change.
    pub(crate) disks: super::disk::Disks,
    locks: Arc<Mutex<HashMap<ProjectId, Arc<tokio::sync::Mutex<()>>>>>,
    /// With several nodes, a project's tree changes also hold its lease in the database.
    leases: Option<crate::lease::Leases>,
    /// What one project may hold; set from the flags by `Files::new`.
    pub(crate) quota: super::quota::Quota,
    /// How long text files of an emptied trash are kept (0: not at all).
    pub(crate) trash_retention_secs: i64,
}

/// A project's tree held for one change; let go when dropped.
pub(crate) struct TreeLock {
    // Dropped first: the lease goes back before this node's next change may start.
    _lease: Option<crate::lease::Lease>,
    _local: tokio::sync::OwnedMutexGuard<()>,
}

impl Tree {
    pub fn new(db: DatabaseConnection, editor: Editor, hub: Hub) -> Self {
        Self {
            db,
            editor,
            hub,
            disks: super::disk::Disks::default(),
            locks: Arc::default(),
            leases: None,
            quota: super::quota::Quota {
                max_entries: u64::MAX,
                max_bytes: u64::MAX,
            },
            trash_retention_secs: 0,
        }
    }

    /// Refuses `name` in the folder `chain` (nearest first) of a disk-backed project when the
    /// project's ignore files keep that path off the disk.
    pub(super) async fn check_disk_path(
        &self,
        project: ProjectId,
        chain: &[file::Model],
        name: &str,
        is_dir: bool,
    ) -> AppResult<()> {
        if !self.disks.is_bound(project) {
            return Ok(());
        }
        let path: Vec<&str> = chain
            .iter()
            .rev()
            .map(|f| f.name.as_str())
            .chain([name])
            .collect();
        self.disks.check_path(project, path.join("/"), is_dir).await
    }

    /// Refuses adding `entries` entries and `bytes` bytes past the project's quota. The caller
    /// holds the project's lock, so two additions cannot both pass on what they read.
    pub(crate) async fn check_room(
        &self,
        project: ProjectId,
        entries: u64,
        bytes: u64,
    ) -> AppResult<()> {
        let usage = super::quota::usage(&self.db, project).await?;
        self.quota.check(usage, entries, bytes)
    }

    /// Several nodes share the database: tree changes take the project's lease as well.
    pub fn shared(mut self, leases: crate::lease::Leases) -> Self {
        self.leases = Some(leases);
        self
    }

    /// Tree changes of one project happen one at a time: on this node (a mutex), and across
    /// nodes when they share the database (the project's lease), so the checks a change makes
    /// (a free name, the quota, an empty project's README) still hold when it writes.
    /// Every change of a project's tree takes this lock first: so it is also where
    /// maintenance refuses them.
    pub(crate) async fn lock(&self, project: ProjectId) -> AppResult<TreeLock> {
        self.editor.writable()?;
        let lock = {
            let mut locks = crate::lock::lock(&self.locks);
            locks.entry(project).or_default().clone()
        };
        let local = lock.lock_owned().await;
        let lease = match &self.leases {
            Some(leases) => Some(
                leases
                    .acquire(&format!("tree:{}", project.0))
                    .await
                    .map_err(crate::error::ServerError::from)?,
            ),
            None => None,
        };
        Ok(TreeLock {
            _lease: lease,
            _local: local,
        })
    }

    pub(crate) fn announce(&self, project: ProjectId, rows: &[file::Model]) {
        self.disks.tree_changed(project);
        if !rows.is_empty() {
            self.hub.publish(
                project,
                &ServerEvent::Tree {
                    entries: rows.iter().map(entry).collect(),
                },
            );
        }
    }

    pub(crate) async fn row(&self, project: ProjectId, id: FileId) -> AppResult<file::Model> {
        file::Entity::find_by_id(id.0)
            .one(&self.db)
            .await?
            .filter(|r| r.project_id == project.0)
            .ok_or_else(|| AppError::NotFound("File".into()))
    }

    /// The row, which must be in the tree (not in the trash, nor inside a trashed folder);
    /// with the folders above it, nearest first.
    async fn live_row(
        &self,
        project: ProjectId,
        id: FileId,
    ) -> AppResult<(file::Model, Vec<file::Model>)> {
        let row = self.row(project, id).await?;
        let above = self.ancestors(project, row.parent_id.map(FileId)).await?;
        if row.deleted_at.is_some() || above.iter().any(|a| a.deleted_at.is_some()) {
            return Err(AppError::NotFound("File".into()));
        }
        Ok((row, above))
    }

    /// `parent` and the folders above it, nearest first.
    async fn ancestors(
        &self,
        project: ProjectId,
        mut parent: Option<FileId>,
    ) -> AppResult<Vec<file::Model>> {
        let mut out = Vec::new();
        while let Some(p) = parent {
            if out.len() > MAX_DEPTH {
                return Err(AppError::Conflict("The folder tree is too deep.".into()));
            }
            let row = self.row(project, p).await?;
            parent = row.parent_id.map(FileId);
            out.push(row);
        }
        Ok(out)
    }

    /// A folder new entries may go into: `None` (the root) or a live folder. Returns its
    /// depth (0 for the root) and the folders from it up.
    async fn target_folder(
        &self,
        project: ProjectId,
        parent: Option<FileId>,
    ) -> AppResult<(usize, Vec<file::Model>)> {
        let Some(p) = parent else {
            return Ok((0, Vec::new()));
        };
        let (row, above) = self.live_row(project, p).await.map_err(|e| match e {
            AppError::NotFound(_) => AppError::NotFound("Folder".into()),
            e => e,
        })?;
        if row.kind != FileKind::Folder.as_str() {
            return Err(AppError::invalid("parent", "Only folders can hold files."));
        }
        let mut chain = vec![row];
        chain.extend(above);
        Ok((chain.len(), chain))
    }

    /// Keys of the live names in a folder, except `except`.
    pub(super) async fn taken(
        &self,
        project: ProjectId,
        parent: Option<FileId>,
        except: Option<FileId>,
    ) -> AppResult<HashSet<String>> {
        let q = file::Entity::find()
            .filter(file::Column::ProjectId.eq(project.0))
            .filter(file::Column::DeletedAt.is_null());
        let q = match parent {
            Some(p) => q.filter(file::Column::ParentId.eq(p.0)),
            None => q.filter(file::Column::ParentId.is_null()),
        };
        Ok(q.all(&self.db)
            .await?
            .into_iter()
            .filter(|r| Some(FileId(r.id)) != except)
            .map(|r| clash_key(&r.name))
            .collect())
    }

    async fn check_free(
        &self,
        project: ProjectId,
        parent: Option<FileId>,
        name: &str,
        except: Option<FileId>,
    ) -> AppResult<()> {
        if self
            .taken(project, parent, except)
            .await?
            .contains(&clash_key(name))
        {
            return Err(AppError::invalid(
                "name",
                format!("“{name}” already exists in this folder."),
            ));
        }
        Ok(())
    }

    pub async fn list(&self, project: ProjectId) -> AppResult<Vec<FileEntry>> {
        let rows = file::Entity::find()
            .filter(file::Column::ProjectId.eq(project.0))
            .all(&self.db)
            .await?;
        Ok(rows.iter().map(entry).collect())
    }

    /// Inserts a row (its document already made) and announces it. The caller holds the lock
    /// and has checked the name.
    pub(crate) async fn insert(
        &self,
        db: &impl ConnectionTrait,
        project: ProjectId,
        by: UserId,
        new: NewEntry<'_>,
    ) -> AppResult<file::Model> {
        let NewEntry {
            parent,
            name,
            kind,
            doc,
            size,
        } = new;
        let at = now();
        Ok(file::Entity::insert(file::ActiveModel {
            project_id: Set(project.0),
            parent_id: Set(parent.map(|p| p.0)),
            name: Set(name.to_owned()),
            kind: Set(kind.as_str().to_owned()),
            document_id: Set(doc.map(|d| d.0)),
            created_by: Set(by.0),
            created_at: Set(at),
            updated_at: Set(at),
            deleted_at: Set(None),
            size: Set(size),
            ..Default::default()
        })
        .exec_with_returning(db)
        .await?)
    }

    pub async fn create(
        &self,
        project: ProjectId,
        by: UserId,
        parent: Option<FileId>,
        name: &str,
        kind: FileKind,
        text: Option<&str>,
    ) -> AppResult<FileEntry> {
        validate_name(name)?;
        self.disks.check_name(project, name)?;
        if kind == FileKind::Blob {
            return Err(AppError::invalid(
                "kind",
                "Binary files come from an upload or import.",
            ));
        }
        let _guard = self.lock(project).await?;
        let (depth, chain) = self.target_folder(project, parent).await?;
        if depth >= MAX_DEPTH {
            return Err(AppError::invalid(
                "name",
                format!("Folders nest at most {MAX_DEPTH} deep."),
            ));
        }
        self.check_free(project, parent, name, None).await?;
        self.check_disk_path(project, &chain, name, kind == FileKind::Folder)
            .await?;
        self.check_room(project, 1, text.map_or(0, |t| t.len() as u64))
            .await?;
        let doc = match kind {
            FileKind::File => Some(
                self.editor
                    .create_with(
                        project,
                        by,
                        Some(super::text::initial_state(text.unwrap_or_default())),
                    )
                    .await?,
            ),
            _ => None,
        };
        let row = self
            .insert(
                &self.db,
                project,
                by,
                NewEntry {
                    parent,
                    name,
                    kind,
                    doc,
                    size: None,
                },
            )
            .await?;
        self.announce(project, std::slice::from_ref(&row));
        Ok(entry(&row))
    }

    /// Saves a change to one row and tells the project's tabs (and its disk mirror).
    async fn change(
        &self,
        project: ProjectId,
        row: file::Model,
        mut change: file::ActiveModel,
    ) -> AppResult<FileEntry> {
        change.id = Set(row.id);
        change.updated_at = Set(now());
        let row = file::Entity::update(change).exec(&self.db).await?;
        self.announce(project, std::slice::from_ref(&row));
        Ok(entry(&row))
    }

    /// A document's whole current state (see `Engine::state`), as a user-facing result.
    pub(crate) async fn read_state(&self, doc: DocId) -> AppResult<Vec<u8>> {
        self.editor.state(doc).await
    }

    pub async fn rename(&self, project: ProjectId, id: FileId, name: &str) -> AppResult<FileEntry> {
        validate_name(name)?;
        self.disks.check_name(project, name)?;
        let _guard = self.lock(project).await?;
        let (row, above) = self.live_row(project, id).await?;
        if row.name == name {
            return Ok(entry(&row));
        }
        self.check_free(project, row.parent_id.map(FileId), name, Some(id))
            .await?;
        let is_dir = row.kind == FileKind::Folder.as_str();
        self.check_disk_path(project, &above, name, is_dir).await?;
        self.change(
            project,
            row,
            file::ActiveModel {
                name: Set(name.to_owned()),
                ..Default::default()
            },
        )
        .await
    }

    pub async fn move_to(
        &self,
        project: ProjectId,
        id: FileId,
        parent: Option<FileId>,
    ) -> AppResult<FileEntry> {
        let _guard = self.lock(project).await?;
        let (row, _) = self.live_row(project, id).await?;
        if row.parent_id.map(FileId) == parent {
            return Ok(entry(&row));
        }
        let (depth, chain) = self.target_folder(project, parent).await?;
        if chain.iter().any(|f| f.id == id.0) {
            return Err(AppError::Conflict(
                "A folder cannot be moved into itself.".into(),
            ));
        }
        if row.kind == FileKind::Folder.as_str() {
            let tree = snapshot(&self.db, project).await?;
            if depth + 1 + tree.height(id) > MAX_DEPTH {
                return Err(AppError::Conflict(format!(
                    "Folders nest at most {MAX_DEPTH} deep."
                )));
            }
        }
        self.check_free(project, parent, &row.name, Some(id))
            .await?;
        let is_dir = row.kind == FileKind::Folder.as_str();
        self.check_disk_path(project, &chain, &row.name, is_dir)
            .await?;
        self.change(
            project,
            row,
            file::ActiveModel {
                parent_id: Set(parent.map(|p| p.0)),
                ..Default::default()
            },
        )
        .await
    }

    pub async fn trash(&self, project: ProjectId, id: FileId) -> AppResult<FileEntry> {
        let _guard = self.lock(project).await?;
        let (row, _) = self.live_row(project, id).await?;
        self.change(
            project,
            row,
            file::ActiveModel {
                deleted_at: Set(Some(now())),
                ..Default::default()
            },
        )
        .await
    }

    pub async fn restore(&self, project: ProjectId, id: FileId) -> AppResult<FileEntry> {
        let _guard = self.lock(project).await?;
        let row = self.row(project, id).await?;
        if row.deleted_at.is_none() {
            return Err(AppError::Conflict("That is not in the trash.".into()));
        }
        // Back into its folder if that is still in the tree, else to the root.
        let parent = match self.target_folder(project, row.parent_id.map(FileId)).await {
            Ok(_) => row.parent_id.map(FileId),
            Err(_) => None,
        };
        let taken = self.taken(project, parent, Some(id)).await?;
        let name = free_name(&row.name, |k| taken.contains(k));
        self.change(
            project,
            row,
            file::ActiveModel {
                deleted_at: Set(None),
                parent_id: Set(parent.map(|p| p.0)),
                name: Set(name),
                ..Default::default()
            },
        )
        .await
    }

    /// Deletes what is in the trash. Text files are kept out of sight (with their documents
    /// and history) for the retention period, when there is one: owners can bring them back.
    pub async fn empty_trash(&self, project: ProjectId, by: UserId) -> AppResult<u64> {
        let _guard = self.lock(project).await?;
        let tree = snapshot(&self.db, project).await?;
        let ids: Vec<FileId> = tree
            .rows
            .keys()
            .copied()
            .filter(|id| !tree.is_live(*id))
            .collect();
        let keep = self.trash_retention_secs > 0;
        let at = now();
        let mut kept = Vec::new();
        let mut docs: Vec<i64> = Vec::new();
        for id in &ids {
            let Some(row) = tree.rows.get(id) else {
                continue;
            };
            match row.document_id {
                Some(doc) if keep && row.kind == FileKind::File.as_str() => {
                    kept.push(purged_file::ActiveModel {
                        project_id: Set(project.0),
                        document_id: Set(doc),
                        name: Set(row.name.clone()),
                        path: Set(tree.path(*id).unwrap_or_else(|| row.name.clone())),
                        purged_at: Set(at),
                        purged_by: Set(by.0),
                        ..Default::default()
                    });
                }
                Some(doc) => docs.push(doc),
                None => {}
            }
        }
        let txn = self.db.begin().await?;
        // 7 bound variables a row: 100 rows stay under SQLite's historical limit of 999.
        for chunk in kept.chunks(100) {
            purged_file::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        for chunk in ids.chunks(CHUNK) {
            file_blob::Entity::delete_many()
                .filter(file_blob::Column::FileId.is_in(chunk.iter().map(|i| i.0)))
                .exec(&txn)
                .await?;
            file::Entity::delete_many()
                .filter(file::Column::Id.is_in(chunk.iter().map(|i| i.0)))
                .exec(&txn)
                .await?;
        }
        // The other documents go now (their update logs cascade).
        for chunk in docs.chunks(CHUNK) {
            document::Entity::delete_many()
                .filter(document::Column::Id.is_in(chunk.iter().copied()))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        if !ids.is_empty() {
            self.disks.tree_changed(project);
            self.hub
                .publish(project, &ServerEvent::Purged { ids: ids.clone() });
        }
        Ok(ids.len() as u64)
    }

    pub async fn duplicate(
        &self,
        project: ProjectId,
        by: UserId,
        id: FileId,
    ) -> AppResult<FileEntry> {
        let _guard = self.lock(project).await?;
        let (row, _) = self.live_row(project, id).await?;
        let taken = self.taken(project, row.parent_id.map(FileId), None).await?;
        let name = copy_name(&row.name, |k| taken.contains(k));
        let tree = snapshot(&self.db, project).await?;
        // What is copied: the entry and what lives inside it (not what is in a trashed folder).
        let mut plan: Vec<&file::Model> = Vec::new();
        let mut kept: HashSet<FileId> = HashSet::new();
        for old in tree.subtree(id) {
            let Some(src) = tree.rows.get(&old) else {
                continue;
            };
            let inside = src.parent_id.is_some_and(|p| kept.contains(&FileId(p)));
            if old == id || (src.deleted_at.is_none() && inside) {
                kept.insert(old);
                plan.push(src);
            }
        }
        let docs: Vec<DocId> = plan
            .iter()
            .filter_map(|r| r.document_id.map(DocId))
            .collect();
        let blobs: i64 = plan.iter().filter_map(|r| r.size).sum();
        let bytes = super::quota::stored_bytes(&self.db, &docs).await? + blobs.max(0) as u64;
        self.check_room(project, plan.len() as u64, bytes).await?;
        let mut made = Vec::new();
        // Old id → new id, so children land in the copies of their folders.
        let mut copies: HashMap<FileId, FileId> = HashMap::new();
        for src in plan {
            let old = FileId(src.id);
            let parent = if old == id {
                row.parent_id.map(FileId)
            } else {
                src.parent_id.and_then(|p| copies.get(&FileId(p)).copied())
            };
            let doc = match src.document_id {
                Some(d) => {
                    let state = self.read_state(DocId(d)).await?;
                    Some(self.editor.create_with(project, by, Some(state)).await?)
                }
                None => None,
            };
            let kind = FileKind::parse(&src.kind).unwrap_or(FileKind::File);
            let new_name = if old == id { &name } else { &src.name };
            let copy = self
                .insert(
                    &self.db,
                    project,
                    by,
                    NewEntry {
                        parent,
                        name: new_name,
                        kind,
                        doc,
                        size: src.size,
                    },
                )
                .await?;
            if kind == FileKind::Blob
                && let Some(blob) = file_blob::Entity::find_by_id(old.0).one(&self.db).await?
            {
                file_blob::Entity::insert(file_blob::ActiveModel {
                    file_id: Set(copy.id),
                    data: Set(blob.data),
                })
                .exec(&self.db)
                .await?;
            }
            copies.insert(old, FileId(copy.id));
            made.push(copy);
        }
        self.announce(project, &made);
        made.first()
            .map(entry)
            .ok_or_else(|| AppError::NotFound("File".into()))
    }
}
