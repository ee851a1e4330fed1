//! Several `tandem` processes sharing one PostgreSQL database and the machine's NATS server
//! (scale-out's first part: documents and cursors cross nodes). PostgreSQL comes from
//! `TANDEM_TEST_POSTGRES_URL`, NATS from `TANDEM_TEST_NATS_URL` (default
//! `nats://127.0.0.1:4222`); without them the test says so and passes, except under `CI`.

use std::process::{Child, Command};

use crate::common::{PgDatabase, signup_over_http, spawn_listening, yjs::YClient};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yjs_clients_on_two_nodes_converge_with_one_session() {
    let Some(db) = PgDatabase::create_or_skip().await else {
        return;
    };
    let Some(bus) = nats_url() else { return };
    let prefix = format!("tandem-cluster-{}", db.name);
    let one = Node::start(&db.url, &bus, &prefix);
    // Started after the first has migrated the database.
    let two = Node::start(&db.url, &bus, &prefix);
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
