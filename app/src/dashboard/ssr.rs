//! The `DashboardService` the binary implements (queries over the feature's tables, presence
//! from the hub); the server functions pass the signed-in user.

use std::sync::Arc;

use async_trait::async_trait;

use super::{FeedFilter, ProjectOverview, TeamDashboard};
use crate::{
    error::AppResult,
    types::{MessageId, UserId},
};

#[async_trait]
pub trait DashboardService: Send + Sync + 'static {
    /// What `user` sees: only projects they are a member of.
    async fn team(&self, user: UserId, filter: FeedFilter) -> AppResult<TeamDashboard>;
    /// One project's dashboard; `Forbidden` unless `user` is a member.
    async fn project(
        &self,
        user: UserId,
        project: crate::types::ProjectId,
    ) -> AppResult<ProjectOverview>;
    /// Marks `user`'s mentions read (one message's, or all); how many were unread.
    async fn read_mentions(&self, user: UserId, message: Option<MessageId>) -> AppResult<u64>;
}

pub fn dashboard() -> AppResult<Arc<dyn DashboardService>> {
    crate::services::service()
}
