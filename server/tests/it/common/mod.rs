//! Test harness: a real server on a free port over a fresh database (an SQLite file, or a new
//! PostgreSQL database when `TANDEM_TEST_POSTGRES_URL` is set), and a cookie-keeping client.
#![allow(dead_code, unreachable_pub)]

pub mod ai;
pub mod tab;
pub mod yjs;

use std::path::PathBuf;

use reqwest::{Client, Response, StatusCode};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use server::{Running, config::Config};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, connect_async,
    tungstenite::{self, client::IntoClientRequest, http::HeaderValue, protocol::CloseFrame},
};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens a websocket as a browser tab would, with its session cookie when given.
pub async fn ws_connect(url: &str, cookie: Option<&str>) -> Result<Ws, tungstenite::Error> {
    let mut request = url.into_client_request()?;
    if let Some(c) = cookie {
        request
            .headers_mut()
            .insert("cookie", HeaderValue::from_str(c).expect("cookie"));
    }
    Ok(connect_async(request).await?.0)
}

/// How the server ended a socket: its close code and reason (1005 when it sent no frame).
pub fn close_of(frame: Option<CloseFrame>) -> (u16, String) {
    frame.map_or((1005, String::new()), |f| {
        (u16::from(f.code), f.reason.to_string())
    })
}

/// Writes one test per backend: `sqlite` always, `postgres` when PostgreSQL is configured.
#[macro_export]
macro_rules! db_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($crate::common::Backend::Sqlite).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if $crate::common::postgres_admin_url().is_none() {
                    // In CI a missing database is a broken setup, never a pass.
                    assert!(
                        std::env::var_os("CI").is_none(),
                        "CI is set but TANDEM_TEST_POSTGRES_URL is not: the PostgreSQL case cannot run"
                    );
                    eprintln!("TANDEM_TEST_POSTGRES_URL is not set: PostgreSQL case skipped");
                    return;
                }
                super::$name($crate::common::Backend::Postgres).await;
            })*
        }
    };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn postgres_admin_url() -> Option<String> {
    std::env::var("TANDEM_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Against a server running as its own process (`spawn_listening`): signs up `user`, creates a
/// project named `project`, and returns the HTTP client, the session cookie (`name=value`, for
/// websockets) and the project as the API answered it.
pub async fn signup_over_http(
    base: &str,
    user: &str,
    project: &str,
) -> (Client, String, serde_json::Value) {
    let http = Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let signup = http
        .post(format!("{base}/api/signup"))
        .form(&[("name", user), ("password", PASSWORD)])
        .send()
        .await
        .expect("signup");
    let cookie = signup.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    let project: serde_json::Value = http
        .post(format!("{base}/api/projects/create"))
        .form(&[("name", project)])
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    (http, cookie, project)
}

/// Starts a `tandem` process (its environment already set) on port 0 and returns it with its
/// base URL, read from the `listening on http://…` line it prints once bound. Nothing picks a
/// port, releases it and hands it over, which another process could take in between.
pub fn spawn_listening(mut cmd: std::process::Command) -> (std::process::Child, String) {
    let mut child = cmd
        .env("TANDEM_BIND", "127.0.0.1:0")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn tandem");
    let stdout = child.stdout.take().expect("stdout");
    let base = first_line_with(stdout, "tandem", |line| {
        line.strip_prefix("listening on ")
            .map(|url| url.trim().to_owned())
    });
    (child, base)
}

/// Reads a child's output line by line until `found` accepts one (panics, naming `what`, if
/// the output ends first), then keeps draining it so the child never blocks on a full pipe.
pub fn first_line_with<T>(
    output: impl std::io::Read + Send + 'static,
    what: &str,
    found: impl Fn(&str) -> Option<T>,
) -> T {
    use std::io::BufRead;
    let mut lines = std::io::BufReader::new(output).lines();
    let value = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(v) = found(&line) {
                    break v;
                }
            }
            _ => panic!("{what} exited before it was listening"),
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    value
}

pub struct TestServer {
    pub running: Option<Running>,
    pub data_dir: PathBuf,
    /// Removes the data dir when the test ends, however it ends.
    _data: tempfile::TempDir,
    pub database_url: String,
    pg_database: Option<PgDatabase>,
}

/// A fresh PostgreSQL database of one test's own, on the server `TANDEM_TEST_POSTGRES_URL`
/// names; [`PgDatabase::drop`] removes it.
pub struct PgDatabase {
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create(admin: &str) -> Self {
        let name = unique("tandem_t");
        let db = Database::connect(admin)
            .await
            .expect("connect to PostgreSQL");
        db.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create test database");
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b)
            .expect("url has a database");
        Self {
            url: format!("{base}/{name}"),
            name,
        }
    }

    /// For a test that needs PostgreSQL itself: `None` (said on stderr) when none is
    /// configured; under `CI` that is a broken setup and fails the test.
    pub async fn create_or_skip() -> Option<Self> {
        let Some(admin) = postgres_admin_url() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but TANDEM_TEST_POSTGRES_URL is not: this test needs PostgreSQL"
            );
            eprintln!("skipped: TANDEM_TEST_POSTGRES_URL is not set");
            return None;
        };
        Some(Self::create(&admin).await)
    }

    pub async fn drop(self) {
        if let Some(admin) = postgres_admin_url()
            && let Ok(db) = Database::connect(&admin).await
        {
            let _ = db
                .execute_unprepared(&format!(
                    "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                    self.name
                ))
                .await;
        }
    }
}

impl TestServer {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        // The server's warnings and errors in the test's captured output: a failing test shows
        // why the server answered as it did (an `Internal` is logged with its cause).
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
            .with_test_writer()
            .try_init();
        let data = tempfile::Builder::new()
            .prefix("tandem_test")
            .tempdir()
            .expect("temp dir");
        let data_dir = data.path().to_path_buf();
        let mut config = Config::for_data_dir(&data_dir);
        config.bind = "127.0.0.1:0".parse().expect("addr");
        config.shutdown_grace_secs = 2;
        let mut pg_database = None;
        if backend == Backend::Postgres {
            let admin = postgres_admin_url().expect("postgres configured");
            let db = PgDatabase::create(&admin).await;
            config.database_url = Some(db.url.clone());
            pg_database = Some(db);
        }
        tweak(&mut config);
        let database_url = config.database_url();
        let running = server::start(config).await.expect("server starts");
        Self {
            running: Some(running),
            data_dir,
            _data: data,
            database_url,
            pg_database,
        }
    }

    pub fn state(&self) -> &server::http::AppState {
        &self.running.as_ref().expect("running").state
    }

    pub fn url(&self, path: &str) -> String {
        self.running.as_ref().expect("running").url(path)
    }

    pub fn client(&self) -> Api {
        Api::at(&self.url(""))
    }

    /// A fresh project `project` with an owner, an editor and a viewer, named by `names` in
    /// that order, each signed in on their own client.
    pub async fn team(&self, project: &str, names: [&str; 3]) -> Team {
        let [owner_name, editor_name, viewer_name] = names;
        let (owner, editor, viewer) = (self.client(), self.client(), self.client());
        let ids = [
            owner.signup(owner_name).await,
            editor.signup(editor_name).await,
            viewer.signup(viewer_name).await,
        ];
        let project = owner.create_project(project).await;
        owner.invite(project, editor_name, "editor").await;
        owner.invite(project, viewer_name, "viewer").await;
        Team {
            owner,
            editor,
            viewer,
            project,
            ids,
        }
    }

    /// What `/metrics` shows now.
    pub async fn metrics(&self) -> String {
        self.client()
            .get("/metrics")
            .await
            .text()
            .await
            .expect("metrics")
    }

    pub fn ws_url(&self, path: &str) -> String {
        self.url(path).replacen("http://", "ws://", 1)
    }

    /// A direct connection to the server's database, for arranging states the UI cannot reach
    /// quickly (an expired session).
    pub async fn db(&self) -> DatabaseConnection {
        Database::connect(&self.database_url)
            .await
            .expect("connect")
    }

    /// Stops the server and starts it again on the same data, on a new port: what survives a
    /// restart of the process. Clients reach it with `Api::on(&server.url(""))`.
    pub async fn restart(&mut self, tweak: impl FnOnce(&mut Config)) {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("clean shutdown");
        }
        let mut config = Config::for_data_dir(&self.data_dir);
        config.bind = "127.0.0.1:0".parse().expect("addr");
        config.shutdown_grace_secs = 2;
        config.database_url = Some(self.database_url.clone());
        tweak(&mut config);
        self.running = Some(server::start(config).await.expect("server restarts"));
    }

    pub async fn finish(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.expect("clean shutdown");
        }
        if let Some(db) = self.pg_database.take() {
            db.drop().await;
        }
    }
}

/// One browser-like user: a cookie jar and helpers for server functions and pages.
/// One member of each role on one project (see [`TestServer::team`]).
pub struct Team {
    pub owner: Api,
    pub editor: Api,
    pub viewer: Api,
    pub project: i64,
    /// User ids of the owner, the editor and the viewer.
    pub ids: [i64; 3],
}

pub struct Api {
    pub base: String,
    pub http: Client,
    jar: std::sync::Arc<reqwest::cookie::Jar>,
}

pub struct Reply {
    pub status: StatusCode,
    pub body: serde_json::Value,
}

impl Reply {
    /// The AppError variant name (`"NotSignedIn"`, `"Invalid"`, …) of an error reply.
    pub fn error_kind(&self) -> String {
        match &self.body {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Object(m) => m.keys().next().cloned().unwrap_or_default(),
            _ => String::new(),
        }
    }

    pub fn message(&self) -> String {
        // `{"Invalid":{"message":…}}`, or a variant carrying its message (`{"Conflict":…}`).
        self.body
            .pointer("/Invalid/message")
            .or_else(|| self.body.as_object()?.values().next())
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned()
    }
}

impl Api {
    /// A new user (no cookies yet) of the server at `base`.
    pub fn at(base: &str) -> Self {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        Api {
            base: base.trim_end_matches('/').to_owned(),
            http: Client::builder()
                .cookie_provider(jar.clone())
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            jar,
        }
    }

    /// The same user (same cookies) talking to another server of the same deployment.
    pub fn on(&self, base: &str) -> Self {
        Api {
            base: base.trim_end_matches('/').to_owned(),
            http: self.http.clone(),
            jar: self.jar.clone(),
        }
    }

    /// Calls a server function the way the browser does (form-encoded POST, JSON back).
    pub async fn call(&self, endpoint: &str, form: &[(&str, &str)]) -> Reply {
        let req = self
            .http
            .post(format!("{}/api/{endpoint}", self.base))
            .form(form);
        Self::reply(req).await
    }

    /// Calls a server function that takes JSON (`input = Json`).
    pub async fn json(&self, endpoint: &str, body: serde_json::Value) -> Reply {
        let req = self
            .http
            .post(format!("{}/api/{endpoint}", self.base))
            .json(&body);
        Self::reply(req).await
    }

    async fn reply(req: reqwest::RequestBuilder) -> Reply {
        let res = req
            .header("Accept", "application/json")
            .send()
            .await
            .expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
        Reply { status, body }
    }

    fn succeeded(endpoint: &str, reply: Reply) -> serde_json::Value {
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{endpoint} failed: {}",
            reply.body
        );
        reply.body
    }

    /// [`Self::json`], which must succeed.
    pub async fn json_ok(&self, endpoint: &str, body: serde_json::Value) -> serde_json::Value {
        Self::succeeded(endpoint, self.json(endpoint, body).await)
    }

    pub async fn ok(&self, endpoint: &str, form: &[(&str, &str)]) -> serde_json::Value {
        Self::succeeded(endpoint, self.call(endpoint, form).await)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request")
    }

    pub async fn signup(&self, name: &str) -> i64 {
        let user = self
            .ok("signup", &[("name", name), ("password", PASSWORD)])
            .await;
        user["id"].as_i64().expect("user id")
    }

    /// The session cookie, for clients (websockets) that do not share the jar.
    pub fn cookie(&self) -> String {
        use reqwest::cookie::CookieStore;
        self.jar
            .cookies(&self.base.parse().expect("url"))
            .and_then(|v| v.to_str().ok().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Adds `name` to the project with `role` (the caller must be an owner).
    pub async fn invite(&self, project: i64, name: &str, role: &str) {
        let project = project.to_string();
        self.ok(
            "projects/invite",
            &[("project", &project), ("username", name), ("role", role)],
        )
        .await;
    }

    pub async fn create_project(&self, name: &str) -> i64 {
        let p = self.ok("projects/create", &[("name", name)]).await;
        p["id"].as_i64().expect("project id")
    }
}

pub const PASSWORD: &str = "correct horse battery staple";

/// Polls until `done` holds (something outside the server records it, like the stand-in AI
/// provider); panics after [`WAIT`] naming `what`.
pub async fn soon(what: &str, done: impl Fn() -> bool) {
    tokio::time::timeout(WAIT, async {
        while !done() {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting: {what}"));
}

/// How long a test waits for a condition before it fails (generous: CI machines are slow and
/// shared; a passing test never waits this long).
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(10);
