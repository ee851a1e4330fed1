//! The `RunService` the binary implements; server functions check the role, then call it.

use std::sync::Arc;

use async_trait::async_trait;

use crate::{
    error::AppResult,
    types::{
        FileId, ProjectId, RunId, UserInfo,
        runs::{RunConfigs, RunInfo, RunRecord, RunReplay, RunTarget},
    },
};

#[async_trait]
pub trait RunService: Send + Sync + 'static {
    async fn configs(&self, project: ProjectId, file: Option<FileId>) -> AppResult<RunConfigs>;
    async fn start(
        &self,
        project: ProjectId,
        by: &UserInfo,
        target: RunTarget,
        restart: bool,
        environment: Option<String>,
    ) -> AppResult<RunInfo>;
    async fn stop(&self, project: ProjectId, by: &UserInfo, run: RunId) -> AppResult<()>;
    async fn stdin(
        &self,
        project: ProjectId,
        by: &UserInfo,
        run: RunId,
        line: String,
    ) -> AppResult<()>;
    async fn now(&self, project: ProjectId) -> AppResult<Vec<RunReplay>>;
    async fn history(&self, project: ProjectId) -> AppResult<Vec<RunInfo>>;
    async fn record(&self, project: ProjectId, run: RunId) -> AppResult<RunRecord>;
    async fn set_network(&self, project: ProjectId, by: &UserInfo, on: bool) -> AppResult<()>;
}

/// The RunService from the registry the binary provides.
pub fn runs() -> AppResult<Arc<dyn RunService>> {
    crate::services::service()
}
