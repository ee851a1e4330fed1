//! What each project's AI use comes to, per day and kind: requests, failures, tokens and time.
//! Requests are counted in memory and written every few seconds as one upsert per (project,
//! day, kind) that adds to the stored row, so a busy project costs a handful of writes a
//! minute whatever its request rate, and several nodes add up in the same rows. A crash loses
//! at most the last [`FLUSH_EVERY`] of counts. Rows: three kinds a day per project that used
//! AI that day.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use app::{projects::ai::UsageDay, types::ProjectId};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    sea_query::{Expr, OnConflict},
};

use crate::{db::entities::ai_usage as row, lock::lock};

/// How often the counts reach the database.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);
/// Providers that report no tokens for a streamed answer: this many characters count as one.
const CHARS_PER_TOKEN: u64 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Chat,
    Completion,
    Suggestion,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Chat => "chat",
            Kind::Completion => "completion",
            Kind::Suggestion => "suggestion",
        }
    }
}

/// One request's outcome.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    pub ok: bool,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub took: Duration,
}

impl Outcome {
    /// Tokens as the provider reported them, or estimated from the characters sent and
    /// received when it reported none.
    pub fn estimated(
        ok: bool,
        reported: Option<(u64, u64)>,
        sent_chars: usize,
        received_chars: usize,
        took: Duration,
    ) -> Self {
        let (prompt_tokens, completion_tokens) = reported.unwrap_or((
            sent_chars as u64 / CHARS_PER_TOKEN,
            received_chars as u64 / CHARS_PER_TOKEN,
        ));
        Self {
            ok,
            prompt_tokens,
            completion_tokens,
            took,
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Totals {
    requests: i64,
    failures: i64,
    prompt_tokens: i64,
    completion_tokens: i64,
    latency_ms: i64,
}

type Key = (ProjectId, i64, Kind);

#[derive(Clone)]
pub struct Usage(Arc<Inner>);

struct Inner {
    db: DatabaseConnection,
    pending: Mutex<HashMap<Key, Totals>>,
}

fn today() -> i64 {
    crate::db::now().div_euclid(86_400)
}

fn sat(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Usage {
    /// Starts the writer, which stops when the last handle is dropped.
    pub fn new(db: DatabaseConnection) -> Self {
        let usage = Self(Arc::new(Inner {
            db,
            pending: Mutex::new(HashMap::new()),
        }));
        let weak: Weak<Inner> = Arc::downgrade(&usage.0);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(FLUSH_EVERY).await;
                let Some(inner) = weak.upgrade() else { return };
                if let Err(e) = Usage(inner).flush().await {
                    tracing::warn!(error = %e, "cannot store AI usage; kept for the next try");
                }
            }
        });
        usage
    }

    pub fn record(&self, project: ProjectId, kind: Kind, o: Outcome) {
        let mut pending = lock(&self.0.pending);
        let t = pending.entry((project, today(), kind)).or_default();
        t.requests += 1;
        t.failures += i64::from(!o.ok);
        t.prompt_tokens = t.prompt_tokens.saturating_add(sat(o.prompt_tokens));
        t.completion_tokens = t.completion_tokens.saturating_add(sat(o.completion_tokens));
        t.latency_ms = t
            .latency_ms
            .saturating_add(sat(u64::try_from(o.took.as_millis()).unwrap_or(u64::MAX)));
    }

    /// Adds what was counted since the last write to the stored rows. What cannot be written
    /// is kept for the next try.
    pub async fn flush(&self) -> Result<(), sea_orm::DbErr> {
        let taken: Vec<(Key, Totals)> = lock(&self.0.pending).drain().collect();
        let mut failed = Vec::new();
        let mut error = None;
        for ((project, day, kind), t) in taken {
            let add = |c: &str| Expr::cust(format!("ai_usage.{c} + excluded.{c}"));
            let result = row::Entity::insert(row::ActiveModel {
                project_id: Set(project.0),
                day: Set(day),
                kind: Set(kind.as_str().to_owned()),
                requests: Set(t.requests),
                failures: Set(t.failures),
                prompt_tokens: Set(t.prompt_tokens),
                completion_tokens: Set(t.completion_tokens),
                latency_ms: Set(t.latency_ms),
            })
            .on_conflict(
                OnConflict::columns([row::Column::ProjectId, row::Column::Day, row::Column::Kind])
                    .value(row::Column::Requests, add("requests"))
                    .value(row::Column::Failures, add("failures"))
                    .value(row::Column::PromptTokens, add("prompt_tokens"))
                    .value(row::Column::CompletionTokens, add("completion_tokens"))
                    .value(row::Column::LatencyMs, add("latency_ms"))
                    .to_owned(),
            )
            .exec_without_returning(&self.0.db)
            .await;
            if let Err(e) = result {
                failed.push(((project, day, kind), t));
                error = Some(e);
            }
        }
        if !failed.is_empty() {
            let mut pending = lock(&self.0.pending);
            for (k, t) in failed {
                let p = pending.entry(k).or_default();
                p.requests += t.requests;
                p.failures += t.failures;
                p.prompt_tokens += t.prompt_tokens;
                p.completion_tokens += t.completion_tokens;
                p.latency_ms += t.latency_ms;
            }
        }
        error.map_or(Ok(()), Err)
    }

    /// The project's use over the last `days` days (today included), newest first; what is
    /// still being counted is written first, so the numbers are current.
    pub async fn read(
        &self,
        project: ProjectId,
        days: i64,
    ) -> Result<Vec<UsageDay>, sea_orm::DbErr> {
        self.flush().await?;
        let rows = row::Entity::find()
            .filter(row::Column::ProjectId.eq(project.0))
            .filter(row::Column::Day.gt(today() - days))
            .order_by_desc(row::Column::Day)
            .order_by_asc(row::Column::Kind)
            .all(&self.0.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| UsageDay {
                day: r.day,
                kind: r.kind,
                requests: r.requests,
                failures: r.failures,
                prompt_tokens: r.prompt_tokens,
                completion_tokens: r.completion_tokens,
                latency_ms: r.latency_ms,
            })
            .collect())
    }
}
