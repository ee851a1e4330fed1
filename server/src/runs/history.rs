//! The runs' rows in the database: the history every member sees (bounded per project), how
//! a run ended, and the project's network setting.

use std::collections::HashSet;

use app::{
    AppError, AppResult,
    types::{
        ProjectId, RunId, UserInfo,
        runs::{RunInfo, RunRecord},
    },
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    sea_query::OnConflict,
};

use super::Runs;
use crate::db::entities::{project, run, run_settings};

impl Runs {
    /// Working folders of projects deleted since they were made.
    pub(super) async fn remove_orphan_folders(&self) {
        let Ok(mut dir) = tokio::fs::read_dir(&self.0.work).await else {
            return;
        };
        let Ok(ids) = project::Entity::find()
            .select_only()
            .column(project::Column::Id)
            .into_tuple::<i64>()
            .all(&self.0.db)
            .await
        else {
            return;
        };
        let ids: HashSet<String> = ids.into_iter().map(|i| i.to_string()).collect();
        while let Ok(Some(entry)) = dir.next_entry().await {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !ids.contains(&name) {
                let _ = tokio::fs::remove_dir_all(entry.path()).await;
            }
        }
    }

    /// Whether the project lets its sandboxes use the network.
    pub(super) async fn network(&self, project: ProjectId) -> AppResult<bool> {
        Ok(run_settings::Entity::find_by_id(project.0)
            .one(&self.0.db)
            .await?
            .is_some_and(|s| s.network))
    }

    pub(super) async fn store_network(
        &self,
        project: ProjectId,
        by: &UserInfo,
        on: bool,
    ) -> AppResult<()> {
        run_settings::Entity::insert(run_settings::ActiveModel {
            project_id: Set(project.0),
            network: Set(on),
        })
        .on_conflict(
            OnConflict::column(run_settings::Column::ProjectId)
                .update_column(run_settings::Column::Network)
                .to_owned(),
        )
        .exec(&self.0.db)
        .await?;
        tracing::info!(
            project = project.0,
            user = by.id.0,
            on,
            "run network setting changed"
        );
        Ok(())
    }

    /// Stores how a run ended, and drops the project's runs beyond the history's length, so
    /// the table stays bounded however often a project runs.
    pub(super) async fn record_end(&self, project: ProjectId, info: &RunInfo, tail: String) {
        let result = run::ActiveModel {
            id: Set(info.id.0),
            ended_at: Set(info.ended_at),
            exit_code: Set(info.exit_code),
            reason: Set(info
                .reason
                .as_ref()
                .and_then(|r| serde_json::to_string(r).ok())),
            tail: Set(tail),
            ..Default::default()
        }
        .update(&self.0.db)
        .await;
        if let Err(e) = result {
            tracing::warn!(run = info.id.0, error = %e, "could not record how a run ended");
        }
        if let Err(e) = self.prune(project).await {
            tracing::warn!(project = project.0, error = %e, "could not prune the run history");
        }
    }

    async fn prune(&self, project: ProjectId) -> Result<(), sea_orm::DbErr> {
        let oldest_kept = run::Entity::find()
            .select_only()
            .column(run::Column::Id)
            .filter(run::Column::ProjectId.eq(project.0))
            .order_by_desc(run::Column::Id)
            .offset(app::runs::HISTORY_SIZE - 1)
            .limit(1)
            .into_tuple::<i64>()
            .one(&self.0.db)
            .await?;
        if let Some(id) = oldest_kept {
            run::Entity::delete_many()
                .filter(run::Column::ProjectId.eq(project.0))
                .filter(run::Column::Id.lt(id))
                .filter(run::Column::EndedAt.is_not_null())
                .exec(&self.0.db)
                .await?;
        }
        Ok(())
    }

    /// The project's latest runs, newest first.
    pub(super) async fn list(&self, project: ProjectId) -> AppResult<Vec<RunInfo>> {
        let rows = run::Entity::find()
            .filter(run::Column::ProjectId.eq(project.0))
            .order_by_desc(run::Column::Id)
            .limit(app::runs::HISTORY_SIZE)
            .all(&self.0.db)
            .await?;
        Ok(rows.iter().map(info_of).collect())
    }

    /// A finished run as stored: how it ended and the tail of its output.
    pub(super) async fn stored(&self, project: ProjectId, id: RunId) -> AppResult<RunRecord> {
        let row = run::Entity::find_by_id(id.0)
            .filter(run::Column::ProjectId.eq(project.0))
            .one(&self.0.db)
            .await?
            .ok_or_else(|| AppError::NotFound("Run".into()))?;
        Ok(RunRecord {
            run: info_of(&row),
            tail: row.tail,
        })
    }
}

pub(crate) fn info_of(r: &run::Model) -> RunInfo {
    RunInfo {
        id: RunId(r.id),
        name: r.name.clone(),
        command: r.command.clone(),
        started_by: app::types::UserId(r.started_by),
        started_by_name: r.started_by_name.clone(),
        started_at: r.started_at,
        ended_at: r.ended_at,
        exit_code: r.exit_code,
        reason: r
            .reason
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok()),
        environment: r.environment.clone(),
    }
}
