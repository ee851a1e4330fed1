//! Accounts: sign-up, login with rate limits, sessions in the database, and the page guard that
//! sends signed-out visitors to the login page.

use std::{net::IpAddr, sync::Arc};

use app::{
    AppError, AppResult,
    auth::ssr::Accounts,
    projects::ssr::Projects,
    types::{SessionInfo, UserId, UserInfo},
};
use async_trait::async_trait;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, SqlErr};

mod args;
pub use args::{Args, Signup, parse_origin};
pub mod guard;
pub mod password;
pub mod rate_limit;
pub mod revoke;
pub mod session_store;

use crate::{
    db::{
        entities::{invite, user},
        now, rfc3339,
    },
    error::{Result, ServerError},
};
use rate_limit::LoginLimiter;
use revoke::{AccessWatch, Grant, Revocations};
use session_store::DbSessionStore;

/// Who may do what, for plain HTTP and websocket routes (server functions use
/// `app::projects::ssr::authorize`): the accounts, the project roles, the sessions, and the
/// announcements that keep open sockets honest.
#[derive(Clone)]
pub struct Membership {
    pub accounts: Arc<dyn Accounts>,
    pub projects: Arc<dyn Projects>,
    pub sessions: DbSessionStore,
    pub revocations: Revocations,
    pub sockets: SocketSlots,
}

/// Open websockets per user (finding 6: each holds buffers and subscriptions). A slot is
/// taken before the upgrade and given back when the socket's endpoint is dropped.
#[derive(Clone)]
pub struct SocketSlots {
    max: usize,
    open: Arc<std::sync::Mutex<std::collections::HashMap<UserId, usize>>>,
}

/// One open socket's slot.
pub struct SocketSlot {
    user: UserId,
    open: Arc<std::sync::Mutex<std::collections::HashMap<UserId, usize>>>,
}

impl SocketSlots {
    pub fn new(max: usize) -> Self {
        Self {
            max,
            open: Arc::default(),
        }
    }

    /// Sockets open on this node, every user's.
    pub fn total(&self) -> u64 {
        crate::lock::lock(&self.open)
            .values()
            .map(|n| *n as u64)
            .sum()
    }

    pub fn take(&self, user: UserId) -> AppResult<SocketSlot> {
        let mut open = crate::lock::lock(&self.open);
        let n = open.entry(user).or_default();
        if *n >= self.max {
            crate::limits::refused("max-sockets-per-user");
            return Err(AppError::TooMany(format!(
                "Too many open connections for this account (the limit is {}); close some \
                 tabs or Yjs clients.",
                self.max
            )));
        }
        *n += 1;
        Ok(SocketSlot {
            user,
            open: self.open.clone(),
        })
    }
}

impl Drop for SocketSlot {
    fn drop(&mut self) {
        let mut open = crate::lock::lock(&self.open);
        if let Some(n) = open.get_mut(&self.user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.user);
            }
        }
    }
}

impl Membership {
    /// Starts watching `grant` for the socket about to open with it.
    pub async fn watch(&self, grant: Grant) -> AccessWatch {
        AccessWatch::new(
            grant,
            &self.revocations,
            self.projects.clone(),
            self.sessions.clone(),
        )
        .await
    }

    /// The signed-in user of `session`, who must have at least `min` on `project`.
    pub async fn member_of(
        &self,
        session: &tower_sessions::Session,
        project: app::types::ProjectId,
        min: app::types::Role,
    ) -> AppResult<(UserInfo, app::types::Role)> {
        let id = app::auth::ssr::user_id_in(session)
            .await?
            .ok_or(AppError::NotSignedIn)?;
        let user = self.accounts.user(id).await?.ok_or(AppError::NotSignedIn)?;
        let role = self
            .projects
            .role_of(project, id)
            .await?
            .ok_or(AppError::Forbidden)?;
        if role < min {
            return Err(AppError::Forbidden);
        }
        Ok((user, role))
    }
}

#[derive(Clone)]
pub struct AccountService {
    db: DatabaseConnection,
    limiter: Arc<LoginLimiter>,
    signup: Signup,
    /// For ending sessions (password change, "sign out everywhere").
    sessions: DbSessionStore,
    hasher: password::Hasher,
    /// Web sign-ups per client address in the last hour.
    signups: Arc<rate_limit::PerHour>,
}

fn info(u: user::Model) -> UserInfo {
    UserInfo {
        id: UserId(u.id),
        name: u.name,
    }
}

/// Names a session without giving away its id (the cookie): the first 64 bits of its SHA-256.
fn handle(id: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(id.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

fn session_info(row: &crate::db::entities::session::Model, current: Option<&str>) -> SessionInfo {
    let data: serde_json::Value = serde_json::from_str(&row.data).unwrap_or_default();
    let at = |key: &str| {
        data.get(key)
            .and_then(serde_json::Value::as_i64)
            .map(rfc3339)
            .unwrap_or_default()
    };
    SessionInfo {
        handle: handle(&row.id),
        current: current == Some(row.id.as_str()),
        agent: data
            .get(app::auth::ssr::AGENT_KEY)
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        signed_in_at: at(app::auth::ssr::SINCE_KEY),
        last_used_at: at(app::auth::ssr::TOUCHED_KEY),
        expires_at: rfc3339(row.expires_at),
    }
}

impl AccountService {
    pub fn new(db: DatabaseConnection, limiter: LoginLimiter, sessions: DbSessionStore) -> Self {
        Self {
            db,
            limiter: Arc::new(limiter),
            signup: Signup::Open,
            sessions,
            hasher: password::Hasher::new(4),
            signups: Arc::new(rate_limit::PerHour::new(20)),
        }
    }

    /// How many password hashes may run at once, and how many web sign-ups one client
    /// address may make per hour.
    pub fn with_limits(mut self, concurrent_hashes: usize, signups_per_hour: u32) -> Self {
        self.hasher = password::Hasher::new(concurrent_hashes);
        self.signups = Arc::new(rate_limit::PerHour::new(signups_per_hour));
        self
    }

    /// Counts sign-in attempts and sign-ups in the shared database (several nodes), so the
    /// limits hold for the cluster rather than per node. Call after [`Self::with_limits`].
    pub fn with_shared_counts(mut self, counts: crate::rate::shared::SharedCounts) -> Self {
        let limiter = Arc::try_unwrap(self.limiter)
            .unwrap_or_else(|shared| shared.as_ref().clone_rules())
            .shared(counts.clone());
        self.limiter = Arc::new(limiter);
        let signups = Arc::try_unwrap(self.signups)
            .unwrap_or_else(|shared| rate_limit::PerHour::new(shared.max()))
            .shared(counts);
        self.signups = Arc::new(signups);
        self
    }

    /// Sets a new password (already validated) and ends the user's sessions but `keep`.
    pub async fn set_password(
        &self,
        user: UserId,
        password: &str,
        keep: Option<String>,
    ) -> AppResult<u64> {
        let hash = self.hasher.hash(password.to_owned()).await?;
        let res = user::Entity::update_many()
            .col_expr(user::Column::PasswordHash, hash.into())
            .filter(user::Column::Id.eq(user.0))
            .exec(&self.db)
            .await?;
        if res.rows_affected == 0 {
            return Err(AppError::NotFound("User".into()));
        }
        tracing::info!(user = user.0, "password changed");
        self.end_other_sessions(user, keep).await
    }

    /// Disables (no sign-in; every session ends, its sockets close) or enables an account.
    pub async fn set_disabled(&self, user: UserId, disabled: bool) -> AppResult<()> {
        let res = user::Entity::update_many()
            .col_expr(user::Column::Disabled, disabled.into())
            .filter(user::Column::Id.eq(user.0))
            .filter(user::Column::Name.not_like(format!("{}%", app::validate::DELETED_PREFIX)))
            .exec(&self.db)
            .await?;
        if res.rows_affected == 0 {
            return Err(AppError::NotFound("User".into()));
        }
        if disabled {
            self.sessions.end_for_user(user, None).await?;
        }
        Ok(())
    }

    /// Whether `token` names an invite link that has not expired.
    async fn invite_is_live(&self, token: Option<&str>) -> AppResult<bool> {
        let Some(token) = token else {
            return Ok(false);
        };
        Ok(invite::Entity::find()
            .filter(invite::Column::Token.eq(token))
            .filter(invite::Column::ExpiresAt.gt(now()))
            .one(&self.db)
            .await?
            .is_some())
    }

    /// Grants or withdraws "open server folders" (`tandem user admin NAME [--off]`).
    pub async fn set_admin(&self, user: UserId, on: bool) -> AppResult<()> {
        user::Entity::update_many()
            .col_expr(user::Column::IsAdmin, on.into())
            .filter(user::Column::Id.eq(user.0))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Who may sign up through the web (the CLI's `tandem user add` always may).
    pub fn with_signup(mut self, signup: Signup) -> Self {
        self.signup = signup;
        self
    }

    /// Also used by `tandem user add`.
    pub async fn create_user(&self, name: &str, password: &str) -> AppResult<UserInfo> {
        let hash = self.hasher.hash(password.to_owned()).await?;
        let row = user::ActiveModel {
            name: Set(name.to_owned()),
            name_key: Set(name.to_lowercase()),
            password_hash: Set(hash),
            created_at: Set(now()),
            ..Default::default()
        };
        match user::Entity::insert(row)
            .exec_with_returning(&self.db)
            .await
        {
            Ok(u) => Ok(info(u)),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                Err(AppError::invalid("name", "That username is taken."))
            }
            Err(e) => Err(ServerError::from(e).into()),
        }
    }

    /// The account's row, disabled or not (`user` hides disabled ones).
    pub async fn user_row(&self, id: UserId) -> Result<Option<user::Model>> {
        Ok(user::Entity::find_by_id(id.0).one(&self.db).await?)
    }

    pub async fn find_by_name(&self, name: &str) -> Result<Option<user::Model>> {
        Ok(user::Entity::find()
            .filter(user::Column::NameKey.eq(name.to_lowercase()))
            .one(&self.db)
            .await?)
    }
}

#[async_trait]
impl Accounts for AccountService {
    async fn sign_up(
        &self,
        name: &str,
        password: &str,
        invite: Option<&str>,
        ip: IpAddr,
    ) -> AppResult<UserInfo> {
        match self.signup {
            Signup::Open => {}
            Signup::Invite if self.invite_is_live(invite).await? => {}
            Signup::Invite => {
                return Err(AppError::Unavailable(
                    "Sign-up on this server is by invitation: open the invite link you were \
                     sent, then sign up."
                        .into(),
                ));
            }
            Signup::Closed => {
                return Err(AppError::Unavailable(
                    "Sign-up is closed on this server; ask its administrator for an account."
                        .into(),
                ));
            }
        }
        if !self.signups.allow(ip).await? {
            crate::limits::refused("signups-per-ip-per-hour");
            tracing::warn!(%ip, "sign-up rate-limited");
            return Err(AppError::RateLimited {
                retry_after_secs: 3600,
            });
        }
        self.create_user(name, password).await
    }

    async fn log_in(&self, name: &str, password: &str, ip: IpAddr) -> AppResult<UserInfo> {
        let attempt = match self.limiter.start(ip, name).await {
            Ok(attempt) => attempt,
            Err(e) => {
                if let AppError::RateLimited { retry_after_secs } = e {
                    tracing::warn!(%ip, account = name, retry_after_secs, "login slowed down");
                }
                return Err(e);
            }
        };
        let found = self.find_by_name(name).await;
        let found = match found {
            Ok(found) => found,
            Err(e) => {
                self.limiter.end(attempt, false).await;
                return Err(e.into());
            }
        };
        let ok = self
            .hasher
            .verify(
                password.to_owned(),
                found.as_ref().map(|u| u.password_hash.clone()),
            )
            .await;
        let ok = match ok {
            Ok(ok) => ok,
            Err(e) => {
                self.limiter.end(attempt, false).await;
                return Err(e.into());
            }
        };
        match found {
            // Told only to whoever knows the password: it says nothing to a guesser.
            Some(u) if ok && u.disabled => {
                self.limiter.end(attempt, true).await;
                Err(AppError::invalid(
                    "password",
                    "This account is disabled. Ask the server's admin.",
                ))
            }
            Some(u) if ok => {
                self.limiter.end(attempt, true).await;
                Ok(info(u))
            }
            _ => {
                self.limiter.end(attempt, false).await;
                // One message for both cases, so the form does not confirm which names exist.
                Err(AppError::invalid("password", "Wrong username or password."))
            }
        }
    }

    /// A disabled account reads as gone: its sessions (ended when it was disabled) and any it
    /// still had on a node that missed the news are treated as signed out.
    async fn user(&self, id: UserId) -> AppResult<Option<UserInfo>> {
        Ok(user::Entity::find_by_id(id.0)
            .one(&self.db)
            .await?
            .filter(|u| !u.disabled)
            .map(info))
    }

    async fn is_admin(&self, id: UserId) -> AppResult<bool> {
        Ok(user::Entity::find_by_id(id.0)
            .one(&self.db)
            .await?
            .is_some_and(|u| u.is_admin))
    }

    async fn change_password(
        &self,
        user: UserId,
        current: &str,
        new: &str,
        keep: Option<String>,
    ) -> AppResult<()> {
        self.check_password(user, current, "current").await?;
        let name = user::Entity::find_by_id(user.0)
            .one(&self.db)
            .await?
            .map(|u| u.name)
            .unwrap_or_default();
        app::validate::password(new, &name).map_err(|e| e.for_field("new"))?;
        self.set_password(user, new, keep).await.map(|_| ())
    }

    async fn check_password(&self, user: UserId, password: &str, field: &str) -> AppResult<()> {
        let found = user::Entity::find_by_id(user.0).one(&self.db).await?;
        let ok = self
            .hasher
            .verify(password.to_owned(), found.map(|u| u.password_hash))
            .await?;
        if !ok {
            return Err(AppError::invalid(
                field,
                "That is not your current password.",
            ));
        }
        Ok(())
    }

    async fn delete_account(&self, user: UserId) -> AppResult<()> {
        let placeholder = format!("{}{}", app::validate::DELETED_PREFIX, user.0);
        let res = user::Entity::update_many()
            .col_expr(user::Column::Name, placeholder.clone().into())
            // The unique, case-folded key too: that is what frees the name for others.
            .col_expr(user::Column::NameKey, placeholder.into())
            .col_expr(user::Column::PasswordHash, password::unusable().into())
            .col_expr(user::Column::IsAdmin, false.into())
            .filter(user::Column::Id.eq(user.0))
            .exec(&self.db)
            .await?;
        if res.rows_affected == 0 {
            return Err(AppError::NotFound("User".into()));
        }
        self.sessions.end_for_user(user, None).await?;
        tracing::info!(user = user.0, "account deleted");
        Ok(())
    }

    async fn sessions(&self, user: UserId, current: Option<String>) -> AppResult<Vec<SessionInfo>> {
        let rows = self.sessions.of_user(user).await?;
        Ok(rows
            .iter()
            .map(|row| session_info(row, current.as_deref()))
            .collect())
    }

    async fn end_session(&self, user: UserId, handle_of: &str) -> AppResult<()> {
        let rows = self.sessions.of_user(user).await?;
        let Some(row) = rows.into_iter().find(|r| handle(&r.id) == handle_of) else {
            return Err(AppError::NotFound("Session".into()));
        };
        self.sessions.end(vec![row.id]).await?;
        Ok(())
    }

    async fn end_other_sessions(&self, user: UserId, keep: Option<String>) -> AppResult<u64> {
        let keep = keep.and_then(|k| k.parse::<tower_sessions::session::Id>().ok());
        Ok(self.sessions.end_for_user(user, keep.as_ref()).await?)
    }
}
