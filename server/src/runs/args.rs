//! The run flags: limits of one run, how many run at once, what the sandbox may see.

use std::{path::PathBuf, time::Duration};

use clap::Args as ClapArgs;

use super::sandbox::Limits;

#[derive(ClapArgs, Debug, Clone)]
#[group(id = "runs_args")]
pub struct Args {
    /// Turns Run off on this server (it is on when bubblewrap can make a sandbox).
    #[arg(long, env = "TANDEM_RUNS_OFF", global = true)]
    pub runs_off: bool,

    /// Wall-clock seconds a run may take unless its `tandem.toml` entry asks for less.
    #[arg(
        long,
        env = "TANDEM_RUN_TIME_LIMIT",
        default_value_t = 60,
        global = true
    )]
    pub run_time_limit: u64,

    /// Memory of one run (all its processes), in MiB.
    #[arg(
        long,
        env = "TANDEM_RUN_MEMORY_MIB",
        default_value_t = 512,
        global = true
    )]
    pub run_memory_mib: u64,

    /// Processes (and threads) one run may have at once.
    #[arg(
        long,
        env = "TANDEM_RUN_MAX_PROCESSES",
        default_value_t = 256,
        global = true
    )]
    pub run_max_processes: u64,

    /// CPU seconds each process of a run may use.
    #[arg(long, env = "TANDEM_RUN_CPU_SECS", default_value_t = 60, global = true)]
    pub run_cpu_secs: u64,

    /// Largest file a run may write, in MiB.
    #[arg(
        long,
        env = "TANDEM_RUN_FILE_MIB",
        default_value_t = 256,
        global = true
    )]
    pub run_file_mib: u64,

    /// Open files per process of a run.
    #[arg(
        long,
        env = "TANDEM_RUN_OPEN_FILES",
        default_value_t = 1024,
        global = true
    )]
    pub run_open_files: u64,

    /// Output one run may print in all, in MiB; past it the run is stopped.
    #[arg(
        long,
        env = "TANDEM_RUN_OUTPUT_MIB",
        default_value_t = 64,
        global = true
    )]
    pub run_output_mib: u64,

    /// Output a run may send to members per second, in KiB; a faster program is slowed
    /// (its pipe fills), not killed.
    #[arg(
        long,
        env = "TANDEM_RUN_OUTPUT_KIB_PER_SEC",
        default_value_t = 4096,
        global = true
    )]
    pub run_output_kib_per_sec: u64,

    /// Latest output of a running run kept for members who open the project mid-run, in KiB.
    #[arg(
        long,
        env = "TANDEM_RUN_REPLAY_KIB",
        default_value_t = 256,
        global = true
    )]
    pub run_replay_kib: usize,

    /// Seconds between Stop's SIGTERM and the SIGKILL of everything left.
    #[arg(
        long,
        env = "TANDEM_RUN_STOP_GRACE_SECS",
        default_value_t = 2,
        global = true
    )]
    pub run_stop_grace_secs: u64,

    /// Runs going at once in one project.
    #[arg(
        long,
        env = "TANDEM_RUNS_PER_PROJECT",
        default_value_t = 2,
        global = true
    )]
    pub runs_per_project: usize,

    /// Runs going at once on the server.
    #[arg(
        long,
        env = "TANDEM_RUNS_PER_SERVER",
        default_value_t = 8,
        global = true
    )]
    pub runs_per_server: usize,

    /// Extra folders runs see read-only at the same path (a toolchain outside /usr);
    /// repeatable, or comma-separated in the environment.
    #[arg(long, env = "TANDEM_RUN_RO_BIND", value_delimiter = ',', global = true)]
    pub run_ro_bind: Vec<PathBuf>,

    /// Names in a project's working folder that are build output: kept between runs, never
    /// copied into the tree.
    #[arg(
        long,
        env = "TANDEM_RUN_KEEP",
        value_delimiter = ',',
        default_value = "target,node_modules,__pycache__,.venv",
        global = true
    )]
    pub run_keep: Vec<String>,

    /// Seconds without input or output after which a terminal closes.
    #[arg(
        long,
        env = "TANDEM_TERMINAL_IDLE_SECS",
        default_value_t = 1800,
        global = true
    )]
    pub terminal_idle_secs: u64,

    /// Terminals open at once in one project.
    #[arg(
        long,
        env = "TANDEM_TERMINALS_PER_PROJECT",
        default_value_t = 4,
        global = true
    )]
    pub terminals_per_project: usize,

    /// Terminals open at once on the server.
    #[arg(
        long,
        env = "TANDEM_TERMINALS_PER_SERVER",
        default_value_t = 16,
        global = true
    )]
    pub terminals_per_server: usize,

    /// Latest output of a terminal kept for members who open the project or reload, in KiB.
    #[arg(
        long,
        env = "TANDEM_TERMINAL_SCROLLBACK_KIB",
        default_value_t = 256,
        global = true
    )]
    pub terminal_scrollback_kib: usize,
}

impl Args {
    pub fn limits(&self) -> Limits {
        Limits {
            wall: Duration::from_secs(self.run_time_limit),
            memory_bytes: self.run_memory_mib << 20,
            max_processes: self.run_max_processes,
            cpu_secs: self.run_cpu_secs,
            file_bytes: self.run_file_mib << 20,
            open_files: self.run_open_files,
            output_bytes: self.run_output_mib << 20,
            output_bytes_per_sec: self.run_output_kib_per_sec << 10,
            replay_bytes: self.run_replay_kib << 10,
            stop_grace: Duration::from_secs(self.run_stop_grace_secs),
        }
    }
}
