//! AI suggestions: a change the assistant proposed for some lines of a file, which the whole
//! project sees over those lines until an editor accepts or rejects it.

use serde::{Deserialize, Serialize};

use super::{DocId, FileId, UserId};

super::id_type!(SuggestionId);

/// A code action whose result is a change to the code (the others answer in the chat).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeAction {
    /// Documentation comments for the selected code.
    Doc,
    /// A change the asker describes in words.
    Refactor,
    /// Fix what is wrong with the selected code (with a failing run's output, when asked from
    /// there).
    Fix,
}

impl CodeAction {
    pub const ALL: [CodeAction; 3] = [CodeAction::Doc, CodeAction::Refactor, CodeAction::Fix];

    pub fn as_str(self) -> &'static str {
        match self {
            CodeAction::Doc => "doc",
            CodeAction::Refactor => "refactor",
            CodeAction::Fix => "fix",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// What the overlay says the assistant was asked: "to add docs".
    pub fn asked(self) -> &'static str {
        match self {
            CodeAction::Doc => "to add docs",
            CodeAction::Refactor => "to refactor",
            CodeAction::Fix => "to fix this",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuggestionState {
    /// The assistant is still writing it.
    Writing,
    /// Waiting for someone to accept or reject it.
    Open,
    Accepted,
    Rejected,
    /// The lines it replaces changed before anyone accepted it: it can no longer apply.
    Stale,
    /// The assistant failed (or proposed no change); `error` says why.
    Failed,
}

impl SuggestionState {
    pub const ALL: [SuggestionState; 6] = [
        SuggestionState::Writing,
        SuggestionState::Open,
        SuggestionState::Accepted,
        SuggestionState::Rejected,
        SuggestionState::Stale,
        SuggestionState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SuggestionState::Writing => "writing",
            SuggestionState::Open => "open",
            SuggestionState::Accepted => "accepted",
            SuggestionState::Rejected => "rejected",
            SuggestionState::Stale => "stale",
            SuggestionState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Still shown over the code (decided ones are gone from the overlay).
    pub fn is_live(self) -> bool {
        matches!(
            self,
            SuggestionState::Writing
                | SuggestionState::Open
                | SuggestionState::Stale
                | SuggestionState::Failed
        )
    }
}

/// One line of the overlay's diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    /// `' '` kept, `'-'` removed, `'+'` added.
    pub op: char,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    pub id: SuggestionId,
    pub file: FileId,
    pub doc: DocId,
    /// Who asked the assistant.
    pub author: UserId,
    pub author_name: String,
    pub action: CodeAction,
    /// The asker's words (Refactor…), if any.
    pub instruction: Option<String>,
    /// Where the replaced text starts and ends, as yrs sticky indices (v1): they move with
    /// edits around the text, so the suggestion follows its lines.
    pub start: Vec<u8>,
    pub end: Vec<u8>,
    /// 1-based lines it covered when it was asked for.
    pub first_line: u32,
    pub last_line: u32,
    /// The text it replaces, as it was when asked for; accepting requires it unchanged.
    pub original: String,
    pub replacement: String,
    /// `original` → `replacement` line by line (empty while writing).
    pub lines: Vec<DiffLine>,
    pub state: SuggestionState,
    /// Who accepted, rejected or found it stale.
    pub decided_by: Option<String>,
    pub error: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
}
