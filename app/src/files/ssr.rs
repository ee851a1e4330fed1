//! The `FileService` the binary implements. Server functions check the caller's role, then
//! call it; it validates names, keeps the tree consistent and tells the project's tabs.

use std::sync::Arc;

use async_trait::async_trait;

use super::{FileEntry, FileKind, SearchQuery, SearchResults};
use crate::{
    editor::FileDoc,
    error::AppResult,
    types::{FileId, ProjectId, UserId, files::PurgedFile},
};

#[async_trait]
pub trait FileService: Send + Sync + 'static {
    /// The first file to open; a project that never had one gets `README.md` when
    /// `may_create` (the caller is an editor).
    async fn default_file(
        &self,
        project: ProjectId,
        user: UserId,
        may_create: bool,
    ) -> AppResult<Option<FileDoc>>;
    async fn list(&self, project: ProjectId) -> AppResult<Vec<FileEntry>>;
    async fn create(
        &self,
        project: ProjectId,
        by: UserId,
        parent: Option<FileId>,
        name: &str,
        kind: FileKind,
    ) -> AppResult<FileEntry>;
    async fn rename(&self, project: ProjectId, id: FileId, name: &str) -> AppResult<FileEntry>;
    async fn move_to(
        &self,
        project: ProjectId,
        id: FileId,
        parent: Option<FileId>,
    ) -> AppResult<FileEntry>;
    async fn trash(&self, project: ProjectId, id: FileId) -> AppResult<FileEntry>;
    async fn restore(&self, project: ProjectId, id: FileId) -> AppResult<FileEntry>;
    /// Empties the trash; text files are kept for the retention period.
    async fn empty_trash(&self, project: ProjectId, by: UserId) -> AppResult<u64>;
    /// Live files `user` has had open that someone else changed since.
    async fn changed(&self, project: ProjectId, user: UserId) -> AppResult<Vec<FileId>>;
    /// The text files of emptied trashes still kept.
    async fn purged(&self, project: ProjectId) -> AppResult<Vec<PurgedFile>>;
    /// Brings a kept file back at the root.
    async fn restore_purged(&self, project: ProjectId, by: UserId, id: i64)
    -> AppResult<FileEntry>;
    async fn duplicate(&self, project: ProjectId, by: UserId, id: FileId) -> AppResult<FileEntry>;
    async fn search(&self, project: ProjectId, query: SearchQuery) -> AppResult<SearchResults>;
    /// Binds a directory on the server as a disk-backed project owned by `by` (if new).
    async fn open_dir(&self, by: UserId, path: &str) -> AppResult<ProjectId>;
}

/// The FileService from the registry the binary provides.
pub fn files() -> AppResult<Arc<dyn FileService>> {
    crate::services::service()
}
