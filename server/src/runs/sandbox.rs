//! The sandbox every run (and terminal) starts in: bubblewrap with new user, PID, IPC, UTS and
//! (unless the project opted in) network namespaces; the root file system read-only with only
//! the system's toolchains in it; the project's working folder at `/project` and a private
//! `/tmp` the only writable places; no capabilities; a new session; killed with the server.
//! Around it: a cgroup (memory, pids) where the host allows one, and rlimits (CPU time, file
//! size, open files; address space and processes when there is no cgroup). No unsafe code:
//! the cgroup is joined by a shell before it execs bubblewrap, the rlimits are set by `ulimit`
//! inside the sandbox.
//!
//! The sandbox sees no environment of the server's (the child's environment is cleared and
//! built from a short list), and none of the data directory: a read-only bind that would
//! show it is refused at start.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use super::cgroup::{Group, Hierarchy};

/// The limits of one run.
#[derive(Debug, Clone)]
pub struct Limits {
    pub wall: Duration,
    pub memory_bytes: u64,
    pub max_processes: u64,
    pub cpu_secs: u64,
    pub file_bytes: u64,
    pub open_files: u64,
    pub output_bytes: u64,
    pub output_bytes_per_sec: u64,
    pub replay_bytes: usize,
    pub stop_grace: Duration,
}

/// The system folders a run sees (read-only), where the host has them.
const SYSTEM_DIRS: &[&str] = &["/usr", "/opt"];
/// Files and folders of `/etc` programs need (libraries, certificates, locale, alternatives);
/// the rest of `/etc` (passwd, shadow, the machine's configuration) stays out.
const ETC: &[&str] = &[
    "/etc/alternatives",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/localtime",
    "/etc/mime.types",
    "/etc/python3",
    "/etc/python3.11",
    "/etc/nsswitch.conf",
];
/// Top-level names that are symlinks into `/usr` on merged-usr systems, or folders otherwise.
const USR_LINKS: &[&str] = &["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

/// A ready sandbox: bubblewrap found and tried, the cgroup hierarchy (if any) made.
#[derive(Debug, Clone)]
pub struct Sandbox {
    bwrap: PathBuf,
    /// util-linux `setsid`, which gives a terminal's sandbox its controlling terminal.
    setsid: PathBuf,
    pub cgroups: Option<Hierarchy>,
    /// Extra read-only folders (toolchains outside /usr), bound at the same path.
    ro_binds: Vec<PathBuf>,
    /// PATH inside the sandbox.
    path: String,
    /// Extra variables every run gets (RUSTUP_HOME for a rustup toolchain).
    env: Vec<(String, String)>,
}

impl Sandbox {
    /// Looks for bubblewrap, checks that it can make the namespaces here (by running `true` in
    /// a sandbox) and sets up cgroups. The error says why runs cannot be offered.
    pub async fn probe(extra_ro: &[PathBuf], data_dir: &Path) -> Result<Sandbox, String> {
        let bwrap = which("bwrap").ok_or_else(|| {
            "bubblewrap (bwrap) is not installed on the server: install Debian's `bubblewrap` \
             package (`cargo xtask run` does) to enable Run"
                .to_owned()
        })?;
        let data = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_owned());
        let mut ro_binds = Vec::new();
        let mut env = Vec::new();
        let mut path = vec![
            "/usr/local/bin".to_owned(),
            "/usr/bin".to_owned(),
            "/bin".to_owned(),
        ];
        // A rustup toolchain lives in the home folder: its binaries (read-only) and toolchains,
        // never the registry cache or credentials beside them.
        if let Some(home) = std::env::var_os("HOME").map(PathBuf::from) {
            let rustup = std::env::var_os("RUSTUP_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| home.join(".rustup"));
            let cargo_bin = std::env::var_os("CARGO_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| home.join(".cargo"))
                .join("bin");
            if rustup.join("toolchains").is_dir() && cargo_bin.is_dir() {
                ro_binds.push(rustup.join("toolchains"));
                if rustup.join("settings.toml").is_file() {
                    ro_binds.push(rustup.join("settings.toml"));
                }
                ro_binds.push(cargo_bin.clone());
                path.insert(0, cargo_bin.to_string_lossy().into_owned());
                env.push(("RUSTUP_HOME".into(), rustup.to_string_lossy().into_owned()));
            }
        }
        for dir in extra_ro {
            let dir = std::fs::canonicalize(dir)
                .map_err(|e| format!("--run-ro-bind {}: {e}", dir.display()))?;
            ro_binds.push(dir.clone());
            if dir.join("bin").is_dir() {
                path.insert(0, dir.join("bin").to_string_lossy().into_owned());
            }
        }
        for dir in &ro_binds {
            if data.starts_with(dir) || dir.starts_with(&data) {
                return Err(format!(
                    "--run-ro-bind {} would show the data directory {} to runs",
                    dir.display(),
                    data.display()
                ));
            }
        }
        let setsid = which("setsid")
            .ok_or_else(|| "setsid (util-linux) is not installed on the server".to_owned())?;
        let sandbox = Sandbox {
            bwrap,
            setsid,
            cgroups: Hierarchy::detect(),
            ro_binds,
            path: path.join(":"),
            env,
        };
        let scratch = tempfile::tempdir().map_err(|e| format!("no temporary folder: {e}"))?;
        let mut probe = sandbox.command(&Job {
            work: scratch.path(),
            cwd: "",
            shell: "true",
            env: &[],
            network: false,
            group: None,
            limits: None,
            tty: false,
        });
        probe.stdout(Stdio::null()).stderr(Stdio::piped());
        let out = probe
            .output()
            .await
            .map_err(|e| format!("cannot start bubblewrap: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "bubblewrap cannot make a sandbox here (user namespaces disabled?): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(sandbox)
    }

    /// One line for the log and /healthz: what isolates and limits runs.
    pub fn describe(&self) -> String {
        match &self.cgroups {
            Some(h) => format!("bubblewrap + {} + rlimits", h.describe()),
            None => "bubblewrap + rlimits (no writable cgroup: memory as address space, \
                     processes per user)"
                .to_owned(),
        }
    }

    /// The command that runs `job.shell` (`sh -c`) in the sandbox, in `/project/<cwd>`, with
    /// the project's working folder at `/project`. The caller sets stdio.
    ///
    /// With a cgroup, a small shell joins the group (its own pid into each `cgroup.procs`)
    /// and then execs bubblewrap, so every process of the run starts inside the group. The
    /// rlimits are set by the sandboxed shell (`ulimit`, hard and soft) before the command:
    /// without capabilities, nothing in the sandbox can raise them again.
    ///
    /// A terminal (`job.tty`, stdio on a pty) starts through `setsid --ctty`, so the pty is the
    /// sandbox's controlling terminal (Ctrl+C, job control), and without bubblewrap's
    /// `--new-session`: that option guards against TIOCSTI, a sandboxed program pushing
    /// keystrokes into the terminal bubblewrap was started from. Here that terminal is the
    /// sandbox's own pty, whose only reader is the sandboxed shell itself.
    pub fn command(&self, job: &Job<'_>) -> tokio::process::Command {
        let mut cmd = match job.group {
            Some(g) => {
                let mut c = tokio::process::Command::new("/bin/sh");
                c.arg("-c")
                    .arg(JOIN_THEN_EXEC)
                    .arg("tandem-run")
                    .args(g.procs_files())
                    .arg("--");
                if job.tty {
                    c.arg(&self.setsid).args(["--ctty", "--wait"]);
                }
                c.arg(&self.bwrap);
                c
            }
            None if job.tty => {
                let mut c = tokio::process::Command::new(&self.setsid);
                c.args(["--ctty", "--wait"]).arg(&self.bwrap);
                c
            }
            None => tokio::process::Command::new(&self.bwrap),
        };
        let args: &[&str] = &[
            "--unshare-user",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--uid",
            "1000",
            "--gid",
            "1000",
            "--hostname",
            "tandem",
            "--die-with-parent",
            "--cap-drop",
            "ALL",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--tmpfs",
            "/tmp",
        ];
        cmd.args(args);
        if !job.tty {
            cmd.arg("--new-session");
        }
        if !job.network {
            cmd.arg("--unshare-net");
        }
        for dir in SYSTEM_DIRS.iter().chain(ETC) {
            cmd.args(["--ro-bind-try", dir, dir]);
        }
        for name in USR_LINKS {
            let host = Path::new("/").join(name);
            match std::fs::read_link(&host) {
                Ok(target) => {
                    cmd.arg("--symlink").arg(target).arg(&host);
                }
                Err(_) => {
                    cmd.arg("--ro-bind-try").arg(&host).arg(&host);
                }
            }
        }
        for dir in &self.ro_binds {
            cmd.arg("--ro-bind").arg(dir).arg(dir);
        }
        let cwd = if job.cwd.is_empty() {
            "/project".to_owned()
        } else {
            format!("/project/{}", job.cwd)
        };
        cmd.arg("--bind").arg(job.work).arg("/project");
        // The root bubblewrap builds (a tmpfs holding the mount points) read-only too: only
        // /project and /tmp take writes.
        cmd.args(["--remount-ro", "/"]);
        let script = match job.limits {
            Some(l) => format!("{}{}", ulimits(l, job.group.is_none()), job.shell),
            None => job.shell.to_owned(),
        };
        cmd.args(["--chdir", &cwd, "--", "/bin/sh", "-c", &script]);
        cmd.env_clear();
        cmd.env("PATH", &self.path)
            .env("HOME", "/tmp")
            .env("USER", "tandem")
            .env("LANG", "C.UTF-8")
            .env("TERM", "xterm-256color")
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("CARGO_HOME", "/tmp/.cargo")
            .env("FORCE_COLOR", "1")
            .env("CLICOLOR_FORCE", "1")
            .env("CARGO_TERM_COLOR", "always");
        for (k, v) in self.env.iter().chain(job.env) {
            cmd.env(k, v);
        }
        cmd.current_dir(job.work);
        cmd.stdin(Stdio::null());
        cmd.kill_on_drop(true);
        // A terminal's `setsid` makes its own session (a process group leader could not).
        if !job.tty {
            cmd.process_group(0);
        }
        cmd
    }
}

/// What to start in the sandbox.
pub struct Job<'a> {
    /// The project's working folder, seen as `/project`.
    pub work: &'a Path,
    /// Where the command starts, relative to `/project`.
    pub cwd: &'a str,
    /// A shell command line.
    pub shell: &'a str,
    pub env: &'a [(String, String)],
    pub network: bool,
    pub group: Option<&'a Group>,
    pub limits: Option<&'a Limits>,
    /// A terminal: stdio is a pty that becomes the controlling terminal.
    pub tty: bool,
}

/// Joins the cgroups named by the arguments before `--`, then execs what follows.
const JOIN_THEN_EXEC: &str =
    r#"while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@""#;

/// The `ulimit` lines run before the command (dash sets one limit per call, hard and soft).
/// Without a cgroup, address space and processes are limited this way too.
fn ulimits(l: &Limits, fallback: bool) -> String {
    let mut s = format!(
        "ulimit -t {}; ulimit -f {}; ulimit -n {}; ulimit -c 0; ",
        l.cpu_secs,
        l.file_bytes / 512,
        l.open_files
    );
    if fallback {
        s.push_str(&format!(
            "ulimit -v {}; ulimit -p {}; ",
            l.memory_bytes / 1024,
            l.max_processes
        ));
    }
    s
}

/// The first executable `name` on the server's PATH.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
