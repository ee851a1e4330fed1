//! Chat messages as they travel between server and browser (in server-function answers and
//! `chat` events on the project channel).

use serde::{Deserialize, Serialize};

use super::{MessageId, UserId, UserInfo};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Written by a member.
    User,
    /// The assistant's answer; `author` is who asked.
    Ai,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AiState {
    /// Tokens are still arriving (as `chat_delta` events).
    Streaming,
    Done,
    /// Someone stopped it; the text so far is kept.
    Stopped,
    /// The provider failed; `AiInfo::error` says how.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AiInfo {
    pub state: AiState,
    pub error: Option<String>,
}

/// One chat message as every member sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Server-assigned; the order of the chat.
    pub id: MessageId,
    /// The sender's idempotency key.
    pub client_id: String,
    /// The writer (for an AI answer: who asked).
    pub author: UserInfo,
    pub kind: MessageKind,
    /// Markdown source; empty once deleted.
    pub body: String,
    /// `body` rendered and sanitised on the server: safe to put into the page as HTML.
    pub html: String,
    /// Unix seconds.
    pub created_at: i64,
    pub edited_at: Option<i64>,
    pub deleted: bool,
    pub reply_to: Option<MessageId>,
    /// Members `@mentioned` in the body.
    pub mentions: Vec<UserId>,
    pub ai: Option<AiInfo>,
}

impl ChatMessage {
    pub fn is_streaming(&self) -> bool {
        self.ai
            .as_ref()
            .is_some_and(|a| a.state == AiState::Streaming)
    }
}
