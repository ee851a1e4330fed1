//! The Tandem server: configuration, database, accounts, projects and the HTTP application.
//! `main.rs` is a thin CLI over [`start`] and the admin commands; tests call [`start`] directly.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use app::{
    auth::ssr::Accounts, chat::ssr::ChatService, editor::ssr::Documents, files::ssr::FileService,
    services::Services,
};
use leptos::config::{Env, LeptosOptions};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

pub mod admin;
pub mod assist;
pub mod audit;
pub mod auth;
pub mod chat;
pub mod config;
pub mod dashboard;
pub mod db;
pub mod editor;
pub mod envs;
pub mod error;
pub mod files;
mod held;
pub mod history;
pub mod http;
pub mod lease;
pub mod limits;
pub mod live;
mod lock;
pub mod ops;
pub mod projects;
pub mod rate;
pub mod remote;
pub mod runs;
pub mod slots;
pub mod terminals;

use auth::{AccountService, rate_limit::LoginLimiter, session_store::DbSessionStore};
use config::Config;
use error::Result;
use http::AppState;

/// Connects, migrates and wires the services: everything but the listener.
pub async fn prepare(config: Config) -> Result<AppState> {
    config.auth.check().map_err(error::ServerError::Usage)?;
    if config.database_url.is_none() {
        tokio::fs::create_dir_all(&config.data_dir).await?;
    }
    let db = db::open(&config.database_url()).await?;
    private_data_dir(&config).await?;
    let revocations = auth::revoke::Revocations::default();
    let sessions = DbSessionStore::new(db.clone(), revocations.clone());
    // Several nodes share their rate limits through the database.
    let shared_counts = config
        .editor
        .bus
        .is_some()
        .then(|| rate::shared::SharedCounts::new(db.clone()));
    let mut accounts = AccountService::new(
        db.clone(),
        LoginLimiter::new(
            config.auth.login_max_failures,
            config.auth.login_max_failures_per_ip,
            config.auth.login_account_backstop,
            config.auth.login_window(),
        ),
        sessions.clone(),
    )
    .with_signup(config.auth.signup)
    .with_limits(
        config.auth.password_hash_concurrency,
        config.auth.signups_per_ip_per_hour,
    );
    if let Some(counts) = &shared_counts {
        accounts = accounts.with_shared_counts(counts.clone());
    }
    let leptos_options = LeptosOptions::builder()
        .output_name("tandem")
        .site_root(config.site_dir().to_string_lossy().as_ref())
        .site_pkg_dir("pkg")
        .env(Env::PROD)
        .site_addr(config.bind)
        .build();
    let editor = editor::Editor::new(&config.editor, &config.data_dir, db.clone()).await?;
    let hub = live::Hub::new(editor.bus.clone(), editor.node);
    // Before anything serves: a server restarted in maintenance starts frozen.
    let ops = ops::Ops::new(db.clone(), editor.engine.clone())
        .await
        .map_err(|e| error::ServerError::Usage(format!("cannot read the server notice: {e}")))?;
    let projects: Arc<dyn app::projects::ssr::Projects> = Arc::new(
        projects::ProjectService::new(db.clone(), revocations.clone())
            .with_max_owned(config.auth.max_projects_per_user),
    );
    let files = files::Files::new(
        {
            let tree = files::Tree::new(db.clone(), editor.clone(), hub.clone());
            match &shared_counts {
                Some(_) => tree.shared(lease::Leases::new(db.clone(), TREE_LEASE)),
                None => tree,
            }
        },
        projects.clone(),
        &config.files,
        &config.data_dir,
    );
    // Edited documents of disk-backed projects are written back to their files.
    let disks = files.disks().clone();
    editor
        .engine
        .on_change(Arc::new(move |doc| disks.doc_changed(doc)));
    files::disk::bind_configured(files.disks(), &files, &config.files).await?;
    let ai_usage = chat::ai::usage::Usage::new(db.clone());
    let ai_switches = assist::switches::Switches::new(db.clone());
    let chat = chat::Chat::new(
        db.clone(),
        hub.clone(),
        (projects.clone(), Arc::new(files.clone())),
        editor.clone(),
        config.chat.settings().map_err(error::ServerError::Usage)?,
        shared_counts.clone(),
        ai_usage.clone(),
    )
    .await?;
    let assist_settings = config.assist.settings();
    let ai_settings = assist::AiSettings {
        switches: ai_switches.clone(),
        usage: ai_usage.clone(),
        provider: chat.ai().is_some(),
        server_completions: assist_settings.enabled,
    };
    let assist = assist::Assist::new(
        chat.ai(),
        assist_settings,
        &shared_counts,
        (ai_switches, ai_usage.clone()),
    );
    let suggestions = assist::Suggestions::new(
        db.clone(),
        hub.clone(),
        editor.clone(),
        chat.clone(),
        ai_usage,
    )
    .await?;
    // Several nodes count a project's runs and terminals against one limit.
    let work_leases = config
        .editor
        .bus
        .is_some()
        .then(|| lease::Leases::new(db.clone(), TREE_LEASE));
    let secrets_key = {
        let (given, dir) = (config.secrets_key.clone(), config.data_dir.clone());
        tokio::task::spawn_blocking(move || envs::SecretKey::load(given.as_deref(), &dir))
            .await
            .map_err(|e| error::ServerError::Usage(e.to_string()))?
            .map_err(|e| error::ServerError::Usage(e.to_string()))?
    };
    let envs = envs::Envs::new(db.clone(), secrets_key);
    let runs = runs::Runs::new(
        db.clone(),
        hub.clone(),
        (files.clone(), envs.clone()),
        &config.runs,
        &config.data_dir,
        Duration::from_millis(config.files.dir_flush_ms),
        work_leases.clone(),
    )
    .await?;
    let terminals = terminals::Terminals::new(
        runs.clone(),
        hub.clone(),
        projects.clone(),
        work_leases.clone(),
    );
    remote::start(
        db.clone(),
        &hub,
        terminals.clone(),
        runs.clone(),
        work_leases.is_some(),
    )
    .await?;
    let audit = audit::Audit::new(db.clone(), config.audit_retention_days);
    let account_service = accounts.clone();
    let accounts: Arc<dyn Accounts> = Arc::new(accounts);
    let services =
        Services::default()
            .with(accounts.clone())
            .with(projects.clone())
            .with::<dyn Documents>(Arc::new(editor.clone()))
            .with::<dyn FileService>(Arc::new(files.clone()))
            .with::<dyn ChatService>(Arc::new(chat.clone()))
            .with::<dyn app::suggestions::ssr::SuggestionService>(Arc::new(suggestions))
            .with::<dyn app::projects::ai::ssr::AiService>(Arc::new(ai_settings))
            .with::<dyn app::projects::envs::ssr::EnvService>(Arc::new(envs))
            .with::<dyn app::runs::ssr::RunService>(Arc::new(runs.clone()))
            .with::<dyn app::terminals::ssr::TerminalService>(Arc::new(terminals.clone()))
            .with::<dyn app::history::ssr::HistoryService>(Arc::new(history::History::new(
                db.clone(),
                editor.clone(),
            )))
            .with::<dyn app::audit::ssr::AuditService>(Arc::new(audit.clone()))
            .with::<dyn app::dashboard::ssr::DashboardService>(Arc::new(
                dashboard::Dashboard::new(db.clone(), hub.clone(), projects.clone()),
            ));
    let membership = auth::Membership {
        accounts,
        projects,
        sessions,
        revocations,
        sockets: auth::SocketSlots::new(config.editor.max_sockets_per_user),
    };
    let health = ops::status::Health {
        name: ops::status::node_name(config.bind.port(), editor.node.0),
        started: std::time::Instant::now(),
        sockets: membership.sockets.clone(),
        engine: editor.engine.clone(),
        bus: editor.bus.clone(),
        data_dir: config.data_dir.clone(),
        last: Arc::default(),
    };
    let services = services.with::<dyn app::ops::ssr::OpsService>(Arc::new(ops::OpsConsole {
        ops: ops.clone(),
        health: health.clone(),
        db: db.clone(),
        accounts: account_service.clone(),
    }));
    Ok(AppState {
        accounts: account_service,
        audit,
        leptos_options,
        editor,
        hub,
        files,
        chat,
        runs,
        terminal_port: live::TerminalHandle(Arc::new(terminals.clone())),
        completions: live::CompletionHandle(Arc::new(assist)),
        terminals,
        db,
        metrics: http::metrics::Metrics::install(),
        site: http::site::Site::default(),
        services,
        membership,
        ops,
        health,
        config: Arc::new(config),
    })
}

/// How long a node that died holding a project's tree lease blocks tree changes on the others.
const TREE_LEASE: Duration = Duration::from_secs(15);

/// Serves until `shutdown` resolves, then lets in-flight requests finish for the configured
/// grace period.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let grace = Duration::from_secs(state.config.shutdown_grace_secs);
    let sweeper = tokio::spawn(sweep_sessions(state.membership.sessions.clone()));
    let forgetter = tokio::spawn(sweep_kept(state.files.tree.clone(), state.audit.clone()));
    let upkeep = tokio::spawn(state.metrics.clone().upkeep());
    let feed = tokio::spawn(dashboard::fold::run(
        state.db.clone(),
        state.editor.edits.clone(),
        state.hub.clone(),
        Duration::from_millis(state.config.feed_flush_ms.max(50)),
    ));
    let notices = tokio::spawn(state.ops.clone().follow());
    let alerts = tokio::spawn(ops::alerts::run(
        state.db.clone(),
        state.health.clone(),
        state.config.ops.clone(),
    ));
    let terminals = tokio::spawn(
        state
            .terminals
            .clone()
            .follow(state.membership.revocations.subscribe()),
    );
    let follower = tokio::spawn(
        state
            .membership
            .revocations
            .clone()
            .follow(state.db.clone()),
    );
    let (stopping_tx, stopping_rx) = oneshot::channel::<()>();
    let ops = state.ops.clone();
    let shutdown = async move {
        shutdown.await;
        // Open pages count the grace period down (their sockets relay it at once).
        ops.stopping(grace);
        let _ = stopping_tx.send(());
    };
    let app = http::router(state).into_make_service_with_connect_info::<SocketAddr>();
    // Collaboration traffic is many small frames: without TCP_NODELAY, Nagle's algorithm and
    // delayed ACKs hold some of them back for ~40 ms.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    let server = axum::serve(listener, app).with_graceful_shutdown(shutdown);
    tokio::select! {
        result = server => result?,
        () = async {
            let _ = stopping_rx.await;
            tokio::time::sleep(grace).await;
        } => tracing::warn!(?grace, "requests still running after the grace period; stopping anyway"),
    }
    sweeper.abort();
    forgetter.abort();
    upkeep.abort();
    feed.abort();
    notices.abort();
    alerts.abort();
    follower.abort();
    terminals.abort();
    Ok(())
}

/// A server running in the background: what integration tests and benchmarks start.
pub struct Running {
    pub addr: SocketAddr,
    /// The services, for tests and tools that drive the server in-process.
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<()>>,
}

impl Running {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn stop(mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await?
    }
}

/// Prepares and serves on `config.bind` (port 0 picks a free one).
pub async fn start(config: Config) -> Result<Running> {
    let listener = TcpListener::bind(config.bind).await?;
    let addr = listener.local_addr()?;
    let state = prepare(config).await?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve(state.clone(), listener, async move {
        let _ = stopped.await;
    }));
    Ok(Running {
        addr,
        state,
        stop: Some(stop),
        task,
    })
}

/// The data folder holds the database, the token secret and project files: owner-only (0700),
/// and the SQLite files in it 0600, whatever the umask made of them.
async fn private_data_dir(config: &Config) -> Result<()> {
    #[cfg(unix)]
    {
        use std::{fs::Permissions, os::unix::fs::PermissionsExt};
        if tokio::fs::metadata(&config.data_dir).await.is_ok() {
            tokio::fs::set_permissions(&config.data_dir, Permissions::from_mode(0o700)).await?;
        }
        if config.database_url.is_none() {
            for name in ["tandem.db", "tandem.db-wal", "tandem.db-shm"] {
                let path = config.data_dir.join(name);
                if tokio::fs::metadata(&path).await.is_ok() {
                    tokio::fs::set_permissions(&path, Permissions::from_mode(0o600)).await?;
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = config;
    Ok(())
}

/// Hourly: files kept after an emptied trash and audit entries go once their retention ends.
async fn sweep_kept(tree: files::Tree, audit: audit::Audit) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match tree.sweep_purged().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(n, "deleted files whose retention ended"),
            Err(e) => tracing::warn!(error = %e, "could not delete files past retention"),
        }
        match audit.sweep().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(n, "deleted audit entries past retention"),
            Err(e) => tracing::warn!(error = %e, "could not delete old audit entries"),
        }
    }
}

async fn sweep_sessions(store: DbSessionStore) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        match store.delete_expired().await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(n, "deleted expired sessions"),
            Err(e) => tracing::warn!(error = %e, "could not delete expired sessions"),
        }
    }
}
