//! The `EnvService` the binary implements (storage, encryption); server functions check the
//! role and validate, then call it.

use std::sync::Arc;

use async_trait::async_trait;

use super::Environments;
use crate::{
    error::AppResult,
    types::{
        ProjectId, UserId,
        audit::{AuditAction, AuditTarget},
    },
};

#[async_trait]
pub trait EnvService: Send + Sync + 'static {
    async fn list(&self, project: ProjectId) -> AppResult<Environments>;
    /// A new environment's id; `Conflict` when the name is taken, `TooMany` past the limit.
    async fn create(&self, project: ProjectId, name: &str, by: UserId) -> AppResult<i64>;
    /// Deletes it with its variables; its name.
    async fn delete(&self, project: ProjectId, env: i64) -> AppResult<String>;
    /// Sets (adds or replaces) a variable; the environment's name and whether a variable of
    /// that name was there before (and a secret). A secret, or replacing one, needs `owner`.
    #[allow(clippy::too_many_arguments)]
    async fn set(
        &self,
        project: ProjectId,
        env: i64,
        name: &str,
        value: &str,
        secret: bool,
        by: UserId,
        owner: bool,
    ) -> AppResult<(String, Option<bool>)>;
    /// Removes a variable; the environment's name and whether it was a secret (which needs
    /// `owner`).
    async fn remove(
        &self,
        project: ProjectId,
        env: i64,
        name: &str,
        owner: bool,
    ) -> AppResult<(String, bool)>;
}

pub fn envs() -> AppResult<Arc<dyn EnvService>> {
    crate::services::service()
}

/// An audit entry for a change to environment `env_name`.
pub async fn audit(project: ProjectId, by: UserId, env_name: &str, what: &str) {
    crate::audit::ssr::record(
        project,
        by,
        AuditAction::EnvChanged,
        AuditTarget::Text(env_name.to_owned()),
        what,
    )
    .await;
}
