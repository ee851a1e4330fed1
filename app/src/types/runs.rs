//! Runs: what a project can run, a run's state and output as the project channel carries them,
//! and its history record.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{FileId, RunId, UserId};

/// Where a configuration came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigSource {
    /// A `[[run]]` of the project's `tandem.toml`.
    File,
    /// Guessed from the open file or the project's root (shown before it runs).
    Detected,
}

/// Something the project can run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunConfig {
    pub name: String,
    /// A shell command line (`sh -c`).
    pub command: String,
    /// Working folder, relative to the project's root (`""` for the root).
    pub cwd: String,
    pub env: Vec<(String, String)>,
    /// Wall-clock limit in seconds; `None` for the server's.
    pub time_limit: Option<u64>,
    pub source: ConfigSource,
}

/// What the Run picker offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RunConfigs {
    pub configs: Vec<RunConfig>,
    /// What is wrong with `tandem.toml` (shown, never silently ignored).
    pub problems: Vec<String>,
    /// Why runs are off on this server (no bubblewrap, no namespaces), if they are.
    pub disabled: Option<String>,
    /// Whether runs of this project may use the network (owners turn it on).
    pub network: bool,
    /// The project's environments a run or a terminal may be started in, by name.
    #[serde(default)]
    pub environments: Vec<String>,
}

/// What to run: a named configuration of `tandem.toml`, or what the server detects for a
/// file (or, with none, for the project's root).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RunTarget {
    Config { name: String },
    Detect { file: Option<FileId> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
    /// A line someone sent to the program's input, echoed for everyone.
    Stdin,
    /// A note from Tandem itself (the command that starts, why it ended).
    System,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputChunk {
    pub stream: Stream,
    pub text: String,
}

/// Why a run ended other than by exiting on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum StopReason {
    StoppedBy {
        name: String,
    },
    TimeLimit {
        secs: u64,
    },
    CpuLimit {
        secs: u64,
    },
    MemoryLimit {
        mib: u64,
    },
    ProcessLimit {
        max: u64,
    },
    OutputLimit {
        mib: u64,
    },
    FileSizeLimit {
        mib: u64,
    },
    /// The server stopped or restarted while it ran.
    ServerStopped,
    /// The sandbox could not start it.
    Failed {
        message: String,
    },
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::StoppedBy { name } => write!(f, "stopped by {name}"),
            StopReason::TimeLimit { secs } => write!(f, "time limit {secs} s"),
            StopReason::CpuLimit { secs } => write!(f, "CPU time limit {secs} s"),
            StopReason::MemoryLimit { mib } => write!(f, "memory limit {mib} MiB"),
            StopReason::ProcessLimit { max } => write!(f, "process limit {max}"),
            StopReason::OutputLimit { mib } => write!(f, "output limit {mib} MiB"),
            StopReason::FileSizeLimit { mib } => write!(f, "file size limit {mib} MiB"),
            StopReason::ServerStopped => f.write_str("the server stopped"),
            StopReason::Failed { message } => write!(f, "could not start: {message}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    pub id: RunId,
    pub name: String,
    pub command: String,
    pub started_by: UserId,
    pub started_by_name: String,
    /// Unix milliseconds.
    pub started_at: i64,
    /// `None` while it runs.
    pub ended_at: Option<i64>,
    /// The exit status when it exited; a signal is 128 + its number, as shells say it.
    pub exit_code: Option<i32>,
    pub reason: Option<StopReason>,
    /// The project environment it ran in.
    #[serde(default)]
    pub environment: Option<String>,
}

impl RunInfo {
    pub fn running(&self) -> bool {
        self.ended_at.is_none()
    }

    /// "exit 0 · 1.2 s", "time limit 60 s · 60.0 s".
    pub fn outcome(&self) -> String {
        let took = self
            .ended_at
            .map(|e| format!("{:.1} s", (e - self.started_at).max(0) as f64 / 1000.0));
        let what = match (&self.reason, self.exit_code) {
            (Some(r), _) => r.to_string(),
            (None, Some(c)) => format!("exit {c}"),
            (None, None) => "running".to_owned(),
        };
        match took {
            Some(t) => format!("{what} · {t}"),
            None => what,
        }
    }
}

/// A run as a member arriving mid-run sees it: its state and the latest output (bounded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunReplay {
    pub run: RunInfo,
    pub chunks: Vec<OutputChunk>,
    /// Older output was dropped from the replay.
    pub truncated: bool,
    /// The byte offset just past the replay in the run's output (the next event's `at`).
    pub end: u64,
    /// The run's CPU and memory so far (the latest [`MAX_SAMPLES`]).
    #[serde(default)]
    pub samples: Vec<RunSample>,
}

/// Samples of a run's use a tab keeps and a replay carries: ten minutes at one a second.
pub const MAX_SAMPLES: usize = 600;

/// A running run's use of the machine at one moment, from its cgroup (every second).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSample {
    /// Unix milliseconds.
    pub at: i64,
    /// CPU over the last second, in tenths of a percent of one core (1000: one core busy).
    pub cpu: u32,
    /// Memory in use by the run's processes (page cache included), in bytes.
    pub memory: u64,
}

impl RunSample {
    pub fn cpu_percent(&self) -> f64 {
        f64::from(self.cpu) / 10.0
    }
}

/// A finished run from the history, with the tail of its output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub run: RunInfo,
    pub tail: String,
}
