//! Operations: health, metrics, the admin subcommands and graceful shutdown of the real binary.

use std::{
    io::Write,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::common::{Backend, PASSWORD, TestServer};
use reqwest::StatusCode;

async fn health_and_metrics(backend: Backend) {
    let server = TestServer::start(backend).await;
    let c = server.client();
    let health = c.get("/healthz").await;
    assert_eq!(health.status(), StatusCode::OK);
    let body: serde_json::Value = health.json().await.expect("json");
    let expected = if backend == Backend::Sqlite {
        "sqlite"
    } else {
        "postgres"
    };
    assert_eq!(body["database"], expected);

    c.get("/login").await;
    c.get("/no-such-page").await;
    c.call("login", &[("name", "x"), ("password", "y")]).await;
    let text = c.get("/metrics").await.text().await.expect("metrics");
    // The recorder is the process's: servers of other tests in this process (`cargo test`
    // runs them side by side) count too, so each series is at least what this test made.
    for series in [
        r#"tandem_http_requests_total{route="/login",status="200"}"#,
        r#"tandem_http_requests_total{route="{fallback}",status="404"}"#,
        r#"tandem_http_requests_total{route="/api/login",status="422"}"#,
        r#"tandem_http_request_duration_seconds_count{route="/login"}"#,
    ] {
        assert!(sample(&text, series) >= 1.0, "{series} in:\n{text}");
    }
    assert!(
        text.contains("tandem_collab_live_documents"),
        "the engine's gauges: {text}"
    );
    server.finish().await;
}

/// The value of one series in Prometheus text, 0 when it is absent.
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

db_tests!(health_and_metrics);

fn tandem(data: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tandem"));
    c.env("TANDEM_DATA_DIR", data)
        .env("TANDEM_LOG", "warn")
        .env_remove("TANDEM_DATABASE_URL");
    c
}

#[test]
fn admin_commands_and_help() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().to_path_buf();

    let help = tandem(&data).arg("--help").output().expect("help");
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--bind",
        "--data-dir",
        "--database-url",
        "--log-format",
        "--secure-cookies",
        "--session-idle-minutes",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }

    let out = tandem(&data).arg("migrate").output().expect("migrate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(data.join("tandem.db").exists());

    let add_user = |name: &str, password: &str| {
        let mut child = tandem(&data)
            .args(["user", "add", name])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(format!("{password}\n").as_bytes())
            .expect("write");
        child.wait_with_output().expect("wait")
    };
    let ok = add_user("olga", PASSWORD);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let weak = add_user("pete", "weak");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("Password too weak"));
    let taken = add_user("OLGA", PASSWORD);
    assert!(String::from_utf8_lossy(&taken.stderr).contains("taken"));

    let project = tandem(&data)
        .args(["project", "add", "Ops Demo", "--owner", "olga"])
        .output()
        .expect("project");
    assert!(
        project.status.success(),
        "{}",
        String::from_utf8_lossy(&project.stderr)
    );
    assert!(String::from_utf8_lossy(&project.stdout).contains("owned by olga"));
    let nobody = tandem(&data)
        .args(["project", "add", "X", "--owner", "nobody"])
        .output()
        .expect("project");
    assert!(!nobody.status.success());
}

#[test]
fn sigterm_shuts_down_gracefully() {
    let data = tempfile::tempdir().expect("temp dir");
    let (mut child, _base) = crate::common::spawn_listening(tandem(data.path()));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let stopped = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        assert!(stopped.elapsed() < Duration::from_secs(15), "did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "graceful exit code, got {exit}");
}

/// A release binary carries its site (what `cargo xtask` builds): started from a folder that
/// holds nothing, it serves the wasm, its JS, the stylesheet and Monaco, and the page that
/// loads them. Only with `embed-site`, which the xtask always sets; a plain `cargo test` has no
/// site to embed.
#[cfg(feature = "embed-site")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_its_embedded_site_from_any_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = tandem(dir.path());
    cmd.current_dir(dir.path()).env_remove("TANDEM_SITE_ROOT");
    let (mut child, base) = crate::common::spawn_listening(cmd);
    let http = reqwest::Client::new();
    for (path, kind) in [
        ("/pkg/tandem.js", "text/javascript"),
        ("/pkg/tandem_bg.wasm", "application/wasm"),
        ("/pkg/tandem.css", "text/css"),
        ("/monaco/vs/loader.js", "text/javascript"),
        ("/favicon.svg", "image/svg+xml"),
    ] {
        let res = http.get(format!("{base}{path}")).send().await.expect("get");
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let etag = res.headers()["etag"].clone();
        assert!(
            res.headers()["content-type"]
                .to_str()
                .is_ok_and(|t| t.starts_with(kind)),
            "{path}: {:?}",
            res.headers()["content-type"]
        );
        assert!(!res.bytes().await.expect("body").is_empty(), "{path}");
        let again = http
            .get(format!("{base}{path}"))
            .header("if-none-match", etag)
            .send()
            .await
            .expect("get");
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
    }
    let login = http
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("text");
    assert!(login.contains("/pkg/tandem.js"), "{login}");
    let missing = http
        .get(format!("{base}/pkg/nope.js"))
        .send()
        .await
        .expect("get");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let _ = child.kill();
    let _ = child.wait();
}

/// Finding 4: `TANDEM_SECRET=short` (or empty) started and served, so anyone could forge
/// document tokens. A secret under 32 bytes now stops the server with a message naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_secret_is_refused() {
    let data = tempfile::tempdir().expect("temp dir");
    for short in ["", "short", &"x".repeat(31)] {
        let mut config = server::config::Config::for_data_dir(data.path());
        config.bind = "127.0.0.1:0".parse().expect("addr");
        config.editor.secret = Some(short.to_owned());
        let refused = match server::start(config).await {
            Ok(_) => panic!("a {}-byte secret was accepted", short.len()),
            Err(e) => e.to_string(),
        };
        assert!(refused.contains("at least 32 bytes"), "{refused}");
    }
    let mut config = server::config::Config::for_data_dir(data.path());
    config.bind = "127.0.0.1:0".parse().expect("addr");
    config.editor.secret = Some("x".repeat(32));
    let running = server::start(config)
        .await
        .expect("a 32-byte secret starts");
    running.stop().await.expect("stops");
}

/// Finding 9: the data folder and the database were world-readable, and the generated secret
/// briefly so. Now the folder is 0700 and the database and secret files 0600.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_folder_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let server = TestServer::start(Backend::Sqlite).await;
    let mode = |name: &str| {
        std::fs::metadata(server.data_dir.join(name))
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    assert_eq!(mode(""), 0o700, "data folder");
    assert_eq!(mode("tandem.db"), 0o600, "database");
    assert_eq!(mode("secret"), 0o600, "token secret");
    server.finish().await;
}
