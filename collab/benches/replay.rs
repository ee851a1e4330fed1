//! The engine alone on an editing trace: the same updates applied by plain yrs (the floor) and
//! pushed through an engine subscription (decode, apply, fan-out to one reader, group commit to
//! an in-memory store). No sockets, no SQL: the difference is the engine's own cost.
//!
//! cargo bench -p collab --features server --bench replay -- ../shared/traces/automerge-paper.json.gz

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use bytes::Bytes;
use collab::{
    DocId,
    bus::{InProcessBus, NodeId},
    engine::{Access, Engine, EngineConfig, Outbound},
    protocol,
    store::{Author, MemoryStore},
};
use yrs::{Doc, GetString, Text, Transact, Update, updates::decoder::Decode};

fn updates(path: &str) -> (Vec<Vec<u8>>, String) {
    let file = std::fs::File::open(path).expect("trace file");
    let trace: serde_json::Value =
        serde_json::from_reader(flate2::read::GzDecoder::new(file)).expect("json");
    let doc = Doc::new();
    let text = doc.get_or_insert_text("content");
    // Each transaction's own update, as a Yjs client emits it. (`encode_state_as_update` since
    // a state vector would also carry the document's whole delete set every time.)
    let out = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = out.clone();
    doc.observe_update_v1(
        "replay",
        move |_: &yrs::TransactionMut<'_>, e: &yrs::UpdateEvent| {
            if let Ok(mut v) = sink.lock() {
                v.push(e.update.clone());
            }
        },
    )
    .expect("observe");
    for txn in trace["txns"].as_array().expect("txns") {
        {
            let mut t = doc.transact_mut();
            for p in txn["patches"].as_array().expect("patches") {
                let pos = p[0].as_u64().expect("pos") as u32;
                let del = p[1].as_u64().expect("del") as u32;
                let ins = p[2].as_str().expect("ins");
                if del > 0 {
                    text.remove_range(&mut t, pos, del);
                }
                if !ins.is_empty() {
                    text.insert(&mut t, pos, ins);
                }
            }
        }
    }
    let updates = std::mem::take(&mut *out.lock().expect("lock"));
    (
        updates,
        trace["endContent"].as_str().expect("end").to_owned(),
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let path = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .unwrap_or_else(|| "../shared/traces/automerge-paper.json.gz".into());
    let (updates, end) = updates(&path);
    let n = updates.len();

    let t = Instant::now();
    let floor = Doc::new();
    for u in &updates {
        floor
            .transact_mut()
            .apply_update(Update::decode_v1(u).expect("decode"))
            .expect("apply");
    }
    let floor_time = t.elapsed();
    assert_eq!(
        floor
            .get_or_insert_text("content")
            .get_string(&floor.transact()),
        end
    );

    for (label, compact_after) in [
        ("engine, compaction every 1000", 1000),
        ("engine, no compaction", u64::MAX),
    ] {
        let config = EngineConfig {
            compact_after,
            ..EngineConfig::default()
        };
        let engine = Engine::new(
            Arc::new(MemoryStore::default()),
            Arc::new(InProcessBus::default()),
            NodeId(1),
            config,
        );
        let writer = engine
            .subscribe(DocId(1), Access::ReadWrite, Author::default())
            .await
            .expect("writer");
        let mut reader = engine
            .subscribe(DocId(1), Access::ReadOnly, Author::default())
            .await
            .expect("reader");
        let received = Arc::new(AtomicU64::new(0));
        let count = received.clone();
        let reading = tokio::spawn(async move {
            while let Some(out) = reader.recv().await {
                if let Outbound::Message(b) = out
                    && b.len() > 2
                    && b[0] == 0
                    && b[1] == 2
                {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        let messages: Vec<Bytes> = updates
            .iter()
            .map(|u| protocol::update(u.clone()))
            .collect();
        let t = Instant::now();
        let mut sent = 0u64;
        for m in messages {
            writer.send(m).await.expect("send");
            sent += 1;
            // Keep the reader's queue from overflowing (it would be dropped as too slow).
            while sent - received.load(Ordering::Relaxed) > 256 {
                tokio::task::yield_now().await;
            }
        }
        while received.load(Ordering::Relaxed) < sent {
            tokio::task::yield_now().await;
        }
        let took = t.elapsed();
        println!(
            "{label}: {n} updates in {:.2} s = {:.2} us/update ({:.1}x the yrs floor)",
            took.as_secs_f64(),
            1e6 * took.as_secs_f64() / n as f64,
            took.as_secs_f64() / floor_time.as_secs_f64()
        );
        reading.abort();
    }
    println!(
        "yrs floor: {n} updates applied in {:.3} s = {:.2} us/update",
        floor_time.as_secs_f64(),
        1e6 * floor_time.as_secs_f64() / n as f64
    );
}
