//! Alerts: every sample interval each node reports itself (`ops_nodes`) and checks the
//! thresholds; a threshold crossed opens an alert row, which records the worst value while it
//! stays crossed and closes when a sample is back under it. The rows are the history.

use std::collections::HashMap;

use app::ops::{Alert, AlertKind};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::{ExprTrait, OnConflict},
};

use super::{
    Args,
    status::{Commits, Health, Interval},
};
use crate::db::entities::{ops_alert, ops_node};

/// Closed alerts the console lists besides the open ones.
pub const HISTORY: u64 = 50;
/// A node that has not reported for this long is no longer listed, and its open alerts close.
pub const NODE_GONE_MS: i64 = 10 * 60 * 1000;

/// A threshold crossed by one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Crossing {
    pub kind: AlertKind,
    pub value: f64,
    pub threshold: f64,
    pub message: String,
}

/// Which thresholds `interval` and the disk's (free, total) cross.
pub fn crossed(interval: &Interval, disk: Option<(u64, u64)>, t: &Args) -> Vec<Crossing> {
    let mut out = Vec::new();
    if interval.mean_ms > t.alert_commit_ms {
        out.push(Crossing {
            kind: AlertKind::CommitLatency,
            value: interval.mean_ms,
            threshold: t.alert_commit_ms,
            message: format!(
                "commits took {:.0} ms on average (slowest {:.0} ms); threshold {:.0} ms",
                interval.mean_ms, interval.max_ms, t.alert_commit_ms
            ),
        });
    }
    if t.alert_failed_commits > 0 && interval.failures >= t.alert_failed_commits {
        out.push(Crossing {
            kind: AlertKind::FailedCommits,
            value: interval.failures as f64,
            threshold: t.alert_failed_commits as f64,
            message: format!(
                "{} document commits failed (they are retried); threshold {}",
                interval.failures, t.alert_failed_commits
            ),
        });
    }
    if let Some((free, total)) = disk.filter(|(_, total)| *total > 0) {
        let percent = free as f64 * 100.0 / total as f64;
        if percent < t.alert_disk_free_percent {
            out.push(Crossing {
                kind: AlertKind::DiskSpace,
                value: percent,
                threshold: t.alert_disk_free_percent,
                message: format!(
                    "{percent:.1}% of the data directory's disk is free; threshold {:.0}%",
                    t.alert_disk_free_percent
                ),
            });
        }
    }
    out
}

/// The worse of two readings: less free disk, otherwise more.
fn worse(kind: AlertKind, a: f64, b: f64) -> f64 {
    match kind {
        AlertKind::DiskSpace => a.min(b),
        AlertKind::CommitLatency | AlertKind::FailedCommits => a.max(b),
    }
}

/// One node's open alerts, by kind: (row id, worst value).
pub struct Monitor {
    db: DatabaseConnection,
    node: String,
    open: HashMap<&'static str, (i64, f64)>,
}

impl Monitor {
    pub fn new(db: DatabaseConnection, node: String) -> Self {
        Self {
            db,
            node,
            open: HashMap::new(),
        }
    }

    /// Opens, updates and closes this node's alerts after a sample.
    pub async fn check(&mut self, crossings: Vec<Crossing>) -> Result<(), sea_orm::DbErr> {
        let now = crate::db::now_ms();
        for kind in [
            AlertKind::CommitLatency,
            AlertKind::FailedCommits,
            AlertKind::DiskSpace,
        ] {
            let crossing = crossings.iter().find(|c| c.kind == kind);
            match (crossing, self.open.get(kind.code()).copied()) {
                (Some(c), None) => {
                    tracing::warn!(node = %self.node, kind = kind.code(), "{}", c.message);
                    let row = ops_alert::ActiveModel {
                        kind: Set(kind.code().to_owned()),
                        node: Set(self.node.clone()),
                        message: Set(c.message.clone()),
                        value: Set(c.value),
                        threshold: Set(c.threshold),
                        started_ms: Set(now),
                        ended_ms: Set(None),
                        ..Default::default()
                    }
                    .insert(&self.db)
                    .await?;
                    self.open.insert(kind.code(), (row.id, c.value));
                }
                (Some(c), Some((id, worst))) => {
                    let worst2 = worse(kind, worst, c.value);
                    if worst2 != worst {
                        ops_alert::Entity::update_many()
                            .col_expr(ops_alert::Column::Value, worst2.into())
                            .col_expr(ops_alert::Column::Message, c.message.clone().into())
                            .filter(ops_alert::Column::Id.eq(id))
                            .exec(&self.db)
                            .await?;
                        self.open.insert(kind.code(), (id, worst2));
                    }
                }
                (None, Some((id, _))) => {
                    tracing::info!(node = %self.node, kind = kind.code(), "alert cleared");
                    close(&self.db, ops_alert::Column::Id.eq(id), now).await?;
                    self.open.remove(kind.code());
                }
                (None, None) => {}
            }
        }
        Ok(())
    }
}

async fn close(
    db: &DatabaseConnection,
    which: sea_orm::sea_query::SimpleExpr,
    now: i64,
) -> Result<(), sea_orm::DbErr> {
    ops_alert::Entity::update_many()
        .col_expr(ops_alert::Column::EndedMs, Some(now).into())
        .filter(which)
        .filter(ops_alert::Column::EndedMs.is_null())
        .exec(db)
        .await
        .map(drop)
}

/// Writes this node's report for the console.
async fn report(db: &DatabaseConnection, health: &Health) -> Result<(), sea_orm::DbErr> {
    let status = health.report();
    let row = ops_node::ActiveModel {
        node: Set(status.node.clone()),
        body: Set(serde_json::to_string(&status).unwrap_or_default()),
        reported_ms: Set(status.reported_ms),
    };
    ops_node::Entity::insert(row)
        .on_conflict(
            OnConflict::column(ops_node::Column::Node)
                .update_columns([ops_node::Column::Body, ops_node::Column::ReportedMs])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .map(drop)
}

/// Samples, reports and checks every `args.sample_every()` until aborted. At start it closes
/// the alerts this node left open when it last stopped, and those of nodes long gone.
pub async fn run(db: DatabaseConnection, health: Health, args: Args) {
    let now = crate::db::now_ms();
    let stale = ops_alert::Column::Node
        .eq(health.name.clone())
        .or(ops_alert::Column::StartedMs.lt(now - NODE_GONE_MS).and(
            ops_alert::Column::Node.not_in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(ops_node::Column::Node)
                    .from(ops_node::Entity)
                    .and_where(ops_node::Column::ReportedMs.gte(now - NODE_GONE_MS))
                    .to_owned(),
            ),
        ));
    if let Err(e) = close(&db, stale, now).await {
        tracing::warn!(error = %e, "could not close stale alerts");
    }
    let mut monitor = Monitor::new(db.clone(), health.name.clone());
    let mut before = Commits::read(health.engine.stats());
    let mut tick = tokio::time::interval(args.sample_every());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let stats = health.engine.stats();
        let now = Commits::read(stats);
        let max = stats
            .commit_micros_max
            .swap(0, std::sync::atomic::Ordering::Relaxed);
        let interval = now.since(before, max);
        before = now;
        *crate::lock::lock(&health.last) = interval;
        let dir = health.data_dir.clone();
        let disk = tokio::task::spawn_blocking(move || super::status::disk(&dir))
            .await
            .ok()
            .flatten();
        if let Err(e) = report(&db, &health).await {
            tracing::debug!(error = %e, "could not report this node's status");
        }
        if let Err(e) = monitor.check(crossed(&interval, disk, &args)).await {
            tracing::warn!(error = %e, "could not record alerts");
        }
    }
}

/// Open alerts first (newest first), then the latest [`HISTORY`] closed ones.
pub async fn list(db: &DatabaseConnection) -> Result<Vec<Alert>, sea_orm::DbErr> {
    let open = ops_alert::Entity::find()
        .filter(ops_alert::Column::EndedMs.is_null())
        .order_by_desc(ops_alert::Column::StartedMs)
        .limit(HISTORY)
        .all(db)
        .await?;
    let closed = ops_alert::Entity::find()
        .filter(ops_alert::Column::EndedMs.is_not_null())
        .order_by_desc(ops_alert::Column::StartedMs)
        .limit(HISTORY)
        .all(db)
        .await?;
    Ok(open
        .into_iter()
        .chain(closed)
        .filter_map(|a| {
            Some(Alert {
                id: a.id,
                kind: AlertKind::from_code(&a.kind)?,
                node: a.node,
                message: a.message,
                value: a.value,
                threshold: a.threshold,
                started_ms: a.started_ms,
                ended_ms: a.ended_ms,
            })
        })
        .collect())
}

/// The nodes that reported lately, this one marked.
pub async fn nodes(
    db: &DatabaseConnection,
    this: &Health,
) -> Result<Vec<app::ops::NodeStatus>, sea_orm::DbErr> {
    let rows = ops_node::Entity::find()
        .filter(ops_node::Column::ReportedMs.gte(crate::db::now_ms() - NODE_GONE_MS))
        .order_by_asc(ops_node::Column::Node)
        .all(db)
        .await?;
    // This node's numbers are fresh, not its last report's.
    let mut out = vec![this.report()];
    out.extend(
        rows.into_iter()
            .filter(|r| r.node != this.name)
            .filter_map(|r| serde_json::from_str::<app::ops::NodeStatus>(&r.body).ok())
            .map(|mut n| {
                n.this = false;
                n
            }),
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> Args {
        Args {
            ops_sample_secs: 10,
            alert_commit_ms: 250.0,
            alert_failed_commits: 1,
            alert_disk_free_percent: 10.0,
        }
    }

    #[test]
    fn thresholds_are_crossed_only_past_their_value() {
        let calm = Interval {
            mean_ms: 20.0,
            max_ms: 400.0,
            failures: 0,
        };
        assert!(crossed(&calm, Some((50, 100)), &args()).is_empty());
        let bad = Interval {
            mean_ms: 300.0,
            max_ms: 900.0,
            failures: 2,
        };
        let kinds: Vec<AlertKind> = crossed(&bad, Some((5, 100)), &args())
            .into_iter()
            .map(|c| c.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                AlertKind::CommitLatency,
                AlertKind::FailedCommits,
                AlertKind::DiskSpace
            ]
        );
        // An unknown disk raises nothing.
        assert!(crossed(&calm, Some((0, 0)), &args()).is_empty());
        assert!(crossed(&calm, None, &args()).is_empty());
    }

    #[test]
    fn the_worst_reading_is_kept() {
        assert_eq!(worse(AlertKind::DiskSpace, 8.0, 5.0), 5.0);
        assert_eq!(worse(AlertKind::CommitLatency, 300.0, 280.0), 300.0);
    }
}
