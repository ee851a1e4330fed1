//! The `AiService` the binary implements.

use std::sync::Arc;

use async_trait::async_trait;

use super::{AiOverview, AiSwitches};
use crate::{
    error::AppResult,
    types::{ProjectId, UserId},
};

#[async_trait]
pub trait AiService: Send + Sync + 'static {
    async fn overview(&self, project: ProjectId, owner: bool) -> AppResult<AiOverview>;
    async fn set_switches(
        &self,
        project: ProjectId,
        by: UserId,
        switches: AiSwitches,
    ) -> AppResult<()>;
    /// `Unavailable` with the reason when the project's owners turned the assistant off.
    async fn assistant_on(&self, project: ProjectId) -> AppResult<()>;
}

pub fn ai() -> AppResult<Arc<dyn AiService>> {
    crate::services::service()
}
