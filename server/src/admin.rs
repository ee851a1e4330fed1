//! Operator commands: `tandem migrate`, `tandem user add|password|admin`, `tandem project add`,
//! `tandem token`. They use the same validation and services as the web UI, so a script cannot
//! create what the UI would refuse.

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

/// Looks a user up by name for an operator command (no login, so no rate limit applies).
async fn find_user(
    state: &crate::http::AppState,
    name: &str,
) -> Result<crate::db::entities::user::Model> {
    state
        .accounts
        .find_by_name(name)
        .await?
        .ok_or_else(|| ServerError::Usage(format!("no user is called {name:?}")))
}

/// The services for an operator command: everything but the `--dir` folders, which are the
/// serving process's to bind (and may need the very account the command creates).
async fn open(mut config: Config) -> Result<crate::http::AppState> {
    config.files.dirs.clear();
    prepare(config).await
}

/// The first line of standard input, checked as a password for `name`.
fn read_password(name: &str) -> Result<String> {
    let mut password = String::new();
    std::io::stdin().lock().read_line(&mut password)?;
    let password = password.trim_end_matches(['\r', '\n']).to_owned();
    validate::password(&password, name).map_err(usage)?;
    Ok(password)
}

pub async fn migrate(config: Config) -> Result<()> {
    // `prepare` runs the migrations; report what the database is at.
    let state = open(config).await?;
    println!(
        "database migrated ({})",
        crate::db::migrate::backend_name(&state.db)
    );
    Ok(())
}

pub async fn user(config: Config, cmd: UserCommand) -> Result<()> {
    match cmd {
        UserCommand::Add { name } => {
            let name = validate::username(&name).map_err(usage)?.to_owned();
            let password = read_password(&name)?;
            let state = open(config).await?;
            // Not `sign_up`: the operator may add accounts whatever `--signup` says.
            let user = state
                .accounts
                .create_user(&name, &password)
                .await
                .map_err(usage)?;
            println!("created user {} (id {})", user.name, user.id);
        }
        UserCommand::Password { name } => {
            let state = open(config).await?;
            let user = find_user(&state, &name).await?;
            let password = read_password(&user.name)?;
            let ended = state
                .accounts
                .set_password(UserId(user.id), &password, None)
                .await
                .map_err(usage)?;
            println!(
                "set the password of {} and ended {ended} session(s)",
                user.name
            );
        }
        UserCommand::Admin { name, off } => {
            let state = open(config).await?;
            let user = find_user(&state, &name).await?;
            state
                .accounts
                .set_admin(UserId(user.id), !off)
                .await
                .map_err(usage)?;
            println!(
                "{} {} open server folders as projects",
                user.name,
                if off { "may no longer" } else { "may now" }
            );
        }
    }
    Ok(())
}

pub async fn project(config: Config, cmd: ProjectCommand) -> Result<()> {
    let ProjectCommand::Add { name, owner } = cmd;
    let name = validate::project_name(&name).map_err(usage)?.to_owned();
    let state = open(config).await?;
    let owner = find_user(&state, &owner).await?;
    let project = state
        .membership
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

/// `30m`, `1h`, `2d`, `90s` or plain seconds.
fn parse_ttl(raw: &str) -> Result<i64> {
    let raw = raw.trim();
    let (digits, unit) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len()));
    let n: i64 = digits
        .parse()
        .map_err(|_| ServerError::Usage(format!("bad --ttl {raw:?}; use e.g. 30m, 1h, 2d")))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => {
            return Err(ServerError::Usage(format!(
                "bad --ttl unit in {raw:?}; use s, m, h or d"
            )));
        }
    };
    if !(1..=30 * 86_400).contains(&secs) {
        return Err(ServerError::Usage(
            "--ttl must be between 1 second and 30 days".into(),
        ));
    }
    Ok(secs)
}

pub async fn token(
    config: Config,
    user: String,
    project: i64,
    doc: String,
    ttl: String,
) -> Result<()> {
    use crate::editor::{DocRef, token};
    let ttl = parse_ttl(&ttl)?;
    let doc = DocRef::parse(&doc).map_err(usage)?;
    let bind = config.bind;
    let state = open(config).await?;
    let found = find_user(&state, &user).await?;
    let (doc_id, project, role) = state
        .editor
        .resolve(
            &doc,
            Some(app::types::ProjectId(project)),
            UserId(found.id),
            state.membership.projects.as_ref(),
        )
        .await
        .map_err(usage)?;
    let claims = token::Claims {
        u: found.id,
        p: project.0,
        d: doc_id.0,
        exp: crate::db::now() + ttl,
    };
    let signed = token::sign(state.editor.secret(), &claims);
    println!("{signed}");
    eprintln!(
        "{} may {} document {} of project {} for {ttl} s: ws://{bind}/yjs/{}?token=<token>",
        found.name,
        if role >= app::types::Role::Editor {
            "edit"
        } else {
            "read"
        },
        doc_id.0,
        project.0,
        doc_id.0
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn ttl_units() {
        assert_eq!(super::parse_ttl("90").ok(), Some(90));
        assert_eq!(super::parse_ttl("30m").ok(), Some(1800));
        assert_eq!(super::parse_ttl("1h").ok(), Some(3600));
        assert_eq!(super::parse_ttl("2d").ok(), Some(172_800));
        for bad in ["", "h", "0s", "1y", "31d", "-5m"] {
            assert!(super::parse_ttl(bad).is_err(), "{bad}");
        }
    }
}
