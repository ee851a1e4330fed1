//! The `AuditService` the binary implements, and the one call every feature makes after an
//! action worth recording.

use std::sync::Arc;

use async_trait::async_trait;

use crate::{
    error::AppResult,
    types::{
        ProjectId, UserId,
        audit::{AuditAction, AuditFilter, AuditPage, AuditTarget},
    },
};

#[async_trait]
pub trait AuditService: Send + Sync + 'static {
    /// Appends an entry. A failure is logged by the service, not returned: the action it
    /// records has happened already.
    async fn record(
        &self,
        project: ProjectId,
        actor: Option<UserId>,
        action: AuditAction,
        target: AuditTarget,
        detail: String,
    );
    /// A page of the project's log, newest first, older than entry `before` when given.
    async fn list(
        &self,
        project: ProjectId,
        filter: AuditFilter,
        before: Option<i64>,
    ) -> AppResult<AuditPage>;
}

pub fn audit() -> AppResult<Arc<dyn AuditService>> {
    crate::services::service()
}

/// Records an action of `actor` in `project`'s log (see [`AuditService::record`]).
pub async fn record(
    project: ProjectId,
    actor: UserId,
    action: AuditAction,
    target: AuditTarget,
    detail: impl Into<String>,
) {
    match audit() {
        Ok(a) => {
            a.record(project, Some(actor), action, target, detail.into())
                .await;
        }
        Err(e) => tracing::error!(error = %e, "no audit service: an action went unrecorded"),
    }
}
