//! Shared terminals: a shell in the project's sandbox that every member watches, and the
//! members who may type in it.

use serde::{Deserialize, Serialize};

use super::{TermId, UserId};

/// Smallest and largest sizes a terminal takes (columns, rows); reports outside are clamped.
pub const MIN_COLS: u16 = 20;
pub const MAX_COLS: u16 = 500;
pub const MIN_ROWS: u16 = 5;
pub const MAX_ROWS: u16 = 200;
/// Most bytes of input one event may carry (a paste is cut into events of this size).
pub const MAX_INPUT: usize = 16 * 1024;

/// A member who may type in a terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Typist {
    pub user: UserId,
    pub name: String,
}

/// A terminal as every member sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermInfo {
    pub id: TermId,
    pub opened_by: UserId,
    pub opened_by_name: String,
    /// Unix milliseconds.
    pub opened_at: i64,
    /// Who may type: the opener first, then whoever they granted it to.
    pub typists: Vec<Typist>,
    /// The size every member's view takes: the smallest of the views attached to it.
    pub cols: u16,
    pub rows: u16,
    /// Why it closed ("exit 0", "closed by ann", "idle for 30 min"); `None` while open.
    pub ended: Option<String>,
    /// The project environment it was opened in.
    #[serde(default)]
    pub environment: Option<String>,
}

impl TermInfo {
    pub fn open(&self) -> bool {
        self.ended.is_none()
    }

    pub fn may_type(&self, user: UserId) -> bool {
        self.open() && self.typists.iter().any(|t| t.user == user)
    }

    /// "Terminal 3": the count within the node that opened it (an id's low 32 bits; the high
    /// bits name the node, which would make a 16-digit title on a cluster node).
    pub fn title(&self) -> String {
        format!("Terminal {}", self.id.0 & 0xFFFF_FFFF)
    }
}

/// A terminal for a member who opens (or reloads) the project: its state and scrollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermReplay {
    pub term: TermInfo,
    /// The latest output (bounded by the server's scrollback), starting at a line.
    pub data: String,
    /// Older output was dropped.
    pub truncated: bool,
    /// The byte offset just past `data` in the terminal's output (the next event's `at`).
    pub end: u64,
}

/// Clamps a reported view size to what a terminal accepts.
pub fn clamp_size(cols: u16, rows: u16) -> (u16, u16) {
    (
        cols.clamp(MIN_COLS, MAX_COLS),
        rows.clamp(MIN_ROWS, MAX_ROWS),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_needs_a_grant_and_an_open_terminal() {
        let mut t = TermInfo {
            id: TermId(3),
            opened_by: UserId(1),
            opened_by_name: "ann".into(),
            opened_at: 0,
            typists: vec![Typist {
                user: UserId(1),
                name: "ann".into(),
            }],
            cols: 80,
            rows: 24,
            ended: None,
            environment: None,
        };
        assert!(t.may_type(UserId(1)));
        assert!(!t.may_type(UserId(2)));
        assert_eq!(t.title(), "Terminal 3");
        // A cluster node's terminal: its node's block in the high bits.
        t.id = TermId((516_842 << 32) | 3);
        assert_eq!(t.title(), "Terminal 3");
        t.ended = Some("exit 0".into());
        assert!(!t.may_type(UserId(1)));
        assert_eq!(clamp_size(0, 9999), (MIN_COLS, MAX_ROWS));
    }
}
