//! Every decoder a client's bytes reach on the server, in the order the server runs them: the
//! `/ws` frame envelope, the y-sync/awareness message inside it, and applying the update or
//! awareness change to a live document. None of them may panic, whatever the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/untrusted/mod.rs"]
mod untrusted;

fuzz_target!(
    init: {
        // libfuzzer-sys aborts on every panic, even one the server catches: the decoders run
        // under `protocol::guarded`, which turns yrs's assertions into errors. A panic that
        // escapes still reaches libfuzzer-sys's own catch_unwind and aborts: a crash.
        std::panic::set_hook(Box::new(|_| {}));
    },
    |data: &[u8]| {
        untrusted::feed(data);
    }
);
