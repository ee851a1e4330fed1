//! The axum application: Leptos pages and server functions, health and metrics, the session
//! layer and the page guard, request tracing.

use std::{future::Future, pin::Pin, sync::Arc};

use app::{App, auth::ssr::SESSION_COOKIE, services::Services, shell};
use axum::{
    Json, Router,
    body::Body,
    extract::{FromRef, Request, State},
    http::{StatusCode, Uri},
    middleware,
    response::{IntoResponse, Response},
    routing::get,
};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use sea_orm::DatabaseConnection;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};

pub mod client_ip;
pub mod cors;
mod error_status;
pub mod headers;
pub mod manifest;
pub mod metrics;
pub mod origin;
pub mod redact;
pub mod site;

use self::metrics::Metrics;
use crate::{
    auth::Membership, chat::Chat, config::Config, editor::Editor, files::Files, live::Hub,
};

/// Everything the routes need. Each handler takes only its part (`State<Editor>`,
/// `State<Membership>`, …) through `FromRef`, so no feature depends on the whole.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// The accounts service itself (the operator commands use what the trait does not show).
    pub accounts: crate::auth::AccountService,
    pub audit: crate::audit::Audit,
    pub leptos_options: LeptosOptions,
    pub db: DatabaseConnection,
    pub metrics: Metrics,
    pub site: site::Site,
    /// The server-side services of server functions (provided to them as Leptos context).
    pub services: Services,
    pub membership: Membership,
    pub config: Arc<Config>,
    pub editor: Editor,
    pub hub: Hub,
    pub files: Files,
    pub chat: Chat,
    pub runs: crate::runs::Runs,
    pub terminals: crate::terminals::Terminals,
    /// The same terminals, as the tab socket sees them.
    pub terminal_port: crate::live::TerminalHandle,
    /// Inline completions, as the tab socket sees them.
    pub completions: crate::live::CompletionHandle,
    /// The server's notice and maintenance switch.
    pub ops: crate::ops::Ops,
    /// This node's health, for the console and the alerts.
    pub health: crate::ops::status::Health,
}

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let services = state.services.clone();
    let context = move || {
        provide_context(services.clone());
        headers::provide_page_policy();
    };
    let sessions = SessionManagerLayer::new(state.membership.sessions.clone())
        .with_name(SESSION_COOKIE)
        .with_http_only(true)
        // Lax keeps the cookie off other sites' requests; a static client on another site
        // (README, "A static client") needs it on them, and the origin check guards changes.
        .with_same_site(if state.config.auth.cross_site_cookies {
            SameSite::None
        } else {
            SameSite::Lax
        })
        .with_secure(state.config.auth.secure_cookies)
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::try_from(state.config.auth.session_idle())
                .unwrap_or(tower_sessions::cookie::time::Duration::WEEK),
        ));
    let shell_options = state.leptos_options.clone();
    Router::new()
        .route("/healthz", get(health))
        .route("/metrics", get(self::metrics::handler))
        .route("/manifest.webmanifest", get(self::manifest::handler))
        .route("/yjs/{doc}", get(crate::editor::yjs::yjs))
        .route("/ws", get(crate::live::ws::ws))
        .route("/api/dashboard/live", get(crate::dashboard::live::live))
        .route("/api/projects/{id}/audit", get(crate::audit::export))
        .route(
            "/api/projects/{id}/export.zip",
            get(crate::files::archive::export_zip),
        )
        .route(
            "/api/projects/{id}/files/{file}/raw",
            get(crate::files::archive::raw_file),
        )
        .route(
            "/api/projects/import",
            axum::routing::post(crate::files::archive::import_zip).layer(
                axum::extract::DefaultBodyLimit::max(
                    state.config.files.import_max_upload_bytes + 64 * 1024,
                ),
            ),
        )
        .leptos_routes_with_context(&state, routes, context.clone(), move || {
            shell(shell_options.clone())
        })
        .fallback(static_or_app(state.site.clone(), context))
        .layer(middleware::from_fn(error_status::server_fn_status))
        .layer(middleware::from_fn_with_state(
            crate::auth::guard::SessionIdle(state.config.auth.session_idle()),
            crate::auth::guard::guard,
        ))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(
            client_ip::TrustedProxies::new(&state.config.auth.trusted_proxies),
            client_ip::client_ip,
        ))
        .layer(middleware::from_fn_with_state(
            origin::Origins::new(
                &[
                    &state.config.auth.allowed_origins[..],
                    cors::ClientOrigins::new(&state.config.auth.client_origins).as_slice(),
                ]
                .concat(),
            ),
            origin::check,
        ))
        // Outside the origin check, so a refusal still tells a listed client why.
        .layer(middleware::from_fn_with_state(
            cors::ClientOrigins::new(&state.config.auth.client_origins),
            cors::cors,
        ))
        .layer(middleware::from_fn_with_state(
            headers::Hsts(state.config.auth.secure_cookies),
            headers::security_headers,
        ))
        .layer(middleware::from_fn_with_state(
            headers::Build(state.site.build().cloned()),
            headers::build_header,
        ))
        .layer(middleware::from_fn(self::metrics::track))
        .layer(
            TraceLayer::new_for_http()
                // Not `DefaultMakeSpan`: it logs the whole URI, document and invite tokens included.
                .make_span_with(|req: &Request<Body>| {
                    tracing::info_span!(
                        "request",
                        method = %req.method(),
                        uri = %redact::redacted(req.uri()),
                        version = ?req.version(),
                    )
                })
                .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .with_state(state)
}

/// The embedded file for the path if there is one, otherwise Leptos's handler: a file from the
/// site folder, or the app rendering its not-found page.
fn static_or_app(
    site: site::Site,
    context: impl Fn() + Clone + Send + Sync + 'static,
) -> impl Fn(Uri, State<AppState>, Request<Body>) -> Pin<Box<dyn Future<Output = Response> + Send>>
+ Clone
+ Send
+ Sync
+ 'static {
    let from_disk = leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell);
    move |uri, state, req| {
        if let Some(found) = site.response(req.method(), uri.path(), req.headers()) {
            return Box::pin(std::future::ready(found));
        }
        from_disk(uri, state, req)
    }
}

/// Liveness and readiness in one: answers 200 only when the database answers. `runs` says
/// whether code can run here, what sandboxes it and the limits in force.
/// The bus as `/healthz` shows it; false when this node is cut off from the others.
fn bus_health(bus: &dyn collab::bus::Bus) -> (serde_json::Value, bool) {
    use collab::bus::BusHealth;
    match bus.health() {
        BusHealth::Local => (serde_json::json!({ "kind": "local" }), true),
        BusHealth::Connected { reconnects } => (
            serde_json::json!({ "kind": "nats", "connected": true, "reconnects": reconnects }),
            true,
        ),
        BusHealth::Disconnected { reconnects } => (
            serde_json::json!({ "kind": "nats", "connected": false, "reconnects": reconnects }),
            false,
        ),
    }
}

async fn health(
    State(db): State<DatabaseConnection>,
    State(runs): State<crate::runs::Runs>,
    State(terminals): State<crate::terminals::Terminals>,
    State(editor): State<crate::editor::Editor>,
) -> impl IntoResponse {
    let backend = crate::db::migrate::backend_name(&db);
    // Cut off from the other nodes, this one still serves its own clients: degraded, not down
    // (a load balancer should keep sending it the clients it has).
    let (bus, linked) = bus_health(editor.bus.as_ref());
    let status = if linked { "ok" } else { "degraded" };
    let a = runs.limits();
    let runs = match runs.describe() {
        Ok(sandbox) => serde_json::json!({
            "enabled": true,
            "sandbox": sandbox,
            "running": runs.running(),
            "limits": {
                "time_secs": a.run_time_limit,
                "memory_mib": a.run_memory_mib,
                "processes": a.run_max_processes,
                "cpu_secs": a.run_cpu_secs,
                "file_mib": a.run_file_mib,
                "open_files": a.run_open_files,
                "output_mib": a.run_output_mib,
                "output_kib_per_sec": a.run_output_kib_per_sec,
                "per_project": a.runs_per_project,
                "per_server": a.runs_per_server,
            },
            "terminals": {
                "open": terminals.open_count(),
                "per_project": a.terminals_per_project,
                "per_server": a.terminals_per_server,
                "idle_secs": a.terminal_idle_secs,
                "scrollback_kib": a.terminal_scrollback_kib,
            },
        }),
        Err(why) => serde_json::json!({ "enabled": false, "why": why }),
    };
    match db.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(
                serde_json::json!({ "status": status, "database": backend, "bus": bus, "runs": runs }),
            ),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(
                    serde_json::json!({ "status": "unavailable", "database": backend, "bus": bus }),
                ),
            )
        }
    }
}
