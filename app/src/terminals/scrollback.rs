//! A terminal's output as a tab holds it: the bytes so far (bounded), with the offset received,
//! so the replay and the live events join without a gap or a repeat. xterm.js keeps the
//! rendered screen; this is what a view is rebuilt from when it opens again.

use crate::{live::stream::Applied, types::terminals::TermReplay};

/// Output a tab keeps per terminal; the oldest lines go first.
pub const MAX_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scrollback {
    pub data: String,
    /// Byte offset just past what this tab has (on the server: all output so far).
    pub received: u64,
    /// Older output is not here (dropped by the server's replay or here).
    pub truncated: bool,
    cap: usize,
}

impl Default for Scrollback {
    fn default() -> Self {
        Self::with_cap(MAX_BYTES)
    }
}

impl Scrollback {
    /// Keeps at most `cap` bytes (the server's scrollback setting).
    pub fn with_cap(cap: usize) -> Self {
        Scrollback {
            data: String::new(),
            received: 0,
            truncated: false,
            cap: cap.max(1),
        }
    }

    pub fn from_replay(r: &TermReplay) -> Self {
        let mut s = Scrollback {
            data: r.data.clone(),
            received: r.end,
            truncated: r.truncated,
            cap: MAX_BYTES,
        };
        s.trim();
        s
    }

    /// Appends the next output.
    pub fn push(&mut self, data: &str) {
        self.received += data.len() as u64;
        self.data.push_str(data);
        self.trim();
    }

    pub fn apply(&mut self, at: u64, data: &str) -> Applied {
        let joined = Applied::join(self.received, at);
        if joined == Applied::Appended {
            self.push(data);
        }
        joined
    }

    /// Past the bound, drops the oldest output up to a line start (a quarter at a time, so
    /// a stream of small events does not move the whole buffer each time).
    fn trim(&mut self) {
        if self.data.len() <= self.cap {
            return;
        }
        let mut cut = self.data.len() - self.cap * 3 / 4;
        while !self.data.is_char_boundary(cut) {
            cut += 1;
        }
        cut = self.data[cut..].find('\n').map_or(cut, |i| cut + i + 1);
        self.data.drain(..cut);
        self.truncated = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{
        TermId, UserId,
        terminals::{TermInfo, TermReplay},
    };

    fn replay(data: &str, end: u64) -> TermReplay {
        TermReplay {
            term: TermInfo {
                id: TermId(1),
                opened_by: UserId(1),
                opened_by_name: "ann".into(),
                opened_at: 0,
                typists: Vec::new(),
                cols: 80,
                rows: 24,
                ended: None,
                environment: None,
            },
            data: data.into(),
            truncated: false,
            end,
        }
    }

    #[test]
    fn replay_and_live_events_join_without_gap_or_repeat() {
        let mut s = Scrollback::from_replay(&replay("$ ls\r\n", 6));
        assert_eq!(s.apply(0, "$ ls\r\n"), Applied::Duplicate);
        assert_eq!(s.apply(6, "a.py\r\n"), Applied::Appended);
        assert_eq!(s.apply(20, "x"), Applied::Gap);
        assert_eq!(s.data, "$ ls\r\na.py\r\n");
        assert_eq!(s.received, 12);
    }

    #[test]
    fn old_output_goes_a_line_at_a_time() {
        let mut s = Scrollback::default();
        let line = "é".repeat(50) + "\n";
        let mut at = 0;
        while at < (MAX_BYTES as u64) * 2 {
            assert_eq!(s.apply(at, &line), Applied::Appended);
            at += line.len() as u64;
        }
        assert!(s.data.len() <= MAX_BYTES);
        assert!(s.truncated);
        assert!(s.data.starts_with('é'), "cut at a line start");
        assert_eq!(s.received, at);
    }
}
