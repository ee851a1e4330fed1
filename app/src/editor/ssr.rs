//! The `Documents` service the binary implements: tokens for Yjs clients.

use std::sync::Arc;

use async_trait::async_trait;

use crate::{
    error::AppResult,
    types::{DocId, ProjectId, UserId},
};

#[async_trait]
pub trait Documents: Send + Sync + 'static {
    /// A one-hour `/yjs` token for `doc`, which must belong to `project` (`NotFound` otherwise).
    async fn mint_token(&self, user: UserId, project: ProjectId, doc: DocId) -> AppResult<String>;
}

/// The Documents from the registry the binary provides.
pub fn documents() -> AppResult<Arc<dyn Documents>> {
    crate::services::service()
}
