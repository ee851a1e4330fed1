//! The server under test: a release `tandem` process on a free port with a fresh data dir, a
//! user, a project and a document token made with its own admin commands.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
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
}

/// The user every benchmark acts as, created with the admin commands.
pub(crate) const USER: &str = "bench";
pub(crate) const PASSWORD: &str = "load generator passphrase";

fn spawn(bin: &Path, data: &Path, port: u16, env: &[(&str, String)]) -> std::io::Result<Child> {
    Command::new(bin)
        .env("TANDEM_DATA_DIR", data)
        .env("TANDEM_BIND", format!("127.0.0.1:{port}"))
        .env("TANDEM_LOG", "warn")
        // The load generator is one IP sending far more than a person types.
        .env("TANDEM_WS_MAX_MESSAGES_PER_SEC", "1000000")
        .envs(
            std::env::var("TANDEM_COMPACT_AFTER_UPDATES")
                .ok()
                .map(|v| ("TANDEM_COMPACT_AFTER_UPDATES", v)),
        )
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .stdout(Stdio::null())
        .spawn()
}

async fn wait_listening(port: u16) -> Result<(), Box<dyn std::error::Error>> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if Instant::now() > deadline {
            return Err("server did not start".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

fn admin(
    bin: &Path,
    data: &Path,
    args: &[&str],
    stdin: Option<&str>,
) -> Result<String, Box<dyn std::error::Error>> {
    let mut child = Command::new(bin)
        .args(args)
        .env("TANDEM_DATA_DIR", data)
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

impl Server {
    pub(crate) async fn start(
        bin: &Path,
        env: &[(&str, String)],
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let data = std::env::temp_dir().join(format!("tandem-bench-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        admin(
            bin,
            &data,
            &["user", "add", USER],
            Some(&format!("{PASSWORD}\n")),
        )?;
        admin(
            bin,
            &data,
            &["project", "add", "Bench", "--owner", "bench"],
            None,
        )?;
        let token = admin(
            bin,
            &data,
            &[
                "token",
                "--user",
                "bench",
                "--project",
                "1",
                "--doc",
                "bench",
                "--ttl",
                "1d",
            ],
            None,
        )?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = spawn(bin, &data, port, env)?;
        wait_listening(port).await?;
        Ok(Self {
            bin: bin.to_owned(),
            child,
            data,
            port,
            token,
        })
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Kills the process (as a crash would) and starts a new one on the same data and port.
    pub(crate) async fn restart(
        &mut self,
        env: &[(&str, String)],
    ) -> Result<(), Box<dyn std::error::Error>> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(&self.bin, &self.data, self.port, env)?;
        wait_listening(self.port).await
    }

    pub(crate) fn doc_url(&self) -> String {
        format!(
            "ws://127.0.0.1:{}/yjs/bench?project=1&token={}",
            self.port, self.token
        )
    }

    fn status_field(&self, name: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(name))
                    .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
            })
            .unwrap_or(0)
    }

    pub(crate) fn rss_kb(&self) -> u64 {
        self.status_field("VmRSS:")
    }

    /// User + system CPU seconds the server has used (clock ticks of 1/100 s on Linux).
    pub(crate) fn cpu_secs(&self) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .ok()
            .and_then(|s| {
                // Fields after the parenthesised command name; utime and stime are 14 and 15.
                let rest = s.rsplit_once(')')?.1;
                let f: Vec<&str> = rest.split_whitespace().collect();
                let ticks: u64 =
                    f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
                Some(ticks as f64 / 100.0)
            })
            .unwrap_or(0.0)
    }

    pub(crate) fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}
