//! The app's `OpsService`: the notice from [`Ops`], the console's data from this node's
//! health, the nodes' reports, the alert history and the users.

use app::{
    AppResult,
    ops::{Console, Level, Notice, SystemStatus, UserAction},
    types::{UserId, UserInfo},
};
use async_trait::async_trait;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

use super::{Ops, alerts, status::Health, users};
use crate::{
    auth::AccountService,
    db::entities::{project, user},
};

pub struct OpsConsole {
    pub ops: Ops,
    pub health: Health,
    pub db: DatabaseConnection,
    pub accounts: AccountService,
}

impl OpsConsole {
    async fn status(&self) -> AppResult<SystemStatus> {
        let nodes = alerts::nodes(&self.db, &self.health).await?;
        let db_latency_ms = super::status::db_latency_ms(&self.db).await.unwrap_or(-1.0);
        let last = self.health.last();
        let dir = self.health.data_dir.clone();
        let (free, total) = tokio::task::spawn_blocking(move || super::status::disk(&dir))
            .await
            .ok()
            .flatten()
            .unwrap_or((0, 0));
        Ok(SystemStatus {
            nodes,
            db_latency_ms,
            database: crate::db::migrate::backend_name(&self.db).to_owned(),
            commit_mean_ms: last.mean_ms,
            commit_max_ms: last.max_ms,
            failed_commits: last.failures,
            disk_free_bytes: free,
            disk_total_bytes: total,
            users: user::Entity::find().count(&self.db).await?,
            projects: project::Entity::find().count(&self.db).await?,
        })
    }
}

#[async_trait]
impl app::ops::ssr::OpsService for OpsConsole {
    fn notice(&self) -> Notice {
        self.ops.notice()
    }

    async fn console(&self) -> AppResult<Console> {
        Ok(Console {
            status: self.status().await?,
            notice: self.ops.notice(),
            users: users::list(&self.db).await?,
            alerts: alerts::list(&self.db).await?,
        })
    }

    async fn set_banner(&self, by: &UserInfo, text: Option<String>, level: Level) -> AppResult<()> {
        self.ops.set_banner(by, text, level).await
    }

    async fn set_maintenance(&self, by: &UserInfo, message: Option<String>) -> AppResult<()> {
        self.ops.set_maintenance(by, message).await
    }

    async fn announce_shutdown(&self, by: &UserInfo, secs: Option<u32>) -> AppResult<()> {
        self.ops.announce_shutdown(by, secs).await
    }

    async fn act_on_user(
        &self,
        by: &UserInfo,
        user: UserId,
        action: UserAction,
    ) -> AppResult<Option<String>> {
        users::act(&self.accounts, &by.name, user, action).await
    }
}
