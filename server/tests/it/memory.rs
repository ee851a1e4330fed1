//! The memory guard: idle connections, each with a cursor (awareness state), must stay small.
//! Speed is measured in the benchmarks, where noise averages out; memory per connection is
//! steady enough to check here, with a wide margin over the goal (8 KB per connection; 7.8 kB
//! with 5,000 Yjs clients on 500 documents in `bench/peers`, 2026-12-05; BENCHMARKS.md).

use std::{process::Command, time::Duration};

use collab::testing::{SyncClient, cursor};
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::common::{Ws, signup_over_http, spawn_listening, ws_connect};

/// Connections measured (after a warm-up that loads every document).
const CONNECTIONS: usize = 300;
const DOCS: usize = 30;
/// Twice the first goal: a regression (a buffer or a task per socket) trips it, the
/// allocator's noise does not.
const LIMIT_KB_PER_CONNECTION: f64 = 16.0;

fn rss_kb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .expect("the server's RSS")
}

async fn subscribers(http: &reqwest::Client, base: &str) -> usize {
    let text = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .find_map(|l| l.strip_prefix("tandem_collab_subscribers "))
        .and_then(|n| n.trim().parse::<f64>().ok())
        .map_or(0, |n| n as usize)
}

/// Opens one `/yjs` connection that says hello and announces a cursor, then stays idle.
async fn idle(url: &str, cookie: &str, id: u64) -> Ws {
    let mut ws = ws_connect(url, Some(cookie)).await.expect("connect");
    ws.send(WsMessage::Binary(SyncClient::new().hello()))
        .await
        .expect("hello");
    ws.send(WsMessage::Binary(cursor(id, &format!("idle-{id}"))))
        .await
        .expect("awareness");
    ws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_stay_small() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tandem"));
    cmd.env("TANDEM_DATA_DIR", data.path())
        .env("TANDEM_LOG", "warn")
        .env("TANDEM_MAX_SOCKETS_PER_USER", "100000")
        .env_remove("TANDEM_DATABASE_URL");
    let (mut child, base) = spawn_listening(cmd);
    let (http, cookie, project) = signup_over_http(&base, "ida", "Memory").await;
    let ws_base = base.replacen("http", "ws", 1);
    let url = |i: usize| format!("{ws_base}/yjs/idle-{}?project={}", i % DOCS, project["id"]);
    let until_subscribed = async |n: usize| {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while subscribers(&http, &base).await < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{n} connections never subscribed"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    // Warm-up: every document loaded, the pools and caches filled.
    let mut sockets = Vec::new();
    for i in 0..DOCS {
        sockets.push(idle(&url(i), &cookie, i as u64 + 1).await);
    }
    until_subscribed(DOCS).await;
    let before = rss_kb(child.id());
    for i in DOCS..DOCS + CONNECTIONS {
        sockets.push(idle(&url(i), &cookie, i as u64 + 1).await);
    }
    until_subscribed(DOCS + CONNECTIONS).await;
    let per_connection = (rss_kb(child.id()) - before) / CONNECTIONS as f64;
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        per_connection < LIMIT_KB_PER_CONNECTION,
        "{per_connection:.1} kB per idle connection (limit {LIMIT_KB_PER_CONNECTION})"
    );
    eprintln!("{per_connection:.1} kB per idle connection");
    drop(sockets);
}
