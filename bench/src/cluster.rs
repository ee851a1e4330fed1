//! The parts of `tandem-bench cluster` beyond the editing load: nodes that hold none of the
//! edited document's clients (their CPU while the others edit it), and idle connections
//! spread over the nodes (what each node holds).

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    sync::watch,
    task::JoinHandle,
    time::Instant,
};

use crate::{
    SentAt,
    client::{Client, Report},
    server::{Proc, Server},
};

type Error = Box<dyn std::error::Error>;

/// Idle clients on one document of `server` until `stop`.
async fn idle_clients(
    url: &str,
    n: usize,
    first_id: u64,
    stop: &watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<Report>>, Error> {
    let sent: SentAt = SentAt::default();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let mut c = Client::connect(url).await?;
        c.announce(first_id + i as u64).await?;
        tasks.push(tokio::spawn(c.run(None, sent.clone(), stop.clone())));
    }
    Ok(tasks)
}

/// The bystander nodes, each with a few idle clients on a document of its own, and their CPU
/// from now on.
pub(crate) struct Bystanders {
    procs: Vec<Proc>,
    cpu0: Vec<f64>,
    stop: watch::Sender<bool>,
    clients: Vec<JoinHandle<Report>>,
    started: Instant,
}

impl Bystanders {
    pub(crate) async fn start(nodes: &[&Server], clients: usize) -> Result<Self, Error> {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        for (k, node) in nodes.iter().enumerate() {
            // A document none of the editing clients has: `bench-1` on this node only.
            let url = on_node(&node.doc_urls(2)?[1], node);
            tasks.extend(idle_clients(&url, clients, 1_000_000 * (k as u64 + 1), &stopped).await?);
        }
        // The joins are done; what is measured is the steady state during the editing.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let procs: Vec<Proc> = nodes.iter().map(|s| s.process()).collect();
        let cpu0 = procs.iter().map(|p| p.cpu_secs()).collect();
        Ok(Self {
            procs,
            cpu0,
            stop,
            clients: tasks,
            started: Instant::now(),
        })
    }

    /// Prints each bystander's CPU since [`Self::start`] (numbered after the `nodes` active
    /// ones).
    pub(crate) fn report(self, nodes: usize) {
        let wall = self.started.elapsed().as_secs_f64();
        for (k, (p, c0)) in self.procs.iter().zip(&self.cpu0).enumerate() {
            println!(
                "node {} (bystander: only {} idle clients on another document): CPU {:.2} s over {wall:.1} s, RSS {} kB",
                nodes + k,
                self.clients.len() / self.procs.len().max(1),
                p.cpu_secs() - c0,
                p.rss_kb()
            );
        }
        let _ = self.stop.send(true);
        for t in self.clients {
            t.abort();
        }
    }
}

/// `url` (made by the first node) pointed at `node`: the token is valid on every node.
fn on_node(url: &str, node: &Server) -> String {
    match url.split_once("/yjs/") {
        Some((_, rest)) => format!("ws://127.0.0.1:{}/yjs/{rest}", node.port()),
        None => url.to_owned(),
    }
}

/// `n` idle connections with a cursor each, connection `i` on document `i % docs` and node
/// `(i / docs) % nodes`, so that each document has clients on every node (its worst case:
/// every node holds every document); then each node's connections, live documents and memory.
pub(crate) async fn idle(nodes: &[&Server], n: usize, docs: usize) -> Result<(), Error> {
    let urls = nodes[0].doc_urls(docs.max(1))?;
    let rss0: Vec<u64> = nodes.iter().map(|s| s.rss_kb()).collect();
    let (stop, stopped) = watch::channel(false);
    let sent: SentAt = SentAt::default();
    let mut tasks = Vec::with_capacity(n);
    let t0 = Instant::now();
    for i in 0..n {
        let node = nodes[(i / docs.max(1)) % nodes.len()];
        let mut c = Client::connect(&on_node(&urls[i % urls.len()], node)).await?;
        c.announce(i as u64 + 1).await?;
        tasks.push(tokio::spawn(c.run(None, sent.clone(), stopped.clone())));
    }
    let connect = t0.elapsed();
    // Let the cursors settle on every node (each node relays its clients' to the others).
    tokio::time::sleep(Duration::from_secs(3)).await;
    println!(
        "idle={n} docs={docs} nodes={}: connected in {:.1} s",
        nodes.len(),
        connect.as_secs_f64()
    );
    for (k, node) in nodes.iter().enumerate() {
        let m = metrics(node.port()).await.unwrap_or_default();
        let rss = node.rss_kb();
        let conns = (0..n)
            .filter(|i| (i / docs.max(1)) % nodes.len() == k)
            .count();
        println!(
            "node {k}: connections {conns}, subscribers {}, live documents {}, RSS {} -> {rss} kB ({:.1} kB per connection)",
            gauge(&m, "tandem_collab_subscribers"),
            gauge(&m, "tandem_collab_live_documents"),
            rss0[k],
            rss.saturating_sub(rss0[k]) as f64 / conns.max(1) as f64
        );
    }
    let _ = stop.send(true);
    let mut disconnected = 0;
    for t in tasks {
        disconnected += usize::from(t.await?.disconnected);
    }
    println!("disconnected={disconnected}");
    Ok(())
}

/// `/metrics` of the node on `port`.
async fn metrics(port: u16) -> Result<String, Error> {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    tcp.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .await?;
    let mut body = String::new();
    tcp.read_to_string(&mut body).await?;
    Ok(body)
}

/// A gauge's value in Prometheus text (`-` when absent).
fn gauge(text: &str, name: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ').map(str::to_owned))
        .unwrap_or_else(|| "-".to_owned())
}
