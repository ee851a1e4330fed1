//! The `Projects` service the binary implements, and the role check every project server
//! function starts with.

use std::sync::Arc;

use async_trait::async_trait;

use crate::{
    auth::ssr::current_user,
    error::{AppError, AppResult},
    types::{
        InviteId, InviteLink, InvitePreview, Member, ProjectId, ProjectSummary, Role, UserId,
        UserInfo,
    },
};

#[async_trait]
pub trait Projects: Send + Sync + 'static {
    async fn list_for(&self, user: UserId) -> AppResult<Vec<ProjectSummary>>;
    async fn create(&self, owner: UserId, name: &str) -> AppResult<ProjectSummary>;
    /// `NotFound` when the project does not exist, `Ok(None)` when the user is not a member.
    async fn role_of(&self, project: ProjectId, user: UserId) -> AppResult<Option<Role>>;
    async fn summary(&self, project: ProjectId, user: UserId) -> AppResult<ProjectSummary>;
    async fn rename(&self, project: ProjectId, name: &str) -> AppResult<()>;
    async fn delete(&self, project: ProjectId) -> AppResult<()>;
    async fn members(&self, project: ProjectId) -> AppResult<Vec<Member>>;
    async fn add_member(&self, project: ProjectId, username: &str, role: Role)
    -> AppResult<Member>;
    /// Refuses to demote the last owner.
    async fn set_role(&self, project: ProjectId, user: UserId, role: Role) -> AppResult<()>;
    /// Refuses to remove the last owner.
    async fn remove_member(&self, project: ProjectId, user: UserId) -> AppResult<()>;
    async fn create_invite(
        &self,
        project: ProjectId,
        by: UserId,
        role: Role,
        ttl_hours: u32,
    ) -> AppResult<InviteLink>;
    async fn invites(&self, project: ProjectId) -> AppResult<Vec<InviteLink>>;
    async fn revoke_invite(&self, project: ProjectId, invite: InviteId) -> AppResult<()>;
    async fn invite_preview(&self, token: &str, user: UserId) -> AppResult<InvitePreview>;
    /// Joins with the invite's role; never lowers an existing member's role.
    async fn accept_invite(&self, token: &str, user: UserId) -> AppResult<ProjectId>;
}

/// The projects service, from the registry the binary provides.
pub fn projects() -> AppResult<Arc<dyn Projects>> {
    crate::services::service()
}

/// Who is calling, and with which role.
pub struct Authorized {
    pub user: UserInfo,
    pub role: Role,
}

/// The session and role check every project server function starts with: 401 without a session,
/// 404 for an unknown project, 403 for a stranger or a role below `min`.
pub async fn authorize(project: ProjectId, min: Role) -> AppResult<Authorized> {
    let user = current_user().await?;
    let role = projects()?
        .role_of(project, user.id)
        .await?
        .ok_or(AppError::Forbidden)?;
    if role < min {
        return Err(AppError::Forbidden);
    }
    Ok(Authorized { user, role })
}
