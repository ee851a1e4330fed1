//! Project environments: the `EnvService` (list, create, delete, set and remove variables and
//! secrets) and what a run or a terminal started in an environment gets ([`Envs::resolve`]).
//!
//! - `crypt`: secrets sealed at rest with the server's key;
//! - `mask`: secret values masked in run output and terminal screens.

use std::{collections::HashMap, sync::Arc};

use app::{
    AppError, AppResult,
    projects::envs::{EnvVar, Environment, Environments, MAX_ENVS, MAX_VARS, ssr::EnvService},
    types::{ProjectId, UserId},
};
use async_trait::async_trait;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, SqlErr,
};

pub mod crypt;
pub mod mask;

pub use crypt::SecretKey;
pub use mask::Masker;

use crate::db::{
    entities::{environment, environment_var},
    now_ms,
};

#[derive(Clone)]
pub struct Envs {
    db: DatabaseConnection,
    key: Arc<SecretKey>,
}

/// What a run or a terminal in an environment gets: its variables (secrets opened) and the
/// secret values to mask in its output. Not `Debug`: nothing may print it.
#[derive(Default)]
pub struct Resolved {
    pub name: String,
    pub vars: Vec<(String, String)>,
    pub secrets: Vec<String>,
}

impl Resolved {
    pub fn masker(&self) -> Masker {
        Masker::new(self.secrets.iter().cloned())
    }
}

impl Envs {
    pub fn new(db: DatabaseConnection, key: SecretKey) -> Self {
        Self {
            db,
            key: Arc::new(key),
        }
    }

    /// The environment `env` of `project`; not found when it is another project's.
    async fn find(&self, project: ProjectId, env: i64) -> AppResult<environment::Model> {
        environment::Entity::find_by_id(env)
            .filter(environment::Column::ProjectId.eq(project.0))
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::NotFound("Environment".into()))
    }

    /// Everything a run in the environment named `name` gets. A secret that does not open
    /// (the server's key changed) fails the start rather than running without it.
    pub async fn resolve(&self, project: ProjectId, name: &str) -> AppResult<Resolved> {
        let env = environment::Entity::find()
            .filter(environment::Column::ProjectId.eq(project.0))
            .filter(environment::Column::Name.eq(name))
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("The environment “{name}”")))?;
        let rows = environment_var::Entity::find()
            .filter(environment_var::Column::EnvironmentId.eq(env.id))
            .order_by_asc(environment_var::Column::Name)
            .all(&self.db)
            .await?;
        let mut out = Resolved {
            name: env.name.clone(),
            ..Resolved::default()
        };
        for row in rows {
            let value = if row.secret {
                let place = crypt::Place {
                    project: project.0,
                    environment: env.id,
                    name: &row.name,
                };
                let value = self.key.open(&place, &row.value).map_err(|e| {
                    tracing::error!(project = project.0, env = env.id, var = %row.name, error = %e, "a secret does not open");
                    AppError::Unavailable(format!(
                        "The secret {} of “{}” cannot be read with this server's key (was TANDEM_SECRETS_KEY changed?); an owner can set it again.",
                        row.name, env.name
                    ))
                })?;
                out.secrets.push(value.clone());
                value
            } else {
                String::from_utf8_lossy(&row.value).into_owned()
            };
            out.vars.push((row.name, value));
        }
        Ok(out)
    }

    /// The names of the project's environments, for the Run and terminal pickers.
    pub async fn names(&self, project: ProjectId) -> AppResult<Vec<String>> {
        Ok(environment::Entity::find()
            .select_only()
            .column(environment::Column::Name)
            .filter(environment::Column::ProjectId.eq(project.0))
            .order_by_asc(environment::Column::Name)
            .into_tuple()
            .all(&self.db)
            .await?)
    }

    async fn var(&self, env: i64, name: &str) -> AppResult<Option<environment_var::Model>> {
        Ok(environment_var::Entity::find()
            .filter(environment_var::Column::EnvironmentId.eq(env))
            .filter(environment_var::Column::Name.eq(name))
            .one(&self.db)
            .await?)
    }
}

/// Changed by someone else at the same moment (a unique index refused the second).
fn raced(e: sea_orm::DbErr, what: &str) -> AppError {
    if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
        AppError::Conflict(format!("{what} was just made by someone else."))
    } else {
        e.into()
    }
}

fn owners_only(what: &str) -> AppError {
    tracing::debug!(what, "an editor tried to change a secret");
    AppError::Forbidden
}

#[async_trait]
impl EnvService for Envs {
    async fn list(&self, project: ProjectId) -> AppResult<Environments> {
        let envs = environment::Entity::find()
            .filter(environment::Column::ProjectId.eq(project.0))
            .order_by_asc(environment::Column::Name)
            .all(&self.db)
            .await?;
        let ids: Vec<i64> = envs.iter().map(|e| e.id).collect();
        // Never the secrets' values: not even sealed, they do not leave this function.
        let rows: Vec<(i64, String, bool, Vec<u8>, i64, i64)> = if ids.is_empty() {
            Vec::new()
        } else {
            environment_var::Entity::find()
                .select_only()
                .column(environment_var::Column::EnvironmentId)
                .column(environment_var::Column::Name)
                .column(environment_var::Column::Secret)
                .column(environment_var::Column::Value)
                .column(environment_var::Column::SetBy)
                .column(environment_var::Column::SetAt)
                .filter(environment_var::Column::EnvironmentId.is_in(ids))
                .order_by_asc(environment_var::Column::Name)
                .into_tuple()
                .all(&self.db)
                .await?
        };
        let names = crate::db::user_names(&self.db, rows.iter().map(|r| r.4)).await?;
        let mut by_env: HashMap<i64, Vec<EnvVar>> = HashMap::new();
        for (env, name, secret, value, set_by, set_at) in rows {
            by_env.entry(env).or_default().push(EnvVar {
                name,
                secret,
                value: (!secret).then(|| String::from_utf8_lossy(&value).into_owned()),
                set_by: names
                    .get(&set_by)
                    .cloned()
                    .unwrap_or_else(|| crate::db::FORMER_MEMBER.to_owned()),
                set_at,
            });
        }
        Ok(Environments {
            list: envs
                .into_iter()
                .map(|e| Environment {
                    vars: by_env.remove(&e.id).unwrap_or_default(),
                    id: e.id,
                    name: e.name,
                })
                .collect(),
            may_edit: false,
            may_manage: false,
        })
    }

    async fn create(&self, project: ProjectId, name: &str, by: UserId) -> AppResult<i64> {
        let count = environment::Entity::find()
            .filter(environment::Column::ProjectId.eq(project.0))
            .count(&self.db)
            .await?;
        if count >= MAX_ENVS as u64 {
            return Err(AppError::TooMany(format!(
                "A project has at most {MAX_ENVS} environments; delete one first."
            )));
        }
        let row = environment::ActiveModel {
            project_id: Set(project.0),
            name: Set(name.to_owned()),
            created_by: Set(by.0),
            created_at: Set(now_ms()),
            ..Default::default()
        }
        .insert(&self.db)
        .await
        .map_err(|e| match raced(e, "That environment") {
            AppError::Conflict(_) => {
                AppError::Conflict(format!("There is already an environment “{name}”."))
            }
            other => other,
        })?;
        Ok(row.id)
    }

    async fn delete(&self, project: ProjectId, env: i64) -> AppResult<String> {
        let found = self.find(project, env).await?;
        // Its variables go with it (the foreign key cascades; said here too for databases
        // without enforced foreign keys).
        environment_var::Entity::delete_many()
            .filter(environment_var::Column::EnvironmentId.eq(env))
            .exec(&self.db)
            .await?;
        environment::Entity::delete_by_id(env)
            .exec(&self.db)
            .await?;
        Ok(found.name)
    }

    async fn set(
        &self,
        project: ProjectId,
        env: i64,
        name: &str,
        value: &str,
        secret: bool,
        by: UserId,
        owner: bool,
    ) -> AppResult<(String, Option<bool>)> {
        let found = self.find(project, env).await?;
        let before = self.var(env, name).await?;
        let was_secret = before.as_ref().map(|v| v.secret);
        if (secret || was_secret == Some(true)) && !owner {
            return Err(owners_only("set"));
        }
        let stored = if secret {
            let place = crypt::Place {
                project: project.0,
                environment: env,
                name,
            };
            self.key.seal(&place, value).map_err(|e| {
                tracing::error!(project = project.0, env, error = %e, "cannot seal a secret");
                AppError::Internal
            })?
        } else {
            value.as_bytes().to_vec()
        };
        match before {
            Some(row) => {
                let mut row: environment_var::ActiveModel = row.into();
                row.secret = Set(secret);
                row.value = Set(stored);
                row.set_by = Set(by.0);
                row.set_at = Set(now_ms());
                row.update(&self.db).await?;
            }
            None => {
                let count = environment_var::Entity::find()
                    .filter(environment_var::Column::EnvironmentId.eq(env))
                    .count(&self.db)
                    .await?;
                if count >= MAX_VARS as u64 {
                    return Err(AppError::TooMany(format!(
                        "An environment holds at most {MAX_VARS} variables and secrets."
                    )));
                }
                environment_var::ActiveModel {
                    environment_id: Set(env),
                    name: Set(name.to_owned()),
                    secret: Set(secret),
                    value: Set(stored),
                    set_by: Set(by.0),
                    set_at: Set(now_ms()),
                    ..Default::default()
                }
                .insert(&self.db)
                .await
                .map_err(|e| raced(e, name))?;
            }
        }
        Ok((found.name, was_secret))
    }

    async fn remove(
        &self,
        project: ProjectId,
        env: i64,
        name: &str,
        owner: bool,
    ) -> AppResult<(String, bool)> {
        let found = self.find(project, env).await?;
        let row = self
            .var(env, name)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("The variable {name}")))?;
        if row.secret && !owner {
            return Err(owners_only("remove"));
        }
        environment_var::Entity::delete_by_id(row.id)
            .exec(&self.db)
            .await?;
        Ok((found.name, row.secret))
    }
}
