//! `tandem-bench`: starts a release `tandem` server as its own process (fresh SQLite data dir),
//! connects y-sync clients to `/yjs/{doc}` and reports delivery latency, throughput and the
//! server's RSS and CPU, read from /proc.
//!
//!   tandem-bench clients --clients 100 --writers 5 --rate 20 --secs 10
//!   tandem-bench connections --clients 5000
//!   tandem-bench trace --file ../shared/traces/automerge-paper.json.gz
//!   tandem-bench ack --updates 2000 --rate 50
//!   tandem-bench coldload --updates 100000
//!   tandem-bench timeline --updates 100000 --named 120
//!   tandem-bench chat --members 100 --messages 200 --rate 10
//!   tandem-bench chat-history --messages 100000
//!   tandem-bench revoke --members 100
//!   tandem-bench logins --concurrency 32 --total 400
//!   tandem-bench import --files 7 --mib 64
//!   tandem-bench runs --runs 30 --watchers 10 --flood-bytes 100000000
//!   tandem-bench floor --conns 500 --rate 100 --secs 10

mod broker;
mod chat;
mod client;
mod cluster;
mod floor;
mod history;
mod import;
mod logins;
mod lookup;
mod revoke;
mod runs;
mod server;
mod tab;
mod terminal;
mod trace;

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "tandem-bench",
    about = "Load generator for Tandem's document server"
)]
struct Cli {
    /// The `tandem` binary to benchmark (a release build).
    #[arg(long, global = true)]
    tandem: Option<PathBuf>,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// N clients on one document; W of them write R single-character updates per second.
    Clients {
        #[command(flatten)]
        load: Load,
    },
    /// N idle clients with awareness state, spread evenly over D documents; reports server RSS
    /// per connection.
    Connections {
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        #[arg(long, default_value_t = 1)]
        docs: usize,
    },
    /// Replays a sequential editing trace (josephg/editing-traces format) through the server.
    Trace {
        #[arg(long)]
        file: PathBuf,
        /// Send every update at once (no window) and check that the reader converges.
        #[arg(long)]
        burst: bool,
    },
    /// One browser tab on `/ws` types R characters per second: edit -> "saved" latency.
    Ack {
        #[arg(long, default_value_t = 2000)]
        updates: usize,
        #[arg(long, default_value_t = 50.0)]
        rate: f64,
    },
    /// Time to open a document with an N-update history, from a freshly started server,
    /// before and after its log is compacted into a snapshot.
    Coldload {
        #[arg(long, default_value_t = 100_000)]
        updates: usize,
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// A file with an N-update history (compaction on) and K named versions: timeline page
    /// and version-text times, server memory.
    Timeline {
        #[arg(long, default_value_t = 100_000)]
        updates: usize,
        #[arg(long, default_value_t = 120)]
        named: usize,
        #[arg(long, default_value_t = 21)]
        runs: usize,
    },
    /// M member accounts each hold a `/ws` tab; one member posts N chat messages at R per
    /// second: send -> arrival latency at every member.
    Chat {
        #[arg(long, default_value_t = 100)]
        members: usize,
        #[arg(long, default_value_t = 200)]
        messages: usize,
        #[arg(long, default_value_t = 10.0)]
        rate: f64,
    },
    /// History page load time over a chat of N messages (and of 1,000 as the baseline).
    ChatHistory {
        #[arg(long, default_value_t = 100_000)]
        messages: usize,
        #[arg(long, default_value_t = 21)]
        runs: usize,
    },
    /// M members each hold a `/ws` tab; the owner removes them one by one: removal -> close
    /// latency at the removed tab.
    Revoke {
        #[arg(long, default_value_t = 100)]
        members: usize,
    },
    /// C clients log in at once, N logins in all (set TANDEM_PASSWORD_HASH_CONCURRENCY to
    /// compare caps): logins per second, latency, peak server RSS.
    Logins {
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        #[arg(long, default_value_t = 400)]
        total: usize,
    },
    /// Uploads a zip of N files of M MiB of zeros each (a few hundred kB compressed) to
    /// "Import from zip": the answer, its time and the server's peak RSS.
    Import {
        #[arg(long, default_value_t = 7)]
        files: usize,
        #[arg(long, default_value_t = 64)]
        mib: usize,
    },
    /// The assistant's project lookups: `/api/chat/ask` → reply for a question naming code
    /// (searched first) against one naming nothing, in a project of N imported files.
    Lookup {
        #[arg(long, default_value_t = 1000)]
        files: usize,
        #[arg(long, default_value_t = 30)]
        runs: usize,
    },
    /// Runs in the sandbox (needs bubblewrap): Run click -> first output at a member for
    /// `print("hi")` over R runs, the sandbox's start cost, and `yes | head -c B` streamed to W
    /// watching members (output rate capped at K KiB/s; the default here is no cap).
    Runs {
        #[arg(long, default_value_t = 30)]
        runs: usize,
        #[arg(long, default_value_t = 10)]
        watchers: usize,
        #[arg(long, default_value_t = 100_000_000)]
        flood_bytes: u64,
        #[arg(long, default_value_t = 100_000_000)]
        rate_kib: u64,
    },
    /// `clients` against a server that is already running, Tandem's or a peer's (the
    /// comparison in `bench/peers` starts them): its document URL and process id.
    Peer {
        #[arg(long)]
        url: String,
        #[arg(long)]
        pid: u32,
        /// Hocuspocus's framing, with this document name.
        #[arg(long)]
        hocuspocus: Option<String>,
        #[command(flatten)]
        load: Load,
    },
    /// The kernel's share: one small write per recipient per update to loopback sockets
    /// whose readers wait in epoll, the sender's CPU per write (no server involved).
    Floor {
        #[arg(long, default_value_t = 500)]
        conns: usize,
        /// Rounds (one write to every socket) per second.
        #[arg(long, default_value_t = 100.0)]
        rate: f64,
        #[arg(long, default_value_t = 10.0)]
        secs: f64,
        /// Bytes per frame (a one-character update in a websocket frame is about 30).
        #[arg(long, default_value_t = 32)]
        bytes: usize,
        /// Frames per write.
        #[arg(long, default_value_t = 1)]
        batch: usize,
    },
    /// `clients` over several nodes sharing a PostgreSQL database (empty, made beforehand) and
    /// a NATS server: the writers on the first node, the readers spread over all of them;
    /// delivery latency per node (same node as the writers, or across the bus) and each node's
    /// CPU.
    Cluster {
        /// `postgres://…` of an empty database.
        #[arg(long)]
        database_url: String,
        #[arg(long, default_value = "nats://127.0.0.1:4222")]
        bus: String,
        #[arg(long, default_value_t = 2)]
        nodes: usize,
        /// More nodes that get none of the document's clients, only `--bystander-clients`
        /// idle ones on another document: their CPU shows what a node does for a document
        /// its clients do not have open (nothing, by design).
        #[arg(long, default_value_t = 0)]
        bystanders: usize,
        #[arg(long, default_value_t = 10)]
        bystander_clients: usize,
        /// Instead of the editing load: this many idle connections (with a cursor each)
        /// spread over the nodes and `--docs` documents; each node's share of connections,
        /// documents and memory.
        #[arg(long)]
        idle: Option<usize>,
        #[arg(long, default_value_t = 100)]
        docs: usize,
        #[command(flatten)]
        load: Load,
    },
    /// A broker scale-out could use (`nats://…` or `redis://…`, running on this machine):
    /// N subscriber connections (nodes) on T topics (documents), R messages a second of B bytes
    /// from one publisher, batched per millisecond: latency, deliveries, broker CPU.
    Broker {
        #[command(flatten)]
        load: broker::Load,
    },
    /// A shared terminal (needs bubblewrap): keystroke -> echo at a second member, K keys.
    Terminal {
        #[arg(long, default_value_t = 500)]
        keys: usize,
        /// Pause between keys, in ms.
        #[arg(long, default_value_t = 30)]
        gap_ms: u64,
        /// `postgres://…` of an empty database: the terminal runs on one node and both
        /// members' tabs are on a second one (keys and output cross the bus).
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long, default_value = "nats://127.0.0.1:4222")]
        bus: String,
    },
}

pub(crate) type SentAt = Arc<Mutex<HashMap<u64, Instant>>>;

pub(crate) fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    if let Mode::Peer {
        url,
        pid,
        hocuspocus,
        load,
    } = cli.mode
    {
        let framing = hocuspocus.map_or(client::Framing::YSync, client::Framing::Hocuspocus);
        return run_clients(server::Proc(pid), &url, &framing, load).await;
    }
    if let Mode::Floor {
        conns,
        rate,
        secs,
        bytes,
        batch,
    } = cli.mode
    {
        let f = floor::Floor {
            conns,
            rate,
            secs,
            bytes,
            batch,
        };
        return tokio::task::spawn_blocking(move || floor::run(&f).map_err(|e| e.to_string()))
            .await?
            .map_err(Into::into);
    }
    if let Mode::Broker { load } = &cli.mode {
        return broker::run(load).await.map_err(|e| e.to_string().into());
    }
    let tandem = cli.tandem.unwrap_or_else(server::default_binary);
    // Cold load measures an uncompacted history first, so the server must not compact yet.
    let env: Vec<(&str, String)> = match cli.mode {
        Mode::Coldload { .. } => vec![(COMPACT, NEVER.to_owned())],
        // One load generator sends far more than a person types.
        Mode::Chat { .. } | Mode::ChatHistory { .. } => {
            vec![("TANDEM_CHAT_MESSAGES_PER_MINUTE", "1000000000".to_owned())]
        }
        // A provider is configured (a closed port: only the reply is timed), without limits.
        Mode::Lookup { .. } => vec![
            ("TANDEM_AI_BASE_URL", "http://127.0.0.1:9/v1".to_owned()),
            ("TANDEM_AI_MODEL", "none".to_owned()),
            ("TANDEM_AI_REQUESTS_PER_MINUTE", "1000000000".to_owned()),
            (
                "TANDEM_AI_REQUESTS_PER_MINUTE_PER_PROJECT",
                "1000000000".to_owned(),
            ),
        ],
        Mode::Runs {
            rate_kib,
            flood_bytes,
            ..
        } => runs::env(rate_kib, flood_bytes),
        Mode::Cluster {
            ref database_url,
            ref bus,
            ..
        }
        | Mode::Terminal {
            database_url: Some(ref database_url),
            ref bus,
            ..
        } => vec![
            ("TANDEM_DATABASE_URL", database_url.clone()),
            ("TANDEM_BUS", bus.clone()),
            ("TANDEM_BUS_PREFIX", format!("bench{}", std::process::id())),
            (
                "TANDEM_SECRET",
                "tandem-bench: one secret shared by every node".to_owned(),
            ),
        ],
        _ => Vec::new(),
    };
    let mut server = server::Server::start(&tandem, &env).await?;
    let result = match cli.mode {
        Mode::Clients { load } => {
            run_clients(
                server.process(),
                &server.doc_url(),
                &Default::default(),
                load,
            )
            .await
        }
        Mode::Cluster {
            nodes,
            bystanders,
            bystander_clients,
            idle,
            docs,
            load,
            ..
        } => {
            let nodes = nodes.max(1);
            let mut others = Vec::new();
            for k in 1..nodes + bystanders {
                others.push(server.join(k, &env).await?);
            }
            let all: Vec<&server::Server> = std::iter::once(&server).chain(&others).collect();
            let (active, standing) = all.split_at(nodes);
            let result = match idle {
                Some(n) => cluster::idle(active, n, docs).await,
                None => {
                    let procs: Vec<server::Proc> = active.iter().map(|s| s.process()).collect();
                    let urls: Vec<String> = active.iter().map(|s| s.doc_url()).collect();
                    let watch = cluster::Bystanders::start(standing, bystander_clients).await?;
                    let result = run_spread(&procs, &urls, &Default::default(), load).await;
                    watch.report(nodes);
                    result
                }
            };
            for o in others {
                o.stop();
            }
            result
        }
        // Answered above, before a server of its own is started.
        Mode::Peer { .. } | Mode::Floor { .. } | Mode::Broker { .. } => Ok(()),
        Mode::Connections { clients, docs } => run_connections(&server, clients, docs).await,
        Mode::Trace { file, burst } => trace::run(&mut server, &file, burst).await,
        Mode::Ack { updates, rate } => run_ack(&server, updates, rate).await,
        Mode::Coldload { updates, runs } => run_coldload(&mut server, updates, runs).await,
        Mode::Timeline {
            updates,
            named,
            runs,
        } => history::timeline(&server, updates, named, runs)
            .await
            .map_err(|e| e.to_string().into()),
        Mode::Chat {
            members,
            messages,
            rate,
        } => chat::delivery(&server, members, messages, rate)
            .await
            .map_err(|e| e.to_string().into()),
        Mode::ChatHistory { messages, runs } => chat::history(&server, messages, runs)
            .await
            .map_err(|e| e.to_string().into()),
        Mode::Revoke { members } => revoke::removal(&server, members)
            .await
            .map_err(|e| e.to_string().into()),
        Mode::Logins { concurrency, total } => logins::throughput(&server, concurrency, total)
            .await
            .map_err(|e| e.to_string().into()),
        Mode::Lookup { files, runs } => lookup::ask_cost(&server, files, runs)
            .await
            .map_err(|e| e.to_string().into()),
        Mode::Import { files, mib } => import::zeros(&server, files, mib)
            .await
            .map_err(|e| e.to_string().into()),
        Mode::Runs {
            runs,
            watchers,
            flood_bytes,
            ..
        } => runs::latency_and_throughput(&server, runs, watchers, flood_bytes)
            .await
            .map_err(|e| e.to_string().into()),
        Mode::Terminal {
            keys,
            gap_ms,
            database_url,
            ..
        } => {
            let gap = Duration::from_millis(gap_ms);
            let result = match database_url {
                Some(_) => match server.join(1, &env).await {
                    Ok(tabs) => {
                        let r = terminal::keystroke_echo(&server, tabs.port(), keys, gap).await;
                        tabs.stop();
                        r
                    }
                    Err(e) => Err(e.to_string().into()),
                },
                None => terminal::keystroke_echo(&server, server.port(), keys, gap).await,
            };
            result.map_err(|e| e.to_string().into())
        }
    };
    server.stop();
    result
}

/// The `clients` load: N clients on one document, W writers at R updates a second each.
#[derive(Args)]
struct Load {
    #[arg(long = "clients", default_value_t = 10)]
    n: usize,
    #[arg(long, default_value_t = 5)]
    writers: usize,
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    #[arg(long, default_value_t = 10)]
    secs: u64,
}

async fn run_clients(
    server: server::Proc,
    url: &str,
    framing: &client::Framing,
    load: Load,
) -> Result<(), Box<dyn std::error::Error>> {
    run_spread(&[server], &[url.to_owned()], framing, load).await
}

/// The node client `i` joins: every writer on the first, readers round-robin over all, so a
/// reader on another node measures the bus.
fn node_of(i: usize, writers: usize, nodes: usize) -> usize {
    if i < writers { 0 } else { i % nodes }
}

/// `clients` with the clients spread over `urls` (one per node, `servers` their processes);
/// with one node, the single-server benchmark.
async fn run_spread(
    servers: &[server::Proc],
    urls: &[String],
    framing: &client::Framing,
    load: Load,
) -> Result<(), Box<dyn std::error::Error>> {
    let Load {
        n,
        writers,
        rate,
        secs,
    } = load;
    let secs = Duration::from_secs(secs);
    let sent: SentAt = Arc::default();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    // Everyone connects before anyone writes, so every update is delivered as an update.
    let mut connected = Vec::with_capacity(n);
    for i in 0..n {
        let url = &urls[node_of(i, writers, urls.len())];
        connected.push(client::Client::connect_framed(url, framing.clone()).await?);
    }
    let tasks: Vec<_> = connected
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            tokio::spawn(c.run((i < writers).then_some(rate), sent.clone(), stopped.clone()))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let server = servers[0];
    let cpu_each = || servers.iter().map(|s| s.cpu_secs()).collect::<Vec<_>>();
    let each0 = cpu_each();
    let (rss0, cpu0, t0) = (server.rss_kb(), server.cpu_secs(), Instant::now());
    let own0 = server::process_cpu_secs("self");
    let lag = tokio::spawn(loop_lag(secs));
    tokio::time::sleep(secs).await;
    let _ = stop.send(true);
    let (rss1, cpu1, wall) = (server.rss_kb(), server.cpu_secs(), t0.elapsed());
    let each1 = cpu_each();
    let own = server::process_cpu_secs("self") - own0;
    let mut latencies = Vec::new();
    let mut per_node = vec![Vec::new(); urls.len()];
    let mut disconnected = 0;
    for (i, t) in tasks.into_iter().enumerate() {
        let r = t.await?;
        per_node[node_of(i, writers, urls.len())].extend_from_slice(&r.latencies_us);
        latencies.extend(r.latencies_us);
        disconnected += usize::from(r.disconnected);
    }
    latencies.sort_unstable();
    if urls.len() > 1 {
        let total: f64 = each1.iter().zip(&each0).map(|(a, b)| a - b).sum();
        for (k, mut l) in per_node.into_iter().enumerate() {
            l.sort_unstable();
            println!(
                "node {k}{}: readers' deliveries {}, latency ms p50 {:.2} p99 {:.2} max {:.2}; node CPU {:.2} s",
                if k == 0 {
                    " (the writers' node)"
                } else {
                    " (across the bus)"
                },
                l.len(),
                percentile(&l, 0.5),
                percentile(&l, 0.99),
                percentile(&l, 1.0),
                each1[k] - each0[k],
            );
        }
        println!(
            "all nodes: CPU {total:.2} s, {:.1} us per delivered update",
            1e6 * total / latencies.len().max(1) as f64
        );
    }
    let updates = sent.lock().map(|m| m.len()).unwrap_or(0);
    let cpu = cpu1 - cpu0;
    println!(
        "clients={n} writers={writers} rate={rate}/s secs={}: updates={updates} deliveries={} (expected {}) disconnected={disconnected}",
        secs.as_secs(),
        latencies.len(),
        updates * (n - 1)
    );
    println!(
        "delivery latency ms: p50 {:.2}  p95 {:.2}  p99 {:.2}  max {:.2}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0)
    );
    println!(
        "server: RSS {} -> {} kB; CPU {:.2} s over {:.1} s ({:.0}%); {:.1} us CPU per delivered update",
        rss0,
        rss1,
        cpu,
        wall.as_secs_f64(),
        100.0 * cpu / wall.as_secs_f64(),
        1e6 * cpu / latencies.len().max(1) as f64
    );
    let (lag_p99, lag_max) = lag.await.unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let busy = own / wall.as_secs_f64();
    println!(
        "load generator: CPU {own:.2} s ({:.0}% of one core); timer lag p99 {lag_p99:.1} ms, max {lag_max:.1} ms{}",
        100.0 * busy,
        // Its own lag shows up as delivery latency: such a run measures the client, not the server.
        if busy > 0.8 * cores || lag_p99 > 5.0 {
            " -- CLIENT-BOUND: the latencies above are the load generator's, not the server's"
        } else {
            ""
        }
    );
    Ok(())
}

/// How late a 10 ms timer fires on the load generator's runtime over `secs` (p99 and max, in
/// ms): a busy client delays reading, which would be read as server latency.
async fn loop_lag(secs: Duration) -> (f64, f64) {
    let mut lags = Vec::new();
    let end = Instant::now() + secs;
    while Instant::now() < end {
        let asked = Instant::now();
        tokio::time::sleep(Duration::from_millis(10)).await;
        lags.push(asked.elapsed().as_secs_f64() * 1000.0 - 10.0);
    }
    lags.sort_by(f64::total_cmp);
    let at = |p: f64| {
        lags.get(((lags.len().max(1) - 1) as f64 * p) as usize)
            .copied()
    };
    (at(0.99).unwrap_or(0.0), lags.last().copied().unwrap_or(0.0))
}

async fn run_connections(
    server: &server::Server,
    n: usize,
    docs: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let urls = server.doc_urls(docs.max(1))?;
    let rss0 = server.rss_kb();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sent: SentAt = Arc::default();
    let mut tasks = Vec::with_capacity(n);
    let t0 = Instant::now();
    for i in 0..n {
        let mut c = client::Client::connect(&urls[i % urls.len()]).await?;
        c.announce(i as u64 + 1).await?;
        // Like an open tab: keeps reading (everyone's cursors) and otherwise stays idle.
        tasks.push(tokio::spawn(c.run(None, sent.clone(), stopped.clone())));
    }
    let connect_time = t0.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss1 = server.rss_kb();
    let _ = stop.send(true);
    let mut disconnected = 0;
    for t in tasks {
        disconnected += usize::from(t.await?.disconnected);
    }
    println!(
        "connections={n} docs={docs}: connected in {:.1} s; server RSS {rss0} -> {rss1} kB = {:.1} kB per connection; disconnected={disconnected}",
        connect_time.as_secs_f64(),
        (rss1.saturating_sub(rss0)) as f64 / n as f64
    );
    Ok(())
}

const COMPACT: &str = "TANDEM_COMPACT_AFTER_UPDATES";
const NEVER: &str = "1000000000000";

async fn run_ack(
    server: &server::Server,
    updates: usize,
    rate: f64,
) -> Result<(), Box<dyn std::error::Error>> {
    let (cookie, doc) = tab::login(server.port(), server::USER, server::PASSWORD)
        .await
        .map_err(|e| e.to_string())?;
    let mut lat = tab::edits_until_saved(server.port(), &cookie, doc, updates, Some(rate))
        .await
        .map_err(|e| e.to_string())?;
    lat.sort_unstable();
    println!(
        "edit->saved over /ws, {updates} edits at {rate}/s: p50 {:.2} ms  p95 {:.2}  p99 {:.2}  max {:.2}",
        percentile(&lat, 0.5),
        percentile(&lat, 0.95),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0)
    );
    Ok(())
}

/// Opens the document `runs` times, each time on a freshly (re)started server; returns the
/// median time from connecting to holding the whole document, in milliseconds.
async fn cold_opens(
    server: &mut server::Server,
    url: &str,
    env: &[(&str, String)],
    runs: usize,
) -> Result<(f64, usize), Box<dyn std::error::Error>> {
    let mut times = Vec::with_capacity(runs);
    let mut size = 0;
    for _ in 0..runs {
        server.restart(env).await?;
        let t0 = Instant::now();
        let c = client::Client::connect(url).await?;
        times.push(c.synced_at.duration_since(t0).as_secs_f64() * 1000.0);
        size = c.initial_bytes;
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], size))
}

async fn run_coldload(
    server: &mut server::Server,
    updates: usize,
    runs: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let port = server.port();
    let (cookie, doc) = tab::login(port, server::USER, server::PASSWORD)
        .await
        .map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    tab::edits_until_saved(port, &cookie, doc, updates, None)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "wrote {updates} single-character updates through /ws in {:.1} s (all acknowledged)",
        t0.elapsed().as_secs_f64()
    );
    let token = tab::yjs_token(port, &cookie, doc)
        .await
        .map_err(|e| e.to_string())?;
    let url = format!("ws://127.0.0.1:{port}/yjs/{doc}?token={token}");
    let never = [(COMPACT, NEVER.to_owned())];
    let (before, size) = cold_opens(server, &url, &never, runs).await?;
    println!(
        "cold open, {updates}-update log, no snapshot: median {before:.1} ms over {runs} restarts ({size} B state)"
    );
    // One more edit on a server that compacts: the commit folds the log into a snapshot.
    let compacting = [(COMPACT, "1000".to_owned())];
    server.restart(&compacting).await?;
    let (cookie, _) = tab::login(port, server::USER, server::PASSWORD)
        .await
        .map_err(|e| e.to_string())?;
    tab::edits_until_saved(port, &cookie, doc, 1, None)
        .await
        .map_err(|e| e.to_string())?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (after, size) = cold_opens(server, &url, &compacting, runs).await?;
    println!(
        "cold open after compaction (snapshot only): median {after:.1} ms over {runs} restarts ({size} B state); {:.1}x faster",
        before / after
    );
    Ok(())
}
