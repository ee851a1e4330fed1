//! Several `tandem` processes sharing one PostgreSQL database and the machine's NATS server:
//! documents and cursors, the project channel (tree, chat, presence) and the sign-in limits
//! cross nodes. PostgreSQL comes from
//! `TANDEM_TEST_POSTGRES_URL`, NATS from `TANDEM_TEST_NATS_URL` (default
//! `nats://127.0.0.1:4222`); without them the test says so and passes, except under `CI`.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use app::live::events::{ServerEvent, close};
use serde_json::json;

use crate::common::{
    Api, PgDatabase, WAIT, first_line_with, signup_over_http, spawn_listening, tab::TabClient,
    yjs::YClient,
};

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
pub(crate) struct Node {
    child: Child,
    pub(crate) base: String,
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

    pub(crate) fn ws(&self, path: &str) -> String {
        format!("{}{path}", self.base.replacen("http://", "ws://", 1))
    }

    /// `kill -9`: no shutdown, nothing flushed that was not already.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits until `/healthz` says the bus is `connected` (or not).
    async fn until_bus(&self, connected: bool) {
        let deadline = tokio::time::Instant::now() + WAIT * 2;
        loop {
            let health: Option<serde_json::Value> = async {
                reqwest::get(format!("{}/healthz", self.base))
                    .await
                    .ok()?
                    .json()
                    .await
                    .ok()
            }
            .await;
            if let Some(h) = &health
                && h["bus"]["connected"] == connected
            {
                let status = if connected { "ok" } else { "degraded" };
                assert_eq!(h["status"], status, "{h}");
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the bus never became connected={connected}: {health:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh database and two nodes on it and the machine's NATS (`None`: skipped, outside CI).
pub(crate) async fn two_nodes() -> Option<(PgDatabase, Node, Node)> {
    let bus = nats_url()?;
    two_nodes_on(&bus).await
}

async fn two_nodes_on(bus: &str) -> Option<(PgDatabase, Node, Node)> {
    let db = PgDatabase::create_or_skip().await?;
    let bus = bus.to_owned();
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
    let (owner, id, doc) = owner_on(&one, "nia", "Cluster").await;
    let cookie = owner.cookie();
    let path = format!("/yjs/{doc}?project={id}");
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
    // A browser tab (`/ws`) on node two edits the same document with the Yjs clients.
    let mut tab = TabClient::connect(&two.ws(&format!("/ws?project={id}")), &cookie)
        .await
        .expect("tab on node two");
    tab.open(doc).await;
    assert_eq!(tab.text(doc), "from one, from two");
    tab.insert(doc, 0, "tab: ").await;
    a.until("the tab's edit on node one", |c| {
        c.text() == "tab: from one, from two"
    })
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

/// `name` signed up on `node`, owning a new project `project` with its default file:
/// the owner, the project and the file's document.
async fn owner_on(node: &Node, name: &str, project: &str) -> (Api, i64, i64) {
    let owner = Api::at(&node.base);
    owner.signup(name).await;
    let project = owner.create_project(project).await;
    let doc = default_doc(&owner, project).await;
    (owner, project, doc)
}

/// The project's default file, created through `base`.
async fn default_doc(api: &Api, project: i64) -> i64 {
    api.ok("editor/default_file", &[("project", &project.to_string())])
        .await["doc"]
        .as_i64()
        .expect("default file")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_edits_survive_kill_9_of_their_node() {
    let Some((db, mut one, two)) = two_nodes().await else {
        return;
    };
    let (owner, project, doc) = owner_on(&one, "kai", "Failover").await;
    let path = format!("/ws?project={project}");
    let cookie = owner.cookie();
    let mut writer = TabClient::connect(&one.ws(&path), &cookie)
        .await
        .expect("node one");
    writer.open(doc).await;
    let mut reader = TabClient::connect(&two.ws(&path), &cookie)
        .await
        .expect("node two");
    reader.open(doc).await;

    // Twenty edits acknowledged, then ten more in flight when node one dies.
    let pieces: Vec<String> = (0..30).map(|i| format!("edit {i}; ")).collect();
    let mut text = String::new();
    for piece in &pieces[..20] {
        writer.insert(doc, text.len() as u32, piece).await;
        text.push_str(piece);
    }
    assert!(writer.wait_saved(doc, WAIT).await, "never acknowledged");
    for piece in &pieces[20..] {
        writer.insert(doc, text.len() as u32, piece).await;
        text.push_str(piece);
    }
    one.kill();
    // Whatever was acknowledged before the kill (at least the first twenty) is the floor.
    let acked = writer.saved.get(&doc).copied().unwrap_or(0) as usize;
    assert!(acked >= 20, "acknowledged {acked}");
    let floor: String = pieces[..acked.min(pieces.len())].concat();

    // The reader on node two has every acknowledged edit.
    reader
        .until("node one's acknowledged edits on node two", |t| {
            t.text(doc).starts_with(&floor)
        })
        .await;
    // The writer comes back through the address a load balancer now sends to node two.
    let mut back = TabClient::connect(&two.ws(&path), &cookie)
        .await
        .expect("node two takes the writer");
    back.open(doc).await;
    assert!(
        back.text(doc).starts_with(&floor),
        "acknowledged edits lost: {:?}",
        back.text(doc)
    );
    // And editing goes on there.
    let end = back.text(doc).len() as u32;
    back.insert(doc, end, "after the failover").await;
    reader
        .until("the edit after the failover", |t| {
            t.text(doc).ends_with("after the failover")
        })
        .await;
    assert!(
        back.wait_saved(doc, WAIT).await,
        "not acknowledged on node two"
    );
    drop((writer, reader, back, one, two));
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_and_removal_on_one_node_reach_sockets_on_another() {
    let Some((db, one, two)) = two_nodes().await else {
        return;
    };
    let (owner, project, doc) = owner_on(&one, "pam", "Access").await;
    let member = Api::at(&two.base);
    let member_id = member.signup("max").await;
    owner.invite(project, "max", "editor").await;
    let path = format!("/ws?project={project}");

    // The member, signed in on node two, works through node one; the owner removes them
    // through node two.
    let mut m = TabClient::connect(&one.ws(&path), &member.cookie())
        .await
        .expect("a session made on node two is valid on node one");
    m.open(doc).await;
    assert_eq!(m.opened(doc), Some(true));
    owner
        .on(&two.base)
        .ok(
            "projects/remove-member",
            &[
                ("project", &project.to_string()),
                ("user", &member_id.to_string()),
            ],
        )
        .await;
    m.until("the removed member's socket on node one closes", |t| {
        t.closed.is_some()
    })
    .await;
    assert_eq!(m.closed.as_ref().map(|c| c.0), Some(close::NO_ACCESS));

    // The owner's tab is on node one; signing out through node two ends it there.
    let cookie = owner.cookie();
    let mut o = TabClient::connect(&one.ws(&path), &cookie)
        .await
        .expect("owner on node one");
    o.open(doc).await;
    owner.on(&two.base).ok("logout", &[]).await;
    o.until("the signed-out tab on node one closes", |t| {
        t.closed.is_some()
    })
    .await;
    assert_eq!(o.closed.as_ref().map(|c| c.0), Some(close::SIGNED_OUT));
    // The old cookie opens nothing on either node.
    for node in [&one, &two] {
        let me: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/api/me", node.base))
            .header("Cookie", &cookie)
            .header("Accept", "application/json")
            .send()
            .await
            .expect("me")
            .json()
            .await
            .expect("json");
        assert_eq!(me, serde_json::Value::Null, "signed out on {}", node.base);
    }
    drop((m, o, one, two));
    db.drop().await;
}

/// A NATS server of the test's own (the machine's must not be restarted under other tests):
/// `nats-server` from PATH on a port it picks, restartable on the same port.
struct PrivateNats {
    child: Child,
    port: u16,
}

impl PrivateNats {
    /// `None` when there is no `nats-server` (fails under CI, like a missing broker).
    fn start() -> Option<Self> {
        let found = Command::new("nats-server")
            .arg("--version")
            .output()
            .is_ok();
        if !found {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but nats-server is not on PATH"
            );
            eprintln!("skipped: nats-server is not on PATH");
            return None;
        }
        let (child, port) = Self::spawn("-1");
        Some(Self { child, port })
    }

    /// Starts `nats-server` on `port` (`-1`: any) and reads the port from its log.
    fn spawn(port: &str) -> (Child, u16) {
        let mut child = Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", port])
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("nats-server");
        let stderr = child.stderr.take().expect("stderr");
        let port = first_line_with(stderr, "nats-server", |line| {
            let at = line.split("Listening for client connections on ").nth(1)?;
            at.trim().rsplit(':').next()?.parse().ok()
        });
        (child, port)
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn restart(&mut self) {
        self.kill();
        self.child = Self::spawn(&self.port.to_string()).0;
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_serve_their_own_clients_through_a_broker_outage_and_resync_after() {
    let Some(mut nats) = PrivateNats::start() else {
        return;
    };
    let Some((db, one, two)) = two_nodes_on(&nats.url()).await else {
        return;
    };
    let (_http, cookie, project) = signup_over_http(&one.base, "bea", "Outage").await;
    let id = project["id"].as_i64().expect("project id");
    let path = format!("/yjs/notes?project={id}");
    let connect = |url: String| {
        let cookie = cookie.clone();
        async move {
            YClient::connect(&url, Some(&cookie))
                .await
                .expect("connect")
        }
    };
    let mut a = connect(one.ws(&path)).await;
    let mut a2 = connect(one.ws(&path)).await;
    let mut b = connect(two.ws(&path)).await;
    a.insert(0, "[base]").await;
    b.until("the base text on node two", |c| c.text() == "[base]")
        .await;
    one.until_bus(true).await;

    nats.kill();
    one.until_bus(false).await;
    two.until_bus(false).await;
    // Each node goes on serving its own clients.
    a.insert(0, "[one]").await;
    a2.until("node one's edit on node one", |c| {
        c.text().contains("[one]")
    })
    .await;
    let end = b.text().len() as u32;
    b.insert(end, "[two]").await;
    b.pump(Duration::from_millis(200)).await;
    assert!(
        !b.text().contains("[one]"),
        "nothing crosses without a broker"
    );

    nats.restart();
    one.until_bus(true).await;
    two.until_bus(true).await;
    // The nodes resync: each side gets what the other did during the outage.
    for (who, c) in [("a", &mut a), ("a2", &mut a2), ("b", &mut b)] {
        c.until(&format!("{who} has both sides' edits"), |c| {
            let t = c.text();
            t.contains("[one]") && t.contains("[two]") && t.contains("[base]")
        })
        .await;
    }
    assert_eq!(a.text(), b.text());
    drop((a, a2, b, one, two));
    db.drop().await;
}
