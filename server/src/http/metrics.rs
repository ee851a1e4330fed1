//! Request metrics in the Prometheus text format: a counter by route and status and a latency
//! histogram by route. Routes are axum's matched patterns, so cardinality stays bounded.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{Arc, Mutex},
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// Upper bounds in seconds, as Prometheus' default buckets.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
}

#[derive(Clone, Default)]
pub struct Metrics(Arc<Mutex<Inner>>);

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        crate::lock::lock(&self.0)
    }

    pub fn observe(&self, route: &str, status: u16, seconds: f64) {
        let mut inner = self.lock();
        *inner
            .requests
            .entry((route.to_owned(), status))
            .or_default() += 1;
        let h = inner.latency.entry(route.to_owned()).or_default();
        h.count += 1;
        h.sum += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
    }

    pub fn render(&self) -> String {
        let inner = self.lock();
        let mut out = String::new();
        out.push_str("# HELP tandem_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE tandem_http_requests_total counter\n");
        for ((route, status), n) in &inner.requests {
            let _ = writeln!(
                out,
                "tandem_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        out.push_str(
            "# HELP tandem_http_request_duration_seconds HTTP request latency by route.\n",
        );
        out.push_str("# TYPE tandem_http_request_duration_seconds histogram\n");
        for (route, h) in &inner.latency {
            let route = escape(route);
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "tandem_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "tandem_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "tandem_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "tandem_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        out
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
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

pub async fn track(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let matched = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let path = req.uri().path().to_owned();
    let res = next.run(req).await;
    let status = res.status().as_u16();
    metrics.observe(
        &route_label(matched.as_deref(), &path, status),
        status,
        started.elapsed().as_secs_f64(),
    );
    res
}

/// The live-document engine's counters and gauges.
fn render_collab(stats: &collab::engine::Stats) -> String {
    use std::sync::atomic::Ordering::Relaxed;
    let counters = [
        (
            "updates_applied_total",
            "Document updates applied.",
            stats.updates_applied.load(Relaxed),
        ),
        (
            "refused_writes_total",
            "Writes refused because the sender is read-only.",
            stats.refused_writes.load(Relaxed),
        ),
        (
            "slow_disconnects_total",
            "Subscribers disconnected for not keeping up.",
            stats.slow_disconnects.load(Relaxed),
        ),
        (
            "commits_total",
            "Update-log transactions committed (group commits).",
            stats.commits.load(Relaxed),
        ),
        (
            "commit_failures_total",
            "Update-log transactions that failed and were retried.",
            stats.commit_failures.load(Relaxed),
        ),
        (
            "compactions_total",
            "Update logs folded into snapshots.",
            stats.compactions.load(Relaxed),
        ),
        (
            "poisoned_documents_total",
            "Documents reloaded because yrs panicked applying a client's update to them.",
            stats.poisoned.load(Relaxed),
        ),
    ];
    let gauges = [
        (
            "live_documents",
            "Documents loaded in memory.",
            stats.live_docs.load(Relaxed),
        ),
        (
            "subscribers",
            "Open document subscriptions.",
            stats.subscribers.load(Relaxed),
        ),
    ];
    let mut out = String::new();
    let gauges = gauges.map(|(name, help, value)| (name, help, value.max(0) as u64));
    for (kind, metrics) in [("counter", &counters[..]), ("gauge", &gauges[..])] {
        for (name, help, value) in metrics {
            let _ = writeln!(
                out,
                "# HELP tandem_collab_{name} {help}\n# TYPE tandem_collab_{name} {kind}\ntandem_collab_{name} {value}"
            );
        }
    }
    out
}

pub async fn handler(
    State(metrics): State<Metrics>,
    State(editor): State<crate::editor::Editor>,
) -> impl IntoResponse {
    let mut body = metrics.render();
    body.push_str(&render_collab(editor.engine.stats()));
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.observe("/p/{id}", 200, 0.003);
        m.observe("/p/{id}", 200, 0.2);
        m.observe("/p/{id}", 404, 0.001);
        let text = m.render();
        assert!(text.contains("tandem_http_requests_total{route=\"/p/{id}\",status=\"200\"} 2"));
        assert!(text.contains("tandem_http_requests_total{route=\"/p/{id}\",status=\"404\"} 1"));
        assert!(text.contains(
            "tandem_http_request_duration_seconds_bucket{route=\"/p/{id}\",le=\"0.005\"} 2"
        ));
        assert!(text.contains(
            "tandem_http_request_duration_seconds_bucket{route=\"/p/{id}\",le=\"0.25\"} 3"
        ));
        assert!(text.contains("tandem_http_request_duration_seconds_count{route=\"/p/{id}\"} 3"));
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
