//! Shared terminals: a shell in the project's sandbox (the one runs use), working in the
//! project's files. Every member watches it live with its scrollback; the member who opened it
//! types and may let other editors type too. Keystrokes and output travel on the project
//! channel (`ClientEvent::TermInput`, `ServerEvent::TermOutput`); opening, closing and granting
//! are server functions that check the role, then call the `TerminalService`.

use leptos::prelude::*;
use server_fn::codec::Json;

use crate::{
    error::AppError,
    types::{
        ProjectId, TermId, UserId,
        terminals::{TermInfo, TermReplay},
    },
};

#[cfg(feature = "browser")]
mod client;
pub mod scrollback;
#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
use crate::{
    audit::ssr::record as audit,
    types::audit::{AuditAction as Act, AuditTarget as On},
};

pub mod view;

pub use view::{TermState, TerminalView};

/// The project's open terminals with their scrollback, for a tab that opens the project,
/// reloads or resyncs.
#[server(endpoint = "terminals/now", input = Json)]
pub async fn terminals_now(project: ProjectId) -> Result<Vec<TermReplay>, AppError> {
    crate::projects::ssr::authorize(project, crate::types::Role::Viewer).await?;
    ssr::terminals()?.now(project).await
}

/// Opens a terminal (editors and owners), in one of the project's environments if named; the
/// opener types in it.
#[server(endpoint = "terminals/open", input = Json)]
pub async fn open_terminal(
    project: ProjectId,
    cols: u16,
    rows: u16,
    #[server(default)] environment: Option<String>,
) -> Result<TermInfo, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Editor).await?;
    let term = ssr::terminals()?
        .open(project, &ctx.user, cols, rows, environment)
        .await?;
    let on = On::Text(format!("terminal {}", term.id));
    let detail = term
        .environment
        .as_ref()
        .map(|e| format!("in {e}"))
        .unwrap_or_default();
    audit(project, ctx.user.id, Act::TerminalOpened, on, detail).await;
    Ok(term)
}

/// Closes a terminal (its opener or an owner): everything running in it is killed.
#[server(endpoint = "terminals/close", input = Json)]
pub async fn close_terminal(project: ProjectId, term: TermId) -> Result<(), AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Editor).await?;
    ssr::terminals()?
        .close(project, &ctx.user, ctx.role, term)
        .await?;
    let on = On::Text(format!("terminal {term}"));
    audit(project, ctx.user.id, Act::TerminalClosed, on, "").await;
    Ok(())
}

/// Lets `user` type in the terminal, or takes it back (its opener or an owner). Only editors
/// and owners can be given typing; viewers never type.
#[server(endpoint = "terminals/grant", input = Json)]
pub async fn grant_typing(
    project: ProjectId,
    term: TermId,
    user: UserId,
    on: bool,
) -> Result<TermInfo, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Editor).await?;
    ssr::terminals()?
        .grant(project, &ctx.user, ctx.role, term, user, on)
        .await
}
