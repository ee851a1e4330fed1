//! A project's AI settings: the owners' switches (inline completions; the assistant and its
//! code actions) and what the project's AI use came to (requests, tokens, time), shown to
//! owners on the settings page.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use server_fn::codec::Json;

use crate::{error::AppError, types::ProjectId};

#[cfg(feature = "ssr")]
pub mod ssr;
mod view;

pub use view::{AiData, AiSection, ai_data};

/// Days of use the settings page shows.
pub const USAGE_DAYS: i64 = 14;

/// What owners can turn off for their project (both on unless turned off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AiSwitches {
    /// Inline completions (ghost text).
    pub completions: bool,
    /// The chat assistant and the editor's code actions.
    pub assistant: bool,
}

impl Default for AiSwitches {
    fn default() -> Self {
        Self {
            completions: true,
            assistant: true,
        }
    }
}

/// One day's use of one kind (`chat`, `completion`, `suggestion`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageDay {
    /// Days since the Unix epoch (UTC).
    pub day: i64,
    pub kind: String,
    pub requests: i64,
    pub failures: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    /// The requests' summed time.
    pub latency_ms: i64,
}

/// The AI settings of a project as a member sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AiOverview {
    pub switches: AiSwitches,
    /// The server has an AI provider.
    pub provider: bool,
    /// The server offers inline completions (`--ai-completions`).
    pub server_completions: bool,
    /// The last [`USAGE_DAYS`] days, newest first (owners only; `None` for others).
    pub usage: Option<Vec<UsageDay>>,
}

/// What the settings page shows (every member; the use for owners only).
#[server(endpoint = "ai/overview", input = Json)]
pub async fn project_ai(project: ProjectId) -> Result<AiOverview, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Viewer).await?;
    ssr::ai()?
        .overview(project, ctx.role == crate::types::Role::Owner)
        .await
}

/// Turns the project's inline completions or assistant on or off (owners).
#[server(endpoint = "ai/switches", input = Json)]
pub async fn set_ai_switches(
    project: ProjectId,
    switches: AiSwitches,
) -> Result<AiSwitches, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Owner).await?;
    ssr::ai()?
        .set_switches(project, ctx.user.id, switches)
        .await?;
    let detail = format!(
        "completions {}, assistant {}",
        if switches.completions { "on" } else { "off" },
        if switches.assistant { "on" } else { "off" }
    );
    crate::audit::ssr::record(
        project,
        ctx.user.id,
        crate::types::audit::AuditAction::AiSettings,
        crate::types::audit::AuditTarget::None,
        detail,
    )
    .await;
    Ok(switches)
}

/// "1 200" style thousands for the usage table.
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1\u{202f}000");
        assert_eq!(grouped(-1_234_567), "-1\u{202f}234\u{202f}567");
    }
}
