//! The `/ws` frame envelope: one websocket per browser tab carries many channels, so every binary
//! frame starts with a tag naming its channel, followed by the channel's own payload (y-sync bytes
//! for documents, project events for the project channel).
//!
//! Layout: `tag: u8` then, for documents, `doc_id: varuint`, then the payload verbatim. Varints are
//! lib0's unsigned LEB128 so the same reader serves the y-sync messages inside the payload.

use bytes::{BufMut, Bytes, BytesMut};

/// Identifies one yrs document (one per file). Server-assigned, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocId(pub u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Tree changes, chat, presence, run output and saved acknowledgements for the tab's project.
    Project,
    /// Standard y-sync / awareness messages for one document.
    Doc(DocId),
}

const TAG_PROJECT: u8 = 0;
const TAG_DOC: u8 = 1;
/// A u64 never needs more than ten LEB128 bytes; more is a malformed (or hostile) frame.
const MAX_VARINT_LEN: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub channel: Channel,
    pub payload: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("empty frame")]
    Empty,
    #[error("unknown channel tag {0}")]
    UnknownChannel(u8),
    #[error("frame ends inside a varint")]
    TruncatedVarint,
    #[error("varint longer than 64 bits")]
    VarintOverflow,
    #[error("frame of {size} bytes exceeds the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
}

impl Frame {
    pub fn new(channel: Channel, payload: impl Into<Bytes>) -> Self {
        Self {
            channel,
            payload: payload.into(),
        }
    }

    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.payload.len() + 1 + MAX_VARINT_LEN);
        match self.channel {
            Channel::Project => out.put_u8(TAG_PROJECT),
            Channel::Doc(DocId(id)) => {
                out.put_u8(TAG_DOC);
                write_varuint(&mut out, id);
            }
        }
        out.extend_from_slice(&self.payload);
        out.freeze()
    }

    /// Decodes a frame without copying the payload. `limit` bounds the whole frame so that a
    /// transport which forgot its own limit still cannot hand an oversized frame to the engine.
    pub fn decode(frame: Bytes, limit: usize) -> Result<Self, WireError> {
        if frame.len() > limit {
            return Err(WireError::TooLarge {
                size: frame.len(),
                limit,
            });
        }
        let (&tag, rest) = frame.split_first().ok_or(WireError::Empty)?;
        let (channel, header_len) = match tag {
            TAG_PROJECT => (Channel::Project, 1),
            TAG_DOC => {
                let (id, used) = read_varuint(rest)?;
                (Channel::Doc(DocId(id)), 1 + used)
            }
            other => return Err(WireError::UnknownChannel(other)),
        };
        Ok(Self {
            channel,
            payload: frame.slice(header_len..),
        })
    }
}

pub fn write_varuint(out: &mut BytesMut, mut value: u64) {
    while value >= 0x80 {
        out.put_u8((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.put_u8(value as u8);
}

/// Returns the value and the number of bytes it took.
pub fn read_varuint(input: &[u8]) -> Result<(u64, usize), WireError> {
    let mut value: u64 = 0;
    for (i, &byte) in input.iter().enumerate().take(MAX_VARINT_LEN) {
        let bits = u64::from(byte & 0x7f);
        let shift = 7 * i as u32;
        // The tenth byte may only carry the single remaining bit of a u64.
        if i == MAX_VARINT_LEN - 1 && bits > 1 {
            return Err(WireError::VarintOverflow);
        }
        value |= bits << shift;
        if byte & 0x80 == 0 {
            return Ok((value, i + 1));
        }
    }
    if input.len() >= MAX_VARINT_LEN {
        Err(WireError::VarintOverflow)
    } else {
        Err(WireError::TruncatedVarint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_both_channels() {
        for channel in [
            Channel::Project,
            Channel::Doc(DocId(0)),
            Channel::Doc(DocId(300)),
            Channel::Doc(DocId(u64::MAX)),
        ] {
            let frame = Frame::new(channel, &b"\x00\x01payload"[..]);
            let decoded = Frame::decode(frame.encode(), 1 << 20).expect("decodes");
            assert_eq!(decoded, frame);
        }
    }

    #[test]
    fn varints_match_lib0() {
        // lib0 encodes 300 as [0xac, 0x02] (unsigned LEB128).
        let mut out = BytesMut::new();
        write_varuint(&mut out, 300);
        assert_eq!(&out[..], &[0xac, 0x02]);
        assert_eq!(read_varuint(&out).expect("reads"), (300, 2));
    }

    #[test]
    fn rejects_malformed_frames() {
        let cases: &[(&[u8], WireError)] = &[
            (b"", WireError::Empty),
            (b"\x07abc", WireError::UnknownChannel(7)),
            (b"\x01", WireError::TruncatedVarint),
            (b"\x01\x80\x80", WireError::TruncatedVarint),
            (
                b"\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f",
                WireError::VarintOverflow,
            ),
            (
                b"\x01\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",
                WireError::VarintOverflow,
            ),
        ];
        for (input, expected) in cases {
            let got = Frame::decode(Bytes::copy_from_slice(input), 1024);
            assert_eq!(got.as_ref().err(), Some(expected), "input {input:?}");
        }
    }

    #[test]
    fn enforces_the_size_limit() {
        let frame = Frame::new(Channel::Project, vec![0u8; 100]).encode();
        assert_eq!(
            Frame::decode(frame, 50),
            Err(WireError::TooLarge {
                size: 101,
                limit: 50
            })
        );
    }
}
