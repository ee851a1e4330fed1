//! Runs across nodes: a run lives in the node that started it, and its row says which. Any node
//! lists the project's runs (asking their nodes for the live output), stops them or feeds their
//! stdin through the owner, and closes the rows a dead node left running.

use std::{collections::HashMap, sync::Arc};

use app::{
    AppError, AppResult,
    live::events::ServerEvent,
    types::{
        ProjectId, RunId, UserInfo,
        runs::{RunReplay, StopReason},
    },
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
use tokio::sync::mpsc;

use super::{Control, Live, Runs, history::info_of, now_ms};
use crate::{
    db::entities::run,
    live::requests::{self, Request},
};

impl Runs {
    /// The project's runs going on any node, from their rows.
    pub(super) async fn going(&self, project: ProjectId) -> AppResult<Vec<run::Model>> {
        Ok(run::Entity::find()
            .filter(run::Column::ProjectId.eq(project.0))
            .filter(run::Column::EndedAt.is_null())
            .all(&self.0.db)
            .await?)
    }

    /// The node running `run`, when it runs on another one; not running anywhere: not found.
    pub(super) async fn elsewhere(&self, project: ProjectId, run: RunId) -> AppResult<Option<u64>> {
        let row = run::Entity::find_by_id(run.0)
            .filter(run::Column::ProjectId.eq(project.0))
            .filter(run::Column::EndedAt.is_null())
            .one(&self.0.db)
            .await?
            .ok_or_else(|| AppError::NotFound("Running run".into()))?;
        let mine = self.0.hub.block();
        Ok(row.node.map(|n| n as u64).filter(|&n| n != mine))
    }

    /// Stops `run` wherever it runs; with `wait`, returns once it has ended.
    pub(super) async fn stop_anywhere(
        &self,
        project: ProjectId,
        by: &UserInfo,
        run: RunId,
        wait: bool,
    ) -> AppResult<()> {
        if self.find(project, run).is_err()
            && let Some(node) = self.elsewhere(project, run).await?
        {
            let by = by.clone();
            let request = Request::RunStop {
                project,
                by,
                run,
                wait,
            };
            return requests::ask(&self.0.hub, node, request).await;
        }
        self.stop_here(project, by, run, wait).await
    }

    /// Stops a run of this node.
    pub(crate) async fn stop_here(
        &self,
        project: ProjectId,
        by: &UserInfo,
        run: RunId,
        wait: bool,
    ) -> AppResult<()> {
        let live = self.find(project, run)?;
        if wait {
            self.stop_and_wait(&live, &by.name).await;
            return Ok(());
        }
        live.control
            .send(Control::Stop {
                by: by.name.clone(),
            })
            .await
            .map_err(|_| AppError::NotFound("Running run".into()))
    }

    /// A line for the stdin of a run of this node.
    pub(crate) fn stdin_here(&self, project: ProjectId, run: RunId, line: String) -> AppResult<()> {
        let live = self.find(project, run)?;
        live.control
            .try_send(Control::Stdin(line))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => AppError::TooMany(
                    "The program is not reading its input; wait for it before sending more.".into(),
                ),
                mpsc::error::TrySendError::Closed(_) => AppError::NotFound("Running run".into()),
            })
    }

    /// This node's runs of the project, with their output so far.
    pub(crate) fn replays_here(&self, project: ProjectId) -> Vec<RunReplay> {
        let lives: Vec<Arc<Live>> = crate::lock::lock(&self.0.live)
            .values()
            .filter(|l| l.project == project)
            .cloned()
            .collect();
        lives.iter().map(|l| l.replay()).collect()
    }

    /// The project's runs on other nodes, as those nodes replay them (or, for a node that
    /// does not answer, as their rows say, without output).
    pub(super) async fn replays_elsewhere(&self, project: ProjectId) -> AppResult<Vec<RunReplay>> {
        let mine = self.0.hub.block();
        let mut by_node: HashMap<u64, Vec<run::Model>> = HashMap::new();
        for row in self.going(project).await? {
            if let Some(node) = row.node.map(|n| n as u64).filter(|&n| n != mine) {
                by_node.entry(node).or_default().push(row);
            }
        }
        let mut all = Vec::new();
        for (node, rows) in by_node {
            let asked: AppResult<Vec<RunReplay>> =
                requests::ask(&self.0.hub, node, Request::Runs { project }).await;
            match asked {
                Ok(replays) => all.extend(
                    replays
                        .into_iter()
                        .filter(|r| rows.iter().any(|row| row.id == r.run.id.0)),
                ),
                Err(e) => {
                    tracing::debug!(node, error = %e, "a node did not replay its runs");
                    all.extend(rows.iter().map(|r| RunReplay {
                        run: info_of(r),
                        chunks: Vec::new(),
                        truncated: true,
                        end: 0,
                        samples: Vec::new(),
                    }));
                }
            }
        }
        Ok(all)
    }

    /// Closes every run row left open (one node without a bus: nothing else runs any).
    pub(crate) async fn close_all(&self) -> Result<(), sea_orm::DbErr> {
        run::Entity::update_many()
            .col_expr(run::Column::EndedAt, Expr::value(now_ms()))
            .col_expr(run::Column::Reason, Expr::value(stopped()))
            .filter(run::Column::EndedAt.is_null())
            .exec(&self.0.db)
            .await?;
        Ok(())
    }

    /// Closes the rows of runs that nodes for which `gone` holds left running (and runs from
    /// before rows named their node), telling every tab they ended.
    pub(crate) async fn sweep(&self, gone: impl Fn(u64) -> bool) -> Result<(), sea_orm::DbErr> {
        let mine = self.0.hub.block();
        let open = run::Entity::find()
            .filter(run::Column::EndedAt.is_null())
            .all(&self.0.db)
            .await?;
        for row in open {
            if row
                .node
                .is_some_and(|n| n as u64 == mine || !gone(n as u64))
            {
                continue;
            }
            let ended = now_ms();
            let closed = run::Entity::update_many()
                .col_expr(run::Column::EndedAt, Expr::value(ended))
                .col_expr(run::Column::Reason, Expr::value(stopped()))
                .filter(run::Column::Id.eq(row.id))
                .filter(run::Column::EndedAt.is_null())
                .exec(&self.0.db)
                .await?;
            // Another node may have swept it first: one announcement is enough.
            if closed.rows_affected == 1 {
                let mut info = info_of(&row);
                info.ended_at = Some(ended);
                info.reason = Some(StopReason::ServerStopped);
                self.0
                    .hub
                    .publish(ProjectId(row.project_id), &ServerEvent::Run { run: info });
            }
        }
        Ok(())
    }
}

fn stopped() -> String {
    serde_json::to_string(&StopReason::ServerStopped).unwrap_or_default()
}
