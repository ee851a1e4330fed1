//! Project chat: messages everyone in the project sees live, and the project's AI assistant,
//! whose answers stream into the chat. Messages are server-authoritative records (the server
//! gives them their order); each send carries a client-generated id so a retry after a
//! reconnect never duplicates. The server renders markdown to sanitised HTML; the browser never
//! turns user text into markup itself.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use server_fn::codec::Json;

use crate::{
    error::AppError,
    types::{FileId, MessageId, ProjectId},
};

pub mod cite;
pub mod commands;
pub mod model;
#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
use crate::{
    audit::ssr::record as audit,
    types::audit::{AuditAction as Act, AuditTarget as On},
};

mod view;

pub use crate::types::chat::{AiInfo, AiSource, AiState, ChatMessage, MessageKind, SourceWhy};
pub use view::{ChatPanel, ChatState};

/// Messages per history page.
pub const PAGE_SIZE: usize = 50;
/// Longest client id accepted (the browser sends 32 hex digits).
pub const MAX_CLIENT_ID: usize = 64;
/// Most selected text sent to the assistant as context; the rest is cut.
pub const MAX_SELECTION_CHARS: usize = 8_000;

/// Messages oldest first; `more` when older ones exist before the first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct HistoryPage {
    pub messages: Vec<ChatMessage>,
    pub more: bool,
}

/// What the assistant is asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "task", content = "text", rename_all = "snake_case")]
pub enum AiTask {
    /// A free question (`/ai ...` or the Ask AI button).
    Ask(String),
    Explain,
    Tests,
    Doc,
    Review,
}

/// Where the asker is in the editor; the server reads the file's live text itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AiContext {
    /// The active file (a file id of this project).
    pub file: Option<FileId>,
    /// 1-based cursor line in that file.
    pub line: Option<u32>,
    /// The selected text, cut to [`MAX_SELECTION_CHARS`].
    pub selection: Option<String>,
    /// The selection's first and last line (1-based), so the answer can link to them.
    #[serde(default)]
    pub lines: Option<(u32, u32)>,
}

/// An AI request from the composer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AiRequest {
    pub client_id: String,
    /// What appears in the chat as the asker's message (`/explain`, `/ai how do I …`).
    pub text: String,
    pub task: AiTask,
    pub context: AiContext,
}

/// The asker's message and the (streaming) answer, both already sent to every member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AskReply {
    pub question: ChatMessage,
    pub answer: ChatMessage,
}

/// A page of history: the newest page, the page before `before`, or what came after `after`
/// (catching up after a reconnect).
#[server(endpoint = "chat/history", input = Json)]
pub async fn chat_history(
    project: ProjectId,
    before: Option<MessageId>,
    after: Option<MessageId>,
) -> Result<HistoryPage, AppError> {
    crate::projects::ssr::authorize(project, crate::types::Role::Viewer).await?;
    ssr::chat()?.history(project, before, after).await
}

/// Posts a message. Sending the same `client_id` again returns the first message unchanged.
/// Every member may chat, viewers included.
#[server(endpoint = "chat/send", input = Json)]
pub async fn send_message(
    project: ProjectId,
    client_id: String,
    body: String,
    reply_to: Option<MessageId>,
) -> Result<ChatMessage, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Viewer).await?;
    ssr::chat()?
        .send(project, &ctx.user, &client_id, &body, reply_to)
        .await
}

/// Edits one of the caller's own messages.
#[server(endpoint = "chat/edit", input = Json)]
pub async fn edit_message(
    project: ProjectId,
    id: MessageId,
    body: String,
) -> Result<ChatMessage, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Viewer).await?;
    ssr::chat()?.edit(project, &ctx.user, id, &body).await
}

/// Deletes a message: the author's own, or any message for an owner. What remains is a
/// "deleted" marker so replies keep their place.
#[server(endpoint = "chat/delete", input = Json)]
pub async fn delete_message(project: ProjectId, id: MessageId) -> Result<ChatMessage, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Viewer).await?;
    ssr::chat()?.delete(project, &ctx.user, ctx.role, id).await
}

/// Asks the project's assistant; the answer streams to every member. Editors only: no
/// request leaves the server for a viewer (who still reads every answer).
#[server(endpoint = "chat/ask", input = Json)]
pub async fn ask_ai(project: ProjectId, request: AiRequest) -> Result<AskReply, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Editor).await?;
    crate::projects::ai::ssr::ai()?
        .assistant_on(project)
        .await?;
    let detail = format!("{:?}", request.task);
    let reply = ssr::chat()?.ask(project, &ctx.user, request).await?;
    audit(project, ctx.user.id, Act::AiRequest, On::None, detail).await;
    Ok(reply)
}

/// Stops an answer that is still streaming (who asked, or an editor/owner).
#[server(endpoint = "chat/stop", input = Json)]
pub async fn stop_ai(project: ProjectId, id: MessageId) -> Result<(), AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Viewer).await?;
    ssr::chat()?.stop(project, &ctx.user, ctx.role, id).await
}

/// Asks the same question again, replacing the answer (who asked, or an editor/owner; never
/// a viewer).
#[server(endpoint = "chat/regenerate", input = Json)]
pub async fn regenerate_ai(project: ProjectId, id: MessageId) -> Result<ChatMessage, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Editor).await?;
    crate::projects::ai::ssr::ai()?
        .assistant_on(project)
        .await?;
    let message = ssr::chat()?
        .regenerate(project, &ctx.user, ctx.role, id)
        .await?;
    let on = On::Text(format!("message {id}"));
    audit(project, ctx.user.id, Act::AiRequest, on, "regenerate").await;
    Ok(message)
}
