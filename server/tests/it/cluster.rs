//! Several `tandem` processes sharing one PostgreSQL database and the machine's NATS server:
//! documents and cursors, the project channel (tree, chat, presence) and the sign-in limits
//! cross nodes. PostgreSQL comes from
//! `TANDEM_TEST_POSTGRES_URL`, NATS from `TANDEM_TEST_NATS_URL` (default
//! `nats://127.0.0.1:4222`); without them the test says so and passes, except under `CI`.

use std::process::{Child, Command};

use app::live::events::ServerEvent;
use serde_json::json;

use crate::common::{PgDatabase, signup_over_http, spawn_listening, tab::TabClient, yjs::YClient};

fn nats_url() -> Option<String> {
    let url = std::env::var("TANDEM_TEST_NATS_URL")
        .unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
    match std::net::TcpStream::connect(url.trim_start_matches("nats://")) {
        Ok(_) => Some(url),
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but NATS does not answer at {url}: {e}"
            );
            eprintln!("skipped: NATS does not answer at {url}: {e}");
            None
        }
    }
}

/// One node: its own data folder, the shared database, secret and bus.
struct Node {
    child: Child,
    base: String,
    _data: tempfile::TempDir,
}

impl Node {
    fn start(database_url: &str, bus: &str, prefix: &str) -> Self {
        let data = tempfile::Builder::new()
            .prefix("tandem_node")
            .tempdir()
            .expect("temp dir");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tandem"));
        cmd.env("TANDEM_DATA_DIR", data.path())
            .env("TANDEM_DATABASE_URL", database_url)
            .env(
                "TANDEM_SECRET",
                "one secret for every node of the cluster test",
            )
            .env("TANDEM_BUS", bus)
            .env("TANDEM_BUS_PREFIX", prefix)
            .env("TANDEM_LOGIN_MAX_FAILURES", "3")
            .env("TANDEM_LOG", "warn");
        let (child, base) = spawn_listening(cmd);
        Self {
            child,
            base,
            _data: data,
        }
    }

    fn ws(&self, path: &str) -> String {
        format!("{}{path}", self.base.replacen("http://", "ws://", 1))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh database and two nodes on it and the bus (`None`: skipped, outside CI).
async fn two_nodes() -> Option<(PgDatabase, Node, Node)> {
    let db = PgDatabase::create_or_skip().await?;
    let bus = nats_url()?;
    let prefix = format!("tandem-cluster-{}", db.name);
    let one = Node::start(&db.url, &bus, &prefix);
    // Started after the first has migrated the database.
    let two = Node::start(&db.url, &bus, &prefix);
    Some((db, one, two))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yjs_clients_on_two_nodes_converge_with_one_session() {
    let Some((db, one, two)) = two_nodes().await else {
        return;
    };
    // Signed up on node one; the session is in the shared database, so node two knows it.
    let (_http, cookie, project) = signup_over_http(&one.base, "nia", "Cluster").await;
    let id = project["id"].as_i64().expect("project id");
    let path = format!("/yjs/notes?project={id}");
    let mut a = YClient::connect(&one.ws(&path), Some(&cookie))
        .await
        .expect("node one accepts");
    let mut b = YClient::connect(&two.ws(&path), Some(&cookie))
        .await
        .expect("node two accepts the session made on node one");
    a.insert(0, "from one").await;
    b.until("node one's edit on node two", |c| c.text() == "from one")
        .await;
    b.insert(8, ", from two").await;
    a.until("node two's edit on node one", |c| {
        c.text() == "from one, from two"
    })
    .await;
    // A client arriving later on node two gets everything.
    let mut c = YClient::connect(&two.ws(&path), Some(&cookie))
        .await
        .expect("connect");
    c.until("the whole text", |c| c.text() == "from one, from two")
        .await;
    drop((one, two));
    db.drop().await;
}

/// Whether `tab` has seen an event `f` accepts.
fn seen(tab: &TabClient, f: impl Fn(&ServerEvent) -> bool) -> bool {
    tab.events.iter().any(f)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_project_channel_and_sign_in_limits_span_nodes() {
    let Some((db, one, two)) = two_nodes().await else {
        return;
    };
    let (http, cookie, project) = signup_over_http(&one.base, "ora", "Channel").await;
    let id = project["id"].as_i64().expect("project id");
    let path = format!("/ws?project={id}");
    let mut a = TabClient::connect(&one.ws(&path), &cookie)
        .await
        .expect("node one");
    let mut b = TabClient::connect(&two.ws(&path), &cookie)
        .await
        .expect("node two");
    let file: serde_json::Value = http
        .post(format!("{}/api/editor/default_file", one.base))
        .form(&[("project", id.to_string())])
        .send()
        .await
        .expect("default file")
        .json()
        .await
        .expect("json");
    let doc = file["doc"].as_i64().expect("doc");

    // Presence: a file opened through node one shows on node two's tab.
    a.open(doc).await;
    b.until("node one's viewer on node two", |t| {
        seen(t, |e| {
            matches!(e, ServerEvent::Viewers { viewers }
            if viewers.iter().any(|v| v.name == "ora" && v.docs.iter().any(|d| d.0 == doc)))
        })
    })
    .await;

    // A tree change made through node two reaches node one's tab.
    let created = http
        .post(format!("{}/api/files/create", two.base))
        .json(&json!({ "project": id, "parent": null, "name": "from-two.rs", "kind": "file" }))
        .send()
        .await
        .expect("create");
    assert!(created.status().is_success(), "{}", created.status());
    a.until("node two's new file on node one", |t| {
        seen(t, |e| {
            matches!(e, ServerEvent::Tree { entries }
            if entries.iter().any(|f| f.name == "from-two.rs"))
        })
    })
    .await;

    // A chat message sent through node one reaches node two's tab.
    let sent = http
        .post(format!("{}/api/chat/send", one.base))
        .json(&json!({ "project": id, "client_id": "c1", "body": "hello two", "reply_to": null }))
        .send()
        .await
        .expect("send");
    assert!(sent.status().is_success(), "{}", sent.status());
    b.until("node one's chat message on node two", |t| {
        seen(
            t,
            |e| matches!(e, ServerEvent::Chat { message } if message.body == "hello two"),
        )
    })
    .await;

    // Closing the tab on node one clears its presence on node two.
    drop(a);
    b.until("node one's viewer gone from node two", |t| {
        matches!(t.events.iter().rev().find(|e| matches!(e, ServerEvent::Viewers { .. })),
            Some(ServerEvent::Viewers { viewers }) if viewers.is_empty())
    })
    .await;

    // Sign-in failures count across nodes: three free (TANDEM_LOGIN_MAX_FAILURES), then the
    // fourth waits, whichever node it reaches.
    let anon = reqwest::Client::new();
    let login = |base: &str| {
        anon.post(format!("{base}/api/login"))
            .form(&[("name", "ora"), ("password", "wrong password")])
            .send()
    };
    for base in [&one.base, &two.base, &one.base] {
        let r = login(base).await.expect("login");
        assert_ne!(r.status().as_u16(), 429, "a free failure");
    }
    for base in [&two.base, &one.base] {
        let r = login(base).await.expect("login");
        assert_eq!(
            r.status().as_u16(),
            429,
            "the fourth failure waits on every node"
        );
    }
    drop((b, one, two));
    db.drop().await;
}
