//! Control groups for runs: one group per run under the server's own group, in the `memory`
//! and `pids` controllers (cgroup v1, as on hosts that mount them apart) or in the unified
//! hierarchy (v2). A run's processes join its group before bubblewrap starts (a small shell
//! writes its own pid into `cgroup.procs`, then execs bubblewrap), so nothing escapes it by
//! forking early.
//!
//! Where no writable hierarchy is found, runs fall back to rlimits alone and the server says
//! so at start and in /healthz.

use std::{
    fs, io,
    path::{Path, PathBuf},
};

use rustix::process::{Pid, Signal, kill_process};

/// Where this server may create run groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hierarchy {
    /// cgroup v1: the folders of the memory and pids controllers under which runs go.
    V1 { memory: PathBuf, pids: PathBuf },
    /// cgroup v2: the folder under which runs go.
    V2 { base: PathBuf },
}

impl Hierarchy {
    /// Finds writable controllers from `/proc/self/cgroup` and the mounts under
    /// `/sys/fs/cgroup`, and makes the `tandem` folder runs go in. `None` when the host allows
    /// no cgroups to this process.
    pub fn detect() -> Option<Hierarchy> {
        let own = fs::read_to_string("/proc/self/cgroup").ok()?;
        let root = Path::new("/sys/fs/cgroup");
        let mut memory = None;
        let mut pids = None;
        let mut unified = None;
        for line in own.lines() {
            let mut parts = line.splitn(3, ':');
            let (Some(_), Some(controllers), Some(path)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let rel = path.trim_start_matches('/');
            for c in controllers.split(',') {
                match c {
                    "memory" => memory = Some(root.join("memory").join(rel)),
                    "pids" => pids = Some(root.join("pids").join(rel)),
                    "" => unified = Some(root.join(rel)),
                    _ => {}
                }
            }
        }
        if let (Some(m), Some(p)) = (&memory, &pids)
            && m.join("memory.limit_in_bytes").exists()
            && p.join("cgroup.procs").exists()
        {
            let (m, p) = (m.join("tandem"), p.join("tandem"));
            if fs::create_dir_all(&m).is_ok() && fs::create_dir_all(&p).is_ok() {
                clean(&m);
                clean(&p);
                return Some(Hierarchy::V1 { memory: m, pids: p });
            }
        }
        // v2: the server's own group cannot hold both processes and child groups, so runs go
        // in a sibling `tandem` folder where the parent delegates memory and pids.
        let unified = unified?;
        let controllers = fs::read_to_string(unified.join("cgroup.controllers")).ok()?;
        if !(controllers.contains("memory") && controllers.contains("pids")) {
            return None;
        }
        let base = unified.join("tandem");
        fs::create_dir_all(&base).ok()?;
        fs::write(base.join("cgroup.subtree_control"), "+memory +pids").ok()?;
        clean(&base);
        Some(Hierarchy::V2 { base })
    }

    pub fn describe(&self) -> &'static str {
        match self {
            Hierarchy::V1 { .. } => "cgroup v1 (memory, pids)",
            Hierarchy::V2 { .. } => "cgroup v2 (memory, pids)",
        }
    }

    /// Makes a group for one run with these limits. Its name carries this process's pid (so
    /// a later server knows whose it was) and a number unique in the process (several servers
    /// in one process, as tests start them, never share one).
    pub fn group(&self, memory_bytes: u64, max_pids: u64) -> io::Result<Group> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "run-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let name = name.as_str();
        let dirs = match self {
            Hierarchy::V1 { memory, pids } => vec![memory.join(name), pids.join(name)],
            Hierarchy::V2 { base } => vec![base.join(name)],
        };
        for d in &dirs {
            // A group left behind by a crash would refuse new processes' limits: start clean.
            if d.exists() {
                let _ = kill_and_remove(d);
            }
            fs::create_dir(d)?;
        }
        let group = Group {
            dirs,
            v2: matches!(self, Hierarchy::V2 { .. }),
        };
        if group.v2 {
            let d = &group.dirs[0];
            fs::write(d.join("memory.max"), memory_bytes.to_string())?;
            // No swap: a hog hits the limit instead of the disk.
            let _ = fs::write(d.join("memory.swap.max"), "0");
            fs::write(d.join("pids.max"), max_pids.to_string())?;
        } else {
            let m = &group.dirs[0];
            fs::write(m.join("memory.limit_in_bytes"), memory_bytes.to_string())?;
            let _ = fs::write(
                m.join("memory.memsw.limit_in_bytes"),
                memory_bytes.to_string(),
            );
            fs::write(group.dirs[1].join("pids.max"), max_pids.to_string())?;
        }
        Ok(group)
    }
}

/// A group's use of the machine at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub memory: u64,
    /// Clock ticks of CPU time ([`TICKS_PER_SEC`] a second).
    pub cpu_ticks: u64,
}

/// Linux reports CPU times in `/proc` in USER_HZ, 100 on every architecture it runs on.
pub const TICKS_PER_SEC: u64 = 100;

/// utime + stime + cutime + cstime of a `/proc/PID/stat` line (fields 14 to 17; the name
/// in parentheses may hold spaces, so fields are counted after its closing parenthesis).
fn cpu_ticks(stat: &str) -> Option<u64> {
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After ")": state is field 3, so field N is at index N - 3.
    let t = |n: usize| fields.get(n - 3)?.parse::<i64>().ok();
    let total = t(14)? + t(15)? + t(16)?.max(0) + t(17)?.max(0);
    u64::try_from(total).ok()
}

/// One run's group; dropping it kills what is left in it and removes it.
#[derive(Debug)]
pub struct Group {
    dirs: Vec<PathBuf>,
    v2: bool,
}

impl Group {
    /// The `cgroup.procs` files a process writes its pid into to join the group.
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|d| d.join("cgroup.procs")).collect()
    }

    /// Pids now in the group.
    pub fn processes(&self) -> Vec<i32> {
        let Some(d) = self.dirs.last() else {
            return Vec::new();
        };
        procs(d)
    }

    /// Whether the memory controller had to kill a process (the limit was hit).
    pub fn oom_killed(&self) -> bool {
        let d = &self.dirs[0];
        if self.v2 {
            event_count(&d.join("memory.events"), "oom_kill ") > 0
        } else {
            // v1: `oom_kill` in oom_control where the kernel has it; failcnt (allocations
            // refused at the limit) on older kernels.
            event_count(&d.join("memory.oom_control"), "oom_kill ") > 0
                || fs::read_to_string(d.join("memory.failcnt"))
                    .ok()
                    .and_then(|s| s.trim().parse::<u64>().ok())
                    .is_some_and(|n| n > 0)
        }
    }

    /// What the group's processes use now: memory from the memory controller, CPU time
    /// (user and system, of the live processes and the children they waited for) from
    /// `/proc`, since v1 hosts give runs no cpu controller. `None` when nothing is readable.
    pub fn usage(&self) -> Option<Usage> {
        let d = &self.dirs[0];
        let file = if self.v2 {
            "memory.current"
        } else {
            "memory.usage_in_bytes"
        };
        let memory = fs::read_to_string(d.join(file))
            .ok()?
            .trim()
            .parse::<u64>()
            .ok()?;
        let cpu_ticks = self
            .processes()
            .into_iter()
            .filter_map(|pid| fs::read_to_string(format!("/proc/{pid}/stat")).ok())
            .filter_map(|stat| cpu_ticks(&stat))
            .sum();
        Some(Usage { memory, cpu_ticks })
    }

    /// Whether a fork was refused at the process limit.
    pub fn pids_exhausted(&self) -> bool {
        let Some(d) = self.dirs.last() else {
            return false;
        };
        // Both versions keep a `max N` line: forks refused at the limit.
        event_count(&d.join("pids.events"), "max ") > 0
    }

    /// Sends `signal` to every process of the group.
    pub fn signal(&self, signal: Signal) {
        for pid in self.processes() {
            send(pid, signal);
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        for d in &self.dirs {
            if let Err(e) = kill_and_remove(d) {
                tracing::debug!(dir = %d.display(), error = %e, "could not remove a run's cgroup");
            }
        }
    }
}

/// Ends runs a previous server left behind (it was killed, so its sandboxes outlived it):
/// the groups named for a process that is gone.
fn clean(base: &Path) {
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("run-").and_then(|r| r.split('-').next()) else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = kill_and_remove(&e.path());
        }
    }
}

/// The number after `key` in a flat-keyed cgroup file (`memory.events`, `pids.events`).
fn event_count(file: &Path, key: &str) -> u64 {
    fs::read_to_string(file)
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(key).and_then(|n| n.trim().parse().ok()))
        })
        .unwrap_or(0)
}

fn procs(dir: &Path) -> Vec<i32> {
    fs::read_to_string(dir.join("cgroup.procs"))
        .map(|s| s.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

/// Kills what is left in a group (a few rounds: a fork racing the kill lands in the group
/// too) and removes the folder.
fn kill_and_remove(dir: &Path) -> io::Result<()> {
    for _ in 0..50 {
        let pids = procs(dir);
        if pids.is_empty() {
            break;
        }
        for pid in pids {
            send(pid, Signal::KILL);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    fs::remove_dir(dir)
}

/// Sends a signal to a pid read from a group; one that exited meanwhile is no error.
pub fn send(pid: i32, signal: Signal) {
    if let Some(pid) = Pid::from_raw(pid) {
        let _ = kill_process(pid, signal);
    }
}

#[cfg(test)]
mod usage_tests {
    use super::*;

    #[test]
    fn cpu_time_is_read_after_the_process_name() {
        // A name with spaces and parentheses; utime 150, stime 50, cutime 7, cstime 3.
        let stat =
            "42 (my (odd) prog) S 1 42 42 0 -1 4194560 100 0 0 0 150 50 7 3 20 0 1 0 5 1000 10";
        assert_eq!(cpu_ticks(stat), Some(210));
        assert_eq!(cpu_ticks("garbage"), None);
    }
}
