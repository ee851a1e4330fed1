//! `tandem-bench broker`: the two brokers scale-out could use (issue 15), measured as Tandem
//! would use them. `nodes` subscriber connections (the nodes) each subscribe to `topics`
//! subjects (open documents); one publisher connection sends `rate` small messages a second
//! spread over the topics, batched per millisecond as a node's bus writes them. Reports
//! publish -> receive latency at every node, deliveries, and the broker process's CPU per
//! delivered message (from `/proc`, so the broker must run on this machine).

use std::{
    error::Error,
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::task::JoinSet;

use crate::{percentile, server::process_cpu_secs};

#[derive(clap::Args)]
pub(crate) struct Load {
    #[arg(long)]
    pub url: String,
    #[arg(long, default_value_t = 100)]
    pub topics: usize,
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    #[arg(long, default_value_t = 5000.0)]
    pub rate: f64,
    #[arg(long, default_value_t = 10.0)]
    pub secs: f64,
    #[arg(long, default_value_t = 40)]
    pub bytes: usize,
}

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// Which broker a URL names, and the name of its process.
fn kind(url: &str) -> Res<(&'static str, &'static str)> {
    match url.split("://").next() {
        Some("nats") => Ok(("nats", "nats-server")),
        Some("redis") => Ok(("redis", "redis-server")),
        _ => Err(format!("{url}: expected nats:// or redis://").into()),
    }
}

/// The pid of the first process named `comm`.
fn pid_of(comm: &str) -> Res<String> {
    for entry in std::fs::read_dir("/proc")? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if std::fs::read_to_string(entry.path().join("comm")).is_ok_and(|c| c.trim() == comm) {
            return Ok(name);
        }
    }
    Err(format!("no process named {comm} on this machine").into())
}

fn rss_kb(pid: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn subject(run: u64, topic: usize) -> String {
    format!("bench.{run}.{topic}")
}

/// Micros since `epoch` at the front of every payload.
fn stamp(epoch: Instant, bytes: usize) -> Bytes {
    let mut p = vec![0u8; bytes.max(8)];
    let us = epoch.elapsed().as_micros() as u64;
    p[..8].copy_from_slice(&us.to_le_bytes());
    Bytes::from(p)
}

fn latency_us(epoch: Instant, payload: &[u8]) -> Option<u32> {
    let sent = u64::from_le_bytes(payload.get(..8)?.try_into().ok()?);
    let now = epoch.elapsed().as_micros() as u64;
    u32::try_from(now.saturating_sub(sent)).ok()
}

/// One node's subscription to every topic until `stop`: the latencies it saw.
async fn subscribe(
    url: String,
    run: u64,
    topics: usize,
    epoch: Instant,
    until: Instant,
    ready: tokio::sync::mpsc::Sender<()>,
) -> Res<Vec<u32>> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::from_std(until);
    if url.starts_with("nats") {
        let client = async_nats::connect(url.as_str()).await?;
        let mut subs = Vec::new();
        for t in 0..topics {
            subs.push(client.subscribe(subject(run, t)).await?);
        }
        client.flush().await?;
        let _ = ready.send(()).await;
        let mut all = futures_util::stream::select_all(subs);
        while let Ok(Some(m)) = tokio::time::timeout_at(deadline, all.next()).await {
            seen.extend(latency_us(epoch, &m.payload));
        }
    } else {
        let client = redis::Client::open(url.as_str())?;
        let mut pubsub = client.get_async_pubsub().await?;
        for t in 0..topics {
            pubsub.subscribe(subject(run, t)).await?;
        }
        let _ = ready.send(()).await;
        let mut stream = pubsub.into_on_message();
        while let Ok(Some(m)) = tokio::time::timeout_at(deadline, stream.next()).await {
            seen.extend(latency_us(epoch, m.get_payload_bytes()));
        }
    }
    Ok(seen)
}

enum Publisher {
    Nats(async_nats::Client),
    Redis(redis::aio::MultiplexedConnection),
}

impl Publisher {
    async fn connect(url: &str) -> Res<Self> {
        Ok(if url.starts_with("nats") {
            Self::Nats(async_nats::connect(url).await?)
        } else {
            Self::Redis(
                redis::Client::open(url)?
                    .get_multiplexed_async_connection()
                    .await?,
            )
        })
    }

    /// One millisecond's messages, written together.
    async fn send(&mut self, batch: Vec<(String, Bytes)>) -> Res<()> {
        match self {
            Self::Nats(c) => {
                for (s, p) in batch {
                    c.publish(s, p).await?;
                }
                c.flush().await?;
            }
            Self::Redis(c) => {
                let mut pipe = redis::pipe();
                for (s, p) in batch {
                    pipe.cmd("PUBLISH").arg(s).arg(p.as_ref()).ignore();
                }
                pipe.query_async::<()>(c).await?;
            }
        }
        Ok(())
    }
}

pub(crate) async fn run(load: &Load) -> Res<()> {
    let (name, comm) = kind(&load.url)?;
    let pid = pid_of(comm)?;
    let run = std::process::id() as u64 * 1_000_000
        + u64::from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .subsec_micros(),
        );
    let epoch = Instant::now();
    let secs = Duration::from_secs_f64(load.secs);
    // Subscribers listen until a second after the last publish, for stragglers.
    let setup = Duration::from_secs(10);
    let until = Instant::now() + setup + secs + Duration::from_secs(1);
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(load.nodes);
    let mut nodes = JoinSet::new();
    for _ in 0..load.nodes {
        nodes.spawn(subscribe(
            load.url.clone(),
            run,
            load.topics,
            epoch,
            until,
            ready_tx.clone(),
        ));
    }
    for _ in 0..load.nodes {
        tokio::time::timeout(setup, ready_rx.recv())
            .await?
            .ok_or("a subscriber failed")?;
    }
    let mut publisher = Publisher::connect(&load.url).await?;
    let cpu_before = process_cpu_secs(&pid);
    let own = std::process::id().to_string();
    let own_before = process_cpu_secs(&own);
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let (mut sent, mut owed, mut topic) = (0u64, 0.0f64, 0usize);
    while started.elapsed() < secs {
        tick.tick().await;
        owed += load.rate / 1000.0;
        let mut batch = Vec::new();
        while owed >= 1.0 {
            owed -= 1.0;
            batch.push((subject(run, topic), stamp(epoch, load.bytes)));
            topic = (topic + 1) % load.topics;
        }
        sent += batch.len() as u64;
        if !batch.is_empty() {
            publisher.send(batch).await?;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut seen = Vec::new();
    while let Some(node) = nodes.join_next().await {
        seen.extend(node??);
    }
    let cpu = process_cpu_secs(&pid) - cpu_before;
    let client_cpu = process_cpu_secs(&own) - own_before;
    seen.sort_unstable();
    let expected = sent * load.nodes as u64;
    let delivered = seen.len() as u64;
    let report = serde_json::json!({
        "broker": name,
        "topics": load.topics,
        "nodes": load.nodes,
        "rate": load.rate,
        "secs": elapsed,
        "bytes": load.bytes,
        "sent": sent,
        "expected": expected,
        "delivered": delivered,
        "p50_ms": percentile(&seen, 0.50),
        "p99_ms": percentile(&seen, 0.99),
        "max_ms": percentile(&seen, 1.0),
        "broker_cpu_s": cpu,
        // Includes the broker's idle work over the same seconds (small next to this load).
        "broker_cpu_us_per_delivery": cpu * 1e6 / delivered.max(1) as f64,
        "broker_rss_kb": rss_kb(&pid),
        // The client libraries' side (publisher and every node in this process): what each
        // Tandem node would pay to use the broker.
        "client_cpu_us_per_delivery": client_cpu * 1e6 / delivered.max(1) as f64,
    });
    println!("{report}");
    Ok(())
}
