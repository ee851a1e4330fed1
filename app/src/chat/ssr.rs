//! The `ChatService` the binary implements. Server functions check membership, then call it;
//! it validates, stores, orders and tells every tab of the project.

use std::sync::Arc;

use async_trait::async_trait;

use super::{AiRequest, AskReply, ChatMessage, HistoryPage};
use crate::{
    error::AppResult,
    types::{ProjectId, Role, UserInfo},
};

#[async_trait]
pub trait ChatService: Send + Sync + 'static {
    async fn history(
        &self,
        project: ProjectId,
        before: Option<i64>,
        after: Option<i64>,
    ) -> AppResult<HistoryPage>;
    async fn send(
        &self,
        project: ProjectId,
        by: &UserInfo,
        client_id: &str,
        body: &str,
        reply_to: Option<i64>,
    ) -> AppResult<ChatMessage>;
    async fn edit(
        &self,
        project: ProjectId,
        by: &UserInfo,
        id: i64,
        body: &str,
    ) -> AppResult<ChatMessage>;
    async fn delete(
        &self,
        project: ProjectId,
        by: &UserInfo,
        role: Role,
        id: i64,
    ) -> AppResult<ChatMessage>;
    async fn ask(
        &self,
        project: ProjectId,
        by: &UserInfo,
        request: AiRequest,
    ) -> AppResult<AskReply>;
    async fn stop(&self, project: ProjectId, by: &UserInfo, role: Role, id: i64) -> AppResult<()>;
    async fn regenerate(
        &self,
        project: ProjectId,
        by: &UserInfo,
        role: Role,
        id: i64,
    ) -> AppResult<ChatMessage>;
}

/// The ChatService from the registry the binary provides.
pub fn chat() -> AppResult<Arc<dyn ChatService>> {
    crate::services::service()
}
