//! Projects, memberships and invite links over sea-orm. Role checks happen in the server
//! functions (`app::projects::ssr::authorize`); this service enforces the rules that hold no
//! matter who asks, such as "a project always keeps an owner".

use std::collections::HashMap;

use app::{
    AppError, AppResult,
    projects::ssr::Projects,
    types::{
        InviteId, InviteLink, InvitePreview, Member, ProjectId, ProjectSummary, Role, UserId,
        UserInfo,
    },
};
use async_trait::async_trait;
use base64::Engine;
use rand::RngCore;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set, TransactionTrait,
};

use crate::{
    auth::revoke::{AccessChange, Revocations},
    db::{
        entities::{invite, member, project, user},
        now, rfc3339,
    },
};

#[derive(Clone)]
pub struct ProjectService {
    db: DatabaseConnection,
    /// Told about role changes, removals and deletions once committed, so the affected
    /// sockets narrow or close at once.
    revocations: Revocations,
    /// Projects one account may own.
    max_owned: u64,
}

fn parse_role(raw: &str) -> AppResult<Role> {
    Role::parse(raw).ok_or_else(|| {
        tracing::error!(role = raw, "unknown role stored in the database");
        AppError::Internal
    })
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

async fn user_names(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = UserId>,
) -> AppResult<HashMap<UserId, String>> {
    let ids: Vec<i64> = ids.into_iter().map(|u| u.0).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (UserId(u.id), u.name))
        .collect())
}

async fn owner_count(db: &impl ConnectionTrait, project: ProjectId) -> AppResult<u64> {
    Ok(member::Entity::find()
        .filter(member::Column::ProjectId.eq(project.0))
        .filter(member::Column::Role.eq(Role::Owner.as_str()))
        .count(db)
        .await?)
}

impl ProjectService {
    pub fn new(db: DatabaseConnection, revocations: Revocations) -> Self {
        Self {
            db,
            revocations,
            max_owned: 200,
        }
    }

    pub fn with_max_owned(mut self, max: u64) -> Self {
        self.max_owned = max;
        self
    }

    /// Builds summaries for `projects` as seen by `viewer`, with three queries in all.
    async fn summaries(
        &self,
        projects: Vec<project::Model>,
        viewer: UserId,
    ) -> AppResult<Vec<ProjectSummary>> {
        let ids: Vec<i64> = projects.iter().map(|p| p.id).collect();
        let members = member::Entity::find()
            .filter(member::Column::ProjectId.is_in(ids))
            .order_by_asc(member::Column::JoinedAt)
            .all(&self.db)
            .await?;
        let owners: Vec<UserId> = members
            .iter()
            .filter(|m| m.role == Role::Owner.as_str())
            .map(|m| UserId(m.user_id))
            .collect();
        let names = user_names(&self.db, owners).await?;
        projects
            .into_iter()
            .map(|p| {
                let of_project = || members.iter().filter(move |m| m.project_id == p.id);
                let role = of_project()
                    .find(|m| m.user_id == viewer.0)
                    .map(|m| parse_role(&m.role))
                    .transpose()?
                    .ok_or(AppError::Forbidden)?;
                let owner = of_project()
                    .filter(|m| m.role == Role::Owner.as_str())
                    .filter_map(|m| names.get(&UserId(m.user_id)).cloned())
                    .collect::<Vec<_>>()
                    .join(", ");
                Ok(ProjectSummary {
                    id: ProjectId(p.id),
                    member_count: of_project().count() as u32,
                    name: p.name,
                    owner,
                    role,
                    created_at: rfc3339(p.created_at),
                })
            })
            .collect()
    }

    async fn find_project(&self, project: ProjectId) -> AppResult<project::Model> {
        project::Entity::find_by_id(project.0)
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::NotFound("Project".into()))
    }

    async fn member(
        &self,
        db: &impl ConnectionTrait,
        project: ProjectId,
        user: UserId,
    ) -> AppResult<Option<member::Model>> {
        Ok(member::Entity::find_by_id((project.0, user.0))
            .one(db)
            .await?)
    }

    /// Tells the open sockets (here and in other processes) about a committed role change;
    /// `None`: no longer a member.
    async fn role_changed(&self, project: ProjectId, user: UserId, role: Option<Role>) {
        self.revocations
            .announce(
                &self.db,
                AccessChange::Role {
                    project,
                    user,
                    role,
                },
            )
            .await;
    }

    /// A valid, unexpired invite or a clear reason why not.
    async fn live_invite(&self, token: &str) -> AppResult<invite::Model> {
        let found = invite::Entity::find()
            .filter(invite::Column::Token.eq(token))
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::NotFound("Invite link".into()))?;
        if found.expires_at <= now() {
            return Err(AppError::Conflict(
                "This invite link has expired. Ask the project owner for a new one.".into(),
            ));
        }
        Ok(found)
    }

    fn link(row: invite::Model, names: &HashMap<UserId, String>) -> AppResult<InviteLink> {
        Ok(InviteLink {
            id: InviteId(row.id),
            role: parse_role(&row.role)?,
            created_by: names
                .get(&UserId(row.created_by))
                .cloned()
                .unwrap_or_default(),
            expires_at: rfc3339(row.expires_at),
            token: row.token,
        })
    }
}

#[async_trait]
impl Projects for ProjectService {
    async fn list_for(&self, user: UserId) -> AppResult<Vec<ProjectSummary>> {
        let ids: Vec<i64> = member::Entity::find()
            .filter(member::Column::UserId.eq(user.0))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| m.project_id)
            .collect();
        let projects = project::Entity::find()
            .filter(project::Column::Id.is_in(ids))
            .order_by_desc(project::Column::UpdatedAt)
            .order_by_desc(project::Column::Id)
            .all(&self.db)
            .await?;
        self.summaries(projects, user).await
    }

    async fn create(&self, owner: UserId, name: &str) -> AppResult<ProjectSummary> {
        let owned = member::Entity::find()
            .filter(member::Column::UserId.eq(owner.0))
            .filter(member::Column::Role.eq(Role::Owner.as_str()))
            .count(&self.db)
            .await?;
        if owned >= self.max_owned {
            crate::limits::refused("max-projects-per-user");
            return Err(AppError::TooMany(format!(
                "You own {owned} projects, the most this server allows; delete one you no \
                 longer need first."
            )));
        }
        let t = now();
        let txn = self.db.begin().await?;
        let p = project::Entity::insert(project::ActiveModel {
            name: Set(name.to_owned()),
            created_by: Set(owner.0),
            created_at: Set(t),
            updated_at: Set(t),
            ..Default::default()
        })
        .exec_with_returning(&txn)
        .await?;
        member::Entity::insert(member::ActiveModel {
            project_id: Set(p.id),
            user_id: Set(owner.0),
            role: Set(Role::Owner.as_str().to_owned()),
            joined_at: Set(t),
        })
        .exec(&txn)
        .await?;
        txn.commit().await?;
        tracing::info!(project = p.id, owner = owner.0, "project created");
        self.summary(ProjectId(p.id), owner).await
    }

    async fn role_of(&self, project: ProjectId, user: UserId) -> AppResult<Option<Role>> {
        // One query when the user is a member (every request and socket asks this): a member
        // row cannot outlive its project (foreign key), so only a miss needs to tell a
        // deleted project (404) from a stranger (no role).
        match self.member(&self.db, project, user).await? {
            Some(m) => parse_role(&m.role).map(Some),
            None => {
                self.find_project(project).await?;
                Ok(None)
            }
        }
    }

    async fn summary(&self, project: ProjectId, user: UserId) -> AppResult<ProjectSummary> {
        let p = self.find_project(project).await?;
        self.summaries(vec![p], user)
            .await?
            .pop()
            .ok_or(AppError::Forbidden)
    }

    async fn rename(&self, project: ProjectId, name: &str) -> AppResult<()> {
        let res = project::Entity::update_many()
            .col_expr(project::Column::Name, name.into())
            .col_expr(project::Column::UpdatedAt, now().into())
            .filter(project::Column::Id.eq(project.0))
            .exec(&self.db)
            .await?;
        if res.rows_affected == 0 {
            return Err(AppError::NotFound("Project".into()));
        }
        Ok(())
    }

    async fn delete(&self, project: ProjectId) -> AppResult<()> {
        // Children first and explicitly: correct even where foreign-key cascades are off.
        let txn = self.db.begin().await?;
        invite::Entity::delete_many()
            .filter(invite::Column::ProjectId.eq(project.0))
            .exec(&txn)
            .await?;
        member::Entity::delete_many()
            .filter(member::Column::ProjectId.eq(project.0))
            .exec(&txn)
            .await?;
        project::Entity::delete_by_id(project.0).exec(&txn).await?;
        txn.commit().await?;
        self.revocations
            .announce(&self.db, AccessChange::ProjectDeleted { project })
            .await;
        tracing::info!(project = project.0, "project deleted");
        Ok(())
    }

    async fn members(&self, project: ProjectId) -> AppResult<Vec<Member>> {
        let rows = member::Entity::find()
            .filter(member::Column::ProjectId.eq(project.0))
            .order_by_asc(member::Column::JoinedAt)
            .order_by_asc(member::Column::UserId)
            .all(&self.db)
            .await?;
        let names = user_names(&self.db, rows.iter().map(|m| UserId(m.user_id))).await?;
        rows.into_iter()
            .map(|m| {
                Ok(Member {
                    user: UserInfo {
                        id: UserId(m.user_id),
                        name: names.get(&UserId(m.user_id)).cloned().unwrap_or_default(),
                    },
                    role: parse_role(&m.role)?,
                    joined_at: rfc3339(m.joined_at),
                })
            })
            .collect()
    }

    async fn add_member(
        &self,
        project: ProjectId,
        username: &str,
        role: Role,
    ) -> AppResult<Member> {
        let found = user::Entity::find()
            .filter(user::Column::NameKey.eq(username.to_lowercase()))
            .one(&self.db)
            .await?
            .ok_or_else(|| {
                AppError::invalid("username", format!("No user is called {username:?}."))
            })?;
        if let Some(existing) = self.member(&self.db, project, UserId(found.id)).await? {
            return Err(AppError::Conflict(format!(
                "{} is already a member ({}).",
                found.name,
                parse_role(&existing.role)?.label()
            )));
        }
        let t = now();
        member::Entity::insert(member::ActiveModel {
            project_id: Set(project.0),
            user_id: Set(found.id),
            role: Set(role.as_str().to_owned()),
            joined_at: Set(t),
        })
        .exec(&self.db)
        .await?;
        // A joining member is an access change too: their open dashboards start following.
        self.role_changed(project, UserId(found.id), Some(role))
            .await;
        Ok(Member {
            user: UserInfo {
                id: UserId(found.id),
                name: found.name,
            },
            role,
            joined_at: rfc3339(t),
        })
    }

    async fn set_role(&self, project: ProjectId, user: UserId, role: Role) -> AppResult<()> {
        // The write comes first: on SQLite it takes the write lock (waiting its turn), so the
        // owner count below reads the latest state; a read first could meet a newer commit
        // at the write and fail instead of waiting.
        let txn = self.db.begin().await?;
        let changed = member::Entity::update_many()
            .col_expr(member::Column::Role, role.as_str().into())
            .filter(member::Column::ProjectId.eq(project.0))
            .filter(member::Column::UserId.eq(user.0))
            .exec(&txn)
            .await?;
        if changed.rows_affected == 0 {
            return Err(AppError::NotFound("Member".into()));
        }
        if owner_count(&txn, project).await? == 0 {
            // Dropping the transaction rolls the change back.
            return Err(AppError::Conflict(
                "A project needs at least one owner; make someone else owner first.".into(),
            ));
        }
        txn.commit().await?;
        self.role_changed(project, user, Some(role)).await;
        Ok(())
    }

    async fn remove_member(&self, project: ProjectId, user: UserId) -> AppResult<()> {
        // Write first, then check (see `set_role`).
        let txn = self.db.begin().await?;
        let removed = member::Entity::delete_by_id((project.0, user.0))
            .exec(&txn)
            .await?;
        if removed.rows_affected == 0 {
            return Err(AppError::NotFound("Member".into()));
        }
        if owner_count(&txn, project).await? == 0 {
            return Err(AppError::Conflict(
                "The last owner cannot leave; make someone else owner or delete the project."
                    .into(),
            ));
        }
        txn.commit().await?;
        self.role_changed(project, user, None).await;
        tracing::info!(project = project.0, user = user.0, "member removed");
        Ok(())
    }

    async fn create_invite(
        &self,
        project: ProjectId,
        by: UserId,
        role: Role,
        ttl_hours: u32,
    ) -> AppResult<InviteLink> {
        let t = now();
        let row = invite::Entity::insert(invite::ActiveModel {
            project_id: Set(project.0),
            token: Set(new_token()),
            role: Set(role.as_str().to_owned()),
            created_by: Set(by.0),
            created_at: Set(t),
            expires_at: Set(t + i64::from(ttl_hours) * 3600),
            ..Default::default()
        })
        .exec_with_returning(&self.db)
        .await?;
        let names = user_names(&self.db, [by]).await?;
        Self::link(row, &names)
    }

    async fn invites(&self, project: ProjectId) -> AppResult<Vec<InviteLink>> {
        let rows = invite::Entity::find()
            .filter(invite::Column::ProjectId.eq(project.0))
            .filter(invite::Column::ExpiresAt.gt(now()))
            .order_by_desc(invite::Column::Id)
            .all(&self.db)
            .await?;
        let names = user_names(&self.db, rows.iter().map(|r| UserId(r.created_by))).await?;
        rows.into_iter().map(|r| Self::link(r, &names)).collect()
    }

    async fn revoke_invite(&self, project: ProjectId, id: InviteId) -> AppResult<()> {
        let res = invite::Entity::delete_many()
            .filter(invite::Column::Id.eq(id.0))
            .filter(invite::Column::ProjectId.eq(project.0))
            .exec(&self.db)
            .await?;
        if res.rows_affected == 0 {
            return Err(AppError::NotFound("Invite link".into()));
        }
        Ok(())
    }

    async fn invite_preview(&self, token: &str, user: UserId) -> AppResult<InvitePreview> {
        let inv = self.live_invite(token).await?;
        let p = self.find_project(ProjectId(inv.project_id)).await?;
        let names = user_names(&self.db, [UserId(inv.created_by)]).await?;
        let current_role = self
            .member(&self.db, ProjectId(p.id), user)
            .await?
            .map(|m| parse_role(&m.role))
            .transpose()?;
        Ok(InvitePreview {
            project: ProjectId(p.id),
            project_name: p.name,
            invited_by: names
                .get(&UserId(inv.created_by))
                .cloned()
                .unwrap_or_default(),
            role: parse_role(&inv.role)?,
            expires_at: rfc3339(inv.expires_at),
            current_role,
        })
    }

    async fn accept_invite(&self, token: &str, user: UserId) -> AppResult<ProjectId> {
        let inv = self.live_invite(token).await?;
        let project = ProjectId(inv.project_id);
        let role = parse_role(&inv.role)?;
        match self.member(&self.db, project, user).await? {
            Some(m) if parse_role(&m.role)? >= role => {}
            Some(_) => self.set_role(project, user, role).await?,
            None => {
                member::Entity::insert(member::ActiveModel {
                    project_id: Set(project.0),
                    user_id: Set(user.0),
                    role: Set(role.as_str().to_owned()),
                    joined_at: Set(now()),
                })
                .exec(&self.db)
                .await?;
                self.role_changed(project, user, Some(role)).await;
            }
        }
        tracing::info!(project = project.0, user = user.0, "invite accepted");
        Ok(project)
    }
}
