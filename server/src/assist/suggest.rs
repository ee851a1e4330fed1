//! Shared suggestions on the server: a code action becomes a row (writing → open) that every
//! tab of the project sees as an overlay; the assistant's answer fills it in the background.
//! Accepting is a claim decided by the database (one conditional update, so two editors
//! clicking together get one winner, on one node or several), made only while the lines still
//! hold what the suggestion replaces in the server's copy of the document; the winner's tab
//! then applies it as that person's edit.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use app::{
    AppError, AppResult,
    editor::binding::CONTENT,
    live::events::ServerEvent,
    suggestions::{
        CodeAction, DiffLine, MAX_INSTRUCTION_CHARS, MAX_ORIGINAL_CHARS, MAX_OUTPUT_CHARS,
        MAX_UNDECIDED_PER_PROJECT, SuggestRequest, Suggestion, SuggestionId, SuggestionState,
        anchor, ssr::SuggestionService,
    },
    types::{DocId, FileId, ProjectId, UserId, UserInfo},
};
use async_trait::async_trait;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use yrs::{Doc, OffsetKind, Options, TextRef, Transact, Update, updates::decoder::Decode};

use super::prompt::{self, Target};
use crate::{
    chat::{
        Chat, NO_PROVIDER,
        ai::usage::{Kind, Outcome, Usage},
    },
    db::{
        entities::{suggestion as row, user},
        now,
    },
    editor::Editor,
    live::Hub,
    lock::lock,
};

const INTERRUPTED: &str = "The server restarted before the assistant finished.";
const NO_CHANGE: &str = "The assistant proposed no change.";

/// States nobody has decided on yet.
const UNDECIDED: [SuggestionState; 4] = [
    SuggestionState::Writing,
    SuggestionState::Open,
    SuggestionState::Stale,
    SuggestionState::Failed,
];

#[derive(Clone)]
pub struct Suggestions(Arc<Inner>);

struct Inner {
    db: DatabaseConnection,
    hub: Hub,
    editor: Editor,
    chat: Chat,
    /// Answers being written, so a rejection stops them (dropping the task closes the
    /// upstream request).
    writing: Mutex<HashMap<SuggestionId, tokio::task::AbortHandle>>,
    usage: Usage,
}

/// `original` → `replacement`, line by line.
fn diff_lines(original: &str, replacement: &str) -> Vec<DiffLine> {
    use similar::{ChangeTag, TextDiff};
    let diff = TextDiff::from_lines(original, replacement);
    diff.iter_all_changes()
        .map(|c| DiffLine {
            op: match c.tag() {
                ChangeTag::Equal => ' ',
                ChangeTag::Delete => '-',
                ChangeTag::Insert => '+',
            },
            text: c.value().trim_end_matches(['\n', '\r']).to_owned(),
        })
        .collect()
}

fn state_of(r: &row::Model) -> SuggestionState {
    SuggestionState::parse(&r.state).unwrap_or(SuggestionState::Failed)
}

/// The server's copy of a document's text, ready for anchors to be resolved in.
fn replica(state: &[u8]) -> Option<(Doc, TextRef)> {
    let doc = Doc::with_options(Options {
        offset_kind: OffsetKind::Utf16,
        ..Options::default()
    });
    let text = doc.get_or_insert_text(CONTENT);
    let update = Update::decode_v1(state).ok()?;
    doc.transact_mut().apply_update(update).ok()?;
    Some((doc, text))
}

/// Why a suggestion in `state` cannot be accepted (`by` decided it).
fn not_open(state: SuggestionState, by: Option<&str>) -> AppError {
    let who = by.unwrap_or("Someone");
    AppError::Conflict(match state {
        SuggestionState::Accepted => format!("{who} already accepted this suggestion."),
        SuggestionState::Rejected => format!("{who} rejected this suggestion."),
        SuggestionState::Stale => {
            "Its lines changed since it was made; it no longer applies.".into()
        }
        SuggestionState::Writing => "The assistant is still writing it.".into(),
        SuggestionState::Failed => "The assistant could not make this suggestion.".into(),
        SuggestionState::Open => "This suggestion is open.".into(),
    })
}

impl Suggestions {
    /// Suggestions cut off by a restart are marked failed, since nothing will finish them.
    pub async fn new(
        db: DatabaseConnection,
        hub: Hub,
        editor: Editor,
        chat: Chat,
        usage: Usage,
    ) -> crate::error::Result<Self> {
        row::Entity::update_many()
            .col_expr(row::Column::State, SuggestionState::Failed.as_str().into())
            .col_expr(row::Column::Error, INTERRUPTED.into())
            .filter(row::Column::State.eq(SuggestionState::Writing.as_str()))
            .exec(&db)
            .await?;
        Ok(Self(Arc::new(Inner {
            db,
            hub,
            editor,
            chat,
            writing: Mutex::new(HashMap::new()),
            usage,
        })))
    }

    async fn row(&self, project: ProjectId, id: SuggestionId) -> AppResult<row::Model> {
        row::Entity::find_by_id(id.0)
            .filter(row::Column::ProjectId.eq(project.0))
            .one(&self.0.db)
            .await?
            .ok_or_else(|| AppError::NotFound("Suggestion".into()))
    }

    async fn names(&self, rows: &[row::Model]) -> AppResult<HashMap<i64, String>> {
        let mut ids: Vec<i64> = rows
            .iter()
            .flat_map(|r| [Some(r.author_id), r.decided_by])
            .flatten()
            .collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(user::Entity::find()
            .filter(user::Column::Id.is_in(ids))
            .all(&self.0.db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.name))
            .collect())
    }

    fn render(r: &row::Model, names: &HashMap<i64, String>) -> Suggestion {
        let state = state_of(r);
        let name = |id: i64| names.get(&id).cloned().unwrap_or_default();
        Suggestion {
            id: SuggestionId(r.id),
            file: FileId(r.file_id),
            doc: DocId(r.document_id),
            author: UserId(r.author_id),
            author_name: name(r.author_id),
            action: CodeAction::parse(&r.action).unwrap_or(CodeAction::Refactor),
            instruction: r.instruction.clone(),
            start: r.start_anchor.clone(),
            end: r.end_anchor.clone(),
            first_line: u32::try_from(r.first_line).unwrap_or(1),
            last_line: u32::try_from(r.last_line).unwrap_or(1),
            original: r.original.clone(),
            replacement: r.replacement.clone(),
            lines: if matches!(state, SuggestionState::Writing | SuggestionState::Failed) {
                Vec::new()
            } else {
                diff_lines(&r.original, &r.replacement)
            },
            state,
            decided_by: r.decided_by.map(name),
            error: r.error.clone(),
            created_at: r.created_at,
        }
    }

    async fn one(&self, r: &row::Model) -> AppResult<Suggestion> {
        let names = self.names(std::slice::from_ref(r)).await?;
        Ok(Self::render(r, &names))
    }

    /// Reads the row again and tells every tab of the project its state.
    async fn announce(&self, project: ProjectId, id: SuggestionId) -> AppResult<Suggestion> {
        let s = self.one(&self.row(project, id).await?).await?;
        self.0.hub.publish(
            project,
            &ServerEvent::Suggestion {
                suggestion: Box::new(s.clone()),
            },
        );
        Ok(s)
    }

    /// Moves a suggestion from `from` to `to` (decided by `by`), if it is still in `from`.
    async fn transition(
        &self,
        id: SuggestionId,
        from: SuggestionState,
        to: SuggestionState,
        by: Option<UserId>,
    ) -> AppResult<bool> {
        let done = row::Entity::update_many()
            .col_expr(row::Column::State, to.as_str().into())
            .col_expr(row::Column::DecidedBy, by.map(|u| u.0).into())
            .col_expr(row::Column::DecidedAt, by.map(|_| now()).into())
            .filter(row::Column::Id.eq(id.0))
            .filter(row::Column::State.eq(from.as_str()))
            .exec(&self.0.db)
            .await?;
        Ok(done.rows_affected == 1)
    }

    /// The document's text and where the pinned range is in it now: `(text, from, to)`.
    async fn locate(
        &self,
        doc: DocId,
        start: Vec<u8>,
        end: Vec<u8>,
    ) -> AppResult<Option<(String, u32, u32)>> {
        let state = self.0.editor.state(doc).await?;
        crate::error::blocking(move || {
            let (d, text) = replica(&state)?;
            let txn = d.transact();
            let (from, to) = anchor::resolve(&txn, &start, &end)?;
            Some((yrs::GetString::get_string(&text, &txn), from, to))
        })
        .await
    }

    /// Pins lines `first..=last` (1-based) of the server's copy of `doc`.
    async fn pin_lines(
        &self,
        doc: DocId,
        (first, last): (u32, u32),
    ) -> AppResult<Option<(Vec<u8>, Vec<u8>)>> {
        let state = self.0.editor.state(doc).await?;
        crate::error::blocking(move || {
            let (d, text) = replica(&state)?;
            let txn = d.transact();
            let (from, to) =
                anchor::lines_range(&yrs::GetString::get_string(&text, &txn), first, last);
            anchor::pin(&txn, &text, from, to)
        })
        .await
    }

    /// Whether the pinned lines still hold `original` in the server's copy.
    async fn still_fits(&self, r: &row::Model) -> AppResult<bool> {
        let found = self
            .locate(
                DocId(r.document_id),
                r.start_anchor.clone(),
                r.end_anchor.clone(),
            )
            .await?;
        Ok(found.is_some_and(|(text, from, to)| {
            anchor::slice_utf16(&text, from, to) == Some(r.original.as_str())
        }))
    }

    /// Asks the provider in the background; the answer opens the suggestion (or fails it).
    fn spawn_answer(
        &self,
        project: ProjectId,
        id: SuggestionId,
        messages: Vec<crate::chat::ai::PromptMessage>,
        original: String,
    ) {
        let this = self.clone();
        let Some(provider) = self.0.chat.ai() else {
            return;
        };
        let task = tokio::spawn(async move {
            let mut answer = String::new();
            let started = std::time::Instant::now();
            let outcome = provider.stream(&messages, |d| answer.push_str(d)).await;
            let sent: usize = messages.iter().map(|m| m.content.chars().count()).sum();
            this.0.usage.record(
                project,
                Kind::Suggestion,
                Outcome::estimated(
                    outcome.is_ok(),
                    outcome.as_ref().ok().copied().flatten(),
                    sent,
                    answer.chars().count(),
                    started.elapsed(),
                ),
            );
            let (state, replacement, error) = match outcome {
                Ok(_) => {
                    let r = prompt::replacement(&answer);
                    if r == original || r.trim().is_empty() {
                        (
                            SuggestionState::Failed,
                            String::new(),
                            Some(NO_CHANGE.to_owned()),
                        )
                    } else {
                        (SuggestionState::Open, r, None)
                    }
                }
                Err(e) => {
                    tracing::warn!(suggestion = id.0, error = %e, "AI suggestion failed");
                    (SuggestionState::Failed, String::new(), Some(e.public()))
                }
            };
            // A suggestion rejected meanwhile stays rejected.
            let stored = row::Entity::update_many()
                .col_expr(row::Column::State, state.as_str().into())
                .col_expr(row::Column::Replacement, replacement.into())
                .col_expr(row::Column::Error, error.into())
                .filter(row::Column::Id.eq(id.0))
                .filter(row::Column::State.eq(SuggestionState::Writing.as_str()))
                .exec(&this.0.db)
                .await;
            lock(&this.0.writing).remove(&id);
            match stored {
                Ok(r) if r.rows_affected == 1 => {
                    if let Err(e) = this.announce(project, id).await {
                        tracing::error!(suggestion = id.0, error = %e, "cannot announce a suggestion");
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(suggestion = id.0, error = %e, "cannot store a suggestion")
                }
            }
        });
        lock(&self.0.writing).insert(id, task.abort_handle());
    }
}

#[async_trait]
impl SuggestionService for Suggestions {
    async fn list(&self, project: ProjectId) -> AppResult<Vec<Suggestion>> {
        let rows = row::Entity::find()
            .filter(row::Column::ProjectId.eq(project.0))
            .filter(row::Column::State.is_in(UNDECIDED.map(SuggestionState::as_str)))
            .order_by_asc(row::Column::Id)
            .all(&self.0.db)
            .await?;
        let names = self.names(&rows).await?;
        Ok(rows.iter().map(|r| Self::render(r, &names)).collect())
    }

    async fn ask(
        &self,
        project: ProjectId,
        by: &UserInfo,
        request: SuggestRequest,
    ) -> AppResult<Suggestion> {
        let provider = self
            .0
            .chat
            .ai()
            .ok_or_else(|| AppError::Unavailable(NO_PROVIDER.into()))?;
        let instruction = request
            .instruction
            .as_deref()
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .map(str::to_owned);
        match (&instruction, request.action) {
            (None, CodeAction::Refactor) => {
                return Err(AppError::invalid(
                    "instruction",
                    "Say how the code should change.",
                ));
            }
            (Some(i), _) if i.chars().count() > MAX_INSTRUCTION_CHARS => {
                return Err(AppError::invalid(
                    "instruction",
                    format!("Keep the request under {MAX_INSTRUCTION_CHARS} characters."),
                ));
            }
            _ => {}
        }
        // The end of a run's output is where its error is.
        let output = request.output.as_deref().map(|o| {
            let skip = o.chars().count().saturating_sub(MAX_OUTPUT_CHARS);
            o.chars().skip(skip).collect::<String>()
        });
        let snap = crate::files::tree::snapshot(&self.0.db, project).await?;
        let file = snap
            .rows
            .get(&request.file)
            .filter(|_| snap.is_live(request.file))
            .ok_or_else(|| AppError::NotFound("File".into()))?;
        let doc = file
            .document_id
            .map(DocId)
            .ok_or_else(|| AppError::invalid("file", "This file has no text to change."))?;
        let path = snap.path(request.file).unwrap_or_else(|| file.name.clone());
        let language = app::editor::lang::language_for(&file.name);
        let undecided = row::Entity::find()
            .filter(row::Column::ProjectId.eq(project.0))
            .filter(row::Column::State.is_in(UNDECIDED.map(SuggestionState::as_str)))
            .count(&self.0.db)
            .await?;
        if undecided >= MAX_UNDECIDED_PER_PROJECT as u64 {
            return Err(AppError::Conflict(format!(
                "This project has {MAX_UNDECIDED_PER_PROJECT} suggestions nobody has decided \
                 on; accept, reject or dismiss some first."
            )));
        }
        // Lines given by number (Fix from a run's output) are pinned here, in the server's copy.
        let (start, end) = match (
            request.start.is_empty() && request.end.is_empty(),
            request.lines,
        ) {
            (false, _) => (request.start, request.end),
            (true, Some(lines)) => self
                .pin_lines(doc, lines)
                .await?
                .ok_or_else(|| AppError::invalid("lines", "These lines are not in the file."))?,
            (true, None) => {
                return Err(AppError::invalid(
                    "start",
                    "Select the code to change first.",
                ));
            }
        };
        let (text, from, to) = self
            .locate(doc, start.clone(), end.clone())
            .await?
            .ok_or_else(|| {
                AppError::Conflict(
                    "Your latest edits have not reached the server yet; try again once the \
                     file says Saved."
                        .into(),
                )
            })?;
        let original = anchor::slice_utf16(&text, from, to)
            .ok_or_else(|| AppError::invalid("start", "These lines cannot be read."))?
            .to_owned();
        if original.trim().is_empty() {
            return Err(AppError::invalid(
                "start",
                "Select the code to change first.",
            ));
        }
        if original.chars().count() > MAX_ORIGINAL_CHARS {
            return Err(AppError::invalid(
                "start",
                format!("Select at most {MAX_ORIGINAL_CHARS} characters for one suggestion."),
            ));
        }
        self.0.chat.may_ask(project, by.id).await?;
        let (first_line, last_line) = (anchor::line_of(&text, from), anchor::line_of(&text, to));
        let messages = prompt::build(
            request.action,
            instruction.as_deref(),
            output.as_deref(),
            &Target {
                path: &path,
                language,
                text: &text,
                first_line,
                last_line,
                original: &original,
            },
            provider.config().context_chars,
        );
        let r = row::ActiveModel {
            project_id: Set(project.0),
            file_id: Set(request.file.0),
            document_id: Set(doc.0),
            author_id: Set(by.id.0),
            action: Set(request.action.as_str().to_owned()),
            instruction: Set(instruction),
            start_anchor: Set(start),
            end_anchor: Set(end),
            first_line: Set(i64::from(first_line)),
            last_line: Set(i64::from(last_line)),
            original: Set(original.clone()),
            replacement: Set(String::new()),
            state: Set(SuggestionState::Writing.as_str().to_owned()),
            error: Set(None),
            decided_by: Set(None),
            created_at: Set(now()),
            decided_at: Set(None),
            ..Default::default()
        }
        .insert(&self.0.db)
        .await?;
        let id = SuggestionId(r.id);
        let s = self.announce(project, id).await?;
        self.spawn_answer(project, id, messages, original);
        Ok(s)
    }

    async fn accept(
        &self,
        project: ProjectId,
        by: &UserInfo,
        id: SuggestionId,
    ) -> AppResult<Suggestion> {
        let r = self.row(project, id).await?;
        let state = state_of(&r);
        if state != SuggestionState::Open {
            let names = self.names(std::slice::from_ref(&r)).await?;
            let who = r.decided_by.and_then(|u| names.get(&u).cloned());
            return Err(not_open(state, who.as_deref()));
        }
        if !self.still_fits(&r).await? {
            if self
                .transition(
                    id,
                    SuggestionState::Open,
                    SuggestionState::Stale,
                    Some(by.id),
                )
                .await?
            {
                self.announce(project, id).await?;
            }
            return Err(not_open(SuggestionState::Stale, None));
        }
        if !self
            .transition(
                id,
                SuggestionState::Open,
                SuggestionState::Accepted,
                Some(by.id),
            )
            .await?
        {
            // Someone else's claim won between the read and the update.
            let r = self.row(project, id).await?;
            let names = self.names(std::slice::from_ref(&r)).await?;
            let who = r.decided_by.and_then(|u| names.get(&u).cloned());
            return Err(not_open(state_of(&r), who.as_deref()));
        }
        self.announce(project, id).await
    }

    async fn reject(
        &self,
        project: ProjectId,
        by: &UserInfo,
        id: SuggestionId,
    ) -> AppResult<Suggestion> {
        let r = self.row(project, id).await?;
        let state = state_of(&r);
        if !UNDECIDED.contains(&state)
            || !self
                .transition(id, state, SuggestionState::Rejected, Some(by.id))
                .await?
        {
            let r = self.row(project, id).await?;
            let names = self.names(std::slice::from_ref(&r)).await?;
            let who = r.decided_by.and_then(|u| names.get(&u).cloned());
            return Err(not_open(state_of(&r), who.as_deref()));
        }
        if let Some(task) = lock(&self.0.writing).remove(&id) {
            task.abort();
        }
        self.announce(project, id).await
    }

    async fn release(
        &self,
        project: ProjectId,
        by: &UserInfo,
        id: SuggestionId,
    ) -> AppResult<Suggestion> {
        let r = self.row(project, id).await?;
        if state_of(&r) != SuggestionState::Accepted || r.decided_by != Some(by.id.0) {
            return Err(AppError::Conflict(
                "Only whoever accepted a suggestion can give it back.".into(),
            ));
        }
        self.transition(
            id,
            SuggestionState::Accepted,
            SuggestionState::Stale,
            Some(by.id),
        )
        .await?;
        self.announce(project, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffs_are_by_line() {
        let d = diff_lines("fn f() {}", "/// Docs.\nfn f() {}");
        let ops: Vec<(char, &str)> = d.iter().map(|l| (l.op, l.text.as_str())).collect();
        assert_eq!(ops, [('+', "/// Docs."), (' ', "fn f() {}")]);
        let d = diff_lines("a\nb", "a\nc");
        let ops: Vec<char> = d.iter().map(|l| l.op).collect();
        assert_eq!(ops, [' ', '-', '+']);
    }
}
