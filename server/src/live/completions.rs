//! What the tab socket does with a completion request. The assistant sits above `live` (it
//! uses the chat's AI provider), so the socket reaches it through this trait, which
//! `assist::Assist` implements. The socket keeps one pending request per tab: a newer one
//! replaces it (dropping its future, which closes its upstream request), and it waits a short
//! debounce before anything leaves the server, so a typist's superseded requests cost nothing.

use std::sync::Arc;

use app::{
    live::events::CompletionError,
    types::{ProjectId, UserId},
};
use async_trait::async_trait;

/// One request, as the tab sent it (the port bounds the text again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionAsk {
    pub prefix: String,
    pub suffix: String,
    pub language: String,
    pub path: String,
}

#[async_trait]
pub trait CompletionPort: Send + Sync + 'static {
    /// How long a request waits before it is sent on (a newer one from the tab replaces it
    /// meanwhile); `None` when completions are off, so the tab is told at once.
    fn debounce(&self) -> Option<std::time::Duration>;
    /// The text to insert at the cursor (empty: the model had nothing), or why there is none.
    /// The caller has checked that `user` may edit the document.
    async fn complete(
        &self,
        project: ProjectId,
        user: UserId,
        ask: CompletionAsk,
    ) -> Result<String, (CompletionError, String)>;
}

/// The completions behind the tab socket (a handle `AppState` can hand out).
#[derive(Clone)]
pub struct CompletionHandle(pub Arc<dyn CompletionPort>);
