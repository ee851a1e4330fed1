//! A project's environments (e.g. `dev`, `staging`): named sets of variables and secrets that
//! a run or a terminal started "in" the environment gets. Secrets are stored encrypted and
//! never come back to a browser once saved (only who set them and when); their values are
//! masked in run output and terminal screens. Editors set plain variables and use
//! environments; owners create and delete environments and change secrets. Every change is in
//! the audit log.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use server_fn::codec::Json;

use crate::{error::AppError, types::ProjectId};

#[cfg(feature = "ssr")]
pub mod ssr;
mod view;

pub use view::{EnvPicker, EnvsData, EnvsSection, envs_data};

/// Environments per project.
pub const MAX_ENVS: usize = 20;
/// Variables and secrets per environment.
pub const MAX_VARS: usize = 100;
/// Longest environment name.
pub const MAX_ENV_NAME: usize = 64;
/// Longest variable name.
pub const MAX_VAR_NAME: usize = 128;
/// Longest plain variable value.
pub const MAX_VALUE: usize = 32 * 1024;
/// Longest secret value: output is held back by up to this much while it may be one.
pub const MAX_SECRET: usize = 4 * 1024;
/// Shortest secret: shorter ones would mask ordinary words in output.
pub const MIN_SECRET: usize = 4;

/// One variable of an environment as a member sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvVar {
    pub name: String,
    pub secret: bool,
    /// The value of a plain variable; `None` for a secret (never sent once saved).
    pub value: Option<String>,
    /// Who last set it ("a former member" when the account is gone).
    pub set_by: String,
    /// When, in milliseconds since the epoch.
    pub set_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    pub id: i64,
    pub name: String,
    pub vars: Vec<EnvVar>,
}

/// A project's environments and what the asking member may change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Environments {
    pub list: Vec<Environment>,
    /// Editors and owners: plain variables.
    pub may_edit: bool,
    /// Owners: environments and secrets.
    pub may_manage: bool,
}

/// Why a name is refused, if it is: a letter or `_`, then letters, digits and `_`; not one
/// the sandbox sets itself.
pub fn var_name_problem(name: &str) -> Option<String> {
    let mut chars = name.chars();
    let shaped = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !shaped {
        return Some(
            "A variable name starts with a letter or _ and holds only letters, digits and _."
                .into(),
        );
    }
    if name.len() > MAX_VAR_NAME {
        return Some(format!(
            "A variable name is at most {MAX_VAR_NAME} characters."
        ));
    }
    if RESERVED.contains(&name) {
        return Some(format!(
            "{name} is set by the sandbox and cannot be changed."
        ));
    }
    None
}

/// Set by the sandbox itself (or dangerous to let a project set).
const RESERVED: [&str; 6] = [
    "PATH",
    "HOME",
    "USER",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "TANDEM_ENVIRONMENT",
];

/// Why an environment name is refused, if it is.
pub fn env_name_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > MAX_ENV_NAME {
        return Some(format!(
            "An environment name has 1 to {MAX_ENV_NAME} characters."
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Some("An environment name holds letters, digits, -, _ and . only.".into());
    }
    None
}

/// Why a value is refused, if it is.
pub fn value_problem(value: &str, secret: bool) -> Option<String> {
    if value.contains('\0') {
        return Some("A value cannot hold a NUL character.".into());
    }
    if secret {
        if value.chars().count() < MIN_SECRET {
            return Some(format!(
                "A secret has at least {MIN_SECRET} characters (shorter ones cannot be masked in output)."
            ));
        }
        if value.len() > MAX_SECRET {
            return Some(format!("A secret is at most {} KiB.", MAX_SECRET / 1024));
        }
    } else if value.len() > MAX_VALUE {
        return Some(format!("A value is at most {} KiB.", MAX_VALUE / 1024));
    }
    None
}

/// The project's environments (every member; values of plain variables, never of secrets).
#[server(endpoint = "envs/list", input = Json)]
pub async fn project_envs(project: ProjectId) -> Result<Environments, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Viewer).await?;
    let mut envs = ssr::envs()?.list(project).await?;
    envs.may_edit = ctx.role >= crate::types::Role::Editor;
    envs.may_manage = ctx.role == crate::types::Role::Owner;
    Ok(envs)
}

/// Creates an environment (owners).
#[server(endpoint = "envs/create", input = Json)]
pub async fn create_env(project: ProjectId, name: String) -> Result<i64, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Owner).await?;
    let name = name.trim().to_owned();
    if let Some(why) = env_name_problem(&name) {
        return Err(AppError::invalid("name", why));
    }
    let id = ssr::envs()?.create(project, &name, ctx.user.id).await?;
    ssr::audit(project, ctx.user.id, &name, "created").await;
    Ok(id)
}

/// Deletes an environment with its variables and secrets (owners).
#[server(endpoint = "envs/delete", input = Json)]
pub async fn delete_env(project: ProjectId, env: i64) -> Result<(), AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Owner).await?;
    let name = ssr::envs()?.delete(project, env).await?;
    ssr::audit(project, ctx.user.id, &name, "deleted").await;
    Ok(())
}

/// Sets a variable or a secret of an environment, replacing one of the same name. Plain
/// variables: editors; secrets (or replacing one): owners.
#[server(endpoint = "envs/set", input = Json)]
pub async fn set_env_var(
    project: ProjectId,
    env: i64,
    name: String,
    value: String,
    secret: bool,
) -> Result<(), AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Editor).await?;
    let name = name.trim().to_owned();
    if let Some(why) = var_name_problem(&name) {
        return Err(AppError::invalid("name", why));
    }
    if let Some(why) = value_problem(&value, secret) {
        return Err(AppError::invalid("value", why));
    }
    let owner = ctx.role == crate::types::Role::Owner;
    let envs = ssr::envs()?;
    let (env_name, was_secret) = envs
        .set(project, env, &name, &value, secret, ctx.user.id, owner)
        .await?;
    let what = match (secret, was_secret) {
        (true, Some(true)) => format!("replaced the secret {name}"),
        (true, _) => format!("set the secret {name}"),
        (false, Some(_)) => format!("changed the variable {name}"),
        (false, None) => format!("added the variable {name}"),
    };
    ssr::audit(project, ctx.user.id, &env_name, &what).await;
    Ok(())
}

/// Removes a variable (editors) or a secret (owners) from an environment.
#[server(endpoint = "envs/remove", input = Json)]
pub async fn remove_env_var(project: ProjectId, env: i64, name: String) -> Result<(), AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Editor).await?;
    let owner = ctx.role == crate::types::Role::Owner;
    let (env_name, secret) = ssr::envs()?.remove(project, env, &name, owner).await?;
    let what = format!(
        "removed the {} {name}",
        if secret { "secret" } else { "variable" }
    );
    ssr::audit(project, ctx.user.id, &env_name, &what).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_are_checked() {
        assert_eq!(var_name_problem("API_TOKEN"), None);
        assert_eq!(var_name_problem("_x1"), None);
        assert!(var_name_problem("1X").is_some());
        assert!(var_name_problem("A-B").is_some());
        assert!(var_name_problem("").is_some());
        assert!(var_name_problem("PATH").is_some());
        assert!(var_name_problem(&"A".repeat(MAX_VAR_NAME + 1)).is_some());
        assert_eq!(env_name_problem("staging-2.eu"), None);
        assert!(env_name_problem("").is_some());
        assert!(env_name_problem("a b").is_some());
        assert!(env_name_problem("<script>").is_some());
        assert_eq!(value_problem("", false), None);
        assert!(value_problem("abc", true).is_some(), "too short to mask");
        assert_eq!(value_problem("abcd", true), None);
        assert!(value_problem(&"x".repeat(MAX_SECRET + 1), true).is_some());
        assert!(value_problem(&"x".repeat(MAX_VALUE + 1), false).is_some());
        assert!(value_problem("a\0b", false).is_some());
    }
}
