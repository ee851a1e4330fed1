//! Chat messages as they travel between server and browser (in server-function answers and
//! `chat` events on the project channel).

use serde::{Deserialize, Serialize};

use super::{FileId, MessageId, UserId, UserInfo};

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
    /// The parts of the project the assistant was shown, as links that open them.
    #[serde(default)]
    pub sources: Vec<AiSource>,
    /// What did not fit in the context budget, said to the reader.
    #[serde(default)]
    pub cut: Option<String>,
}

impl AiInfo {
    pub fn new(state: AiState, error: Option<String>) -> Self {
        Self {
            state,
            error,
            sources: Vec::new(),
            cut: None,
        }
    }
}

/// Why a part of the project was in the assistant's context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "term", rename_all = "snake_case")]
pub enum SourceWhy {
    /// The asker's open file, around the cursor.
    Open,
    /// The asker's selection.
    Selection,
    /// The question named the file.
    Named,
    /// The line mentions this name from the question.
    Match(String),
}

/// Lines of a project file the assistant was shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AiSource {
    pub file: FileId,
    pub path: String,
    /// 1-based, inclusive.
    pub first: u32,
    pub last: u32,
    pub why: SourceWhy,
}

impl AiSource {
    /// `src/a.rs:3–9` (or `:3` for one line).
    pub fn label(&self) -> String {
        if self.first == self.last {
            format!("{}:{}", self.path, self.first)
        } else {
            format!("{}:{}–{}", self.path, self.first, self.last)
        }
    }
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
