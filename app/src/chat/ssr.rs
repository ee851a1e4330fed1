//! The `ChatService` the binary implements. Server functions check membership, then call it;
//! it validates, stores, orders and tells every tab of the project.

use std::sync::Arc;

use async_trait::async_trait;

use super::{AiRequest, AskReply, ChatMessage, HistoryPage};
use crate::{
    error::AppResult,
    types::{MessageId, ProjectId, Role, UserInfo},
};

#[async_trait]
pub trait ChatService: Send + Sync + 'static {
    async fn history(
        &self,
        project: ProjectId,
        before: Option<MessageId>,
        after: Option<MessageId>,
    ) -> AppResult<HistoryPage>;
    async fn send(
        &self,
        project: ProjectId,
        by: &UserInfo,
        client_id: &str,
        body: &str,
        reply_to: Option<MessageId>,
    ) -> AppResult<ChatMessage>;
    async fn edit(
        &self,
        project: ProjectId,
        by: &UserInfo,
        id: MessageId,
        body: &str,
    ) -> AppResult<ChatMessage>;
    async fn delete(
        &self,
        project: ProjectId,
        by: &UserInfo,
        role: Role,
        id: MessageId,
    ) -> AppResult<ChatMessage>;
    async fn ask(
        &self,
        project: ProjectId,
        by: &UserInfo,
        request: AiRequest,
    ) -> AppResult<AskReply>;
    async fn stop(
        &self,
        project: ProjectId,
        by: &UserInfo,
        role: Role,
        id: MessageId,
    ) -> AppResult<()>;
    async fn regenerate(
        &self,
        project: ProjectId,
        by: &UserInfo,
        role: Role,
        id: MessageId,
    ) -> AppResult<ChatMessage>;
}

/// The ChatService from the registry the binary provides.
pub fn chat() -> AppResult<Arc<dyn ChatService>> {
    crate::services::service()
}
