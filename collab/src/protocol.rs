//! y-sync and awareness messages as y-protocols defines them (sync.js: messageYjsSyncStep1 = 0,
//! messageYjsSyncStep2 = 1, messageYjsUpdate = 2; y-websocket: messageSync = 0,
//! messageAwareness = 1, messageAuth = 2, messageQueryAwareness = 3), decoded with yrs's own
//! codec so Tandem stays wire-compatible with every Yjs client.

use bytes::Bytes;
use yrs::{
    StateVector,
    encoding::read::Cursor,
    sync::{AwarenessUpdate, Message, SyncMessage},
    updates::{
        decoder::{Decode, DecoderV1},
        encoder::Encode,
    },
};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    #[error("malformed y-sync message: {0}")]
    Malformed(String),
    #[error("empty message")]
    Empty,
    /// Bytes after the message, or a non-canonical encoding of it: either way the frame is not
    /// exactly one message, so its bytes could not be forwarded as they are.
    #[error("the frame is not exactly one canonically encoded message")]
    NotExactlyOne,
}

/// Decodes exactly one message and insists the frame holds nothing else, so that forwarding
/// the received bytes forwards exactly what was applied. lib0 (Yjs) encodes canonically, so the
/// re-encoded length equals the frame length for every well-formed client message.
pub fn decode(frame: &[u8]) -> Result<Message, ProtocolError> {
    if frame.is_empty() {
        return Err(ProtocolError::Empty);
    }
    plausible_counts(frame)?;
    let msg = guarded(|| {
        let mut decoder = DecoderV1::new(Cursor::new(frame));
        Message::decode(&mut decoder)
    })?
    .map_err(|e| ProtocolError::Malformed(e.to_string()))?;
    if encoded_len(&msg) != frame.len() {
        return Err(ProtocolError::NotExactlyOne);
    }
    Ok(msg)
}

/// Refuses a message whose leading element count could not fit in the bytes that follow it.
/// yrs reserves room for a decoded count before reading the elements (fallibly, so nothing
/// aborts), which lets a few bytes claiming millions of entries allocate and touch hundreds
/// of megabytes before decoding fails. Checked here: a state vector's entries (≥ 2 bytes each),
/// an update's clients (≥ 3 bytes each: block count, client, clock) and an awareness update's
/// entries (≥ 3 bytes each). Found by the `cargo fuzz` target (`collab/fuzz`).
fn plausible_counts(frame: &[u8]) -> Result<(), ProtocolError> {
    use crate::wire::read_varuint;
    let varint = |at: &[u8]| read_varuint(at).ok();
    let check = |body: &[u8], min_entry: u64| -> Result<(), ProtocolError> {
        let Some((count, used)) = varint(body) else {
            return Ok(()); // Truncated: yrs reports it.
        };
        let room = (body.len() - used) as u64;
        if count > room / min_entry {
            return Err(ProtocolError::Malformed(format!(
                "claims {count} entries in {room} bytes"
            )));
        }
        Ok(())
    };
    let Some((tag, used)) = varint(frame) else {
        return Ok(());
    };
    let rest = &frame[used..];
    match tag {
        // y-protocols messageSync: sub-tag, then one length-prefixed buffer.
        0 => {
            let Some((sub, used)) = varint(rest) else {
                return Ok(());
            };
            let Some((_, len_used)) = varint(&rest[used..]) else {
                return Ok(());
            };
            let body = &rest[used + len_used..];
            match sub {
                0 => check(body, 2),
                1 | 2 => check(body, 3),
                _ => Ok(()),
            }
        }
        // messageAwareness: one length-prefixed buffer holding the entries.
        1 => {
            let Some((_, len_used)) = varint(rest) else {
                return Ok(());
            };
            check(&rest[len_used..], 3)
        }
        _ => Ok(()),
    }
}

/// Runs a yrs decoder over client bytes. yrs asserts instead of failing on some malformed input
/// (a client id over 53 bits trips a `debug_assert!` in `ClientID::new`); whatever a client
/// sends must end as an error for that connection, never as a panic in the task reading it.
pub fn guarded<T>(decode: impl FnOnce() -> T) -> Result<T, ProtocolError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode))
        .map_err(|_| ProtocolError::Malformed("rejected by the decoder".to_owned()))
}

/// The canonical encoded length of `msg`. Computed for the document messages that make up the
/// traffic (tag, sync tag, length varint, payload) so the hot path does not re-encode (copy)
/// every update; the rare other messages are encoded to measure them.
fn encoded_len(msg: &Message) -> usize {
    match msg {
        Message::Sync(SyncMessage::SyncStep2(u) | SyncMessage::Update(u)) => {
            2 + varint_len(u.len() as u64) + u.len()
        }
        other => other.encode_v1().len(),
    }
}

fn varint_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

/// The update inside an encoded sync step 2 or update message, without decoding (copying) it;
/// `None` for every other message.
pub fn update_payload(frame: &[u8]) -> Option<&[u8]> {
    use crate::wire::read_varuint;
    let (tag, a) = read_varuint(frame).ok()?;
    let (sub, b) = read_varuint(frame.get(a..)?).ok()?;
    let (len, c) = read_varuint(frame.get(a + b..)?).ok()?;
    let body = frame.get(a + b + c..)?;
    (tag == 0 && matches!(sub, 1 | 2) && body.len() as u64 == len).then_some(body)
}

pub fn encode(msg: &Message) -> Bytes {
    Bytes::from(msg.encode_v1())
}

pub fn sync_step1(sv: StateVector) -> Bytes {
    encode(&Message::Sync(SyncMessage::SyncStep1(sv)))
}

pub fn sync_step2(update: Vec<u8>) -> Bytes {
    encode(&Message::Sync(SyncMessage::SyncStep2(update)))
}

pub fn update(update: Vec<u8>) -> Bytes {
    encode(&Message::Sync(SyncMessage::Update(update)))
}

pub fn awareness(update: AwarenessUpdate) -> Bytes {
    encode(&Message::Awareness(update))
}

/// Awareness states per message when catching a client up. Sending every state in one message
/// would grow that connection's write buffer to the size of all of them (n × ~60 B), and the
/// buffer keeps its capacity for the life of the connection; chunks keep it small.
/// 16 states are about 1 KB (64 kept 4.5 KB per connection on a document with 1,000 cursors).
pub const AWARENESS_CHUNK: usize = 16;

/// The full awareness state, as sent to a client that just subscribed, in messages of at most
/// [`AWARENESS_CHUNK`] states (an awareness update may carry any subset of clients).
#[cfg(feature = "server")]
pub fn awareness_snapshot(awareness: &yrs::sync::Awareness) -> Vec<Bytes> {
    let Ok(update) = awareness.update() else {
        return Vec::new();
    };
    let mut messages = Vec::new();
    let mut chunk = std::collections::HashMap::new();
    for (id, entry) in update.clients {
        chunk.insert(id, entry);
        if chunk.len() == AWARENESS_CHUNK {
            messages.push(self::awareness(AwarenessUpdate {
                clients: std::mem::take(&mut chunk),
            }));
        }
    }
    if !chunk.is_empty() {
        messages.push(self::awareness(AwarenessUpdate { clients: chunk }));
    }
    messages
}

/// Tells a read-only client that its write was refused (y-protocols auth message).
pub fn permission_denied(reason: &str) -> Bytes {
    encode(&Message::Auth(Some(reason.to_owned())))
}

/// The refusal reason while the server is in maintenance: documents are read-only for every
/// client until it lifts (the client keeps its edit and sends it in the next handshake).
pub const MAINTENANCE: &str = "maintenance";

/// The start of the refusal reason for an update that would take a document past its size
/// limit; clients tell it from "read-only" by this prefix.
pub const DOCUMENT_FULL: &str = "document-full";

/// The refusal reason for a document at its size limit of `limit` bytes.
pub fn document_full_reason(limit: u64) -> String {
    let mib = limit as f64 / f64::from(1u32 << 20);
    format!(
        "{DOCUMENT_FULL}: This file reached its size limit ({mib:.1} MiB). Your last edit was not \
         saved: close and reopen the file, then make room by deleting text."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_payloads_are_found_in_place() {
        let payload = vec![7u8; 300];
        for msg in [update(payload.clone()), sync_step2(payload.clone())] {
            assert_eq!(update_payload(&msg), Some(&payload[..]));
        }
        assert_eq!(update_payload(&sync_step1(StateVector::default())), None);
        assert_eq!(update_payload(&[1, 3, 0, 0, 0]), None);
        assert_eq!(update_payload(&[0, 2, 5, 1]), None);
        assert_eq!(update_payload(&[]), None);
    }

    #[test]
    fn computed_lengths_match_encoding() {
        for n in [0usize, 1, 127, 128, 300, 16_384, 70_000] {
            for msg in [
                Message::Sync(SyncMessage::Update(vec![7; n])),
                Message::Sync(SyncMessage::SyncStep2(vec![7; n])),
            ] {
                assert_eq!(encoded_len(&msg), msg.encode_v1().len(), "n = {n}");
            }
        }
    }

    #[cfg(feature = "server")]
    #[test]
    fn awareness_snapshots_come_in_bounded_chunks() {
        use yrs::{ClientID, Doc, sync::Awareness, sync::awareness::AwarenessUpdateEntry};
        let mut awareness = Awareness::new(Doc::new());
        let clients = (1..=(2 * AWARENESS_CHUNK as u64 + 5))
            .map(|id| {
                let entry = AwarenessUpdateEntry {
                    clock: 1,
                    json: format!(r#"{{"user":{{"id":{id}}}}}"#).into(),
                };
                (ClientID::new(id), entry)
            })
            .collect();
        awareness
            .apply_update(AwarenessUpdate { clients })
            .expect("applies");
        let chunks = awareness_snapshot(&awareness);
        assert_eq!(chunks.len(), 3);
        let mut seen = 0;
        for chunk in chunks {
            let Ok(Message::Awareness(update)) = decode(&chunk) else {
                panic!("not an awareness message");
            };
            assert!(update.clients.len() <= AWARENESS_CHUNK);
            seen += update.clients.len();
        }
        assert_eq!(seen, 2 * AWARENESS_CHUNK + 5);
    }

    #[test]
    fn counts_larger_than_the_message_are_refused() {
        // The fuzzer's input: an awareness update claiming ~2^48 clients in 8 bytes.
        let bomb = [
            1u8, 0x0b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f, 0, 0, 1, 0,
        ];
        assert!(matches!(decode(&bomb), Err(ProtocolError::Malformed(m)) if m.contains("claims")));
        // A state vector claiming 2^31 entries, and an update claiming 2^31 clients.
        let sv = [0u8, 0, 6, 0x80, 0x80, 0x80, 0x80, 0x08, 1];
        assert!(matches!(decode(&sv), Err(ProtocolError::Malformed(m)) if m.contains("claims")));
        let update = [0u8, 2, 6, 0x80, 0x80, 0x80, 0x80, 0x08, 0];
        assert!(
            matches!(decode(&update), Err(ProtocolError::Malformed(m)) if m.contains("claims"))
        );
        // Real messages pass.
        assert!(decode(&sync_step1(StateVector::default())).is_ok());
        assert!(decode(&update_msg_with_one_client()).is_ok());
    }

    fn update_msg_with_one_client() -> Bytes {
        use yrs::{Doc, ReadTxn, Text, Transact};
        let doc = Doc::new();
        let text = doc.get_or_insert_text("content");
        text.insert(&mut doc.transact_mut(), 0, "hi");
        update(
            doc.transact()
                .encode_state_as_update_v1(&StateVector::default()),
        )
    }

    #[test]
    fn round_trips_and_rejects_garbage() {
        let step1 = sync_step1(StateVector::default());
        assert!(matches!(
            decode(&step1),
            Ok(Message::Sync(SyncMessage::SyncStep1(_)))
        ));
        let upd = update(vec![0, 0]);
        assert!(matches!(
            decode(&upd),
            Ok(Message::Sync(SyncMessage::Update(_)))
        ));

        assert_eq!(decode(&[]), Err(ProtocolError::Empty));
        let mut trailing = upd.to_vec();
        trailing.push(7);
        assert_eq!(decode(&trailing), Err(ProtocolError::NotExactlyOne));
        // Unknown sync sub-tag, truncated buffers, absurd lengths.
        for bad in [
            &[0u8, 9][..],
            &[0, 2, 10, 1],
            &[0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f],
            &[1, 5, 1],
        ] {
            assert!(
                matches!(decode(bad), Err(ProtocolError::Malformed(_))),
                "{bad:?} accepted"
            );
        }
    }
}
