//! The server under test: a release `tandem` process on port 0 (it reports the port it got)
//! with a fresh data dir, a user, a project and a document token made with its own admin
//! commands.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

pub(crate) fn default_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/tandem-target")))
        .unwrap_or_else(|| PathBuf::from("target"));
    target.join("release/tandem")
}

pub(crate) struct Server {
    bin: PathBuf,
    child: Child,
    data: PathBuf,
    port: u16,
    token: String,
    /// The environment the admin commands get too (a shared database's URL and secret).
    env: Vec<(String, String)>,
}

/// The user every benchmark acts as, created with the admin commands.
pub(crate) const USER: &str = "bench";
pub(crate) const PASSWORD: &str = "load generator passphrase";

/// Starts the server on port 0 and reads the port from the `listening on http://…` line it
/// prints once bound, so no port is picked, released and handed over.
async fn spawn(
    bin: &Path,
    data: &Path,
    env: &[(&str, String)],
) -> Result<(Child, u16), Box<dyn std::error::Error>> {
    let mut child = Command::new(bin)
        .env("TANDEM_DATA_DIR", data)
        .env("TANDEM_BIND", "127.0.0.1:0")
        .env("TANDEM_LOG", "warn")
        // The load generator is one IP sending far more than a person types.
        .env("TANDEM_WS_MAX_MESSAGES_PER_SEC", "1000000")
        .env("TANDEM_SIGNUPS_PER_IP_PER_HOUR", "1000000")
        // ...and one account holding thousands of sockets on hundreds of documents.
        .env("TANDEM_MAX_SOCKETS_PER_USER", "1000000")
        .env("TANDEM_MAX_NAMED_DOCS_PER_PROJECT", "1000000")
        .envs(
            std::env::var("TANDEM_COMPACT_AFTER_UPDATES")
                .ok()
                .map(|v| ("TANDEM_COMPACT_AFTER_UPDATES", v)),
        )
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let read = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(stdout).lines();
        let port = lines.by_ref().map_while(Result::ok).find_map(|l| {
            l.strip_prefix("listening on http://")
                .and_then(|addr| addr.trim().rsplit_once(':'))
                .and_then(|(_, port)| port.parse::<u16>().ok())
        });
        // Keep reading, so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        port
    });
    match tokio::time::timeout(Duration::from_secs(30), read).await {
        Ok(Ok(Some(port))) => Ok((child, port)),
        _ => {
            let _ = child.kill();
            Err("the server did not report its address within 30 s".into())
        }
    }
}

fn admin(
    bin: &Path,
    data: &Path,
    env: &[(String, String)],
    args: &[&str],
    stdin: Option<&str>,
) -> Result<String, Box<dyn std::error::Error>> {
    let mut child = Command::new(bin)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env("TANDEM_DATA_DIR", data)
        .env("TANDEM_MAX_NAMED_DOCS_PER_PROJECT", "1000000")
        .env("TANDEM_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(format!("tandem {args:?}: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A day-long token for the bench user on document `doc` of project 1 (a token names one
/// document).
fn token(
    bin: &Path,
    data: &Path,
    env: &[(String, String)],
    doc: &str,
) -> Result<String, Box<dyn std::error::Error>> {
    admin(
        bin,
        data,
        env,
        &[
            "token",
            "--user",
            "bench",
            "--project",
            "1",
            "--doc",
            doc,
            "--ttl",
            "1d",
        ],
        None,
    )
}

impl Server {
    pub(crate) async fn start(
        bin: &Path,
        env: &[(&str, String)],
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let data = std::env::temp_dir().join(format!("tandem-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        let owned: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        admin(
            bin,
            &data,
            &owned,
            &["user", "add", USER],
            Some(&format!("{PASSWORD}\n")),
        )?;
        admin(
            bin,
            &data,
            &owned,
            &["project", "add", "Bench", "--owner", "bench"],
            None,
        )?;
        let token = token(bin, &data, &owned, "bench")?;
        let (child, port) = spawn(bin, &data, env).await?;
        Ok(Self {
            bin: bin.to_owned(),
            child,
            data,
            port,
            token,
            env: owned,
        })
    }

    /// Another node of the same deployment (`env` names the shared database and bus): a data
    /// folder of its own, the same user, project and token.
    pub(crate) async fn join(
        &self,
        node: usize,
        env: &[(&str, String)],
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let mut data = self.data.clone().into_os_string();
        data.push(format!("-node{node}"));
        let data = PathBuf::from(data);
        let _ = std::fs::remove_dir_all(&data);
        let (child, port) = spawn(&self.bin, &data, env).await?;
        Ok(Self {
            bin: self.bin.clone(),
            child,
            data,
            port,
            token: self.token.clone(),
            env: self.env.clone(),
        })
    }

    /// The server's data folder.
    pub(crate) fn data_dir(&self) -> &Path {
        &self.data
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Kills the process (as a crash would) and starts a new one on the same data (on a new
    /// port: every URL is made after this).
    pub(crate) async fn restart(
        &mut self,
        env: &[(&str, String)],
    ) -> Result<(), Box<dyn std::error::Error>> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        (self.child, self.port) = spawn(&self.bin, &self.data, env).await?;
        Ok(())
    }

    pub(crate) fn doc_url(&self) -> String {
        format!(
            "ws://127.0.0.1:{}/yjs/bench?project=1&token={}",
            self.port, self.token
        )
    }

    /// URLs for `n` documents (`bench`, then `bench-1` …), each with its own token from the
    /// admin command (a token names one document).
    pub(crate) fn doc_urls(&self, n: usize) -> Result<Vec<String>, Box<dyn std::error::Error>> {
        let mut urls = vec![self.doc_url()];
        for i in 1..n {
            let name = format!("bench-{i}");
            let token = token(&self.bin, &self.data, &self.env, &name)?;
            urls.push(format!(
                "ws://127.0.0.1:{}/yjs/{name}?project=1&token={token}",
                self.port
            ));
        }
        Ok(urls)
    }

    /// The server process, for its CPU and memory.
    pub(crate) fn process(&self) -> Proc {
        Proc(self.child.id())
    }

    pub(crate) fn rss_kb(&self) -> u64 {
        self.process().rss_kb()
    }

    /// The most RSS the server has had (`VmHWM`).
    pub(crate) fn peak_rss_kb(&self) -> u64 {
        self.process().status_field("VmHWM:")
    }

    /// User + system CPU seconds the server has used.
    pub(crate) fn cpu_secs(&self) -> f64 {
        self.process().cpu_secs()
    }
}

/// A server process by pid: this crate's own `tandem`, or a peer the comparison started.
#[derive(Clone, Copy)]
pub(crate) struct Proc(pub(crate) u32);

impl Proc {
    fn status_field(self, name: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.0))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(name))
                    .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
            })
            .unwrap_or(0)
    }

    pub(crate) fn rss_kb(self) -> u64 {
        self.status_field("VmRSS:")
    }

    /// User + system CPU seconds (clock ticks of 1/100 s on Linux).
    pub(crate) fn cpu_secs(self) -> f64 {
        process_cpu_secs(&self.0.to_string())
    }
}

/// User + system CPU seconds of a process (`self` for the load generator itself).
pub(crate) fn process_cpu_secs(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // Fields after the parenthesised command name; utime and stime are 14 and 15.
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
            Some(ticks as f64 / 100.0)
        })
        .unwrap_or(0.0)
}

impl Server {
    /// Stops the process as an operator would (SIGTERM: it closes its database, which folds
    /// SQLite's write-ahead log into the file) and returns the bytes of its database files.
    pub(crate) fn terminate(&mut self) -> u64 {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        std::fs::read_dir(&self.data)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("tandem.db"))
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum()
    }

    pub(crate) fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}
