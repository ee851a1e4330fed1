//! Prometheus metrics through the `metrics` facade: any module records with `counter!`,
//! `gauge!` or `histogram!`, and `metrics-exporter-prometheus` keeps the values and writes the
//! exposition text that `/metrics` serves. HTTP requests are counted by route and status and
//! timed by route; routes are axum's matched patterns, so cardinality stays bounded.
//!
//! The collab engine keeps its own per-engine atomic counters (its tests and the bench read
//! them without a recorder); a scrape publishes them through the facade.

use std::{sync::OnceLock, time::Duration, time::Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

const REQUESTS: &str = "tandem_http_requests_total";
const LATENCY: &str = "tandem_http_request_duration_seconds";

/// Upper bounds in seconds, as Prometheus' default buckets.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How often histogram samples are folded into their buckets when nobody scrapes; until then
/// each request's sample is held in memory.
const UPKEEP: Duration = Duration::from_secs(5);

fn builder() -> Result<PrometheusBuilder, BuildError> {
    PrometheusBuilder::new().set_buckets_for_metric(Matcher::Full(LATENCY.to_owned()), &BUCKETS)
}

/// The process's recorder. There is one global recorder per process, so it is installed on
/// first use and shared by every app the process builds (tests build several).
#[derive(Clone)]
pub struct Metrics(Option<PrometheusHandle>);

impl Metrics {
    pub fn install() -> Self {
        static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
        let handle = HANDLE.get_or_init(|| {
            let installed = builder().and_then(PrometheusBuilder::install_recorder);
            match installed {
                Ok(handle) => {
                    metrics::describe_counter!(REQUESTS, "HTTP requests by route and status.");
                    metrics::describe_histogram!(LATENCY, "HTTP request latency by route.");
                    metrics::describe_counter!(
                        crate::limits::LIMIT_REFUSALS,
                        "Requests refused because a configured limit was reached, by limit."
                    );
                    Some(handle)
                }
                Err(e) => {
                    tracing::error!(error = %e, "metrics are off: no Prometheus recorder");
                    None
                }
            }
        });
        Self(handle.clone())
    }

    /// Folds histogram samples into buckets periodically; runs until aborted.
    pub async fn upkeep(self) {
        let Some(handle) = self.0 else { return };
        let mut tick = tokio::time::interval(UPKEEP);
        loop {
            tick.tick().await;
            handle.run_upkeep();
        }
    }

    fn render(&self) -> String {
        self.0
            .as_ref()
            .map(PrometheusHandle::render)
            .unwrap_or_default()
    }
}

/// Server functions share one catch-all route; name them by path when they exist (a fixed set)
/// and lump unknown paths together so probes cannot grow the label set.
fn route_label(matched: Option<&str>, path: &str, status: u16) -> String {
    match matched {
        Some(m) if m.starts_with("/api/") && m.contains('*') => {
            if status == 404 || status == 400 {
                "/api/{unknown}".to_owned()
            } else {
                path.to_owned()
            }
        }
        Some(m) => m.to_owned(),
        None if path.starts_with("/pkg/") => "/pkg/{file}".to_owned(),
        None => "{fallback}".to_owned(),
    }
}

pub async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let path = req.uri().path().to_owned();
    let res = next.run(req).await;
    let status = res.status().as_u16();
    record(
        route_label(matched.as_deref(), &path, status),
        status,
        started.elapsed().as_secs_f64(),
    );
    res
}

fn record(route: String, status: u16, seconds: f64) {
    histogram!(LATENCY, "route" => route.clone()).record(seconds);
    counter!(REQUESTS, "route" => route, "status" => status.to_string()).increment(1);
}

/// Publishes the live-document engine's counters and gauges.
fn publish_collab(stats: &collab::engine::Stats) {
    use std::sync::atomic::Ordering::Relaxed;
    let counters = [
        (
            "updates_applied_total",
            "Document updates applied.",
            &stats.updates_applied,
        ),
        (
            "refused_awareness_total",
            "Connections closed for an awareness state over the size limit or too many awareness clients.",
            &stats.refused_awareness,
        ),
        (
            "refused_growth_total",
            "Document updates refused because the document is at its size limit (--max-doc-bytes).",
            &stats.refused_growth,
        ),
        (
            "refused_writes_total",
            "Writes refused because the sender is read-only.",
            &stats.refused_writes,
        ),
        (
            "slow_disconnects_total",
            "Subscribers disconnected because their backlog passed --ws-backlog-max-bytes even merged.",
            &stats.slow_disconnects,
        ),
        (
            "merged_backlogs_total",
            "Times a slow reader's waiting updates were merged into one (--ws-backlog-merge-bytes).",
            &stats.merged_backlogs,
        ),
        (
            "commits_total",
            "Update-log transactions committed (group commits).",
            &stats.commits,
        ),
        (
            "commit_failures_total",
            "Update-log transactions that failed and were retried.",
            &stats.commit_failures,
        ),
        (
            "compactions_total",
            "Update logs folded into snapshots.",
            &stats.compactions,
        ),
        (
            "poisoned_documents_total",
            "Documents reloaded because yrs panicked applying a client's update to them.",
            &stats.poisoned,
        ),
    ];
    for (name, help, value) in counters {
        let name = format!("tandem_collab_{name}");
        metrics::describe_counter!(name.clone(), help);
        counter!(name).absolute(value.load(Relaxed));
    }
    let gauges = [
        (
            "live_documents",
            "Documents loaded in memory.",
            &stats.live_docs,
        ),
        (
            "subscribers",
            "Open document subscriptions.",
            &stats.subscribers,
        ),
    ];
    for (name, help, value) in gauges {
        let name = format!("tandem_collab_{name}");
        metrics::describe_gauge!(name.clone(), help);
        // Lossless: the gauges count documents and subscriptions.
        gauge!(name).set(value.load(Relaxed).max(0) as f64);
    }
}

/// Whether the node reaches the others (absent on a single node).
fn publish_bus(health: collab::bus::BusHealth) {
    use collab::bus::BusHealth;
    let (up, reconnects) = match health {
        BusHealth::Local => return,
        BusHealth::Connected { reconnects } => (1.0, reconnects),
        BusHealth::Disconnected { reconnects } => (0.0, reconnects),
    };
    metrics::describe_gauge!(
        "tandem_bus_connected",
        "1 while this node is connected to the broker (--bus), 0 while it serves only its own clients."
    );
    gauge!("tandem_bus_connected").set(up);
    metrics::describe_counter!(
        "tandem_bus_reconnects_total",
        "Times this node reconnected to the broker (each followed by a resync of its open documents)."
    );
    counter!("tandem_bus_reconnects_total").absolute(reconnects);
}

pub async fn handler(
    State(metrics): State<Metrics>,
    State(editor): State<crate::editor::Editor>,
) -> impl IntoResponse {
    publish_collab(editor.engine.stats());
    publish_bus(editor.bus.health());
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        metrics.render(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let recorder = builder().expect("buckets").build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            record("/p/{id}".into(), 200, 0.003);
            record("/p/{id}".into(), 200, 0.2);
            record("/p/{id}".into(), 404, 0.001);
        });
        let text = handle.render();
        for line in [
            r#"tandem_http_requests_total{route="/p/{id}",status="200"} 2"#,
            r#"tandem_http_requests_total{route="/p/{id}",status="404"} 1"#,
            r#"tandem_http_request_duration_seconds_bucket{route="/p/{id}",le="0.005"} 2"#,
            r#"tandem_http_request_duration_seconds_bucket{route="/p/{id}",le="0.25"} 3"#,
            r#"tandem_http_request_duration_seconds_count{route="/p/{id}"} 3"#,
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
    }

    #[test]
    fn bounds_label_cardinality() {
        assert_eq!(
            route_label(Some("/api/{*fn_name}"), "/api/login", 200),
            "/api/login"
        );
        assert_eq!(
            route_label(Some("/api/{*fn_name}"), "/api/x1", 404),
            "/api/{unknown}"
        );
        assert_eq!(route_label(None, "/random", 404), "{fallback}");
    }
}
