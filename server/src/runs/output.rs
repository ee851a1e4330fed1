//! A run's output on its way to the project channel: bytes cut at UTF-8 boundaries, coalesced
//! into chunks (one event per [`FLUSH_EVERY`] or [`FLUSH_BYTES`], whichever comes first, so a
//! program printing as fast as it can sends a few dozen events a second, not thousands), and a
//! bounded replay of the latest output for members who open the project mid-run.

use std::{collections::VecDeque, time::Duration};

use app::types::runs::{OutputChunk, Stream};

use crate::envs::Masker;

/// Longest a byte waits before it is sent.
pub const FLUSH_EVERY: Duration = Duration::from_millis(16);
/// Pending bytes that are sent at once, without waiting.
pub const FLUSH_BYTES: usize = 16 * 1024;

/// When pending output goes out: at once after a quiet spell (a keystroke's echo, a program's
/// first line), else [`FLUSH_EVERY`] after the previous event, so a steady stream still makes
/// at most about 60 events a second.
#[derive(Default)]
pub struct Pace {
    last: Option<tokio::time::Instant>,
}

impl Pace {
    pub fn due(&self) -> tokio::time::Instant {
        let now = tokio::time::Instant::now();
        self.last.map_or(now, |l| (l + FLUSH_EVERY).max(now))
    }

    /// An event went out now.
    pub fn sent(&mut self) {
        self.last = Some(tokio::time::Instant::now());
    }
}

/// How long the end of a stream that may start a secret is held back once output pauses
/// (`envs::mask`): long enough that a secret cut by a full pipe buffer is still found whole,
/// short enough that a prompt or a typed character shows without a noticeable wait.
pub const MASK_HOLD: Duration = Duration::from_millis(250);

/// One output stream (a run's stdout or stderr, a terminal's pty) as text with the
/// environment's secrets masked.
pub struct Decoded {
    text: Utf8Tail,
    mask: Masker,
}

impl Decoded {
    pub fn new(mask: Masker) -> Self {
        Self {
            text: Utf8Tail::default(),
            mask,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) -> String {
        let text = self.text.push(bytes);
        self.mask.push(&text)
    }

    /// Whether some of the text is held back (it may start a secret).
    pub fn holds(&self) -> bool {
        self.mask.holds()
    }

    /// The held-back text after a pause, masked as it stands.
    pub fn release(&mut self) -> String {
        self.mask.release()
    }

    /// What is left at the end of the stream.
    pub fn finish(&mut self) -> String {
        let rest = self.text.finish();
        let mut out = self.mask.push(&rest);
        out.push_str(&self.mask.release());
        out
    }
}

/// Turns a byte stream into text without splitting a character across chunks; invalid bytes
/// become U+FFFD.
#[derive(Default)]
pub struct Utf8Tail {
    carry: Vec<u8>,
}

impl Utf8Tail {
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.carry.extend_from_slice(bytes);
        // Keep up to 3 bytes of an unfinished character for the next read.
        let cut = complete_prefix(&self.carry);
        let rest = self.carry.split_off(cut);
        let text = String::from_utf8_lossy(&self.carry).into_owned();
        self.carry = rest;
        text
    }

    /// What is left at the end of the stream.
    pub fn finish(&mut self) -> String {
        let text = String::from_utf8_lossy(&self.carry).into_owned();
        self.carry.clear();
        text
    }
}

/// The length of `b` without a trailing, incomplete UTF-8 sequence.
fn complete_prefix(b: &[u8]) -> usize {
    let n = b.len();
    for back in 1..=3.min(n) {
        let byte = b[n - back];
        if byte & 0xC0 == 0x80 {
            continue; // a continuation byte: look further back for the lead
        }
        let need = match byte {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => return n, // ASCII or invalid: nothing to wait for
        };
        return if back < need { n - back } else { n };
    }
    n
}

/// Output not sent yet, in order, with adjacent text of the same stream merged.
#[derive(Default)]
pub struct Pending {
    chunks: Vec<OutputChunk>,
    bytes: usize,
}

impl Pending {
    pub fn push(&mut self, stream: Stream, text: String) {
        if text.is_empty() {
            return;
        }
        self.bytes += text.len();
        match self.chunks.last_mut() {
            Some(last) if last.stream == stream => last.text.push_str(&text),
            _ => self.chunks.push(OutputChunk { stream, text }),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    pub fn full(&self) -> bool {
        self.bytes >= FLUSH_BYTES
    }

    pub fn take(&mut self) -> Vec<OutputChunk> {
        self.bytes = 0;
        std::mem::take(&mut self.chunks)
    }
}

/// The latest output of a run, at most `cap` bytes: what a member who arrives mid-run sees
/// first. Older chunks fall off the front (cut at a character boundary).
pub struct Replay {
    chunks: VecDeque<OutputChunk>,
    bytes: usize,
    cap: usize,
    /// Whether anything fell off.
    pub truncated: bool,
}

impl Replay {
    pub fn new(cap: usize) -> Self {
        Replay {
            chunks: VecDeque::new(),
            bytes: 0,
            cap,
            truncated: false,
        }
    }

    pub fn extend(&mut self, chunks: &[OutputChunk]) {
        for c in chunks {
            self.bytes += c.text.len();
            match self.chunks.back_mut() {
                Some(last) if last.stream == c.stream => last.text.push_str(&c.text),
                _ => self.chunks.push_back(c.clone()),
            }
        }
        while self.bytes > self.cap {
            let over = self.bytes - self.cap;
            let Some(front) = self.chunks.front_mut() else {
                break;
            };
            self.truncated = true;
            if front.text.len() <= over {
                self.bytes -= front.text.len();
                self.chunks.pop_front();
            } else {
                let mut cut = over;
                while !front.text.is_char_boundary(cut) {
                    cut += 1;
                }
                front.text.drain(..cut);
                self.bytes -= cut;
            }
        }
    }

    pub fn chunks(&self) -> Vec<OutputChunk> {
        self.chunks.iter().cloned().collect()
    }

    /// The last `max` bytes as one text (for the history's tail).
    pub fn tail(&self, max: usize) -> String {
        let all: String = self.chunks.iter().map(|c| c.text.as_str()).collect();
        if all.len() <= max {
            return all;
        }
        let mut cut = all.len() - max;
        while !all.is_char_boundary(cut) {
            cut += 1;
        }
        all[cut..].to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn output_after_a_quiet_spell_goes_at_once_and_a_stream_is_paced() {
        let mut pace = Pace::default();
        let now = tokio::time::Instant::now();
        assert_eq!(pace.due(), now, "the first bytes wait for nothing");
        pace.sent();
        assert_eq!(
            pace.due(),
            now + FLUSH_EVERY,
            "the next event waits its turn"
        );
        tokio::time::advance(FLUSH_EVERY * 3).await;
        assert_eq!(
            pace.due(),
            tokio::time::Instant::now(),
            "quiet again: at once"
        );
    }

    #[test]
    fn characters_are_never_split() {
        let mut t = Utf8Tail::default();
        let bytes = "é€😀".as_bytes();
        let mut out = String::new();
        for b in bytes {
            out.push_str(&t.push(&[*b]));
        }
        out.push_str(&t.finish());
        assert_eq!(out, "é€😀");
        assert_eq!(t.push(&[0xff, b'a']), "\u{fffd}a");
    }

    #[test]
    fn pending_merges_one_stream_and_keeps_order() {
        let mut p = Pending::default();
        p.push(Stream::Stdout, "a".into());
        p.push(Stream::Stdout, "b".into());
        p.push(Stream::Stderr, "c".into());
        p.push(Stream::Stdout, "d".into());
        let chunks = p.take();
        assert_eq!(chunks.len(), 3);
        assert_eq!(chunks[0].text, "ab");
        assert!(p.is_empty());
    }

    #[test]
    fn replay_keeps_the_latest_bytes() {
        let mut r = Replay::new(10);
        r.extend(&[OutputChunk {
            stream: Stream::Stdout,
            text: "0123456789".into(),
        }]);
        assert!(!r.truncated);
        r.extend(&[OutputChunk {
            stream: Stream::Stderr,
            text: "abcé".into(),
        }]);
        assert!(r.truncated);
        let text: String = r.chunks().iter().map(|c| c.text.clone()).collect();
        assert!(text.len() <= 11, "{text}");
        assert!(text.ends_with("abcé"));
        assert_eq!(r.tail(3), "cé");
    }
}
