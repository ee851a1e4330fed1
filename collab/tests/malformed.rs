//! Malformed client input, on the stable toolchain: every decoder a client's bytes reach (the
//! `/ws` frame envelope, the y-sync/awareness message, applying it to a live document) returns an
//! error or a value, never a panic. The same checks as the `cargo fuzz` target in `collab/fuzz`,
//! over random inputs, plus the cases found so far kept as regression tests.
#![cfg(feature = "server")]

mod untrusted;

use collab::protocol;
use proptest::prelude::*;
use untrusted::feed;

/// Decoder panics are caught and turned into errors; printing each one would only slow the run.
/// A failed assertion still fails the test: proptest and libtest report it themselves.
fn quiet_panics() {
    std::panic::set_hook(Box::new(|_| {}));
}

/// `[0, 0, len, sv]`: a sync step 1 whose state vector names one client.
fn step1_with_client(client: u64) -> Vec<u8> {
    let mut sv = bytes::BytesMut::new();
    collab::wire::write_varuint(&mut sv, 1);
    collab::wire::write_varuint(&mut sv, client);
    collab::wire::write_varuint(&mut sv, 0);
    let mut msg = vec![0, 0, sv.len() as u8];
    msg.extend_from_slice(&sv);
    msg
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        quiet_panics();
        feed(&bytes);
    }

    /// Valid headers with random bodies reach the deeper decoders far more often.
    #[test]
    fn plausible_messages_never_panic(
        tag in 0u8..4,
        sub in 0u8..3,
        body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        quiet_panics();
        let mut msg = vec![tag, sub, body.len() as u8];
        msg.extend_from_slice(&body);
        feed(&msg);
        let mut framed = vec![1u8, 7];
        framed.extend_from_slice(&msg);
        feed(&framed);
    }
}

/// Found by `plausible_messages_never_panic`: yrs `debug_assert!`s that client ids fit in 53
/// bits while decoding a state vector. It must be a clean error that closes the socket.
#[test]
fn oversized_client_ids_are_refused_not_panicked_on() {
    quiet_panics();
    let ok = step1_with_client(1 << 52);
    assert!(protocol::decode(&ok).is_ok());
    let bad = step1_with_client(1 << 60);
    let got = protocol::decode(&bad);
    // With debug assertions yrs asserts (caught: an error); without, it masks the id. Either
    // way nothing panics out of the decoder.
    if cfg!(debug_assertions) {
        assert!(matches!(got, Err(protocol::ProtocolError::Malformed(_))));
    }
    feed(&bad);
}

#[test]
fn regression_cases() {
    quiet_panics();
    let cases: &[&[u8]] = &[
        b"",
        &[0],
        &[0, 0],
        &[0, 2],
        &[0, 2, 0xff, 0xff, 0xff, 0xff, 0x0f],
        &[0, 0, 1, 0xff],
        &[
            1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ],
        &[1, 1, 1, 1, 1, 2, b'{', b'}'],
        &[2, 1, b'x'],
        &[3],
        &[0, 2, 4, 1, 1, 0xff, 0x7f],
        &[0, 2, 6, 1, 1, 5, 0, 4, 0],
        &[1, 0x80],
        &[0, b'{'],
        // Found by `cargo fuzz`: an awareness update claiming ~2^48 clients (refused up
        // front), and an update whose first client claims ~2^33 blocks (yrs's fallible
        // reservation fails or reserves address space it never touches; decoding then fails).
        &[
            1, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 2, 0, 0, 0xff, 0xff, 0xff, 0, 0, 1, 0,
        ],
        &[
            0, 2, 0x13, 2, 0xf2, 0xf2, 0xf2, 0xf2, 0xf2, 0x47, 0xf0, 0xff, 0xff, 0xff, 0xff, 0, 0,
            0, 0xff, b'h', b'i', 0,
        ],
        // Found by `cargo fuzz`: accepted as a pending update, then yrs panicked merging it
        // into every full-state encoding (newcomers' handshakes, snapshots).
        &[
            0, 2, 0x13, 1, 1, 0x13, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0xff, 1, 0, 0, 1, 0xff, 0x6e,
        ],
        // Found by `cargo fuzz`: overflows yrs's block arithmetic while integrating; the
        // document reports `Poisoned` (see the engine test) instead of panicking.
        &[
            0, 2, 19, 2, 1, 1, 0, 36, 1, 0, 0, 2, 2, 19, 1, 1, 1, 0, 36, 0, 255, 167,
        ],
    ];
    for case in cases {
        feed(case);
    }
}

#[test]
fn well_formed_messages_are_accepted() {
    assert!(feed(&protocol::sync_step1(yrs::StateVector::default())));
    assert!(feed(&protocol::update(vec![0, 0])));
}
