//! The `TerminalService` the binary implements; server functions check the role, then call it.

use std::sync::Arc;

use async_trait::async_trait;

use crate::{
    error::AppResult,
    types::{
        ProjectId, Role, TermId, UserId, UserInfo,
        terminals::{TermInfo, TermReplay},
    },
};

#[async_trait]
pub trait TerminalService: Send + Sync + 'static {
    async fn now(&self, project: ProjectId) -> AppResult<Vec<TermReplay>>;
    async fn open(
        &self,
        project: ProjectId,
        by: &UserInfo,
        cols: u16,
        rows: u16,
        environment: Option<String>,
    ) -> AppResult<TermInfo>;
    async fn close(
        &self,
        project: ProjectId,
        by: &UserInfo,
        role: Role,
        term: TermId,
    ) -> AppResult<()>;
    async fn grant(
        &self,
        project: ProjectId,
        by: &UserInfo,
        role: Role,
        term: TermId,
        user: UserId,
        on: bool,
    ) -> AppResult<TermInfo>;
}

/// The TerminalService from the registry the binary provides.
pub fn terminals() -> AppResult<Arc<dyn TerminalService>> {
    crate::services::service()
}
