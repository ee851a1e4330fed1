//! The `SuggestionService` the binary implements.

use std::sync::Arc;

use async_trait::async_trait;

use super::{SuggestRequest, Suggestion, SuggestionId};
use crate::{
    error::AppResult,
    types::{ProjectId, UserInfo},
};

#[async_trait]
pub trait SuggestionService: Send + Sync + 'static {
    async fn list(&self, project: ProjectId) -> AppResult<Vec<Suggestion>>;
    async fn ask(
        &self,
        project: ProjectId,
        by: &UserInfo,
        request: SuggestRequest,
    ) -> AppResult<Suggestion>;
    async fn accept(
        &self,
        project: ProjectId,
        by: &UserInfo,
        id: SuggestionId,
    ) -> AppResult<Suggestion>;
    async fn reject(
        &self,
        project: ProjectId,
        by: &UserInfo,
        id: SuggestionId,
    ) -> AppResult<Suggestion>;
    async fn release(
        &self,
        project: ProjectId,
        by: &UserInfo,
        id: SuggestionId,
    ) -> AppResult<Suggestion>;
}

pub fn suggestions() -> AppResult<Arc<dyn SuggestionService>> {
    crate::services::service()
}
