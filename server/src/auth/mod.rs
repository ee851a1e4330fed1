//! Accounts: sign-up, login with rate limits, sessions in the database, and the page guard that
//! sends signed-out visitors to the login page.

use std::{net::IpAddr, sync::Arc, time::Instant};

use app::{
    AppError, AppResult,
    auth::ssr::Accounts,
    projects::ssr::Projects,
    types::{UserId, UserInfo},
};
use async_trait::async_trait;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set, SqlErr};

mod args;
pub use args::{Args, Signup};
pub mod guard;
pub mod password;
pub mod rate_limit;
pub mod session_store;

use crate::{
    db::{entities::user, now},
    error::{Result, ServerError},
};
use rate_limit::LoginLimiter;

/// Who may do what, for plain HTTP and websocket routes (server functions use
/// `app::projects::ssr::authorize`): the accounts and the project roles.
#[derive(Clone)]
pub struct Membership {
    pub accounts: Arc<dyn Accounts>,
    pub projects: Arc<dyn Projects>,
}

impl Membership {
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
}

fn info(u: user::Model) -> UserInfo {
    UserInfo {
        id: UserId(u.id),
        name: u.name,
    }
}

impl AccountService {
    pub fn new(db: DatabaseConnection, limiter: LoginLimiter) -> Self {
        Self {
            db,
            limiter: Arc::new(limiter),
            signup: Signup::Open,
        }
    }

    /// Who may sign up through the web (the CLI's `tandem user add` always may).
    pub fn with_signup(mut self, signup: Signup) -> Self {
        self.signup = signup;
        self
    }

    /// Also used by `tandem user add`.
    pub async fn create_user(&self, name: &str, password: &str) -> AppResult<UserInfo> {
        let hash = password::hash(password.to_owned()).await?;
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

    pub async fn find_by_name(&self, name: &str) -> Result<Option<user::Model>> {
        Ok(user::Entity::find()
            .filter(user::Column::NameKey.eq(name.to_lowercase()))
            .one(&self.db)
            .await?)
    }
}

#[async_trait]
impl Accounts for AccountService {
    async fn sign_up(&self, name: &str, password: &str) -> AppResult<UserInfo> {
        if self.signup == Signup::Closed {
            return Err(AppError::Unavailable(
                "Sign-up is closed on this server; ask its administrator for an account.".into(),
            ));
        }
        self.create_user(name, password).await
    }

    async fn log_in(&self, name: &str, password: &str, ip: IpAddr) -> AppResult<UserInfo> {
        if let Err(retry_after_secs) = self.limiter.check(ip, name, Instant::now()) {
            tracing::warn!(%ip, account = name, "login rate-limited");
            return Err(AppError::RateLimited { retry_after_secs });
        }
        let found = self.find_by_name(name).await?;
        let ok = password::verify(
            password.to_owned(),
            found.as_ref().map(|u| u.password_hash.clone()),
        )
        .await?;
        match found {
            Some(u) if ok => {
                self.limiter.succeeded(name);
                Ok(info(u))
            }
            _ => {
                self.limiter.failed(ip, name, Instant::now());
                // One message for both cases, so the form does not confirm which names exist.
                Err(AppError::invalid("password", "Wrong username or password."))
            }
        }
    }

    async fn user(&self, id: UserId) -> AppResult<Option<UserInfo>> {
        Ok(user::Entity::find_by_id(id.0)
            .one(&self.db)
            .await?
            .map(info))
    }
}
