//! Running code together: a project's run configurations (`tandem.toml`, or detected from the
//! open file), runs started by editors and owners in the server's sandbox, their output live
//! on the project channel for every member, a bounded replay for members who arrive mid-run,
//! and the run history. Server-fn bodies check the role; the `RunService` does the rest.

use leptos::prelude::*;
use server_fn::codec::Json;

use crate::{
    error::AppError,
    types::{
        FileId, ProjectId, RunId,
        runs::{RunConfigs, RunInfo, RunRecord, RunReplay, RunTarget},
    },
};

pub mod ansi;
pub mod links;
pub mod model;
#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
use crate::{
    audit::ssr::record as audit,
    types::audit::{AuditAction as Act, AuditTarget as On},
};

mod view;

pub use view::{RunPanel, RunState};

/// Longest line a member may send to a program's input.
pub const MAX_STDIN: usize = 8 * 1024;
/// Runs listed in the history.
pub const HISTORY_SIZE: u64 = 50;

/// What the Run picker offers for the project (and the open file, for detection).
#[server(endpoint = "runs/configs", input = Json)]
pub async fn list_run_configs(
    project: ProjectId,
    file: Option<FileId>,
) -> Result<RunConfigs, AppError> {
    crate::projects::ssr::authorize(project, crate::types::Role::Viewer).await?;
    ssr::runs()?.configs(project, file).await
}

/// Starts a run (editors and owners), in one of the project's environments if named. With
/// `restart`, a run of the same configuration that is still going is stopped first; without
/// it, that is refused.
#[server(endpoint = "runs/start", input = Json)]
pub async fn start_run(
    project: ProjectId,
    target: RunTarget,
    restart: bool,
    #[server(default)] environment: Option<String>,
) -> Result<RunInfo, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Editor).await?;
    let run = ssr::runs()?
        .start(project, &ctx.user, target, restart, environment)
        .await?;
    let mut detail = format!("run {}: {}", run.id, run.command);
    if let Some(env) = &run.environment {
        detail.push_str(&format!(" (in {env})"));
    }
    audit(
        project,
        ctx.user.id,
        Act::RunStarted,
        On::Text(run.name.clone()),
        detail,
    )
    .await;
    Ok(run)
}

/// Stops a run: SIGTERM to everything in its sandbox, SIGKILL after the grace period.
#[server(endpoint = "runs/stop", input = Json)]
pub async fn stop_run(project: ProjectId, run: RunId) -> Result<(), AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Editor).await?;
    ssr::runs()?.stop(project, &ctx.user, run).await?;
    let on = On::Text(format!("run {run}"));
    audit(project, ctx.user.id, Act::RunStopped, on, "").await;
    Ok(())
}

/// Sends a line (a newline is added) to a run's input; everyone sees it echoed.
#[server(endpoint = "runs/stdin", input = Json)]
pub async fn run_stdin(project: ProjectId, run: RunId, line: String) -> Result<(), AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Editor).await?;
    if line.len() > MAX_STDIN {
        return Err(AppError::invalid(
            "line",
            format!("an input line holds at most {MAX_STDIN} bytes"),
        ));
    }
    ssr::runs()?.stdin(project, &ctx.user, run, line).await
}

/// The project's running runs with their output so far (bounded), for a tab that opens the
/// project or resyncs.
#[server(endpoint = "runs/now", input = Json)]
pub async fn runs_now(project: ProjectId) -> Result<Vec<RunReplay>, AppError> {
    crate::projects::ssr::authorize(project, crate::types::Role::Viewer).await?;
    ssr::runs()?.now(project).await
}

/// The latest runs of the project, newest first.
#[server(endpoint = "runs/history", input = Json)]
pub async fn run_history(project: ProjectId) -> Result<Vec<RunInfo>, AppError> {
    crate::projects::ssr::authorize(project, crate::types::Role::Viewer).await?;
    ssr::runs()?.history(project).await
}

/// One finished run with the tail of its output.
#[server(endpoint = "runs/record", input = Json)]
pub async fn get_run_record(project: ProjectId, run: RunId) -> Result<RunRecord, AppError> {
    crate::projects::ssr::authorize(project, crate::types::Role::Viewer).await?;
    ssr::runs()?.record(project, run).await
}

/// Lets runs of the project use the network, or takes that away (owners).
#[server(endpoint = "runs/network", input = Json)]
pub async fn set_run_network(project: ProjectId, on: bool) -> Result<(), AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Owner).await?;
    ssr::runs()?.set_network(project, &ctx.user, on).await
}
