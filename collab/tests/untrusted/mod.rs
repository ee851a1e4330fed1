//! What the server does with a client's bytes, as one function: the `/ws` frame envelope, the
//! y-sync/awareness message, applying it to a live document, then encoding the document as a
//! handshake and a snapshot would. Shared by the stable regression tests (`malformed.rs`) and
//! the `cargo fuzz` target (`collab/fuzz`), so both always check the same thing.
#![allow(dead_code, unreachable_pub)]

use bytes::Bytes;
use collab::{Frame, doc::LiveDoc, protocol};
use yrs::sync::{Message, SyncMessage};

/// Runs `bytes` through everything the server would, both as a `/yjs` message and as a `/ws`
/// frame. Returns whether a message was accepted.
pub fn feed(bytes: &[u8]) -> bool {
    let mut accepted = check_message(bytes);
    if let Ok(frame) = Frame::decode(Bytes::copy_from_slice(bytes), 1 << 20) {
        let again = Frame::decode(frame.encode(), 1 << 20).expect("re-encoded frames decode");
        assert_eq!(again, frame);
        accepted |= check_message(&frame.payload);
    }
    accepted
}

fn check_message(bytes: &[u8]) -> bool {
    let Ok(msg) = protocol::decode(bytes) else {
        return false;
    };
    let mut live = LiveDoc::restore(None, []).expect("empty document");
    match msg {
        Message::Sync(SyncMessage::SyncStep2(u) | SyncMessage::Update(u)) => {
            // A poisoned document is retired by the engine and never used again (its write
            // lock is deliberately leaked), so the check stops there too.
            let poisoned = matches!(live.apply(&u), Err(collab::doc::DocError::Poisoned));
            if !poisoned {
                let _ = live.snapshot();
                let _ = live.diff(&yrs::StateVector::default());
            }
        }
        Message::Sync(SyncMessage::SyncStep1(sv)) => {
            let _ = live.diff(&sv);
        }
        Message::Awareness(update) => {
            let _ = live.awareness_mut().apply_update(update);
        }
        _ => {}
    }
    true
}
