//! Server-sent events as the OpenAI-compatible streaming API sends them
//! (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):
//! lines `data: …`, an event ends at a blank line, `:` starts a comment. Bytes arrive in chunks
//! cut anywhere, even inside a UTF-8 character, so the parser buffers until a line ends.
//!
//! Written here rather than taken from `eventsource-stream`: that crate buffers an event of any
//! size, and a provider (or whatever answers at its URL) streaming one endless line would grow
//! the server's memory without bound. This parser refuses an event past [`MAX_EVENT_BYTES`].

/// An event bigger than this is not a token stream: the provider is misbehaving.
pub const MAX_EVENT_BYTES: usize = 1 << 20;

#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub struct TooLarge;

impl SseParser {
    /// Feeds a chunk; returns the data of every event it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<String>, TooLarge> {
        let mut events = Vec::new();
        for &b in chunk {
            if b != b'\n' {
                self.line.push(b);
                if self.line.len() + self.data.len() > MAX_EVENT_BYTES {
                    return Err(TooLarge);
                }
                continue;
            }
            if self.line.last() == Some(&b'\r') {
                self.line.pop();
            }
            let line = std::mem::take(&mut self.line);
            if line.is_empty() {
                if self.has_data {
                    events.push(String::from_utf8_lossy(&self.data).into_owned());
                }
                self.data.clear();
                self.has_data = false;
            } else if let Some(value) = line.strip_prefix(b"data:") {
                let value = value.strip_prefix(b" ").unwrap_or(value);
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            // Comments (`:`), `event:`, `id:` and `retry:` lines carry nothing we use.
        }
        Ok(events)
    }

    /// The stream ended: an event not closed by a blank line still counts.
    pub fn finish(&mut self) -> Option<String> {
        self.push(b"\n\n").ok()?.pop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = ": keep-alive\r\n\r\ndata: {\"a\":\"é\"}\r\n\r\nevent: x\ndata: one\ndata: two\n\ndata:[DONE]\n\n";

    #[test]
    fn events_survive_any_chunking() {
        let bytes = STREAM.as_bytes();
        let want = vec![
            "{\"a\":\"é\"}".to_owned(),
            "one\ntwo".into(),
            "[DONE]".into(),
        ];
        for size in 1..bytes.len() {
            let mut p = SseParser::default();
            let mut got = Vec::new();
            for chunk in bytes.chunks(size) {
                got.extend(p.push(chunk).expect("within bounds"));
            }
            assert_eq!(got, want, "chunks of {size}");
        }
    }

    #[test]
    fn an_unterminated_last_event_counts_and_huge_ones_are_refused() {
        let mut p = SseParser::default();
        assert!(p.push(b"data: last").expect("ok").is_empty());
        assert_eq!(p.finish().as_deref(), Some("last"));
        let mut p = SseParser::default();
        assert_eq!(p.push(&vec![b'x'; MAX_EVENT_BYTES + 1]), Err(TooLarge));
    }
}
