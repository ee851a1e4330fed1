//! The project channel of `/ws` (frame tag 0): control and acknowledgement events between a
//! browser tab and the server, as JSON. Document channels carry standard y-sync bytes instead;
//! these events say which documents a tab has open and how far its edits are durable.

use serde::{Deserialize, Serialize};

use crate::types::{
    DocId, FileId, MessageId, Role, RunId, TermId, UserId,
    chat::ChatMessage,
    files::FileEntry,
    runs::{OutputChunk, RunInfo, RunSample},
    suggestions::Suggestion,
    terminals::TermInfo,
};

/// Close codes (the 4000–4999 range is the application's) for a socket that lost its access
/// while open. Reconnecting cannot help, so the browser stops trying and says why.
pub mod close {
    /// The session ended (signed out, here or in another tab) or expired.
    pub const SIGNED_OUT: u16 = 4401;
    /// The user was removed from the project.
    pub const NO_ACCESS: u16 = 4403;
    /// The project was deleted.
    pub const DELETED: u16 = 4404;
}

/// Someone with files open in the project (all their tabs together).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub user: UserId,
    pub name: String,
    /// Documents they have open.
    pub docs: Vec<DocId>,
}

/// What a tab asks of the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientEvent {
    /// Subscribe to a document of the socket's project; the server answers `Opened` and then
    /// starts the y-sync handshake on the document's channel.
    Open { doc: DocId },
    /// Unsubscribe (the tab closed the file).
    Close { doc: DocId },
    /// The user is (or stopped) typing in the chat; sent at most every few seconds.
    Typing { active: bool },
    /// Keystrokes (or a paste, at most `terminals::MAX_INPUT` bytes) for a terminal; refused
    /// unless the user may type in it.
    TermInput { term: TermId, data: String },
    /// The tab shows the terminal in a view of this size (sent again when it resizes); the
    /// terminal takes the smallest size of the views attached to it.
    TermAttach { term: TermId, cols: u16, rows: u16 },
    /// The tab stopped showing the terminal.
    TermDetach { term: TermId },
    /// Ghost text for the cursor of an open document: `prefix` and `suffix` are the text
    /// before and after it (bounded by the tab; the server cuts them again). A newer request
    /// replaces this tab's pending one, whose upstream request is dropped.
    Complete {
        id: u64,
        doc: DocId,
        prefix: String,
        suffix: String,
        /// Monaco's language id (`rust`, `typescript`, …).
        language: String,
        /// The file's name in the tree, for the prompt.
        path: String,
    },
    /// The person typed on or moved away: the pending completion is not wanted any more.
    CancelCompletion { id: u64 },
}

/// Why a completion did not come; the status bar says it, and `Off` and `NotAllowed` stop the
/// tab from asking again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompletionError {
    /// No AI provider is configured, or completions are turned off on the server.
    Off,
    /// The person may not edit (viewers get no completions).
    NotAllowed,
    /// A per-person or per-project allowance is used up for now.
    Limited,
    /// The server's cap on requests to the provider is reached.
    Busy,
    /// The provider could not be reached, timed out or refused.
    Unreachable,
}

/// What the server tells a tab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerEvent {
    /// The tab is subscribed; `writable` is false for viewers, whose updates are refused.
    Opened { doc: DocId, writable: bool },
    /// The first `n` document updates this subscription sent are committed to disk.
    Saved { doc: DocId, n: u64 },
    /// The document could not be opened (unknown, another project's, too many open).
    DocError { doc: DocId, message: String },
    /// The server dropped the subscription (the tab fell too far behind); open it again to
    /// resync. Nothing is lost: the handshake sends whatever either side is missing.
    Closed { doc: DocId, reason: String },
    /// Tree entries created or changed (renamed, moved, trashed, restored): replace by id.
    Tree { entries: Vec<FileEntry> },
    /// Entries deleted for good (the trash was emptied).
    Purged { ids: Vec<FileId> },
    /// Who has which files open; the whole list, sent whenever it changes and on connect.
    Viewers { viewers: Vec<Viewer> },
    /// The tab missed project events (it fell behind): refetch the tree and the chat.
    Resync,
    /// A chat message is new or changed (edited, deleted, an answer finished): replace by id.
    Chat { message: ChatMessage },
    /// More text of an answer that is still streaming.
    ChatDelta { id: MessageId, text: String },
    /// Someone is typing in the chat (`active`), or stopped.
    Typing {
        user: UserId,
        name: String,
        active: bool,
    },
    /// The user's role on the project changed while the tab was open. Documents whose access
    /// changed with it are `Closed` and reopen with the new access.
    RoleChanged { role: Role },
    /// A run started or ended (replace by id).
    Run { run: RunInfo },
    /// More output of a running run, coalesced (every 16 ms or 16 KiB at most). `at` is the
    /// byte offset of the first chunk in the run's output, so a tab that fetched the replay
    /// knows what it already has, and sees a gap.
    RunOutput {
        run: RunId,
        at: u64,
        chunks: Vec<OutputChunk>,
    },
    /// A running run's CPU and memory, every second while it runs.
    RunStats { run: RunId, sample: RunSample },
    /// A terminal opened, changed (typists, size) or closed (replace by id).
    Terminal { term: TermInfo },
    /// More output of a terminal, coalesced like a run's. `at` is the byte offset of `data`
    /// in the terminal's output.
    TermOutput { term: TermId, at: u64, data: String },
    /// The server refused this tab's input to a terminal, and why.
    TermRefused { term: TermId, message: String },
    /// The text to show after the cursor for completion request `id` (empty: nothing).
    Completion { id: u64, text: String },
    /// Completion request `id` failed.
    CompletionFailed {
        id: u64,
        error: CompletionError,
        message: String,
    },
    /// An AI suggestion is new or changed (written, accepted, rejected, stale): replace by id.
    Suggestion { suggestion: Box<Suggestion> },
    /// The project's activity feed has new entries (edits counted since the last flush):
    /// team dashboards refetch; tabs of the project ignore it.
    Activity,
    /// The server's notice changed (broadcast, maintenance, restart): every page's bar shows
    /// it. Maintenance starting or ending also closes the open documents, which reopen with
    /// the access it leaves.
    Notice { notice: crate::ops::Notice },
}

impl ClientEvent {
    pub fn to_json(&self) -> String {
        // Serialising these plain enums cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl ServerEvent {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_have_a_stable_json_shape() {
        assert_eq!(
            ClientEvent::Open { doc: DocId(7) }.to_json(),
            r#"{"type":"open","doc":7}"#
        );
        assert_eq!(
            ServerEvent::Saved {
                doc: DocId(7),
                n: 3
            }
            .to_json(),
            r#"{"type":"saved","doc":7,"n":3}"#
        );
        let back: ServerEvent =
            serde_json::from_str(r#"{"type":"opened","doc":1,"writable":false}"#).expect("parses");
        assert_eq!(
            back,
            ServerEvent::Opened {
                doc: DocId(1),
                writable: false
            }
        );
        assert!(serde_json::from_str::<ClientEvent>(r#"{"type":"drop_tables"}"#).is_err());
    }
}
