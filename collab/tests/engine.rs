//! The live-document engine driven by real yrs clients over in-memory subscriptions: sync
//! handshake, fan-out, durable acknowledgements, group commit, read-only refusal, slow-consumer
//! disconnects, idle unload, compaction, awareness and two nodes over the bus.
#![cfg(feature = "server")]

mod common;

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use collab::{
    bus::{InProcessBus, NodeId},
    engine::{Access, Budget, Engine, EngineConfig, Outbound},
    protocol,
    store::{Author, DocStore, MemoryStore},
    testing,
};
use common::{Client, DOC, converge, eventually, text_of};
use yrs::{Doc, Text, Transact, sync::Awareness};

fn engine(store: Arc<MemoryStore>, bus: InProcessBus, node: u64, config: EngineConfig) -> Engine {
    Engine::new(store, Arc::new(bus), NodeId(node), config)
}

/// One node on a store of its own that the test does not look into.
fn memory_engine() -> Engine {
    engine(
        Arc::new(MemoryStore::default()),
        InProcessBus::default(),
        1,
        fast(),
    )
}

fn fast() -> EngineConfig {
    EngineConfig {
        idle_unload: Duration::from_millis(100),
        ..EngineConfig::default()
    }
}

#[tokio::test]
async fn two_clients_converge_and_edits_are_acknowledged_once_durable() {
    let store = Arc::new(MemoryStore::default());
    let e = engine(store.clone(), InProcessBus::default(), 1, fast());
    let mut a = Client::join(&e, Access::ReadWrite).await;
    let mut b = Client::join(&e, Access::ReadWrite).await;
    a.insert(0, "hello").await;
    b.until_text("hello").await;
    b.insert(5, " world").await;
    a.insert(0, ">> ").await;
    // Both acknowledged (durable) and both holding the engine's text.
    let text = converge(&e, &mut [&mut a, &mut b]).await;
    assert_eq!(text, ">> hello world");

    // A late joiner gets everything through the handshake.
    let c = Client::join(&e, Access::ReadOnly).await;
    assert_eq!(c.text(), ">> hello world");
    // And the store alone reproduces it.
    let stored = store.load(DOC).await.expect("load");
    assert_eq!(
        text_of(stored.snapshot.as_deref(), &stored.updates),
        ">> hello world"
    );
}

#[tokio::test]
async fn each_update_is_logged_with_its_subscribers_author_and_server_writes_with_theirs() {
    let store = Arc::new(MemoryStore::default());
    let e = engine(store.clone(), InProcessBus::default(), 1, fast());
    let ann = Author {
        user: Some(1),
        via: 1,
    };
    let bob = Author {
        user: Some(2),
        via: 2,
    };
    let mut a = Client::join_as(&e, Access::ReadWrite, ann).await;
    let mut b = Client::join_as(&e, Access::ReadWrite, bob).await;
    a.insert(0, "a").await;
    b.until_text("a").await;
    b.insert(1, "b").await;
    a.until_text("ab").await;
    a.insert(2, "c").await;
    converge(&e, &mut [&mut a, &mut b]).await;
    let disk = Author { user: None, via: 3 };
    let update = {
        let writer = Doc::new();
        let text = writer.get_or_insert_text(testing::CONTENT);
        let mut txn = writer.transact_mut();
        text.insert(&mut txn, 0, "from disk ");
        txn.encode_update_v1()
    };
    e.write(DOC, update, disk).await.expect("server write");
    eventually("the server's write is logged", || store.log_len(DOC) == 4).await;
    assert_eq!(store.authors(DOC), vec![ann, bob, ann, disk]);
}

#[tokio::test]
async fn group_commit_batches_many_updates() {
    let store = Arc::new(MemoryStore::default());
    let config = EngineConfig {
        commit_delay: Duration::from_millis(20),
        ..fast()
    };
    let e = engine(store.clone(), InProcessBus::default(), 1, config);
    let mut a = Client::join(&e, Access::ReadWrite).await;
    for i in 0..200u32 {
        a.insert(i, "x").await;
    }
    a.until_saved().await;
    assert_eq!(a.saved, 200);
    let appends = store.append_count();
    assert!(appends < 20, "200 updates took {appends} transactions");
}

// Paused time: the retry backoff elapses as soon as nothing else can run.
#[tokio::test(start_paused = true)]
async fn failed_commits_are_retried_and_only_then_acknowledged() {
    let store = Arc::new(MemoryStore::default());
    store.fail_next_appends(2);
    let e = engine(store.clone(), InProcessBus::default(), 1, fast());
    let mut a = Client::join(&e, Access::ReadWrite).await;
    a.insert(0, "keep me").await;
    let failures = || {
        e.stats()
            .commit_failures
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    a.until("the acknowledgement", |c| {
        assert!(
            c.saved == 0 || failures() == 2,
            "acknowledged before the store took it"
        );
        c.saved == 1
    })
    .await;
    assert_eq!(failures(), 2);
    assert_eq!(store.log_len(DOC), 1);
}

// Paused time: the commit delay and the retry backoff elapse as soon as nothing else runs.
#[tokio::test(start_paused = true)]
async fn durable_answers_once_the_store_holds_every_earlier_update() {
    let store = Arc::new(MemoryStore::default());
    let config = EngineConfig {
        commit_delay: Duration::from_millis(200),
        ..fast()
    };
    let e = engine(store.clone(), InProcessBus::default(), 1, config);
    // Not open here: the store has everything already.
    e.durable(DOC).await.expect("nothing pending");
    let mut a = Client::join(&e, Access::ReadWrite).await;
    a.insert(0, "typed ").await;
    let update = {
        let writer = Doc::new();
        let text = writer.get_or_insert_text(testing::CONTENT);
        let mut txn = writer.transact_mut();
        text.insert(&mut txn, 0, "restored ");
        txn.encode_update_v1()
    };
    // The server's write is applied before it is stored (the commit waits 200 ms), and the
    // store refuses it twice before it takes it.
    store.fail_next_appends(2);
    e.write(
        DOC,
        update,
        Author {
            user: Some(7),
            via: 6,
        },
    )
    .await
    .expect("server write");
    assert_eq!(store.log_len(DOC), 0, "not stored yet");
    e.durable(DOC).await.expect("stored in the end");
    assert_eq!(store.log_len(DOC), 2, "both updates are in the store");
    assert_eq!(
        e.stats()
            .commit_failures
            .load(std::sync::atomic::Ordering::Relaxed),
        2
    );
    // Nothing pending now: answered at once, however many ask.
    for _ in 0..3 {
        e.durable(DOC).await.expect("nothing pending");
    }
    a.until_saved().await;
}

#[tokio::test]
async fn read_only_subscribers_cannot_write() {
    let store = Arc::new(MemoryStore::default());
    let e = engine(store.clone(), InProcessBus::default(), 1, fast());
    let mut writer = Client::join(&e, Access::ReadWrite).await;
    writer.insert(0, "mine").await;
    let mut viewer = Client::join(&e, Access::ReadOnly).await;
    assert_eq!(viewer.text(), "mine");
    viewer.insert(0, "vandal ").await;
    viewer.until("the refusal", |c| c.denied).await;
    // The refusal is sent while the write is dropped: the engine's copy never had it.
    assert_eq!(converge(&e, &mut [&mut writer]).await, "mine");
    assert_eq!(
        e.stats()
            .refused_writes
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    // Still receives the writer's edits.
    writer.insert(4, "!").await;
    viewer
        .until("the writer's edit", |c| c.text().ends_with("mine!"))
        .await;
}

// Paused time: the one-second spacing of measuring compactions elapses on `advance`.
#[tokio::test(start_paused = true)]
async fn a_document_at_its_size_limit_refuses_growth_but_never_deletion() {
    let store = Arc::new(MemoryStore::default());
    let config = EngineConfig {
        max_doc_bytes: Some(2_000),
        ..fast()
    };
    let e = engine(store.clone(), InProcessBus::default(), 1, config);
    let refused = || {
        e.stats()
            .refused_growth
            .load(std::sync::atomic::Ordering::Relaxed)
    };
    let mut a = Client::join(&e, Access::ReadWrite).await;
    a.insert(0, &"a".repeat(1_500)).await;
    a.until_saved().await;

    let mut b = Client::join(&e, Access::ReadWrite).await;
    b.insert(0, &"b".repeat(600)).await;
    b.until("the refusal", |c| c.denied).await;
    // What builds on the refused edit is refused too, without another message.
    b.insert(0, "c").await;
    eventually("the second refusal", || refused() == 2).await;
    // Neither stored nor forwarded.
    assert_eq!(converge(&e, &mut [&mut a]).await, "a".repeat(1_500));

    // Deleting from a full document works, and frees room for the next writer.
    a.delete(0, 1_000).await;
    assert_eq!(converge(&e, &mut [&mut a]).await, "a".repeat(500));
    eventually("the refusal's compaction", || {
        e.stats()
            .compactions
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    })
    .await;
    tokio::time::advance(Duration::from_secs(1)).await;
    let mut c = Client::join(&e, Access::ReadWrite).await;
    c.insert(0, &"c".repeat(600)).await;
    let text = converge(&e, &mut [&mut a, &mut c]).await;
    assert_eq!(text, "c".repeat(600) + &"a".repeat(500));
    assert_eq!(refused(), 2);
    let stored = store.load(DOC).await.expect("load");
    assert_eq!(text_of(stored.snapshot.as_deref(), &stored.updates), text);
}

#[tokio::test]
async fn malformed_messages_are_rejected_before_the_document() {
    let e = memory_engine();
    let a = Client::join(&e, Access::ReadWrite).await;
    for bad in [&b""[..], b"\x00\x09", b"\x00\x02\x05\x01", b"\xff\xff\xff"] {
        assert!(
            a.sub().send(Bytes::copy_from_slice(bad)).await.is_err(),
            "{bad:?}"
        );
    }
    // A well-formed message carrying a corrupt update closes only that subscription.
    let mut b = Client::join(&e, Access::ReadWrite).await;
    b.sub()
        .send(protocol::update(vec![1, 1, 1, 1, 1]))
        .await
        .expect("decodes");
    let out = tokio::time::timeout(common::WAIT, b.sub_mut().recv())
        .await
        .expect("reply");
    assert!(matches!(out, Some(Outbound::Close(_))), "{out:?}");
    let mut c = Client::join(&e, Access::ReadWrite).await;
    c.insert(0, "still fine").await;
    c.until_saved().await;
}

/// A reader that does not read while a writer bursts: its backlog is merged into one update
/// instead of costing it the connection, and it converges on what it finally reads.
#[tokio::test]
async fn a_reader_behind_a_burst_catches_up_in_merged_updates() {
    let config = EngineConfig {
        outbound: Budget {
            soft: 4096,
            hard: 1 << 20,
        },
        ..fast()
    };
    let e = engine(
        Arc::new(MemoryStore::default()),
        InProcessBus::default(),
        1,
        config,
    );
    let mut writer = Client::join(&e, Access::ReadWrite).await;
    let mut reader = Client::join(&e, Access::ReadWrite).await;
    for i in 0..3000u32 {
        writer.insert(i, "y").await;
    }
    writer.until_saved().await;
    let mut messages = 0;
    reader
        .until("the whole burst", |c| c.text().len() == 3000)
        .await;
    while reader.sub_mut().try_recv().is_some() {
        messages += 1;
    }
    let stats = e.stats();
    assert_eq!(
        stats
            .slow_disconnects
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    assert!(
        stats
            .merged_backlogs
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
    assert!(messages < 3000, "{messages} messages left after converging");
    assert_eq!(reader.text(), writer.text());
}

/// Past the hard limit even after merging, a reader is disconnected, never silently skipped,
/// and rejoining resyncs everything.
#[tokio::test]
async fn a_reader_past_the_hard_limit_is_disconnected_not_skipped() {
    let config = EngineConfig {
        outbound: Budget {
            soft: 512,
            hard: 2048,
        },
        ..fast()
    };
    let e = engine(
        Arc::new(MemoryStore::default()),
        InProcessBus::default(),
        1,
        config,
    );
    let mut fast_client = Client::join(&e, Access::ReadWrite).await;
    let mut slow = Client::join(&e, Access::ReadWrite).await;
    let line = "a line of text that does not compress away\n";
    for i in 0..100u32 {
        fast_client.insert(i * line.len() as u32, line).await;
    }
    // The slow one gets what fit in its budget, then the end of its subscription.
    while tokio::time::timeout(common::WAIT, slow.sub_mut().recv())
        .await
        .expect("no hang")
        .is_some()
    {}
    assert_eq!(
        e.stats()
            .slow_disconnects
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );
    // Rejoining resyncs everything.
    let again = Client::join(&e, Access::ReadOnly).await;
    assert_eq!(again.text(), fast_client.text());
}

#[tokio::test(start_paused = true)]
async fn idle_documents_unload_and_reload_from_the_store() {
    let store = Arc::new(MemoryStore::default());
    let e = engine(store.clone(), InProcessBus::default(), 1, fast());
    {
        let mut a = Client::join(&e, Access::ReadWrite).await;
        a.insert(0, "persisted").await;
        a.until_saved().await;
        assert_eq!(e.live_docs(), 1);
    }
    let left = tokio::time::Instant::now();
    eventually("the idle unload", || e.live_docs() == 0).await;
    assert!(
        left.elapsed() >= Duration::from_millis(100),
        "unloaded before the idle timeout"
    );
    let b = Client::join(&e, Access::ReadOnly).await;
    assert_eq!(b.text(), "persisted");
}

#[tokio::test]
async fn compaction_folds_the_log_into_a_snapshot() {
    let store = Arc::new(MemoryStore::default());
    let config = EngineConfig {
        compact_after: 10,
        commit_delay: Duration::from_millis(1),
        ..fast()
    };
    let e = engine(store.clone(), InProcessBus::default(), 1, config);
    let mut a = Client::join(&e, Access::ReadWrite).await;
    for i in 0..40u32 {
        a.insert(i, "z").await;
        if i % 5 == 0 {
            a.until_saved().await;
        }
    }
    a.until_saved().await;
    eventually("a compaction", || {
        e.stats()
            .compactions
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    })
    .await;
    assert!(
        store.log_len(DOC) < 40,
        "log still has {} entries",
        store.log_len(DOC)
    );
    let fresh = engine(store.clone(), InProcessBus::default(), 2, fast());
    let b = Client::join(&fresh, Access::ReadOnly).await;
    assert_eq!(b.text(), "z".repeat(40));
}

#[tokio::test]
async fn awareness_is_shared_and_removed_on_leave() {
    let e = memory_engine();
    let a = Client::join(&e, Access::ReadWrite).await;
    let mut awareness = Awareness::new(Doc::new());
    awareness.set_local_state_raw(r#"{"user":{"name":"alice"}}"#);
    let update = awareness.update().expect("update");
    a.sub()
        .send(protocol::awareness(update))
        .await
        .expect("send");
    // A viewer joining later receives alice's state in its first messages.
    let mut b = Client::join(&e, Access::ReadOnly).await;
    assert!(
        b.awareness_seen
            .iter()
            .any(|m| String::from_utf8_lossy(m).contains("alice"))
    );
    drop(a);
    b.awareness_seen.clear();
    // The removal: alice's state cleared (null).
    b.until("the removal broadcast", |c| {
        c.awareness_seen
            .iter()
            .any(|m| String::from_utf8_lossy(m).contains("null"))
    })
    .await;
}

/// 200 clients announce their cursors at once: a watcher learns every one of them, in far
/// fewer messages than one per client (the first goes at once, the rest once per tick).
#[tokio::test]
async fn a_join_storm_reaches_a_watcher_in_a_few_awareness_messages() {
    let e = memory_engine();
    let mut watcher = Client::join(&e, Access::ReadOnly).await;
    let mut subs = Vec::new();
    for i in 0..200u64 {
        let sub = e
            .subscribe(DOC, Access::ReadWrite, Author::default())
            .await
            .expect("subscribe");
        let mut awareness = Awareness::new(Doc::new());
        awareness.set_local_state_raw(format!(r#"{{"user":{{"name":"storm{i}"}}}}"#));
        sub.send(protocol::awareness(awareness.update().expect("update")))
            .await
            .expect("send");
        subs.push(sub);
    }
    let named = |c: &Client| {
        let mut names = std::collections::HashSet::new();
        for m in &c.awareness_seen {
            let text = String::from_utf8_lossy(m);
            for part in text.split("storm").skip(1) {
                let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
                names.insert(digits);
            }
        }
        names.len()
    };
    watcher
        .until("every cursor of the storm", |c| named(c) == 200)
        .await;
    let messages = watcher.awareness_seen.len();
    assert!(
        messages < 100,
        "{messages} awareness messages for 200 joins"
    );
}

#[tokio::test]
async fn two_nodes_share_a_document_over_the_bus() {
    let store = Arc::new(MemoryStore::default());
    let bus = InProcessBus::default();
    let node1 = engine(store.clone(), bus.clone(), 1, fast());
    let node2 = engine(store.clone(), bus.clone(), 2, fast());
    let mut a = Client::join(&node1, Access::ReadWrite).await;
    let mut b = Client::join(&node2, Access::ReadWrite).await;
    a.insert(0, "from node 1. ").await;
    b.insert(0, "from node 2. ").await;
    let both = |c: &Client| c.text().contains("from node 1.") && c.text().contains("from node 2.");
    a.until("both nodes' edits", both).await;
    b.until("both nodes' edits", both).await;
    assert_eq!(a.text(), b.text());
}

/// Thousands of subscribers with cursors that stop reading. Dropping each one announces its
/// cursor's removal to the rest, which tips more of them over; the owner works through that
/// cascade (iteratively) and keeps serving.
#[tokio::test]
async fn a_flood_of_slow_subscribers_does_not_overflow_the_stack() {
    let config = EngineConfig {
        outbound: Budget {
            soft: 128,
            hard: 256,
        },
        ..fast()
    };
    let store = Arc::new(MemoryStore::default());
    let e = engine(store.clone(), InProcessBus::default(), 1, config);
    let mut subs = Vec::new();
    for i in 0..3000u64 {
        let sub = e
            .subscribe(DOC, Access::ReadWrite, Author::default())
            .await
            .expect("subscribe");
        let mut awareness = Awareness::new(Doc::new());
        awareness.set_local_state_raw(format!(r#"{{"user":{{"name":"u{i}"}}}}"#));
        sub.send(protocol::awareness(awareness.update().expect("update")))
            .await
            .expect("send");
        subs.push(sub);
    }
    // Nobody reads; the owner must still be alive and serving: it applies a write, commits it
    // and answers with it. (A subscriber joining now would not prove more: with a 256-byte
    // budget, the batched "these cursors left" messages of the next awareness tick disconnect
    // it too unless it happens to be reading at that moment, which made such a check flaky.)
    let writer = Doc::new();
    let text = writer.get_or_insert_text(testing::CONTENT);
    let update = {
        let mut txn = writer.transact_mut();
        text.insert(&mut txn, 0, "still alive");
        txn.encode_update_v1()
    };
    e.write(DOC, update, Author::default())
        .await
        .expect("the owner applies a write after the flood");
    eventually("the write is committed", || store.log_len(DOC) == 1).await;
    let state = e.state(DOC).await.expect("the owner answers");
    assert_eq!(text_of(Some(&state), &[]), "still alive");
    assert!(
        e.stats()
            .slow_disconnects
            .load(std::sync::atomic::Ordering::Relaxed)
            > 1000
    );
}

/// y-websocket's `WebsocketProvider` sends every awareness change it receives back to the
/// server. Those echoes are not the connection's own clients: they must not count towards its
/// 16-client limit (which closed such clients in a loop once 17 others were present).
#[tokio::test]
async fn awareness_echoes_are_not_a_connections_own_clients() {
    let e = memory_engine();
    let mut others = Vec::new();
    for i in 0..20u64 {
        let c = Client::join(&e, Access::ReadWrite).await;
        c.sub()
            .send(testing::cursor(100 + i, &format!("u{i}")))
            .await
            .expect("send");
        others.push(c);
    }
    // Joins after the 20 cursors (one inbox, in order), so its snapshot holds them all.
    let mut echo = Client::join(&e, Access::ReadWrite).await;
    assert!(!echo.awareness_seen.is_empty(), "the snapshot arrived");
    for message in echo.awareness_seen.clone() {
        echo.sub().send(message).await.expect("send the echo");
    }
    echo.insert(0, "still connected").await;
    echo.until_saved().await;
    assert_eq!(
        e.stats()
            .refused_awareness
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    // Its own cursor still counts as its own.
    echo.sub()
        .send(testing::cursor(999, "echo"))
        .await
        .expect("send");
    echo.insert(0, "and again ").await;
    echo.until_saved().await;
}

/// Found by `cargo fuzz`: this update overflows yrs's block arithmetic while integrating (a
/// panic with overflow checks). The owner retires the document instead of dying with the lock
/// held; subscribers reconnect, the store still has every acknowledged edit, and the document
/// keeps working.
#[tokio::test]
async fn an_update_that_panics_yrs_retires_the_document_and_it_reloads() {
    const CRASH: &[u8] = &[
        0, 2, 19, 2, 1, 1, 0, 36, 1, 0, 0, 2, 2, 19, 1, 1, 1, 0, 36, 0, 255, 167,
    ];
    let store = Arc::new(MemoryStore::default());
    let e = engine(store.clone(), InProcessBus::default(), 1, fast());
    let mut a = Client::join(&e, Access::ReadWrite).await;
    a.insert(0, "safe").await;
    a.until_saved().await;

    let mut bad = e
        .subscribe(DOC, Access::ReadWrite, Author::default())
        .await
        .expect("subscribe");
    bad.send(Bytes::from_static(CRASH))
        .await
        .expect("it decodes");
    // Release builds do not panic on the overflow (no overflow checks): there the update is
    // only rejected or applied, and the subscription may stay open, so the wait is bounded.
    let mut closed = false;
    while let Ok(Some(out)) = tokio::time::timeout(Duration::from_millis(500), bad.recv()).await {
        if let Outbound::Close(reason) = out {
            assert!(reason.contains("rejected"), "{reason}");
            closed = true;
        }
    }
    if cfg!(debug_assertions) {
        assert!(closed, "the sender is disconnected");
        assert_eq!(
            e.stats()
                .poisoned
                .load(std::sync::atomic::Ordering::Relaxed),
            1
        );
    }

    a.reconnect(&e, Access::ReadWrite).await;
    assert_eq!(a.text(), "safe");
    a.insert(4, "!").await;
    a.until_saved().await;
    let b = Client::join(&e, Access::ReadOnly).await;
    assert_eq!(b.text(), "safe!");
}
