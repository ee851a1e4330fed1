//! A project's files: the tree (folders, text files, binary files), the operations on it, and
//! search. The tree is server-authoritative: every operation is a server function that checks
//! the caller's role, and its result reaches every member's tab as a `tree` event on the
//! project channel, which the tab applies to its [`tree::TreeModel`] without reloading.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use server_fn::codec::Json;

use crate::{
    editor::FileDoc,
    error::AppError,
    types::{FileId, ProjectId},
};

pub mod fuzzy;
pub mod names;
#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
use crate::{
    audit::ssr::record as audit,
    types::audit::{AuditAction as Act, AuditTarget as On},
};

pub mod tree;
mod view;

pub use crate::types::files::{FileEntry, FileKind};
pub use view::{EditorTabs, FileTree, Files, OpenTabs, QuickOpen, human_size};

/// Text files above this size are kept as binary files: Monaco and a yrs document would both
/// struggle, and nobody edits a 5 MB file in a browser together.
pub const MAX_TEXT_BYTES: usize = 2 << 20;

/// The project's first file, created (as `README.md`) the first time an editor opens a
/// project that has none. Viewers of an empty project get `None`.
#[server(endpoint = "editor/default_file")]
pub async fn default_file(project: ProjectId) -> Result<Option<FileDoc>, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Viewer).await?;
    ssr::files()?
        .default_file(project, ctx.user.id, ctx.role >= crate::types::Role::Editor)
        .await
}

/// A content search.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SearchQuery {
    pub text: String,
    pub regex: bool,
    pub case_sensitive: bool,
}

/// One matching line. Columns are Monaco's: 1-based, in UTF-16 code units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchHit {
    pub line: u32,
    pub column: u32,
    pub end_column: u32,
    /// The line, cut to a readable length around the match.
    pub preview: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHits {
    pub file: FileId,
    pub path: String,
    pub hits: Vec<SearchHit>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SearchResults {
    pub files: Vec<FileHits>,
    /// Files whose text was searched.
    pub searched: u32,
    /// The result limit was reached; there are more matches.
    pub truncated: bool,
    /// The time budget ran out before every file was searched.
    pub timed_out: bool,
}

/// Every entry of the project, trashed ones included (the trash view shows them).
#[server(endpoint = "files/list", input = Json)]
pub async fn list_files(project: ProjectId) -> Result<Vec<FileEntry>, AppError> {
    crate::projects::ssr::authorize(project, crate::types::Role::Viewer).await?;
    ssr::files()?.list(project).await
}

#[server(endpoint = "files/create", input = Json)]
pub async fn create_entry(
    project: ProjectId,
    parent: Option<FileId>,
    name: String,
    kind: FileKind,
) -> Result<FileEntry, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Editor).await?;
    ssr::files()?
        .create(project, ctx.user.id, parent, &name, kind)
        .await
}

#[server(endpoint = "files/rename", input = Json)]
pub async fn rename_entry(
    project: ProjectId,
    id: FileId,
    name: String,
) -> Result<FileEntry, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Editor).await?;
    let done = ssr::files()?.rename(project, id, &name).await?;
    let detail = format!("now {}", done.name);
    audit(project, ctx.user.id, Act::FileRenamed, On::File(id), detail).await;
    Ok(done)
}

/// Moves an entry into `parent` (`None`: the root). Refused if it would put a folder inside
/// itself.
#[server(endpoint = "files/move", input = Json)]
pub async fn move_entry(
    project: ProjectId,
    id: FileId,
    parent: Option<FileId>,
) -> Result<FileEntry, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Editor).await?;
    let done = ssr::files()?.move_to(project, id, parent).await?;
    audit(project, ctx.user.id, Act::FileMoved, On::File(id), "").await;
    Ok(done)
}

/// Moves an entry (with everything in it) to the trash.
#[server(endpoint = "files/trash", input = Json)]
pub async fn trash_entry(project: ProjectId, id: FileId) -> Result<FileEntry, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Editor).await?;
    let done = ssr::files()?.trash(project, id).await?;
    audit(project, ctx.user.id, Act::FileDeleted, On::File(id), "").await;
    Ok(done)
}

/// Brings an entry back from the trash: into its old folder if that still exists, else the
/// root; renamed `name (2)` if its name has been taken meanwhile.
#[server(endpoint = "files/restore", input = Json)]
pub async fn restore_entry(project: ProjectId, id: FileId) -> Result<FileEntry, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Editor).await?;
    let done = ssr::files()?.restore(project, id).await?;
    audit(project, ctx.user.id, Act::FileRestored, On::File(id), "").await;
    Ok(done)
}

/// Empties the trash; returns how many entries went. Text files stay restorable by owners
/// for the server's retention period.
#[server(endpoint = "files/empty_trash", input = Json)]
pub async fn empty_trash(project: ProjectId) -> Result<u64, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Editor).await?;
    let n = ssr::files()?.empty_trash(project, ctx.user.id).await?;
    let detail = format!("{n} entries");
    audit(project, ctx.user.id, Act::TrashEmptied, On::None, detail).await;
    Ok(n)
}

/// Files the caller has had open that someone else changed since (the tree marks them).
#[server(endpoint = "files/changed", input = Json)]
pub async fn changed_files(project: ProjectId) -> Result<Vec<FileId>, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Viewer).await?;
    ssr::files()?.changed(project, ctx.user.id).await
}

/// Text files of emptied trashes still kept (their history can be read). Members may look.
#[server(endpoint = "files/purged", input = Json)]
pub async fn purged_files(
    project: ProjectId,
) -> Result<Vec<crate::types::files::PurgedFile>, AppError> {
    crate::projects::ssr::authorize(project, crate::types::Role::Viewer).await?;
    ssr::files()?.purged(project).await
}

/// Brings back a file deleted for good, within the retention period. Owners only.
#[server(endpoint = "files/restore_purged", input = Json)]
pub async fn restore_purged(project: ProjectId, id: i64) -> Result<FileEntry, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Owner).await?;
    let done = ssr::files()?
        .restore_purged(project, ctx.user.id, id)
        .await?;
    let on = On::File(done.id);
    audit(project, ctx.user.id, Act::PurgedRestored, on, "").await;
    Ok(done)
}

/// Copies a file (with its current text) or a folder (with everything in it) next to itself.
#[server(endpoint = "files/duplicate", input = Json)]
pub async fn duplicate_entry(project: ProjectId, id: FileId) -> Result<FileEntry, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Editor).await?;
    ssr::files()?.duplicate(project, ctx.user.id, id).await
}

/// Whether the caller may open folders on the server as projects (server admins only).
#[server(endpoint = "files/can_open_dirs")]
pub async fn can_open_dirs() -> Result<bool, AppError> {
    let user = crate::auth::ssr::current_user().await?;
    crate::auth::ssr::accounts()?.is_admin(user.id).await
}

/// Opens a folder on the server's disk as a disk-backed project (server admins only); the same
/// folder always maps to the same project.
#[server(endpoint = "files/open_dir")]
pub async fn open_dir(path: String) -> Result<ProjectId, AppError> {
    let user = crate::auth::ssr::current_user().await?;
    if !crate::auth::ssr::accounts()?.is_admin(user.id).await? {
        return Err(AppError::Forbidden);
    }
    let project = ssr::files()?.open_dir(user.id, &path).await?;
    audit(project, user.id, Act::FolderOpened, On::Text(path), "").await;
    Ok(project)
}

/// Searches the live text of every file, bounded in time and results.
#[server(endpoint = "files/search", input = Json)]
pub async fn search_files(
    project: ProjectId,
    query: SearchQuery,
) -> Result<SearchResults, AppError> {
    crate::projects::ssr::authorize(project, crate::types::Role::Viewer).await?;
    ssr::files()?.search(project, query).await
}
