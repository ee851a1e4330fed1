//! `cargo xtask cluster`: two (or more) Tandem nodes on this machine's PostgreSQL and NATS,
//! behind one address, for trying scale-out. The address is a plain TCP round robin written
//! here (the standard library only, like the rest of xtask): each new connection goes to the
//! next node that accepts it, so a stopped node is skipped and its browsers reconnect to
//! another, as behind a real load balancer (`deploy/nginx-cluster.conf` is the production
//! version of the same thing).

use std::{
    io::{self, Read},
    net::{Shutdown, SocketAddr, TcpListener, TcpStream},
    path::Path,
    process::Command,
    time::Duration,
};

use crate::{
    Ctx, Result, ServerGuard, TempDir, postgres_url, spawn_listening, tools, wait_healthy,
};

const USAGE: &str = "usage: cargo xtask cluster [--nodes N] [--port P]

Starts N nodes (default 2) on 127.0.0.1:P+1.. and a round robin over them on
127.0.0.1:P (default 3000). The database is TANDEM_CLUSTER_DATABASE_URL, else the
local PostgreSQL's database `tandem_cluster` (created with `createdb` when missing);
the bus is TANDEM_CLUSTER_BUS, else nats://127.0.0.1:4222.";

struct Options {
    nodes: u16,
    port: u16,
}

fn options(args: &[String]) -> Result<Options> {
    let mut o = Options {
        nodes: 2,
        port: 3000,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = |v: Option<&String>| -> Result<u16> {
            v.and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{flag} needs a number\n\n{USAGE}"))
        };
        match flag.as_str() {
            "--nodes" => o.nodes = value(it.next())?.clamp(1, 9),
            "--port" => o.port = value(it.next())?,
            _ => return Err(USAGE.to_owned()),
        }
    }
    Ok(o)
}

pub(crate) fn cluster(args: &[String]) -> Result {
    let o = options(args)?;
    let ctx = Ctx::new()?;
    ctx.setup(false)?;
    let database = database()?;
    let bus =
        std::env::var("TANDEM_CLUSTER_BUS").unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
    let broker = bus.trim_start_matches("nats://");
    TcpStream::connect(broker).map_err(|e| {
        format!("NATS does not answer at {bus} ({e}); start it or set TANDEM_CLUSTER_BUS")
    })?;
    ctx.build_release()?;
    let state = ctx.target_dir.join("cluster");
    std::fs::create_dir_all(&state).map_err(|e| format!("{}: {e}", state.display()))?;
    let secret = secret(&state.join("secret"))?;
    let mut nodes = Vec::new();
    let mut addrs = Vec::new();
    for i in 1..=o.nodes {
        let addr: SocketAddr = ([127, 0, 0, 1], o.port + i).into();
        let data = state.join(format!("node-{i}"));
        let mut cmd = ctx.cmd(&ctx.tandem_bin().to_string_lossy(), &[]);
        cmd.env("TANDEM_BIND", addr.to_string())
            .env("TANDEM_DATA_DIR", &data)
            .env("TANDEM_DATABASE_URL", &database)
            .env("TANDEM_BUS", &bus)
            .env("TANDEM_SECRET", &secret);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start node {i}: {e}"))?;
        let guard = ServerGuard(child);
        // One at a time: the first migrates the database, the others find it ready.
        wait_healthy(&format!("http://{addr}"))?;
        nodes.push(guard);
        addrs.push(addr);
    }
    let front: SocketAddr = ([127, 0, 0, 1], o.port).into();
    let listener = TcpListener::bind(front).map_err(|e| format!("{front}: {e}"))?;
    println!("\nTandem cluster: http://{front}  (round robin per connection)");
    for (i, a) in addrs.iter().enumerate() {
        let data = state.join(format!("node-{}", i + 1));
        println!("  node {}: http://{a}  data in {}", i + 1, data.display());
    }
    println!("  database {database}, bus {bus}; Ctrl+C stops everything");
    round_robin(&listener, &addrs);
    drop(nodes);
    Ok(())
}

/// The cluster's database: `TANDEM_CLUSTER_DATABASE_URL`, or `tandem_cluster` on the local
/// PostgreSQL, made when missing.
fn database() -> Result<String> {
    if let Ok(url) = std::env::var("TANDEM_CLUSTER_DATABASE_URL") {
        return Ok(url);
    }
    let made = Command::new("createdb")
        .args(["-h", "127.0.0.1", "-U", "postgres", "tandem_cluster"])
        .output()
        .map_err(|e| {
            format!("cannot run createdb ({e}): set TANDEM_CLUSTER_DATABASE_URL to an empty PostgreSQL database")
        })?;
    let why = String::from_utf8_lossy(&made.stderr);
    if !made.status.success() && !why.contains("already exists") {
        return Err(format!(
            "createdb tandem_cluster failed: {why}set TANDEM_CLUSTER_DATABASE_URL instead"
        ));
    }
    Ok("postgres://postgres@127.0.0.1:5432/tandem_cluster".to_owned())
}

/// The secret every node signs document tokens with, made once and kept beside the nodes.
fn secret(path: &Path) -> Result<String> {
    if let Ok(s) = std::fs::read_to_string(path)
        && s.trim().len() >= 64
    {
        return Ok(s.trim().to_owned());
    }
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("/dev/urandom: {e}"))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(path, &hex).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(hex)
}

/// Hands each accepted connection to the next node in turn that accepts one.
fn round_robin(listener: &TcpListener, nodes: &[SocketAddr]) {
    let mut next = 0usize;
    for client in listener.incoming() {
        let Ok(client) = client else { continue };
        let start = next;
        next = next.wrapping_add(1);
        let upstream = (0..nodes.len()).find_map(|i| {
            TcpStream::connect_timeout(&nodes[(start + i) % nodes.len()], Duration::from_secs(1))
                .ok()
        });
        match upstream {
            Some(upstream) => pipe(client, upstream),
            None => eprintln!("cluster: no node accepts connections"),
        }
    }
}

/// Copies bytes both ways until either side closes.
fn pipe(client: TcpStream, node: TcpStream) {
    let (Ok(client2), Ok(node2)) = (client.try_clone(), node.try_clone()) else {
        return;
    };
    std::thread::spawn(move || copy(client, node2));
    std::thread::spawn(move || copy(node, client2));
}

fn copy(mut from: TcpStream, mut to: TcpStream) {
    let _ = io::copy(&mut from, &mut to);
    let _ = to.shutdown(Shutdown::Write);
}

/// Two nodes for the browser test of a cluster, on a fresh database of the tests' PostgreSQL
/// (dropped afterwards) and the machine's NATS. `None` when either is missing, which fails
/// under CI.
pub(crate) struct BrowserCluster {
    pub(crate) bases: Vec<String>,
    nodes: Vec<ServerGuard>,
    maintenance: String,
    database: String,
    _data: TempDir,
}

pub(crate) fn for_browsers(ctx: &Ctx) -> Result<Option<BrowserCluster>> {
    let bus = std::env::var("TANDEM_TEST_NATS_URL")
        .unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
    let broker = TcpStream::connect(bus.trim_start_matches("nats://")).is_ok();
    let (Some(maintenance), true) = (postgres_url(), broker) else {
        if std::env::var_os("CI").is_some() {
            return Err(format!(
                "CI is set but PostgreSQL or NATS ({bus}) does not answer: \
                 the browser test of two nodes cannot run"
            ));
        }
        println!("\nPostgreSQL or NATS missing: the browser test of two nodes is skipped");
        return Ok(None);
    };
    tools::postgres_client(ctx)?;
    let database = format!("tandem_e2e_{}", std::process::id());
    let made = Command::new("createdb")
        .args(["--maintenance-db", &maintenance, &database])
        .status()
        .map_err(|e| format!("createdb: {e}"))?;
    if !made.success() {
        return Err(format!("createdb {database} failed ({made})"));
    }
    let url = match maintenance.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{database}"),
        None => return Err(format!("cannot read a database URL: {maintenance}")),
    };
    let data = TempDir::new("tandem-e2e-cluster")?;
    let mut cluster = BrowserCluster {
        bases: Vec::new(),
        nodes: Vec::new(),
        maintenance,
        database,
        _data: data,
    };
    for i in 1..=2 {
        let dir = cluster._data.0.join(format!("node-{i}"));
        let mut tandem = ctx.cmd(&ctx.tandem_bin().to_string_lossy(), &[]);
        tandem
            .env("TANDEM_BIND", "127.0.0.1:0")
            .env("TANDEM_DATA_DIR", &dir)
            .env("TANDEM_DATABASE_URL", &url)
            .env("TANDEM_BUS", &bus)
            .env("TANDEM_BUS_PREFIX", &cluster.database)
            .env(
                "TANDEM_SECRET",
                "the browser cluster's secret, the same on both nodes",
            )
            .env("TANDEM_LOG", "warn")
            .env("TANDEM_SIGNUPS_PER_IP_PER_HOUR", "100000");
        // One at a time: the first migrates the database.
        let (node, base) = spawn_listening(&format!("cluster node {i}"), tandem)?;
        wait_healthy(&base)?;
        cluster.nodes.push(node);
        cluster.bases.push(base);
    }
    println!(
        "\n==> two nodes for the cluster browser test: {}",
        cluster.bases.join(", ")
    );
    Ok(Some(cluster))
}

impl Drop for BrowserCluster {
    fn drop(&mut self) {
        self.nodes.clear();
        let _ = Command::new("dropdb")
            .args([
                "--maintenance-db",
                &self.maintenance,
                "--if-exists",
                &self.database,
            ])
            .status();
    }
}
