//! Operator commands: `tandem migrate`, `tandem user add`, `tandem project add`. They use the same
//! validation and services as the web UI, so a script cannot create what the UI would refuse.

use std::io::BufRead;

use app::{types::UserId, validate};

use crate::{
    config::{Config, ProjectCommand, UserCommand},
    error::{Result, ServerError},
    prepare,
};

fn usage(e: app::AppError) -> ServerError {
    ServerError::Usage(e.to_string())
}

pub async fn migrate(config: Config) -> Result<()> {
    // `prepare` runs the migrations; report what the database is at.
    let state = prepare(config).await?;
    println!(
        "database migrated ({})",
        crate::db::migrate::backend_name(&state.db)
    );
    Ok(())
}

pub async fn user(config: Config, cmd: UserCommand) -> Result<()> {
    let UserCommand::Add { name } = cmd;
    let name = validate::username(&name).map_err(usage)?.to_owned();
    let mut password = String::new();
    std::io::stdin().lock().read_line(&mut password)?;
    let password = password.trim_end_matches(['\r', '\n']);
    validate::password(password, &name).map_err(usage)?;
    let state = prepare(config).await?;
    let user = state
        .services
        .accounts
        .sign_up(&name, password)
        .await
        .map_err(usage)?;
    println!("created user {} (id {})", user.name, user.id);
    Ok(())
}

pub async fn project(config: Config, cmd: ProjectCommand) -> Result<()> {
    let ProjectCommand::Add { name, owner } = cmd;
    let name = validate::project_name(&name).map_err(usage)?.to_owned();
    let state = prepare(config).await?;
    let accounts = crate::auth::AccountService::new(
        state.db.clone(),
        crate::auth::rate_limit::LoginLimiter::new(1, 1, std::time::Duration::ZERO),
    );
    let owner = accounts
        .find_by_name(&owner)
        .await?
        .ok_or_else(|| ServerError::Usage(format!("no user is called {owner:?}")))?;
    let project = state
        .services
        .projects
        .create(UserId(owner.id), &name)
        .await
        .map_err(usage)?;
    println!(
        "created project {} (id {}) owned by {}",
        project.name, project.id, owner.name
    );
    Ok(())
}
