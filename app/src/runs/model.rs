//! A run's output as a tab holds it: rendered blocks (one per event, ANSI already parsed),
//! bounded, with the byte offset received so far so the replay and the live events join
//! without a gap or a repeat.

use std::{collections::VecDeque, sync::Arc};

use super::ansi::{Ansi, Span};
pub use crate::live::stream::Applied;
use crate::types::runs::{OutputChunk, RunReplay, Stream};

/// Output a tab keeps per run; older blocks are dropped (the server's replay is the bound
/// for late joiners, this one for a tab that watches a long run).
pub const MAX_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub key: u64,
    pub stream: Stream,
    pub spans: Arc<Vec<Span>>,
    bytes: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Output {
    pub blocks: VecDeque<Block>,
    bytes: usize,
    /// Byte offset just past what this tab has.
    pub received: u64,
    /// Older output is not shown (dropped here or before the replay).
    pub truncated: bool,
    next: u64,
    out: Ansi,
    err: Ansi,
}

impl Output {
    pub fn from_replay(r: &RunReplay) -> Self {
        let mut o = Output {
            truncated: r.truncated,
            ..Default::default()
        };
        o.push(&r.chunks);
        o.received = r.end;
        o
    }

    /// Text (for history records).
    pub fn from_text(text: &str) -> Self {
        let mut o = Output::default();
        o.push(&[OutputChunk {
            stream: Stream::Stdout,
            text: text.to_owned(),
        }]);
        o
    }

    pub fn apply(&mut self, at: u64, chunks: &[OutputChunk]) -> Applied {
        let joined = Applied::join(self.received, at);
        if joined != Applied::Appended {
            return joined;
        }
        self.received += chunks.iter().map(|c| c.text.len() as u64).sum::<u64>();
        self.push(chunks);
        Applied::Appended
    }

    fn push(&mut self, chunks: &[OutputChunk]) {
        for c in chunks {
            let spans = match c.stream {
                Stream::Stdout => self.out.push(&c.text),
                Stream::Stderr => self.err.push(&c.text),
                // Input echoes and Tandem's notes are shown as they are.
                Stream::Stdin | Stream::System => vec![Span {
                    style: Default::default(),
                    text: c.text.clone(),
                }],
            };
            let bytes = c.text.len();
            self.bytes += bytes;
            self.blocks.push_back(Block {
                key: self.next,
                stream: c.stream,
                spans: Arc::new(spans),
                bytes,
            });
            self.next += 1;
        }
        while self.bytes > MAX_BYTES && self.blocks.len() > 1 {
            if let Some(b) = self.blocks.pop_front() {
                self.bytes -= b.bytes;
                self.truncated = true;
            }
        }
    }

    /// All the text shown, for tests and copying.
    pub fn text(&self) -> String {
        self.blocks
            .iter()
            .flat_map(|b| b.spans.iter().map(|s| s.text.as_str()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{
        RunId, UserId,
        runs::{RunInfo, RunReplay},
    };

    fn chunk(text: &str) -> OutputChunk {
        OutputChunk {
            stream: Stream::Stdout,
            text: text.into(),
        }
    }

    #[test]
    fn replay_and_live_events_join_without_repeats() {
        let replay = RunReplay {
            run: RunInfo {
                id: RunId(1),
                name: "x".into(),
                command: "x".into(),
                started_by: UserId(1),
                started_by_name: "a".into(),
                started_at: 0,
                ended_at: None,
                exit_code: None,
                reason: None,
            },
            chunks: vec![chunk("hello ")],
            truncated: false,
            end: 6,
        };
        let mut o = Output::from_replay(&replay);
        // The event that was already in the replay.
        assert_eq!(o.apply(0, &[chunk("hello ")]), Applied::Duplicate);
        assert_eq!(o.apply(6, &[chunk("world")]), Applied::Appended);
        assert_eq!(o.apply(20, &[chunk("?")]), Applied::Gap);
        assert_eq!(o.text(), "hello world");
    }

    #[test]
    fn keeps_a_bounded_amount() {
        let mut o = Output::default();
        let big = "x".repeat(MAX_BYTES / 4 + 1);
        for i in 0..8 {
            let at = o.received;
            assert_eq!(o.apply(at, &[chunk(&big)]), Applied::Appended, "{i}");
        }
        assert!(o.truncated);
        assert!(o.text().len() <= MAX_BYTES);
    }
}
