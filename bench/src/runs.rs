//! Runs through the real paths: the owner writes a `tandem.toml` into project 1 through its
//! document, members hold `/ws` tabs, and the owner starts runs with `/api/runs/start`.
//!
//! - Run click -> first output byte at another member, for `print("hi")` in Python;
//! - the sandbox's start cost alone: a run of `true` from the click to its end at a member,
//!   next to `sh -c true` and the same Python started directly by this process (no sandbox);
//! - output throughput: `yes | head -c N` watched by W members, bytes per second at each and
//!   the server's CPU and RSS while it streams.

use std::{
    collections::HashMap,
    process::Command,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::{
    chat, percentile,
    server::{self, Server},
    tab::{self, Error},
};

/// The server's flags for this benchmark: output limits out of the way of the flood (the
/// default rate cap, 4 MiB/s, is a policy, not a cost; it is measured separately with
/// `--rate-kib`).
pub(crate) fn env(rate_kib: u64, flood_bytes: u64) -> Vec<(&'static str, String)> {
    vec![
        ("TANDEM_RUN_OUTPUT_KIB_PER_SEC", rate_kib.to_string()),
        (
            "TANDEM_RUN_OUTPUT_MIB",
            ((flood_bytes >> 20) + 16).to_string(),
        ),
        ("TANDEM_RUN_TIME_LIMIT", "600".to_owned()),
        ("TANDEM_RUNS_PER_PROJECT", "4".to_owned()),
    ]
}

const PYTHON_HI: &str = r#"python3 -c 'print("hi")'"#;

fn tandem_toml(flood_bytes: u64) -> String {
    format!(
        "[[run]]\nname = \"hi\"\ncommand = '''{PYTHON_HI}'''\n\n\
         [[run]]\nname = \"true\"\ncommand = \"true\"\n\n\
         [[run]]\nname = \"flood\"\ncommand = \"yes | head -c {flood_bytes}\"\n"
    )
}

/// What one member's tab saw of each run: when its first output came, how many bytes, when
/// the last byte and the end came.
#[derive(Default, Clone, Copy)]
struct Seen {
    first: Option<Instant>,
    last: Option<Instant>,
    bytes: u64,
    ended: Option<Instant>,
}

/// Runs by id; `RESYNCS` counts the times the server told the tab it fell behind (a browser
/// tab then fetches the replay buffer).
type Watch = Arc<Mutex<HashMap<i64, Seen>>>;
const RESYNCS: i64 = -1;

async fn watch(port: u16, cookie: String, seen: Watch) -> Result<(), Error> {
    let mut ws = tab::tab_socket(port, &cookie).await?;
    while let Some(e) = tab::next_event(&mut ws).await? {
        let at = Instant::now();
        let Ok(mut seen) = seen.lock() else { continue };
        match e["type"].as_str() {
            Some("run_output") => {
                let s = seen.entry(e["run"].as_i64().unwrap_or(0)).or_default();
                s.first.get_or_insert(at);
                s.last = Some(at);
                s.bytes += e["chunks"]
                    .as_array()
                    .map(|c| c.iter().map(|c| c["text"].as_str().map_or(0, str::len)))
                    .map_or(0, |l| l.sum::<usize>()) as u64;
            }
            Some("resync") => seen.entry(RESYNCS).or_default().bytes += 1,
            Some("run") if !e["run"]["ended_at"].is_null() => {
                let s = seen
                    .entry(e["run"]["id"].as_i64().unwrap_or(0))
                    .or_default();
                s.ended = Some(at);
            }
            _ => {}
        }
    }
    Ok(())
}

async fn start(port: u16, owner: &str, name: &str) -> Result<i64, Error> {
    let json = serde_json::json!({
        "project": 1, "target": {"kind": "config", "name": name}, "restart": false
    });
    let (status, _, body) =
        tab::post_json(port, "/api/runs/start", &json.to_string(), Some(owner)).await?;
    let run: serde_json::Value = serde_json::from_str(&body)?;
    run["id"]
        .as_i64()
        .ok_or_else(|| format!("runs/start {name}: {status} {body}").into())
}

/// Waits until every tab in `seen` saw run `id` end.
async fn ended(seen: &[Watch], id: i64, within: Duration) -> Result<Vec<Seen>, Error> {
    let until = Instant::now() + within;
    loop {
        let now: Vec<Seen> = seen
            .iter()
            .map(|w| {
                w.lock()
                    .ok()
                    .and_then(|m| m.get(&id).copied())
                    .unwrap_or_default()
            })
            .collect();
        if now.iter().all(|s| s.ended.is_some()) {
            return Ok(now);
        }
        if Instant::now() > until {
            return Err(format!("run {id} did not end at every tab within {within:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn micros(from: Instant, to: Option<Instant>) -> u32 {
    to.map_or(u32::MAX, |t| t.duration_since(from).as_micros() as u32)
}

fn report(what: &str, mut v: Vec<u32>) {
    v.sort_unstable();
    println!(
        "{what}: p50 {:.1} ms  p99 {:.1} ms  max {:.1} ms  ({} runs)",
        percentile(&v, 0.5),
        percentile(&v, 0.99),
        percentile(&v, 1.0),
        v.len()
    );
}

/// The same command started by this process without a sandbox, for comparison.
fn direct(command: &str, runs: usize) -> Vec<u32> {
    (0..runs)
        .filter_map(|_| {
            let t = Instant::now();
            let ok = Command::new("sh")
                .args(["-c", command])
                .output()
                .is_ok_and(|o| o.status.success());
            ok.then(|| t.elapsed().as_micros() as u32)
        })
        .collect()
}

pub(crate) async fn latency_and_throughput(
    server: &Server,
    runs: usize,
    watchers: usize,
    flood_bytes: u64,
) -> Result<(), Error> {
    let port = server.port();
    let (owner, _) = tab::login(port, server::USER, server::PASSWORD).await?;
    tab::write_file(port, &owner, "tandem.toml", &tandem_toml(flood_bytes)).await?;
    let mut seen = Vec::new();
    for i in 0..watchers.max(1) {
        let name = format!("watcher{i:03}");
        let (cookie, _) = chat::sign_up(port, &name).await?;
        chat::invite(port, &owner, &name, "editor").await?;
        let w = Watch::default();
        tokio::spawn(watch(port, cookie, w.clone()));
        seen.push(w);
    }
    // The tabs are connected once each has seen a run end: a warm-up run (which also pays
    // for the working folder's first mirror) proves it.
    let warm = start(port, &owner, "true").await?;
    ended(&seen, warm, Duration::from_secs(30)).await?;

    let member = &seen[..1];
    let mut first_byte = Vec::with_capacity(runs);
    let mut python_end = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let id = start(port, &owner, "hi").await?;
        let s = ended(member, id, Duration::from_secs(30)).await?[0];
        if s.bytes != 3 {
            return Err(format!("run {id} printed {} bytes, not \"hi\\n\"", s.bytes).into());
        }
        first_byte.push(micros(t, s.first));
        python_end.push(micros(t, s.ended));
    }
    report(
        "Run click -> first output at another member (python3 print(\"hi\"))",
        first_byte,
    );
    report("Run click -> the end at another member (same)", python_end);
    report(
        "python3 print(\"hi\") started directly, no sandbox",
        direct(PYTHON_HI, runs),
    );
    let mut sandbox = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let id = start(port, &owner, "true").await?;
        sandbox.push(micros(
            t,
            ended(member, id, Duration::from_secs(30)).await?[0].ended,
        ));
    }
    report(
        "sandbox start cost: Run click -> the end of `true` at a member",
        sandbox,
    );
    report(
        "sh -c true started directly, no sandbox",
        direct("true", runs),
    );

    // Throughput to every watcher.
    let cpu0 = server.cpu_secs();
    let t = Instant::now();
    let id = start(port, &owner, "flood").await?;
    let all = ended(&seen, id, Duration::from_secs(600)).await?;
    let cpu = server.cpu_secs() - cpu0;
    let secs = |s: &Seen| {
        s.last
            .map_or(f64::NAN, |l| l.duration_since(t).as_secs_f64())
    };
    let mut rates: Vec<u32> = all
        .iter()
        .map(|s| (s.bytes as f64 / secs(s) / 1e6 * 1000.0) as u32)
        .collect();
    rates.sort_unstable();
    let short = all.iter().filter(|s| s.bytes != flood_bytes).count();
    let got: Vec<u64> = all.iter().map(|s| s.bytes).collect();
    let json = serde_json::json!({"project": 1});
    let (_, _, history) =
        tab::post_json(port, "/api/runs/history", &json.to_string(), Some(&owner)).await?;
    let history: serde_json::Value = serde_json::from_str(&history)?;
    let how = history
        .as_array()
        .and_then(|h| h.iter().find(|r| r["id"].as_i64() == Some(id)))
        .map(|r| format!("exit {} reason {}", r["exit_code"], r["reason"]))
        .unwrap_or_default();
    let resyncs: u64 = seen
        .iter()
        .filter_map(|w| w.lock().ok().and_then(|m| m.get(&RESYNCS).map(|s| s.bytes)))
        .sum();
    println!(
        "flood run {id}: {how}; bytes per watcher min {} max {}; resyncs told to watchers: {resyncs}",
        got.iter().min().unwrap_or(&0),
        got.iter().max().unwrap_or(&0)
    );
    println!(
        "`yes | head -c {flood_bytes}` to {} watchers: per watcher p50 {:.1} MB/s, slowest {:.1} MB/s; \
         {short} watchers got other than {flood_bytes} bytes; server CPU {cpu:.1} s, peak RSS {} MB",
        all.len(),
        percentile(&rates, 0.5),
        percentile(&rates, 0.0),
        server.peak_rss_kb() / 1024,
    );
    Ok(())
}
