//! Replays a sequential editing trace through the server: one writer sends each transaction
//! as one yrs update, one reader receives them all; then a fresh client checks the final text.

use std::{
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use collab::protocol;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio_tungstenite::tungstenite::Message;
use yrs::{Doc, Text, Transact};

use crate::{client::Client, server::Server};

#[derive(Deserialize)]
struct Trace {
    #[serde(rename = "endContent")]
    end_content: String,
    txns: Vec<Txn>,
}

#[derive(Deserialize)]
struct Txn {
    patches: Vec<(usize, usize, String)>,
}

/// How far the writer may run ahead of the reader: deep enough to keep the pipe full, shallow
/// enough that the reader's queue on the server never overflows.
const WINDOW: u64 = 256;

pub(crate) async fn run(server: &Server, file: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let trace: Trace =
        serde_json::from_reader(flate2::read::GzDecoder::new(std::fs::File::open(file)?))?;
    let ascii = trace
        .txns
        .iter()
        .all(|t| t.patches.iter().all(|p| p.2.is_ascii()))
        && trace.end_content.is_ascii();
    if !ascii {
        return Err("this replay maps positions as bytes, so it takes ASCII traces only".into());
    }
    let mut writer = Client::connect(&server.doc_url()).await?;
    let reader = Client::connect(&server.doc_url()).await?;
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    let mut reader_stream = reader.stream;
    let reading = tokio::spawn(async move {
        while let Some(Ok(msg)) = reader_stream.next().await {
            if matches!(&msg, Message::Binary(b) if b.len() > 2 && b[0] == 0 && b[1] == 2) {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }
    });

    // Each transaction's own update, as a Yjs client emits it (`observe_update_v1`). Encoding
    // the state since a state vector instead would resend the whole delete set every time.
    let updates = {
        let doc = Doc::new();
        let text = doc.get_or_insert_text("content");
        let out = Arc::new(std::sync::Mutex::new(Vec::with_capacity(trace.txns.len())));
        let sink = out.clone();
        doc.observe_update_v1(
            "replay",
            move |_: &yrs::TransactionMut<'_>, e: &yrs::UpdateEvent| {
                if let Ok(mut v) = sink.lock() {
                    v.push(protocol::update(e.update.clone()));
                }
            },
        )?;
        for txn in &trace.txns {
            let mut t = doc.transact_mut();
            for (pos, del, ins) in &txn.patches {
                if *del > 0 {
                    text.remove_range(&mut t, *pos as u32, *del as u32);
                }
                if !ins.is_empty() {
                    text.insert(&mut t, *pos as u32, ins);
                }
            }
        }
        std::mem::take(&mut *out.lock().map_err(|_| "poisoned")?)
    };
    let (cpu0, t0) = (server.cpu_secs(), Instant::now());
    let mut sent = 0u64;
    for message in updates {
        writer.sink.send(Message::Binary(message)).await?;
        sent += 1;
        while sent - received.load(Ordering::Relaxed) > WINDOW {
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while received.load(Ordering::Relaxed) < sent && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let (wall, cpu) = (t0.elapsed(), server.cpu_secs() - cpu0);
    let got = received.load(Ordering::Relaxed);
    reading.abort();
    // Let the last group commit land, then load the document as a newcomer would.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t_load = Instant::now();
    let fresh = Client::connect(&server.doc_url()).await?;
    let load = t_load.elapsed();
    let matches = fresh.initial_text() == trace.end_content;
    println!(
        "trace {}: {} transactions replayed in {:.2} s ({:.0} updates/s, {:.1} us each end to end); delivered {got}/{sent}",
        file.display(),
        trace.txns.len(),
        wall.as_secs_f64(),
        sent as f64 / wall.as_secs_f64(),
        1e6 * wall.as_secs_f64() / sent as f64
    );
    println!(
        "server CPU {:.2} s ({:.1} us per update, applied + stored + forwarded); RSS {} kB; newcomer sync {:.1} ms; final text {} ({} chars)",
        cpu,
        1e6 * cpu / sent as f64,
        server.rss_kb(),
        load.as_secs_f64() * 1000.0,
        if matches {
            "matches endContent"
        } else {
            "DIFFERS from endContent"
        },
        trace.end_content.chars().count()
    );
    drop(writer.stream);
    if !matches {
        return Err("final text differs".into());
    }
    Ok(())
}
