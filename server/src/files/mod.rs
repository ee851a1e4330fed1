//! Project files: the tree service behind the `files/*` server functions, content search,
//! zip import and export, and projects mirrored from a directory on disk.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use app::{
    AppResult,
    editor::FileDoc,
    files::{FileEntry, FileKind, SearchQuery, SearchResults, ssr::FileService},
    types::{DocId, FileId, ProjectId, UserId, files::PurgedFile},
};
use async_trait::async_trait;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::db::entities::file;

mod args;
pub use args::Args;
pub mod archive;
pub mod disk;
mod purged;
pub mod quota;
pub mod search;
pub mod text;
pub mod tree;

pub use tree::Tree;

/// The files service: the tree, the search cache and the directories mirrored on disk.
#[derive(Clone)]
pub struct Files {
    pub tree: Tree,
    pub(crate) projects: Arc<dyn app::projects::ssr::Projects>,
    texts: Arc<search::TextCache>,
    dirs: Arc<DirSettings>,
    import: archive::ImportLimits,
    /// Imports and exports building at once.
    archives: crate::slots::Slots,
    /// Where imports spool the upload and the unpacked files (`<data-dir>/tmp`: on the data
    /// disk, not a `/tmp` that may be memory).
    scratch: PathBuf,
}

/// How disk-backed projects are served.
#[derive(Debug, Clone, Default)]
pub struct DirSettings {
    pub ignore: Vec<String>,
    pub flush: std::time::Duration,
}

impl Files {
    pub fn new(
        mut tree: Tree,
        projects: Arc<dyn app::projects::ssr::Projects>,
        args: &Args,
        data_dir: &Path,
    ) -> Self {
        tree.quota = args.quota();
        tree.trash_retention_secs = i64::from(args.trash_retention_days) * 86_400;
        Self {
            tree,
            projects,
            texts: Arc::new(search::TextCache::new(args.search_cache_bytes)),
            dirs: Arc::new(DirSettings {
                ignore: args.dir_ignore.clone(),
                flush: std::time::Duration::from_millis(args.dir_flush_ms),
            }),
            import: args.import_limits(),
            archives: crate::slots::Slots::new(
                args.max_concurrent_archives,
                "max-concurrent-archives",
                std::time::Duration::from_secs(10),
                "The server is busy with other zip imports and exports; try again in a minute.",
            ),
            scratch: data_dir.join("tmp"),
        }
    }

    pub fn disks(&self) -> &disk::Disks {
        &self.tree.disks
    }
}

#[async_trait]
impl FileService for Files {
    async fn default_file(
        &self,
        project: ProjectId,
        user: UserId,
        may_create: bool,
    ) -> AppResult<Option<FileDoc>> {
        Files::default_file(self, project, user, may_create).await
    }

    async fn list(&self, project: ProjectId) -> AppResult<Vec<FileEntry>> {
        self.tree.list(project).await
    }

    async fn create(
        &self,
        project: ProjectId,
        by: UserId,
        parent: Option<FileId>,
        name: &str,
        kind: FileKind,
    ) -> AppResult<FileEntry> {
        self.tree
            .create(project, by, parent, name, kind, None)
            .await
    }

    async fn rename(&self, project: ProjectId, id: FileId, name: &str) -> AppResult<FileEntry> {
        self.tree.rename(project, id, name).await
    }

    async fn move_to(
        &self,
        project: ProjectId,
        id: FileId,
        parent: Option<FileId>,
    ) -> AppResult<FileEntry> {
        self.tree.move_to(project, id, parent).await
    }

    async fn trash(&self, project: ProjectId, id: FileId) -> AppResult<FileEntry> {
        self.tree.trash(project, id).await
    }

    async fn restore(&self, project: ProjectId, id: FileId) -> AppResult<FileEntry> {
        self.tree.restore(project, id).await
    }

    async fn empty_trash(&self, project: ProjectId, by: UserId) -> AppResult<u64> {
        self.tree.empty_trash(project, by).await
    }

    async fn changed(&self, project: ProjectId, user: UserId) -> AppResult<Vec<FileId>> {
        let docs = crate::editor::seen::changed(&self.tree.db, project, user).await?;
        if docs.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = file::Entity::find()
            .select_only()
            .column(file::Column::Id)
            .filter(file::Column::ProjectId.eq(project.0))
            .filter(file::Column::DeletedAt.is_null())
            .filter(file::Column::DocumentId.is_in(docs))
            .into_tuple()
            .all(&self.tree.db)
            .await?;
        Ok(ids.into_iter().map(FileId).collect())
    }

    async fn purged(&self, project: ProjectId) -> AppResult<Vec<PurgedFile>> {
        self.tree.purged(project).await
    }

    async fn restore_purged(
        &self,
        project: ProjectId,
        by: UserId,
        id: i64,
    ) -> AppResult<FileEntry> {
        self.tree.restore_purged(project, by, id).await
    }

    async fn duplicate(&self, project: ProjectId, by: UserId, id: FileId) -> AppResult<FileEntry> {
        self.tree.duplicate(project, by, id).await
    }

    async fn search(&self, project: ProjectId, query: SearchQuery) -> AppResult<SearchResults> {
        self.tree.search(&self.texts, project, query).await
    }

    async fn open_dir(&self, by: UserId, path: &str) -> AppResult<ProjectId> {
        let path = std::path::Path::new(path.trim());
        if !path.is_absolute() {
            return Err(app::AppError::invalid(
                "path",
                "Give the folder's absolute path on the server.",
            ));
        }
        self.disks()
            .bind(self, path, by, self.dirs.ignore.clone(), self.dirs.flush)
            .await
    }
}

/// The first file a new project gets when an editor opens it.
pub const DEFAULT_FILE: &str = "README.md";

/// The first live text file (by id), to open when the IDE loads.
async fn first_file(db: &DatabaseConnection, project: ProjectId) -> AppResult<Option<FileDoc>> {
    let tree = tree::snapshot(db, project).await?;
    let mut files: Vec<_> = tree
        .rows
        .values()
        .filter(|f| f.kind == FileKind::File.as_str() && tree.is_live(FileId(f.id)))
        .collect();
    files.sort_by_key(|f| (f.parent_id.is_some(), f.id));
    Ok(files.first().and_then(|f| {
        Some(FileDoc {
            file: FileId(f.id),
            name: f.name.clone(),
            doc: DocId(f.document_id?),
        })
    }))
}

async fn has_any_entry(db: &DatabaseConnection, project: ProjectId) -> AppResult<bool> {
    Ok(file::Entity::find()
        .filter(file::Column::ProjectId.eq(project.0))
        .order_by_asc(file::Column::Id)
        .one(db)
        .await?
        .is_some())
}

impl Files {
    /// The file to open first. A project that has never had a file gets `README.md` the first
    /// time an editor opens it; one whose files were all deleted stays empty.
    pub async fn default_file(
        &self,
        project: ProjectId,
        user: UserId,
        may_create: bool,
    ) -> AppResult<Option<FileDoc>> {
        let db = &self.tree.db;
        if let Some(f) = first_file(db, project).await? {
            return Ok(Some(f));
        }
        if !may_create || has_any_entry(db, project).await? {
            return Ok(None);
        }
        // Two tabs opening a new project at once must not create two READMEs (on this node).
        let _guard = self.tree.lock(project).await?;
        if has_any_entry(db, project).await? {
            return first_file(db, project).await;
        }
        let doc = self
            .tree
            .editor
            .create_with(project, user, Some(text::initial_state("")))
            .await?;
        let row = self
            .tree
            .insert(
                db,
                project,
                user,
                tree::NewEntry {
                    parent: None,
                    name: DEFAULT_FILE,
                    kind: FileKind::File,
                    doc: Some(doc),
                    size: None,
                },
            )
            .await?;
        self.tree.announce(project, std::slice::from_ref(&row));
        first_file(db, project).await
    }
}
