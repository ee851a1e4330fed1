//! Who wrote what: the records of attribution ("blame") that cross the wire.

use serde::{Deserialize, Serialize};

use super::UserId;

/// How an edit reached the server. Stored as a small number with every update (`code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// Before attribution was recorded, or by a path that does not say.
    Unknown,
    /// The IDE in a browser tab (`/ws`).
    Browser,
    /// A Yjs client with a document token (`/yjs`).
    Yjs,
    /// A change on disk picked up by the watcher of a folder-backed project.
    Disk,
    /// An assistant's suggestion accepted by a person.
    Assistant,
    /// A version restored from the file's history.
    Restore,
    /// The file's first content: upload, import, template or creation.
    Created,
}

impl Via {
    pub const ALL: [Via; 7] = [
        Via::Unknown,
        Via::Browser,
        Via::Yjs,
        Via::Disk,
        Via::Assistant,
        Via::Restore,
        Via::Created,
    ];

    pub fn code(self) -> u8 {
        match self {
            Via::Unknown => 0,
            Via::Browser => 1,
            Via::Yjs => 2,
            Via::Disk => 3,
            Via::Assistant => 4,
            Via::Restore => 5,
            Via::Created => 6,
        }
    }

    /// Unknown codes (from a newer server's rows) read as `Unknown`.
    pub fn from_code(code: u8) -> Via {
        Via::ALL
            .into_iter()
            .find(|v| v.code() == code)
            .unwrap_or(Via::Unknown)
    }

    /// How the hover names it: "<name> (from disk)".
    pub fn label(self) -> Option<&'static str> {
        match self {
            Via::Unknown | Via::Browser => None,
            Via::Yjs => Some("Yjs client"),
            Via::Disk => Some("from disk"),
            Via::Assistant => Some("assistant suggestion"),
            Via::Restore => Some("restored version"),
            Via::Created => Some("file created"),
        }
    }
}

/// One author of a file's text: an account (or none: the server, or text from before
/// attribution) and how their edits came.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlameAuthor {
    pub user: Option<UserId>,
    /// The account's display name now ("Unknown" when there is none).
    pub name: String,
    pub via: Via,
}

/// A stretch of the current text written by one author at one time. Offsets count UTF-16
/// code units, as Monaco does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlameRun {
    pub start: u32,
    pub len: u32,
    /// Index into [`Blame::authors`].
    pub author: u32,
    /// When it was stored (ms since the epoch); 0 when unknown.
    pub at: i64,
}

/// The current text of a file, by author: runs in order, covering every character.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blame {
    pub authors: Vec<BlameAuthor>,
    pub runs: Vec<BlameRun>,
    /// The text the runs describe (the editor may be ahead of it by a few keystrokes).
    pub text_len: u32,
}

/// A version of a file: stored in its timeline, or still in the log compaction has not
/// folded yet (named by the last update it includes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "n", rename_all = "snake_case")]
pub enum VersionId {
    Stored(i64),
    Pending(i64),
}

/// Where the next page of a timeline starts (older than this).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionCursor {
    pub seq: i64,
    pub id: i64,
}

/// One entry of a file's timeline: the text after a burst of editing, or a named version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionEntry {
    pub id: VersionId,
    /// The version before it (what "compare with previous" shows), if any.
    pub previous: Option<VersionId>,
    /// When the burst started and ended (ms since the epoch; 0: before Tandem kept history).
    pub started: i64,
    pub at: i64,
    /// Who edited, in order of their first edit (names as they are now).
    pub authors: Vec<String>,
    pub vias: Vec<Via>,
    /// A version someone named, and who.
    pub name: Option<String>,
    pub named_by: Option<String>,
}

impl VersionEntry {
    /// The entry is a restore of an earlier version.
    pub fn is_restore(&self) -> bool {
        self.vias.contains(&Via::Restore)
    }
}

/// A page of a file's timeline, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    pub entries: Vec<VersionEntry>,
    /// Ask again with this for older entries.
    pub more: Option<VersionCursor>,
}

/// Lines of a version (1-based, inclusive) to restore instead of the whole file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineRange {
    pub from: u32,
    pub to: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_codes_round_trip_and_unknown_codes_read_as_unknown() {
        for via in Via::ALL {
            assert_eq!(Via::from_code(via.code()), via);
        }
        assert_eq!(Via::from_code(200), Via::Unknown);
    }
}
