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

pub(crate) async fn run(
    server: &mut Server,
    file: &Path,
    burst: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let trace: Trace =
        serde_json::from_reader(flate2::read::GzDecoder::new(std::fs::File::open(file)?))?;
    let mut writer = Client::connect(&server.doc_url()).await?;
    let reader = Client::connect(&server.doc_url()).await?;
    if burst {
        let updates = trace_updates(&trace)?;
        return run_burst(server, writer, reader, updates, &trace.end_content).await;
    }
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

    let updates = trace_updates(&trace)?;
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
    drop(fresh);
    let stored = server.terminate();
    println!(
        "database files after a clean stop: {} bytes ({:.1} bytes per update)",
        stored,
        stored as f64 / sent as f64
    );
    if !matches {
        return Err("final text differs".into());
    }
    Ok(())
}

/// Each transaction's own update, as a Yjs client emits it (`observe_update_v1`). Encoding the
/// state since a state vector instead would resend the whole delete set every time.
fn trace_updates(trace: &Trace) -> Result<Vec<bytes::Bytes>, Box<dyn std::error::Error>> {
    // The traces count positions in characters (UTF-16 units for all but astral ones).
    let doc = Doc::with_options(yrs::Options {
        offset_kind: yrs::OffsetKind::Utf16,
        ..yrs::Options::default()
    });
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
    Ok(std::mem::take(&mut *out.lock().map_err(|_| "poisoned")?))
}

/// The writer sends every update as fast as the socket takes them, with no window; the reader
/// applies what it receives (single updates or merged backlogs) until it holds the final text.
async fn run_burst(
    server: &Server,
    mut writer: Client,
    reader: Client,
    updates: Vec<bytes::Bytes>,
    end: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let want = end.len() as u32;
    let end_text = end.to_owned();
    let mut sync = reader.sync;
    let mut stream = reader.stream;
    let t0 = Instant::now();
    let cpu0 = server.cpu_secs();
    let reading = tokio::spawn(async move {
        let mut messages = 0u64;
        let mut closed = None;
        while let Some(msg) = stream.next().await {
            match msg {
                Ok(Message::Binary(b)) => {
                    messages += 1;
                    if sync.receive(&b).is_err() {
                        closed = Some("undecodable message".to_owned());
                        break;
                    }
                    // The length first: building the text after every message would cost more
                    // than the whole replay.
                    if sync.len() == want && sync.text() == end_text {
                        break;
                    }
                }
                Ok(Message::Close(frame)) => {
                    closed = Some(format!("{frame:?}"));
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    closed = Some(e.to_string());
                    break;
                }
            }
        }
        (messages, closed, sync.text(), Instant::now())
    });
    let n = updates.len();
    for message in updates {
        writer.sink.send(Message::Binary(message)).await?;
    }
    let sent_at = t0.elapsed();
    let (messages, closed, text, done) =
        tokio::time::timeout(Duration::from_secs(120), reading).await??;
    let cpu = server.cpu_secs() - cpu0;
    println!(
        "burst: {n} updates written in {:.2} s; the reader converged={} after {:.2} s in {messages} messages; closed={closed:?}; server CPU {cpu:.2} s",
        sent_at.as_secs_f64(),
        text == end,
        done.duration_since(t0).as_secs_f64(),
    );
    drop(writer.stream);
    if text != end {
        return Err("the reader did not converge".into());
    }
    Ok(())
}
