//! Code actions whose result is a *shared suggestion*: someone asks the assistant to document,
//! refactor or fix some lines; the proposed change appears over those lines in every editor of
//! the file, with who asked; any editor accepts it (applied in their tab as one edit of theirs,
//! one undo step) or rejects it. The server decides who accepts first and refuses a suggestion
//! whose lines changed since it was made.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use server_fn::codec::Json;

use crate::{
    error::AppError,
    types::{FileId, ProjectId},
};

pub mod anchor;
#[cfg(feature = "ssr")]
pub mod ssr;
mod view;

pub use crate::types::suggestions::{
    CodeAction, DiffLine, Suggestion, SuggestionId, SuggestionState,
};
pub use view::{Pinned, SuggestionBar, Suggestions};

/// Most characters a suggestion may replace (select less for more).
pub const MAX_ORIGINAL_CHARS: usize = 8_000;
/// Most characters of a Refactor… instruction.
pub const MAX_INSTRUCTION_CHARS: usize = 1_000;
/// Most characters of a failing run's output sent along with Fix (its end is kept).
pub const MAX_OUTPUT_CHARS: usize = 4_000;
/// Suggestions a project may have that nobody has decided on yet (writing, open, stale or
/// failed); reject (dismiss) some to ask for more.
pub const MAX_UNDECIDED_PER_PROJECT: usize = 50;

/// A code action on some lines of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuggestRequest {
    pub file: FileId,
    pub action: CodeAction,
    /// What to change (Refactor…).
    pub instruction: Option<String>,
    /// The lines, pinned in the asker's copy of the document (see [`anchor::pin`]); the
    /// server reads their text from its own copy.
    pub start: Vec<u8>,
    pub end: Vec<u8>,
    /// The end of a failing run's output (Fix from the run panel).
    pub output: Option<String>,
    /// Instead of pinned lines (`start` and `end` empty): these lines, 1-based and inclusive,
    /// which the server pins in its own copy. Fix from the run panel uses it: the error's
    /// place comes from the output, not from a selection in an editor.
    #[serde(default)]
    pub lines: Option<(u32, u32)>,
}

/// The suggestions of a project nobody has decided on yet, oldest first. Every member sees
/// them.
#[server(endpoint = "suggestions/list", input = Json)]
pub async fn list_suggestions(project: ProjectId) -> Result<Vec<Suggestion>, AppError> {
    crate::projects::ssr::authorize(project, crate::types::Role::Viewer).await?;
    ssr::suggestions()?.list(project).await
}

/// Asks the assistant for a change to some lines; the suggestion (writing, then open) goes to
/// every tab of the project. Editors only: nothing is sent to the provider for a viewer.
#[server(endpoint = "suggestions/ask", input = Json)]
pub async fn suggest(project: ProjectId, request: SuggestRequest) -> Result<Suggestion, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Editor).await?;
    crate::projects::ai::ssr::ai()?
        .assistant_on(project)
        .await?;
    let detail = format!("{} (suggestion)", request.action.as_str());
    let s = ssr::suggestions()?.ask(project, &ctx.user, request).await?;
    crate::audit::ssr::record(
        project,
        ctx.user.id,
        crate::types::audit::AuditAction::AiRequest,
        crate::types::audit::AuditTarget::File(s.file),
        detail,
    )
    .await;
    Ok(s)
}

/// Claims a suggestion for the caller, who then applies it in their tab. Only one claim
/// succeeds; a suggestion whose lines changed is marked stale instead.
#[server(endpoint = "suggestions/accept", input = Json)]
pub async fn accept_suggestion(
    project: ProjectId,
    id: SuggestionId,
) -> Result<Suggestion, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Editor).await?;
    let s = ssr::suggestions()?.accept(project, &ctx.user, id).await?;
    crate::audit::ssr::record(
        project,
        ctx.user.id,
        crate::types::audit::AuditAction::SuggestionAccepted,
        crate::types::audit::AuditTarget::File(s.file),
        format!("by {}, {}", s.author_name, s.action.as_str()),
    )
    .await;
    Ok(s)
}

/// Rejects an open suggestion, or dismisses a stale or failed one.
#[server(endpoint = "suggestions/reject", input = Json)]
pub async fn reject_suggestion(
    project: ProjectId,
    id: SuggestionId,
) -> Result<Suggestion, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Editor).await?;
    ssr::suggestions()?.reject(project, &ctx.user, id).await
}

/// The caller claimed a suggestion but its lines changed in their tab before it could be
/// applied: it is marked stale (only by whoever claimed it).
#[server(endpoint = "suggestions/release", input = Json)]
pub async fn release_suggestion(
    project: ProjectId,
    id: SuggestionId,
) -> Result<Suggestion, AppError> {
    let ctx = crate::projects::ssr::authorize(project, crate::types::Role::Editor).await?;
    ssr::suggestions()?.release(project, &ctx.user, id).await
}
