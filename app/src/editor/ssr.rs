//! The `Documents` service the binary implements: which document holds a file, and tokens for
//! Yjs clients.

use async_trait::async_trait;

use super::FileDoc;
use crate::{
    error::AppResult,
    types::{ProjectId, UserId},
};

#[async_trait]
pub trait Documents: Send + Sync + 'static {
    /// The project's first file; when it has none and `may_create`, creates `README.md` with
    /// its document.
    async fn default_file(
        &self,
        project: ProjectId,
        user: UserId,
        may_create: bool,
    ) -> AppResult<Option<FileDoc>>;

    /// A one-hour `/yjs` token for `doc`, which must belong to `project` (`NotFound` otherwise).
    async fn mint_token(&self, user: UserId, project: ProjectId, doc: i64) -> AppResult<String>;
}
