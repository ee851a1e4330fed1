//! A run's output as a tab holds it: rendered blocks (one per event, ANSI already parsed),
//! bounded, with the byte offset received so far so the replay and the live events join
//! without a gap or a repeat.

use std::{collections::VecDeque, sync::Arc};

use super::ansi::{Ansi, Span};
pub use crate::live::stream::Applied;
use crate::types::runs::{OutputChunk, RunReplay, Stream};

/// Output a tab keeps per run; older blocks are dropped (the server's replay is the bound
/// for late joiners, this one for a tab that watches a long run).
pub const MAX_BYTES: usize = 256 << 10;
/// Lines a tab shows per run: the browser lays out every line of the output on each update,
/// so a program printing short lines as fast as it may (`yes`) must not grow it without end.
pub const MAX_LINES: usize = 2_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub key: u64,
    pub stream: Stream,
    pub spans: Arc<Vec<Span>>,
    bytes: usize,
    lines: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Output {
    pub blocks: VecDeque<Block>,
    bytes: usize,
    lines: usize,
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
            let lines = newlines(&c.text);
            self.bytes += bytes;
            self.lines += lines;
            self.blocks.push_back(Block {
                key: self.next,
                stream: c.stream,
                spans: Arc::new(spans),
                bytes,
                lines,
            });
            self.next += 1;
        }
        // Whole blocks go first: past the byte bound, or while enough lines are left without
        // them; then the first block is cut to the line bound.
        while let Some(f) = self.blocks.front()
            && self.blocks.len() > 1
            && (self.bytes > MAX_BYTES
                || self.lines - f.lines >= MAX_LINES && self.lines > MAX_LINES)
        {
            let (bytes, lines) = (f.bytes, f.lines);
            self.blocks.pop_front();
            self.bytes -= bytes;
            self.lines -= lines;
            self.truncated = true;
        }
        if self.lines > MAX_LINES {
            self.cut_front(self.lines - MAX_LINES);
        }
    }

    /// Drops the first `drop` lines of the first block (it holds more than the limit on its
    /// own); the block gets a new key, so the view draws it again.
    fn cut_front(&mut self, drop: usize) {
        let Some(front) = self.blocks.pop_front() else {
            return;
        };
        let mut left = drop;
        let mut spans = Vec::with_capacity(front.spans.len());
        for span in front.spans.iter() {
            if left == 0 {
                spans.push(span.clone());
                continue;
            }
            let mut cut = None;
            for (i, _) in span.text.match_indices('\n') {
                left -= 1;
                if left == 0 {
                    cut = Some(i + 1);
                    break;
                }
            }
            if let Some(at) = cut
                && at < span.text.len()
            {
                spans.push(Span {
                    style: span.style,
                    text: span.text[at..].to_owned(),
                });
            }
        }
        let bytes: usize = spans.iter().map(|s| s.text.len()).sum();
        let lines = front.lines - drop;
        self.bytes = self.bytes - front.bytes + bytes;
        self.lines = self.lines - front.lines + lines;
        self.truncated = true;
        self.blocks.push_front(Block {
            key: self.next,
            stream: front.stream,
            spans: Arc::new(spans),
            bytes,
            lines,
        });
        self.next += 1;
    }

    /// All the text shown, for tests and copying.
    pub fn text(&self) -> String {
        self.blocks
            .iter()
            .flat_map(|b| b.spans.iter().map(|s| s.text.as_str()))
            .collect()
    }
}

fn newlines(text: &str) -> usize {
    text.bytes().filter(|&b| b == b'\n').count()
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
                environment: None,
            },
            chunks: vec![chunk("hello ")],
            truncated: false,
            end: 6,
            samples: Vec::new(),
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

    #[test]
    fn a_flood_of_short_lines_keeps_the_last_lines_only() {
        let mut o = Output::default();
        let chunk16k = "y\n".repeat(8192);
        let mut at = 0;
        for _ in 0..5 {
            assert_eq!(o.apply(at, &[chunk(&chunk16k)]), Applied::Appended);
            at += chunk16k.len() as u64;
        }
        let text = o.text();
        assert_eq!(text.matches('\n').count(), MAX_LINES);
        assert!(text.starts_with("y\n") && text.ends_with("y\n"));
        assert!(o.truncated);
        assert_eq!(o.received, at);
        // Keys stay unique, so the view never confuses two blocks.
        let mut keys: Vec<u64> = o.blocks.iter().map(|b| b.key).collect();
        keys.dedup();
        assert_eq!(keys.len(), o.blocks.len());
    }
}

/// Which streams the output view shows, and the text a line must contain (empty: any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFilter {
    pub out: bool,
    pub err: bool,
    pub input: bool,
    pub text: String,
}

impl Default for LogFilter {
    fn default() -> Self {
        Self {
            out: true,
            err: true,
            input: true,
            text: String::new(),
        }
    }
}

impl LogFilter {
    pub fn shows(&self, stream: Stream) -> bool {
        match stream {
            Stream::Stdout => self.out,
            Stream::Stderr => self.err,
            Stream::Stdin => self.input,
            Stream::System => true,
        }
    }
}

/// The lines of `output` the filter lets through (a line is cut where a stream's text has a
/// newline; text of one stream continued over several blocks is one line), with how many
/// lines there were. The text matches without regard to case.
pub fn filtered_lines(output: &Output, filter: &LogFilter) -> (Vec<(Stream, String)>, usize) {
    let mut lines: Vec<(Stream, String)> = Vec::new();
    // Whether the last line of each stream is still open (no newline yet).
    let mut open: Vec<(Stream, usize)> = Vec::new();
    for block in &output.blocks {
        let text: String = block.spans.iter().map(|s| s.text.as_str()).collect();
        for (i, piece) in text.split('\n').enumerate() {
            let continues = i == 0 && open.iter().any(|(s, _)| *s == block.stream);
            if continues {
                if let Some(&(_, at)) = open.iter().find(|(s, _)| *s == block.stream) {
                    lines[at].1.push_str(piece);
                }
            } else {
                lines.push((block.stream, piece.to_owned()));
                open.retain(|(s, _)| *s != block.stream);
                open.push((block.stream, lines.len() - 1));
            }
        }
        // Text ending in a newline leaves an empty open line behind: that is the next line.
    }
    // The empty pieces after a final newline are not lines.
    lines.retain(|(_, l)| !l.is_empty());
    let total = lines.len();
    let needle = filter.text.to_lowercase();
    lines.retain(|(stream, line)| {
        filter.shows(*stream) && (needle.is_empty() || line.to_lowercase().contains(&needle))
    });
    (lines, total)
}

#[cfg(test)]
mod filter_tests {
    use super::*;

    fn chunk(stream: Stream, text: &str) -> OutputChunk {
        OutputChunk {
            stream,
            text: text.into(),
        }
    }

    #[test]
    fn lines_join_across_blocks_and_filter_by_stream_and_text() {
        let mut out = Output::default();
        out.push(&[
            chunk(Stream::Stdout, "line 1\nli"),
            chunk(Stream::Stderr, "Warning: slow\n"),
            chunk(Stream::Stdout, "ne 2\nDONE\n"),
        ]);
        let all = LogFilter::default();
        let (lines, total) = filtered_lines(&out, &all);
        let texts: Vec<&str> = lines.iter().map(|l| l.1.as_str()).collect();
        assert_eq!(texts, ["line 1", "line 2", "Warning: slow", "DONE"]);
        assert_eq!(total, 4);
        let errors_only = LogFilter {
            out: false,
            ..LogFilter::default()
        };
        let (lines, _) = filtered_lines(&out, &errors_only);
        assert_eq!(lines, vec![(Stream::Stderr, "Warning: slow".to_owned())]);
        let text = LogFilter {
            text: "done".into(),
            ..LogFilter::default()
        };
        assert_eq!(filtered_lines(&out, &text).0.len(), 1);
    }
}
