//! Projects and sharing: create, list, rename, delete, members and invite links. Every server
//! function checks the session and the caller's role before it calls the `Projects` service.

use leptos::prelude::*;

use crate::{
    error::AppError,
    types::{
        InviteId, InviteLink, InvitePreview, Member, ProjectId, ProjectSummary, Role, UserId,
        Workspace,
    },
};

#[cfg(feature = "ssr")]
use crate::{
    audit::ssr::record as audit,
    types::audit::{AuditAction as Act, AuditTarget as On},
};

pub mod ai;
mod audit_page;
pub mod envs;
mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;

pub(crate) use audit_page::AuditPage;
pub(crate) use pages::{InvitePage, ProjectSettings};

/// Longest invite-link lifetime an owner may choose: 30 days.
pub const INVITE_MAX_HOURS: u32 = 24 * 30;

#[server(endpoint = "projects/list")]
pub async fn list_projects() -> Result<Vec<ProjectSummary>, AppError> {
    use crate::auth::ssr::current_user;
    let me = current_user().await?;
    ssr::projects()?.list_for(me.id).await
}

#[server(endpoint = "projects/create")]
pub async fn create_project(name: String) -> Result<ProjectSummary, AppError> {
    use crate::auth::ssr::current_user;
    let me = current_user().await?;
    let name = crate::validate::project_name(&name)?;
    ssr::projects()?.create(me.id, name).await
}

/// The project, the caller and its members: what the IDE shell and settings page show.
#[server(endpoint = "projects/workspace")]
pub async fn load_workspace(project: ProjectId) -> Result<Workspace, AppError> {
    let ctx = ssr::authorize(project, Role::Viewer).await?;
    let projects = ssr::projects()?;
    Ok(Workspace {
        project: projects.summary(project, ctx.user.id).await?,
        members: projects.members(project).await?,
        me: ctx.user,
    })
}

#[server(endpoint = "projects/rename")]
pub async fn rename_project(project: ProjectId, name: String) -> Result<String, AppError> {
    let ctx = ssr::authorize(project, Role::Editor).await?;
    let name = crate::validate::project_name(&name)?;
    ssr::projects()?.rename(project, name).await?;
    audit(
        project,
        ctx.user.id,
        Act::ProjectRenamed,
        On::Text(name.to_owned()),
        "",
    )
    .await;
    Ok(name.to_owned())
}

/// Deleting needs the project's name typed back, so a stray click cannot destroy a project.
#[server(endpoint = "projects/delete")]
pub async fn delete_project(project: ProjectId, confirm: String) -> Result<(), AppError> {
    let ctx = ssr::authorize(project, Role::Owner).await?;
    let summary = ssr::projects()?.summary(project, ctx.user.id).await?;
    if confirm.trim() != summary.name {
        return Err(AppError::invalid(
            "confirm",
            "Type the project's name exactly to delete it.",
        ));
    }
    ssr::projects()?.delete(project).await
}

#[server(endpoint = "projects/invite")]
pub async fn invite_member(
    project: ProjectId,
    username: String,
    role: Role,
) -> Result<Member, AppError> {
    let ctx = ssr::authorize(project, Role::Owner).await?;
    let member = ssr::projects()?
        .add_member(project, username.trim(), role)
        .await?;
    let (act, on) = (Act::MemberAdded, On::User(member.user.id));
    audit(project, ctx.user.id, act, on, role.as_str()).await;
    Ok(member)
}

#[server(endpoint = "projects/set-role")]
pub async fn set_member_role(project: ProjectId, user: UserId, role: Role) -> Result<(), AppError> {
    let ctx = ssr::authorize(project, Role::Owner).await?;
    ssr::projects()?.set_role(project, user, role).await?;
    let detail = format!("now {}", role.as_str());
    audit(
        project,
        ctx.user.id,
        Act::RoleChanged,
        On::User(user),
        detail,
    )
    .await;
    Ok(())
}

/// Owners remove anyone; every member may remove themselves (leave).
#[server(endpoint = "projects/remove-member")]
pub async fn remove_member(project: ProjectId, user: UserId) -> Result<(), AppError> {
    let ctx = ssr::authorize(project, Role::Viewer).await?;
    if user != ctx.user.id && ctx.role < Role::Owner {
        return Err(AppError::Forbidden);
    }
    ssr::projects()?.remove_member(project, user).await?;
    let act = if user == ctx.user.id {
        Act::MemberLeft
    } else {
        Act::MemberRemoved
    };
    audit(project, ctx.user.id, act, On::User(user), "").await;
    Ok(())
}

#[server(endpoint = "projects/invite-links/create")]
pub async fn create_invite_link(
    project: ProjectId,
    role: Role,
    hours: u32,
) -> Result<InviteLink, AppError> {
    let ctx = ssr::authorize(project, Role::Owner).await?;
    if hours == 0 || hours > INVITE_MAX_HOURS {
        return Err(AppError::invalid(
            "hours",
            format!("Choose an expiry between 1 hour and {INVITE_MAX_HOURS} hours."),
        ));
    }
    let link = ssr::projects()?
        .create_invite(project, ctx.user.id, role, hours)
        .await?;
    let detail = format!("{}, for {hours} h", role.as_str());
    audit(project, ctx.user.id, Act::InviteCreated, On::None, detail).await;
    Ok(link)
}

#[server(endpoint = "projects/invite-links")]
pub async fn invite_links(project: ProjectId) -> Result<Vec<InviteLink>, AppError> {
    ssr::authorize(project, Role::Owner).await?;
    ssr::projects()?.invites(project).await
}

#[server(endpoint = "projects/invite-links/revoke")]
pub async fn revoke_invite_link(project: ProjectId, invite: InviteId) -> Result<(), AppError> {
    let ctx = ssr::authorize(project, Role::Owner).await?;
    ssr::projects()?.revoke_invite(project, invite).await?;
    let detail = format!("link {invite}");
    audit(project, ctx.user.id, Act::InviteRevoked, On::None, detail).await;
    Ok(())
}

#[server(endpoint = "invites/preview")]
pub async fn preview_invite(token: String) -> Result<InvitePreview, AppError> {
    use crate::auth::ssr::current_user;
    let me = current_user().await?;
    ssr::projects()?.invite_preview(&token, me.id).await
}

#[server(endpoint = "invites/accept")]
pub async fn accept_invite(token: String) -> Result<ProjectId, AppError> {
    use crate::auth::ssr::current_user;
    let me = current_user().await?;
    let project = ssr::projects()?.accept_invite(&token, me.id).await?;
    audit(project, me.id, Act::InviteUsed, On::None, "").await;
    Ok(project)
}

/// A page of the project's log, newest first. Owners only.
#[server(endpoint = "audit/list", input = server_fn::codec::Json)]
pub async fn audit_log(
    project: ProjectId,
    filter: crate::types::audit::AuditFilter,
    before: Option<i64>,
) -> Result<crate::types::audit::AuditPage, AppError> {
    ssr::authorize(project, Role::Owner).await?;
    crate::audit::ssr::audit()?
        .list(project, filter, before)
        .await
}
