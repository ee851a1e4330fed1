//! One node's health: sockets, open documents, memory, the broker, the database's latency,
//! commit times from the engine's counters, and the data directory's disk.

use std::{path::Path, sync::atomic::Ordering, time::Instant};

use app::ops::NodeStatus;
use collab::{bus::BusHealth, engine::Stats};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

/// Commit counters at one moment; two of them give the interval's numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Commits {
    pub commits: u64,
    pub micros: u64,
    pub failures: u64,
}

/// What one interval saw.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Interval {
    pub mean_ms: f64,
    pub max_ms: f64,
    pub failures: u64,
}

impl Commits {
    pub fn read(stats: &Stats) -> Self {
        Self {
            commits: stats.commits.load(Ordering::Relaxed),
            micros: stats.commit_micros.load(Ordering::Relaxed),
            failures: stats.commit_failures.load(Ordering::Relaxed),
        }
    }

    /// The interval from `before` to `self`; `max_micros` is the slowest commit in it.
    pub fn since(self, before: Self, max_micros: u64) -> Interval {
        let commits = self.commits.saturating_sub(before.commits);
        let failures = self.failures.saturating_sub(before.failures);
        let micros = self.micros.saturating_sub(before.micros);
        // Failed writes take time too: the mean is over every attempt.
        let attempts = commits + failures;
        Interval {
            mean_ms: if attempts == 0 {
                0.0
            } else {
                micros as f64 / attempts as f64 / 1000.0
            },
            max_ms: max_micros as f64 / 1000.0,
            failures,
        }
    }
}

/// Resident memory of this process in bytes (Linux; 0 elsewhere).
pub fn memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| vm_rss(&s))
        .unwrap_or(0)
}

fn vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// (free for unprivileged users, total) bytes of the filesystem holding `dir`.
pub fn disk(dir: &Path) -> Option<(u64, u64)> {
    let s = rustix::fs::statvfs(dir).ok()?;
    Some((
        s.f_bavail.saturating_mul(s.f_frsize),
        s.f_blocks.saturating_mul(s.f_frsize),
    ))
}

/// One `SELECT 1`, in milliseconds (`None` when the database does not answer).
pub async fn db_latency_ms(db: &DatabaseConnection) -> Option<f64> {
    let started = Instant::now();
    let one = Statement::from_string(db.get_database_backend(), "SELECT 1");
    db.query_one_raw(one).await.ok()?;
    Some(started.elapsed().as_secs_f64() * 1000.0)
}

pub fn broker(health: BusHealth) -> &'static str {
    match health {
        BusHealth::Local => "local",
        BusHealth::Connected { .. } => "connected",
        BusHealth::Disconnected { .. } => "disconnected",
    }
}

/// This node's name in the console: host and port, stable across restarts (with an ephemeral
/// port, the node's id on the bus instead).
pub fn node_name(port: u16, node: u64) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    if port == 0 {
        format!("{host}#{:04x}", node & 0xffff)
    } else {
        format!("{host}:{port}")
    }
}

/// A report of this node.
pub fn node(
    name: &str,
    sockets: u64,
    open_docs: u64,
    health: BusHealth,
    up_secs: u64,
) -> NodeStatus {
    NodeStatus {
        node: name.to_owned(),
        this: true,
        sockets,
        open_docs,
        memory_bytes: memory_bytes(),
        broker: broker(health).to_owned(),
        uptime_secs: up_secs,
        reported_ms: crate::db::now_ms(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_resident_memory_from_proc_status() {
        let status = "Name:\ttandem\nVmPeak:\t  9000 kB\nVmRSS:\t    1234 kB\nThreads:\t4\n";
        assert_eq!(vm_rss(status), Some(1234 * 1024));
        assert_eq!(vm_rss("Name: x\n"), None);
        assert!(memory_bytes() > 0, "this test process has memory");
    }

    #[test]
    fn an_interval_averages_every_attempt() {
        let before = Commits {
            commits: 10,
            micros: 5_000,
            failures: 1,
        };
        let after = Commits {
            commits: 13,
            micros: 9_000,
            failures: 2,
        };
        let i = after.since(before, 2_500);
        assert_eq!(i.failures, 1);
        assert!(
            (i.mean_ms - 1.0).abs() < 1e-9,
            "4 ms over 4 attempts: {}",
            i.mean_ms
        );
        assert!((i.max_ms - 2.5).abs() < 1e-9);
        assert_eq!(after.since(after, 0), Interval::default());
    }

    #[test]
    fn the_disk_of_a_directory_is_measured() {
        let (free, total) = disk(Path::new(".")).expect("statvfs");
        assert!(total > 0 && free <= total);
    }
}

/// What a node needs to report on itself, and the last interval's commit numbers.
#[derive(Clone)]
pub struct Health {
    pub name: String,
    pub started: Instant,
    pub sockets: crate::auth::SocketSlots,
    pub engine: collab::engine::Engine,
    pub bus: std::sync::Arc<dyn collab::bus::Bus>,
    pub data_dir: std::path::PathBuf,
    pub last: std::sync::Arc<std::sync::Mutex<Interval>>,
}

impl Health {
    pub fn report(&self) -> NodeStatus {
        node(
            &self.name,
            self.sockets.total(),
            self.engine.live_docs() as u64,
            self.bus.health(),
            self.started.elapsed().as_secs(),
        )
    }

    pub fn last(&self) -> Interval {
        *crate::lock::lock(&self.last)
    }
}
