//! `/yjs/{doc}` with real websocket Yjs clients: auth before upgrade, cookie and token access,
//! live convergence, viewer refusal, limits, and durability across a killed process.

use std::{process::Command, time::Duration};

use crate::common::{Backend, TestServer, tab::TabClient, yjs::YClient};
use sea_orm::{ConnectionTrait, Statement};
use server::editor::token::{Claims, sign};

const SECRET: &str = "test-secret-test-secret-test-secret";
const QUIET: Duration = Duration::from_millis(200);

fn token(user: i64, project: i64, doc: u64) -> String {
    sign(
        SECRET.as_bytes(),
        &Claims {
            u: user,
            p: project,
            d: doc,
            exp: server::db::now() + 600,
        },
    )
}

/// The id of a named free-standing document, read straight from the database.
async fn doc_id_by_name(server: &TestServer, name: &str) -> i64 {
    let db = server.db().await;
    let sql = format!("SELECT id FROM documents WHERE name = '{name}'");
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .expect("query")
        .and_then(|r| r.try_get::<i64>("", "id").ok())
        .expect("document row")
}

async fn refused_before_upgrade(backend: Backend) {
    let server = TestServer::start_with(backend, |c| c.editor.secret = Some(SECRET.into())).await;
    let owner = server.client();
    let uid = owner.signup("olive").await;
    let project = owner.create_project("Docs").await;
    let stranger = server.client();
    let sid = stranger.signup("sam").await;

    // No session, bad token, stranger's session, stranger's token: all refused with HTTP
    // status, never upgraded.
    let named = server.ws_url(&format!("/yjs/notes?project={project}"));
    let cases = [
        (server.ws_url("/yjs/1"), None, "401"),
        (server.ws_url("/yjs/1?token=forged.token"), None, "401"),
        (named.clone(), Some(stranger.cookie()), "403"),
        (
            server.ws_url(&format!(
                "/yjs/notes?project={project}&token={}",
                token(sid, project, 0)
            )),
            None,
            "403",
        ),
        (server.ws_url("/yjs/999999"), Some(owner.cookie()), "404"),
        (
            server.ws_url("/yjs/bad%20name?project=1"),
            Some(owner.cookie()),
            "422",
        ),
    ];
    for (url, cookie, status) in cases {
        let err = YClient::connect(&url, cookie.as_deref())
            .await
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains(status)),
            "{url}: {err:?}"
        );
    }
    // The owner may create the named document; a token then opens it.
    let client = YClient::connect(&named, Some(&owner.cookie()))
        .await
        .expect("owner connects");
    drop(client);
    let doc_id = doc_id_by_name(&server, "notes").await;
    let url = server.ws_url(&format!(
        "/yjs/{doc_id}?token={}",
        token(uid, project, doc_id as u64)
    ));
    YClient::connect(&url, None).await.expect("token connects");
    let wrong_doc = server.ws_url(&format!(
        "/yjs/{}?token={}",
        doc_id + 1,
        token(uid, project, doc_id as u64)
    ));
    assert!(
        YClient::connect(&wrong_doc, None).await.is_err(),
        "a token names one document"
    );
    server.finish().await;
}

async fn editors_converge_and_viewers_are_read_only(backend: Backend) {
    let server = TestServer::start(backend).await;
    let crate::common::Team {
        owner,
        editor,
        viewer,
        project,
        ..
    } = server.team("Live", ["ona", "eda", "vic"]).await;
    let url = server.ws_url(&format!("/yjs/main?project={project}"));

    let mut a = YClient::connect(&url, Some(&owner.cookie()))
        .await
        .expect("owner");
    let mut b = YClient::connect(&url, Some(&editor.cookie()))
        .await
        .expect("editor");
    let mut v = YClient::connect(&url, Some(&viewer.cookie()))
        .await
        .expect("viewer");
    a.insert(0, "fn main() {}").await;
    b.until("a's edit", |c| c.text() == "fn main() {}").await;
    b.insert(0, "// hi\n").await;
    for c in [&mut a, &mut b, &mut v] {
        c.until("both edits", |c| c.text() == "// hi\nfn main() {}")
            .await;
    }
    assert_eq!(a.text(), b.text());
    assert_eq!(v.text(), a.text(), "viewers receive the document");

    v.insert(0, "vandalism").await;
    v.until("the refusal", |c| c.denied).await;
    // Nothing may reach the writer: a bounded quiet period is the test.
    a.pump(QUIET).await;
    assert!(v.denied, "the viewer is told its write was refused");
    assert!(!a.text().contains("vandalism"));
    let refused = server
        .state()
        .editor
        .engine
        .stats()
        .refused_writes
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(refused, 1, "this server's engine counted the refusal");
    let metrics = owner.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains("tandem_collab_refused_writes_total"),
        "{metrics}"
    );
    server.finish().await;
}

async fn limits_close_the_connection(backend: Backend) {
    let server = TestServer::start_with(backend, |c| c.editor.ws_max_message_bytes = 4096).await;
    let owner = server.client();
    owner.signup("lia").await;
    let project = owner.create_project("Limits").await;
    let url = server.ws_url(&format!("/yjs/doc?project={project}"));

    let mut big = YClient::connect(&url, Some(&owner.cookie()))
        .await
        .expect("connect");
    big.send_raw(vec![0u8; 10_000]).await;
    big.until("the close", |c| c.closed.is_some()).await;
    assert!(big.closed.is_some(), "oversized message closes the socket");

    let mut garbage = YClient::connect(&url, Some(&owner.cookie()))
        .await
        .expect("connect");
    garbage.send_raw(vec![0, 9, 9]).await;
    garbage.until("the close", |c| c.closed.is_some()).await;
    let (code, reason) = garbage.closed.clone().expect("closed");
    assert_eq!(code, 1007, "{reason}");
    assert!(reason.contains("malformed"), "{reason}");

    // The document and other clients are unaffected.
    let mut fine = YClient::connect(&url, Some(&owner.cookie()))
        .await
        .expect("connect");
    fine.insert(0, "ok").await;
    let mut check = YClient::connect(&url, Some(&owner.cookie()))
        .await
        .expect("connect");
    check.until("the edit", |c| c.text() == "ok").await;
    assert!(fine.closed.is_none());
    server.finish().await;
}

/// One writer sends thousands of updates as fast as it can while a reader does not read: the
/// reader's backlog is merged instead of costing it the connection, and it converges.
async fn a_reader_behind_a_burst_converges(backend: Backend) {
    let server = TestServer::start_with(backend, |c| {
        c.editor.ws_max_messages_per_sec = 1_000_000;
        c.editor.ws_backlog_merge_bytes = 16 * 1024;
    })
    .await;
    let owner = server.client();
    owner.signup("bea").await;
    let project = owner.create_project("Burst").await;
    let url = server.ws_url(&format!("/yjs/doc?project={project}"));
    let mut reader = YClient::connect(&url, Some(&owner.cookie()))
        .await
        .expect("connect");
    let mut writer = YClient::connect(&url, Some(&owner.cookie()))
        .await
        .expect("connect");
    // 4 MB in all: more than the loopback socket buffers hold, so the backlog builds up in
    // the server (where it is merged), not only in the kernel.
    const N: usize = 4000;
    const LEN: usize = 1000;
    let line = "z".repeat(LEN);
    for i in 0..N {
        writer.insert((i * LEN) as u32, &line).await;
    }
    // Another reader that keeps up sees the whole burst, so the server has taken it all in
    // before the slow one reads a single message.
    let mut checker = YClient::connect(&url, Some(&owner.cookie()))
        .await
        .expect("connect");
    let whole = (N * LEN) as u32;
    checker
        .until("the whole burst", |c| c.sync.len() == whole)
        .await;
    reader
        .until("the whole burst", |c| c.sync.len() == whole)
        .await;
    assert_eq!(reader.text(), checker.text());
    assert!(reader.closed.is_none(), "{:?}", reader.closed);
    // Whether a merge happened depends on how much the kernel buffered (the engine's tests
    // check merging itself); what must hold is that nobody was disconnected.
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("tandem_collab_slow_disconnects_total 0"),
        "{metrics}"
    );
    server.finish().await;
}

db_tests!(
    refused_before_upgrade,
    editors_converge_and_viewers_are_read_only,
    limits_close_the_connection,
    a_reader_behind_a_burst_converges
);

/// Acknowledged edits survive `kill -9`: the update log is written in a transaction before the
/// engine acknowledges anything, and SQLite's WAL keeps committed transactions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_edits_survive_kill_9() {
    let data = tempfile::tempdir().expect("temp dir");
    let spawn = || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tandem"));
        cmd.env("TANDEM_DATA_DIR", data.path())
            .env("TANDEM_LOG", "warn")
            .env_remove("TANDEM_DATABASE_URL");
        crate::common::spawn_listening(cmd)
    };
    let (mut child, base) = spawn();
    let (http, cookie, project) = crate::common::signup_over_http(&base, "kim", "Durable").await;
    let file: serde_json::Value = http
        .post(format!("{base}/api/editor/default_file"))
        .form(&[("project", project["id"].to_string())])
        .send()
        .await
        .expect("default file")
        .json()
        .await
        .expect("json");
    let doc = file["doc"].as_i64().expect("doc id");
    let ws_url = |base: &str| {
        format!(
            "{}/ws?project={}",
            base.replacen("http", "ws", 1),
            project["id"]
        )
    };
    let url = ws_url(&base);
    let mut tab = TabClient::connect(&url, &cookie).await.expect("connect");
    tab.open(doc).await;
    let mut expected = String::new();
    for i in 0..20 {
        let piece = format!("edit {i}; ");
        tab.insert(doc, expected.len() as u32, &piece).await;
        expected.push_str(&piece);
    }
    // The acknowledgement is the guarantee: once "saved up to 20" arrives, kill at once.
    assert!(
        tab.wait_saved(doc, Duration::from_secs(10)).await,
        "never acknowledged"
    );
    child.kill().expect("SIGKILL");
    let _ = child.wait();

    // A new process on a new port, over the same data dir.
    let (mut child, base) = spawn();
    let mut fresh = TabClient::connect(&ws_url(&base), &cookie)
        .await
        .expect("reconnect");
    fresh.open(doc).await;
    assert_eq!(fresh.text(doc), expected);
    let _ = child.kill();
    let _ = child.wait();
}

/// A real Yjs client under Node (npm `yjs` + `y-websocket`'s `WebsocketProvider`) and a Rust
/// yrs client edit the same document through `/yjs/{doc}` and converge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_yjs_client_interoperates() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if !root.join("node_modules/y-websocket").exists() {
        assert!(
            std::env::var_os("TANDEM_REQUIRE_INTEROP").is_none(),
            "node_modules/y-websocket is missing; run `npm ci`"
        );
        eprintln!(
            "node_modules missing: Yjs interoperability test skipped (cargo xtask test runs it)"
        );
        return;
    }
    let server =
        TestServer::start_with(Backend::Sqlite, |c| c.editor.secret = Some(SECRET.into())).await;
    let owner = server.client();
    let uid = owner.signup("nora").await;
    let project = owner.create_project("Interop").await;
    let named = server.ws_url(&format!("/yjs/interop?project={project}"));
    let mut rust = YClient::connect(&named, Some(&owner.cookie()))
        .await
        .expect("rust peer");
    // The Node peer waits for this edit to arrive.
    rust.insert(0, "rust says hi. ").await;
    let doc_id = doc_id_by_name(&server, "interop").await;

    let node = tokio::process::Command::new("node")
        .arg(root.join("end2end/interop/yjs-peer.mjs"))
        .args([
            server.ws_url("/yjs"),
            doc_id.to_string(),
            token(uid, project, doc_id as u64),
            "node says hi. ".to_owned(),
            "rust says hi.".to_owned(),
        ])
        .current_dir(&root)
        .output();
    // Keep the Rust peer serving its side while Node runs.
    tokio::pin!(node);
    let out = loop {
        tokio::select! {
            out = &mut node => break out.expect("node runs"),
            () = rust.step() => {}
        }
    };
    assert!(
        out.status.success(),
        "node peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let node_text: String = serde_json::from_slice(&out.stdout).expect("json text");
    rust.until("the Node peer's text", |c| c.text() == node_text)
        .await;
    assert!(node_text.contains("rust says hi.") && node_text.contains("node says hi."));
    server.finish().await;
}
