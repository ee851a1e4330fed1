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

/// Found by `cargo fuzz` (a libFuzzer timeout): a sync step 2 whose update names client 0
/// and client 3 twice, so two blocks share an id. Integrated as they were, the document's item
/// list became a cycle and applying never returned. It must finish, and quickly; it runs on a
/// thread so a regression fails the test instead of hanging the suite.
#[test]
fn an_update_naming_a_client_twice_does_not_loop() {
    quiet_panics();
    const HEX: &str = "0001b9011d000000002300001600011a0301010000000000002a00010101011d0000230000\
        00001600011a0301030107010008000100010101000300010001010100030006030103010701000100000700\
        000000000000fcfffffffe470000d6dedeaddede290100080001000101010003000603010301810002200000\
        000000000001000001070100080001000101010003000100010101000300011a010303000700ffff033a0001\
        06dedededededededede002affffffffff01ffff";
    let bytes: Vec<u8> = (0..HEX.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&HEX[i..i + 2], 16).expect("hex"))
        .collect();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        feed(&bytes);
        let _ = done.send(());
    });
    assert!(
        finished
            .recv_timeout(std::time::Duration::from_secs(10))
            .is_ok(),
        "applying the update did not finish"
    );
}

#[test]
fn well_formed_messages_are_accepted() {
    assert!(feed(&protocol::sync_step1(yrs::StateVector::default())));
    assert!(feed(&protocol::update(vec![0, 0])));
}
