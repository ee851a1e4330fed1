//! Terminals and runs across nodes: how a node answers what the others ask of the terminals
//! and runs it holds (`live::requests`: typing, sizes, grants, closes, Stop, stdin, the live
//! listing; with the same checks as for its own clients: the asker sends the user and the role
//! it checked, and the owner applies the terminal's and the run's own rules), and how the
//! nodes learn that one of them died.
//!
//! Liveness is a lease per node in the shared database (`node.<block>`), renewed every few
//! seconds while the process lives. Every [`SWEEP_EVERY`] each node closes the run rows and
//! removes the terminal rows of nodes whose lease has expired, and tells the project's tabs
//! they ended; a node killed with `kill -9` has its runs and terminals shown as ended within
//! [`NODE_LEASE`] plus one sweep. One node without a bus needs none of this: at start it
//! closes everything a previous process left.

use std::{collections::HashSet, sync::Arc, time::Duration};

use app::{AppError, AppResult};
use async_trait::async_trait;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;
use serde_json::Value;

use crate::{
    db::entities::lease,
    lease::Leases,
    live::{Hub, ask::Answerer, requests::Request},
    rate::shared::Millis,
    runs::Runs,
    terminals::Terminals,
};

/// How long a node's lease lives without renewal: how long a killed node's runs and
/// terminals still look alive.
pub const NODE_LEASE: Duration = Duration::from_secs(15);
/// How often each node looks for what dead nodes left.
pub const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// This node's answers: its own terminals and runs.
struct Here {
    terminals: Terminals,
    runs: Runs,
}

fn done<T: Serialize>(value: T) -> AppResult<Value> {
    serde_json::to_value(value).map_err(|_| AppError::Internal)
}

#[async_trait]
impl Answerer for Here {
    async fn answer(&self, request: Value) -> AppResult<Value> {
        let request: Request = serde_json::from_value(request)
            .map_err(|e| AppError::invalid("request", e.to_string()))?;
        let (t, r) = (&self.terminals, &self.runs);
        match request {
            Request::TermInput {
                project,
                user,
                role,
                term,
                data,
            } => t
                .input_here(project, user, role, term, data)
                .map_err(AppError::Conflict)
                .and_then(done),
            Request::TermAttach {
                project,
                view,
                term,
                cols,
                rows,
            } => {
                t.attach_here(project, view, term, cols, rows);
                done(())
            }
            Request::TermDetach {
                project,
                view,
                term,
            } => {
                t.detach_here(project, view, term);
                done(())
            }
            Request::TermClose {
                project,
                by,
                role,
                term,
            } => done(t.close_here(project, &by, role, term).await?),
            Request::TermGrant {
                project,
                by,
                role,
                term,
                user,
                on,
            } => done(t.grant_here(project, &by, role, term, user, on).await?),
            Request::Terminals { project } => done(t.replays_here(project)),
            Request::RunStop {
                project,
                by,
                run,
                wait,
            } => done(r.stop_here(project, &by, run, wait).await?),
            Request::RunStdin {
                project, run, line, ..
            } => done(r.stdin_here(project, run, line)?),
            Request::Runs { project } => done(r.replays_here(project)),
        }
    }
}

fn lease_name(block: u64) -> String {
    format!("node.{block}")
}

/// Starts answering other nodes, and deals with what earlier or dead processes left running:
/// with several nodes (`clustered`), takes this node's lease and sweeps for ever; alone, closes
/// everything at once.
pub async fn start(
    db: DatabaseConnection,
    hub: &Hub,
    terminals: Terminals,
    runs: Runs,
    clustered: bool,
) -> crate::error::Result<()> {
    hub.asks().serve(Arc::new(Here {
        terminals: terminals.clone(),
        runs: runs.clone(),
    }));
    if !clustered {
        runs.close_all().await?;
        terminals.forget_all().await?;
        return Ok(());
    }
    let lease = Leases::new(db.clone(), NODE_LEASE)
        .acquire(&lease_name(hub.block()))
        .await?;
    let mine = hub.block();
    tokio::spawn(async move {
        // Renewed in the background while this task holds it, i.e. for the process's life.
        let _lease = lease;
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = sweep(&db, &terminals, &runs, mine).await {
                tracing::warn!(error = %e, "cannot look for what stopped nodes left");
            }
        }
    });
    Ok(())
}

async fn sweep(
    db: &DatabaseConnection,
    terminals: &Terminals,
    runs: &Runs,
    mine: u64,
) -> Result<(), sea_orm::DbErr> {
    let alive = alive(db).await?;
    let gone = |block: u64| block != mine && !alive.contains(&block);
    runs.sweep(gone).await?;
    terminals.sweep(gone).await?;
    terminals.forget_views(gone);
    Ok(())
}

/// The blocks of the nodes whose lease holds now.
async fn alive(db: &DatabaseConnection) -> Result<HashSet<u64>, sea_orm::DbErr> {
    let names: Vec<String> = lease::Entity::find()
        .select_only()
        .column(lease::Column::Name)
        .filter(lease::Column::Name.starts_with("node."))
        .filter(lease::Column::UntilMs.gte(Millis::now().0))
        .into_tuple()
        .all(db)
        .await?;
    Ok(names
        .iter()
        .filter_map(|n| n.strip_prefix("node.")?.parse().ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::types::{ProjectId, RunId, UserId, UserInfo};

    #[test]
    fn requests_round_trip_and_name_the_node() {
        let r = Request::RunStop {
            project: ProjectId(3),
            by: UserInfo {
                id: UserId(1),
                name: "ann".into(),
            },
            run: RunId(9),
            wait: true,
        };
        let json = serde_json::to_value(&r).expect("json");
        assert_eq!(json["op"], "run_stop");
        assert_eq!(serde_json::from_value::<Request>(json).expect("back"), r);
        assert_eq!(lease_name(0xF_FFFF), "node.1048575");
    }
}
