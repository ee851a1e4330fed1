//! The `HistoryService` the binary implements; server functions check the role, then call it.

use std::sync::Arc;

use async_trait::async_trait;

use crate::{
    error::AppResult,
    types::{DocId, ProjectId, history::Blame},
};

#[async_trait]
pub trait HistoryService: Send + Sync + 'static {
    /// Not found unless `doc` belongs to `project`.
    async fn blame(&self, project: ProjectId, doc: DocId) -> AppResult<Blame>;
}

/// The HistoryService from the registry the binary provides.
pub fn history() -> AppResult<Arc<dyn HistoryService>> {
    crate::services::service()
}
