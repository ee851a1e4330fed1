//! The `HistoryService` the binary implements; server functions check the role, then call it.

use std::sync::Arc;

use async_trait::async_trait;

use crate::{
    error::AppResult,
    types::{
        DocId, ProjectId, UserId,
        history::{Blame, LineRange, Timeline, VersionCursor, VersionId},
    },
};

/// Every method answers Not found unless `doc` belongs to `project`.
#[async_trait]
pub trait HistoryService: Send + Sync + 'static {
    async fn blame(&self, project: ProjectId, doc: DocId) -> AppResult<Blame>;
    /// A page of the file's timeline, newest first (from `before` on when given).
    async fn timeline(
        &self,
        project: ProjectId,
        doc: DocId,
        before: Option<VersionCursor>,
    ) -> AppResult<Timeline>;
    /// The text of one version.
    async fn version_text(
        &self,
        project: ProjectId,
        doc: DocId,
        version: VersionId,
    ) -> AppResult<String>;
    /// Makes the file's text that of `version` (or only `lines` of it) by an edit of `by`.
    async fn restore(
        &self,
        project: ProjectId,
        doc: DocId,
        version: VersionId,
        lines: Option<LineRange>,
        by: UserId,
    ) -> AppResult<()>;
    /// Keeps the current text as a version with a name.
    async fn name_version(
        &self,
        project: ProjectId,
        doc: DocId,
        name: String,
        by: UserId,
    ) -> AppResult<()>;
}

/// The HistoryService from the registry the binary provides.
pub fn history() -> AppResult<Arc<dyn HistoryService>> {
    crate::services::service()
}
