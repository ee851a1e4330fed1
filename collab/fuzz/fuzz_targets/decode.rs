//! Every decoder a client's bytes reach on the server, in the order the server runs them: the
//! `/ws` frame envelope, the y-sync/awareness message inside it, and applying the update or
//! awareness change to a live document. None of them may panic, whatever the input.
#![no_main]

use collab::{Frame, doc::LiveDoc, protocol};
use libfuzzer_sys::fuzz_target;
use yrs::sync::{Message, SyncMessage};

fuzz_target!(
    init: {
        // libfuzzer-sys aborts on every panic, even one the server catches: the decoders run
        // under `protocol::guarded`, which turns yrs's assertions into errors. A panic that
        // escapes still reaches libfuzzer-sys's own catch_unwind and aborts: a crash.
        std::panic::set_hook(Box::new(|_| {}));
    },
    |data: &[u8]| {
    // `/yjs` hands the bytes straight to the protocol decoder; `/ws` unwraps a frame first.
    check_message(data);
    if let Ok(frame) = Frame::decode(bytes::Bytes::copy_from_slice(data), 1 << 20) {
        let again = Frame::decode(frame.encode(), 1 << 20).expect("re-encoded frames decode");
        assert_eq!(again, frame);
        check_message(&frame.payload);
    }
});

fn check_message(bytes: &[u8]) {
    let Ok(msg) = protocol::decode(bytes) else {
        return;
    };
    let Ok(mut live) = LiveDoc::restore(None, []) else {
        return;
    };
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
}
