//! `cargo xtask run | test | setup`: the project's two commands. Each installs what is missing
//! (wasm target, wasm-bindgen, npm packages, Chromium for tests), then builds and serves or
//! tests. Only the standard library, so the task itself builds in seconds.

use std::{
    env,
    io::{BufRead, BufReader},
    net::TcpStream,
    path::PathBuf,
    process::{Child, Command, ExitCode, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

mod build;
mod cluster;
mod cycles;
mod tools;
mod worker;

type Result<T = ()> = std::result::Result<T, String>;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  run [ARGS...]   install what is missing, build (release) and serve Tandem on SQLite
                  at http://127.0.0.1:3000; ARGS go to `tandem` (see `tandem --help`)
  test            install what is missing, then fmt, module cycles, clippy, all Rust
                  tests (release profile, sharing the release build) and the Playwright
                  suite against the release binary
  cycles          check that no two modules of a crate import each other (also part of
                  `test`)
  bench ARGS...   build (release) and run the load generator against a fresh server,
                  e.g. `cargo xtask bench clients --clients 100 --writers 5 --rate 20`
                  (see `cargo xtask bench --help`; numbers go to BENCHMARKS.md);
                  `cargo xtask bench ui` runs the browser benchmarks (end2end/bench);
                  `cargo xtask bench peers [SCENARIO...]` compares Tandem with
                  y-websocket, Hocuspocus and y-sweet (bench/peers/run.mjs)
  cluster [--nodes N] [--port P]
                  build (release) and start N nodes (default 2) on the local PostgreSQL
                  and NATS behind one address, http://127.0.0.1:3000, to try scale-out
  site            build the browser side into target/site only (what the server embeds
                  and serves); for working on the client without the whole test run
  setup           only install what is missing";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("test") => test(),
        Some("bench") => bench(&args[1..]),
        Some("setup") => Ctx::new().and_then(|ctx| ctx.setup(false)),
        Some("site") => Ctx::new().and_then(|ctx| {
            ctx.setup(false)?;
            let wasm = ctx.wasm_cargo(&ctx.wasm_build_args());
            ctx.background("build wasm", vec![wasm])?.wait()?;
            ctx.assemble_site()
        }),
        Some("cluster") => cluster::cluster(&args[1..]),
        Some("cycles") => Ctx::new().and_then(|ctx| cycles::check(&ctx.root)),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Paths every step needs. The cargo target dir lives outside the clone so a fresh clone (as in
/// CI) reuses a warm build.
struct Ctx {
    root: PathBuf,
    target_dir: PathBuf,
    /// PATH with `node_modules/.bin` first, for npm's wasm-opt (Debian's is too old).
    path: std::ffi::OsString,
}

impl Ctx {
    fn new() -> Result<Self> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .ok_or("xtask has no parent directory")?
            .to_path_buf();
        let target_dir = match env::var_os("CARGO_TARGET_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => home()?.join(".cache/tandem-target"),
        };
        let bin = root.join("node_modules/.bin");
        let tools = target_dir.with_file_name("tandem-tools").join("bin");
        let mut paths = vec![bin, tools];
        paths.extend(env::split_paths(&env::var_os("PATH").unwrap_or_default()));
        let path = env::join_paths(paths).map_err(|e| e.to_string())?;
        Ok(Self {
            root,
            target_dir,
            path,
        })
    }

    fn cmd(&self, program: &str, args: &[&str]) -> Command {
        // Edition 2024 makes `set_var` unsafe (and the workspace forbids unsafe), so every
        // child gets the environment it needs here instead.
        let mut c = Command::new(program);
        c.args(args)
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", &self.target_dir)
            .env("PATH", &self.path);
        c
    }

    fn step(&self, title: &str, program: &str, args: &[&str]) -> Result {
        let started = Instant::now();
        println!("\n==> {title}: {program} {}", args.join(" "));
        let status = self
            .cmd(program, args)
            .status()
            .map_err(|e| format!("{title}: cannot start {program}: {e}"))?;
        println!("<== {title}: {:.1}s", started.elapsed().as_secs_f64());
        if status.success() {
            Ok(())
        } else {
            Err(format!("{title} failed ({status})"))
        }
    }

    fn setup(&self, for_tests: bool) -> Result {
        tools::wasm_target(self)?;
        tools::wasm_bindgen(self)?;
        tools::wasm_split(self)?;
        tools::npm_packages(self)?;
        tools::bubblewrap(self)?;
        if for_tests {
            tools::chromium(self)?;
        }
        Ok(())
    }

    /// Tools built for this project once per machine (trunk, y-sweet), beside the target dir.
    fn tools_dir(&self) -> PathBuf {
        self.target_dir.with_file_name("tandem-tools")
    }

    fn site_root(&self) -> PathBuf {
        self.root.join("target/site")
    }

    fn tandem_bin(&self) -> PathBuf {
        self.target_dir.join("release/tandem")
    }
}

fn home() -> Result<PathBuf> {
    env::var_os("HOME")
        .map(PathBuf::from)
        .ok_or_else(|| "HOME is not set; set CARGO_TARGET_DIR instead".to_owned())
}

fn bench(args: &[String]) -> Result {
    let ctx = Ctx::new()?;
    ctx.setup(false)?;
    ctx.build_release()?;
    // Browser benchmarks: Playwright against a release server (end2end/bench).
    if args.first().map(String::as_str) == Some("ui") {
        tools::chromium(&ctx)?;
        return end_to_end(&ctx, "end2end/bench.config.ts");
    }
    ctx.step(
        "build load generator",
        "cargo",
        &["build", "--release", "-p", "bench"],
    )?;
    let bench = ctx.target_dir.join("release/tandem-bench");
    // The peer comparison: the peers from npm and crates.io, real Yjs clients in Node.
    if args.first().map(String::as_str) == Some("peers") {
        tools::npm_packages_in(&ctx, "bench/peers")?;
        let mut cmd = ctx.cmd("node", &["bench/peers/run.mjs"]);
        cmd.arg("--tandem")
            .arg(ctx.tandem_bin())
            .arg("--tandem-bench")
            .arg(&bench);
        if let Some(y_sweet) = tools::y_sweet(&ctx) {
            cmd.arg("--y-sweet").arg(y_sweet);
        }
        cmd.args(&args[1..]);
        return run_step("peer comparison", cmd);
    }
    let mut cmd = ctx.cmd(&bench.to_string_lossy(), &[]);
    cmd.args(args).arg("--tandem").arg(ctx.tandem_bin());
    run_step("tandem-bench", cmd)
}

fn run(args: &[String]) -> Result {
    let ctx = Ctx::new()?;
    ctx.setup(false)?;
    ctx.build_release()?;
    let bin = ctx.tandem_bin();
    println!("\n==> Tandem: {} {}", bin.display(), args.join(" "));
    let status = ctx
        .cmd(&bin.to_string_lossy(), &[])
        .args(args)
        .status()
        .map_err(|e| format!("cannot start tandem: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("tandem exited with {status}"))
    }
}

/// The server-side packages: linted and tested together (with `app`'s `ssr` feature).
const SERVER_PACKAGES: [&str; 10] = [
    "-p", "server", "-p", "app", "-p", "collab", "-p", "xtask", "-p", "bench",
];

fn with_packages<'a>(before: &[&'a str], after: &[&'a str]) -> Vec<&'a str> {
    [before, &SERVER_PACKAGES[..], after].concat()
}

fn test() -> Result {
    let ctx = Ctx::new()?;
    ctx.setup(true)?;
    ctx.step("format", "cargo", &["fmt", "--all", "--check"])?;
    cycles::check(&ctx.root)?;
    // The browser side is linted and compiled in its own target directory while the server
    // side is linted and built here; server and browser builds enable different `app`
    // features, which must never unify in one cargo invocation.
    let wasm = ctx.background(
        "lint and build the browser side",
        vec![
            ctx.wasm_cargo(&ctx.wasm_clippy_args()),
            ctx.wasm_cargo(&ctx.wasm_build_args()),
        ],
    )?;
    // Installing trunk (once per machine, minutes) overlaps the builds: their single-threaded
    // stretches (linking, the wasm's one codegen unit) leave a core free.
    let trunk = tools::trunk_install(&ctx)
        .map(|c| ctx.background("install trunk", vec![c]))
        .transpose()?;
    // Release profile throughout: clippy shares proc macros and build scripts with the builds.
    let server = ctx.step(
        "clippy (server)",
        "cargo",
        &with_packages(
            &["clippy", "--release"],
            &["--all-targets", "--", "-D", "warnings"],
        ),
    );
    let wasm = wasm.wait();
    server?;
    wasm?;
    ctx.assemble_site()?;
    if let Some(trunk) = trunk {
        trunk.wait()?;
    }
    // The static bundle builds in the browser's target directory while the tests build here.
    let bundle = ctx.background("trunk build --release", vec![ctx.trunk_build()])?;
    let postgres = postgres_url();
    match &postgres {
        Some(url) => {
            println!("\nPostgreSQL answers at {url}: database tests run on SQLite and PostgreSQL")
        }
        // CI must test both backends; a missing database there is a broken setup.
        None if env::var_os("CI").is_some() => {
            return Err(
                "CI is set but PostgreSQL does not answer on 127.0.0.1:5432 \
                        (or set TANDEM_TEST_POSTGRES_URL)"
                    .into(),
            );
        }
        None => println!(
            "\nPostgreSQL does not answer on 127.0.0.1:5432: database tests run on SQLite only"
        ),
    }
    // One build of the server, its tests and the `tandem` binary the browser tests run (the
    // site embedded). The tests' dev-dependencies switch on features of shared dependencies
    // (tokio-util, flate2, collab's test client), so a separate `cargo build` of the binary
    // would compile much of the graph a second time; the binary is the same program.
    let nextest = tools::has_nextest(&ctx);
    let tests = |extra: &[&str]| {
        let base: &[&str] = if nextest {
            &["nextest", "run"]
        } else {
            &["test"]
        };
        let mut c = ctx.cmd(
            "cargo",
            &with_packages(
                base,
                &[
                    &["--release", "--features", build::SERVER_FEATURES][..],
                    extra,
                ]
                .concat(),
            ),
        );
        c.env("NEXTEST_HIDE_PROGRESS_BAR", "1");
        c
    };
    let built = run_step("build the server and its tests", tests(&["--no-run"]));
    let bundle = bundle.wait();
    built?;
    bundle?;
    let mut rust_tests = tests(if nextest { &["--no-fail-fast"] } else { &[] });
    if let Some(url) = &postgres {
        rust_tests.env("TANDEM_TEST_POSTGRES_URL", url);
    }
    // npm packages are installed above, so the Node Yjs interoperability test must run.
    rust_tests.env("TANDEM_REQUIRE_INTEROP", "1");
    run_step("rust tests", rust_tests)?;
    fuzz(&ctx)?;
    end_to_end(&ctx, "end2end/playwright.config.ts")
}

/// A short bounded run of the decoder fuzz target (`collab/fuzz`). It needs nightly; without it
/// the stable proptest over the same decoders (`collab/tests/malformed.rs`) still ran above.
fn fuzz(ctx: &Ctx) -> Result {
    if !tools::has_nightly(ctx) || !tools::cargo_fuzz(ctx) {
        println!("\nno nightly toolchain or cargo-fuzz: the bounded fuzz run is skipped");
        return Ok(());
    }
    let target = ctx.target_dir.join("fuzz");
    let mut c = ctx.cmd(
        "cargo",
        &[
            "+nightly",
            "fuzz",
            "run",
            "--sanitizer",
            "none",
            "--target-dir",
            &target.to_string_lossy(),
            "decode",
            "--",
            "-max_total_time=30",
            "-timeout=10",
            "-rss_limit_mb=2048",
            "-malloc_limit_mb=65536",
        ],
    );
    c.current_dir(ctx.root.join("collab"));
    run_step("fuzz the decoders (30 s)", c)
}

pub(crate) fn run_step(title: &str, mut cmd: Command) -> Result {
    let started = Instant::now();
    println!("\n==> {title}");
    let status = cmd.status().map_err(|e| format!("{title}: {e}"))?;
    println!("<== {title}: {:.1}s", started.elapsed().as_secs_f64());
    if status.success() {
        Ok(())
    } else {
        Err(format!("{title} failed ({status})"))
    }
}

/// The PostgreSQL the tests may use: `TANDEM_TEST_POSTGRES_URL` if set, else the local server
/// when it answers.
fn postgres_url() -> Option<String> {
    if let Ok(url) = env::var("TANDEM_TEST_POSTGRES_URL") {
        return (!url.is_empty()).then_some(url);
    }
    let addr = "127.0.0.1:5432".parse().ok()?;
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    Some("postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Starts `cmd` (which binds port 0) and reads the `listening on http://ADDR` line it prints
/// on stdout, so no port is picked, released and handed over (another process could take it
/// in between).
fn spawn_listening(title: &str, mut cmd: Command) -> Result<(ServerGuard, String)> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {title}: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let guard = ServerGuard(child);
    let (tx, rx) = mpsc::channel();
    // Reads the address, then keeps draining so the child never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
            if let Some(url) = line.strip_prefix("listening on ") {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(60))
        .map_err(|_| format!("{title} did not report its address within 60 s"))?;
    Ok((guard, url))
}

/// Kills a child process (the server, the stand-in provider) when the tests end, however
/// they end.
struct ServerGuard(Child);

impl Drop for ServerGuard {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the release binary on port 0 with a fresh data dir, from inside that dir (so the
/// site it serves must be the one it carries), its AI assistant pointed at a stand-in provider
/// (`end2end/fake-ai.mjs`, on loopback), and runs Playwright with `config` against it.
fn end_to_end(ctx: &Ctx, config: &str) -> Result {
    let fake_ai = ctx.cmd("node", &["end2end/fake-ai.mjs", "0"]);
    let (_fake_ai, ai_url) = spawn_listening("the stand-in AI provider", fake_ai)?;
    let data = TempDir::new("tandem-e2e")?;
    let mut tandem = ctx.cmd(&ctx.tandem_bin().to_string_lossy(), &[]);
    tandem
        .current_dir(&data.0)
        .env("TANDEM_BIND", "127.0.0.1:0")
        .env("TANDEM_DATA_DIR", &data.0)
        .env("TANDEM_LOG", "warn")
        .env("TANDEM_AI_BASE_URL", format!("{ai_url}/v1"))
        .env("TANDEM_AI_MODEL", "fake")
        // Every browser test signs up its own people, all from this machine's address.
        .env("TANDEM_SIGNUPS_PER_IP_PER_HOUR", "100000");
    let (server, base) = spawn_listening("tandem", tandem)?;
    println!(
        "\n==> end-to-end: release server at {base}, data in {}",
        data.0.display()
    );
    wait_healthy(&base)?;
    // The main suite has a test with two browsers on two nodes of one deployment.
    let cluster = match config {
        "end2end/playwright.config.ts" => cluster::for_browsers(ctx)?,
        _ => None,
    };
    let mut playwright = ctx.cmd("npx", &["playwright", "test", "--config", config]);
    playwright.env("BASE_URL", &base);
    // The stand-in provider's own counts (`GET /stats`), for the completion benchmark.
    playwright.env("FAKE_AI_URL", &ai_url);
    // For tests that start a server with settings of their own (the static client apart).
    playwright.env("TANDEM_BIN", ctx.tandem_bin());
    if let Some(c) = &cluster {
        playwright
            .env("CLUSTER_A", &c.bases[0])
            .env("CLUSTER_B", &c.bases[1]);
    }
    let result = run_step("playwright", playwright);
    drop(server);
    drop(cluster);
    result
}

/// A fresh directory under the system's temp dir, removed when dropped (xtask uses only the
/// standard library, so not the `tempfile` crate).
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn wait_healthy(base: &str) -> Result {
    let addr = base.trim_start_matches("http://");
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(mut s) = TcpStream::connect(addr) {
            use std::io::{Read, Write};
            let _ = s.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n");
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            if buf.starts_with("HTTP/1.0 200") || buf.starts_with("HTTP/1.1 200") {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!(
        "the server at {base} did not become healthy within 60 s"
    ))
}
