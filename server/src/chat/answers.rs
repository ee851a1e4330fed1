//! The assistant's side of the chat: asking (question and answer rows in one transaction),
//! the prompt with the asker's file as context, and the task that streams an answer in.

use std::sync::{Arc, Mutex};

use app::{
    AppError, AppResult,
    chat::{AiRequest, AiState, AiTask, AskReply, ChatMessage, MAX_SELECTION_CHARS},
    live::events::ServerEvent,
    types::{DocId, FileId, MessageId, ProjectId, Role, UserId, UserInfo},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, SqlErr,
    TransactionTrait,
};
use tokio::sync::oneshot;

use super::ai::{
    PromptMessage,
    prompt::{Context, FileContext, Recent, Shown},
};
use super::lookup::Lookup;

use crate::db::entities::chat_message as row;

use super::{
    Chat, KIND_AI, KIND_USER, NO_PROVIDER, RECENT_MESSAGES, ai, check_client_id, queries::state_str,
};
use crate::lock::lock;

pub(super) struct Answer {
    pub(super) stop: Option<oneshot::Sender<()>>,
    /// The text so far, for history pages read mid-answer.
    pub(super) text: Arc<Mutex<String>>,
}

/// Longest a question waits for its project lookups.
const LOOKUP_TIME: std::time::Duration = std::time::Duration::from_secs(4);

/// The answer's idempotency key, derived from the question's (`:` never occurs in those).
pub(super) fn answer_key(client_id: &str) -> String {
    format!("{client_id}:ai")
}

impl Chat {
    /// A question and its answer, both asked by `by`.
    pub(super) async fn ask_reply(
        &self,
        project: ProjectId,
        question: row::Model,
        answer: row::Model,
        by: &UserInfo,
    ) -> AppResult<AskReply> {
        let mut both = self
            .messages(project, &[question, answer], Some(by))
            .await?
            .into_iter();
        match (both.next(), both.next()) {
            (Some(question), Some(answer)) => Ok(AskReply { question, answer }),
            _ => Err(crate::error::bug(
                "an asked question or its answer row did not render",
            )),
        }
    }

    pub(super) fn provider(&self) -> AppResult<&ai::Provider> {
        self.0
            .provider
            .as_ref()
            .ok_or_else(|| AppError::Unavailable(NO_PROVIDER.into()))
    }

    /// The live text of `file` (a text file of the snapshot's project); `None` for binaries.
    pub(super) async fn file_text(
        &self,
        snap: &crate::files::tree::Snapshot,
        file: FileId,
    ) -> AppResult<Option<String>> {
        let Some(r) = snap.rows.get(&file) else {
            return Err(AppError::NotFound("File".into()));
        };
        let Some(doc) = r.document_id.filter(|_| snap.is_live(file)) else {
            return Ok(None);
        };
        let state = self.0.editor.state(DocId(doc)).await?;
        let text = crate::error::blocking(move || crate::files::text::text_of(&state))
            .await?
            .map_err(|e| {
                tracing::error!(doc, error = %e, "unreadable document");
                AppError::Internal
            })?;
        Ok(Some(text))
    }

    pub(super) async fn file_context(
        &self,
        project: ProjectId,
        file: FileId,
        line: Option<u32>,
    ) -> AppResult<Option<FileContext>> {
        let snap = crate::files::tree::snapshot(&self.0.db, project).await?;
        let Some(text) = self.file_text(&snap, file).await? else {
            return Ok(None);
        };
        let name = snap
            .rows
            .get(&file)
            .map(|r| r.name.clone())
            .unwrap_or_default();
        Ok(Some(FileContext {
            file,
            path: snap.path(file).unwrap_or_else(|| name.clone()),
            language: app::editor::lang::language_for(&name),
            text,
            line,
        }))
    }

    /// The prompt for a request and what it shows. A free question first looks the names
    /// and files it mentions up in the project, within half the budget; the asker's open
    /// file gets the rest.
    pub(super) async fn prompt(
        &self,
        project: ProjectId,
        request: &AiRequest,
        budget: usize,
    ) -> AppResult<(Vec<PromptMessage>, Shown)> {
        let file = match request.context.file {
            Some(id) => self.file_context(project, id, request.context.line).await?,
            None => None,
        };
        let selection: Option<String> = request
            .context
            .selection
            .as_ref()
            .map(|s| s.chars().take(MAX_SELECTION_CHARS).collect());
        let lookup = match &request.task {
            // A slow search must not hold the question: answer without it, and say so.
            AiTask::Ask(q) => {
                match tokio::time::timeout(LOOKUP_TIME, self.look_up(project, q, budget / 2)).await
                {
                    Ok(found) => found?,
                    Err(_) => Lookup {
                        left_out: vec![format!(
                            "the project search (it took longer than {} s)",
                            LOOKUP_TIME.as_secs()
                        )],
                        ..Lookup::default()
                    },
                }
            }
            _ => Lookup::default(),
        };
        let mut rows = row::Entity::find()
            .filter(row::Column::ProjectId.eq(project.0))
            .filter(row::Column::DeletedAt.is_null())
            .order_by_desc(row::Column::Id)
            .limit(RECENT_MESSAGES)
            .all(&self.0.db)
            .await?;
        rows.reverse();
        let authors = self.authors(&rows, None).await?;
        let recent: Vec<Recent> = rows
            .iter()
            .filter(|r| !r.body.is_empty())
            .map(|r| Recent {
                author: authors
                    .get(&UserId(r.author_id))
                    .cloned()
                    .unwrap_or_default(),
                ai: r.kind == KIND_AI,
                body: r.body.clone(),
            })
            .collect();
        let cx = Context {
            file: file.as_ref(),
            selection: selection.as_deref().map(|s| (s, request.context.lines)),
            file_budget: budget.saturating_sub(lookup.used()).max(budget / 4),
            lookup: &lookup,
        };
        Ok(ai::prompt::build(&request.task, &cx, &recent))
    }

    /// Claims the right to stream answer `id`; `None` if it is already streaming.
    pub(super) fn reserve(
        &self,
        id: MessageId,
    ) -> Option<(oneshot::Receiver<()>, Arc<Mutex<String>>)> {
        let mut running = lock(&self.0.running);
        if running.contains_key(&id) {
            return None;
        }
        let (stop, stopped) = oneshot::channel();
        let text = Arc::new(Mutex::new(String::new()));
        running.insert(
            id,
            Answer {
                stop: Some(stop),
                text: text.clone(),
            },
        );
        Some((stopped, text))
    }

    /// Streams answer `id` in the background: tokens go to every tab as they arrive; the end
    /// (done, stopped or failed) is stored and announced.
    pub(super) fn spawn_answer(
        &self,
        project: ProjectId,
        id: MessageId,
        messages: Vec<PromptMessage>,
        (stopped, text): (oneshot::Receiver<()>, Arc<Mutex<String>>),
    ) {
        let chat = self.clone();
        tokio::spawn(async move {
            let Some(provider) = chat.0.provider.clone() else {
                return;
            };
            let hub = chat.0.hub.clone();
            let started = std::time::Instant::now();
            let mut reported = None;
            let outcome = tokio::select! {
                r = provider.stream(&messages, |delta| {
                    lock(&text).push_str(delta);
                    hub.publish(project, &ServerEvent::ChatDelta { id, text: delta.to_owned() });
                }) => r.map(|used| {
                    reported = used;
                    AiState::Done
                }),
                // A stop (or its sender going away) drops the stream: the upstream request
                // is closed with it.
                _ = stopped => Ok(AiState::Stopped),
            };
            let sent: usize = messages.iter().map(|m| m.content.chars().count()).sum();
            chat.0.usage.record(
                project,
                crate::chat::ai::usage::Kind::Chat,
                crate::chat::ai::usage::Outcome::estimated(
                    outcome.is_ok(),
                    reported,
                    sent,
                    lock(&text).chars().count(),
                    started.elapsed(),
                ),
            );
            let (state, error) = match outcome {
                Ok(state) => (state, None),
                Err(e) => {
                    tracing::warn!(message = id.0, error = %e, "AI answer failed");
                    (AiState::Failed, Some(e.public()))
                }
            };
            let body = lock(&text).clone();
            // A message deleted meanwhile stays deleted.
            let stored = row::Entity::update_many()
                .col_expr(row::Column::Body, body.into())
                .col_expr(row::Column::AiState, state_str(state).into())
                .col_expr(row::Column::AiError, error.into())
                .filter(row::Column::Id.eq(id.0))
                .filter(row::Column::DeletedAt.is_null())
                .exec(&chat.0.db)
                .await;
            if let Err(e) = stored {
                tracing::error!(message = id.0, error = %e, "cannot store an AI answer");
            }
            lock(&chat.0.running).remove(&id);
            if let Err(e) = chat.announce(project, id).await {
                tracing::error!(message = id.0, error = %e, "cannot announce an AI answer");
            }
        });
    }

    pub(super) async fn ask_question(
        &self,
        project: ProjectId,
        by: &UserInfo,
        request: AiRequest,
    ) -> AppResult<AskReply> {
        let budget = self.provider()?.config().context_chars;
        check_client_id(&request.client_id)?;
        let text = self.check_body(&request.text)?.to_owned();
        if let AiTask::Ask(q) = &request.task {
            self.check_body(q)?;
        }
        // A retried request gets the question and answer it already made.
        if let Some(q) = self
            .by_client_id(project, by.id, &request.client_id)
            .await?
            && let Some(a) = self
                .by_client_id(project, by.id, &answer_key(&request.client_id))
                .await?
        {
            return self.ask_reply(project, q, a, by).await;
        }
        self.may_ask(project, by.id).await?;
        let (prompt, shown) = self.prompt(project, &request, budget).await?;
        let encode = |v: serde_json::Result<String>| {
            v.map_err(|e| {
                tracing::error!(error = %e, "cannot encode a prompt");
                AppError::Internal
            })
        };
        let prompt_json = encode(serde_json::to_string(&prompt))?;
        let shown_json = encode(serde_json::to_string(&shown))?;
        let txn = self.0.db.begin().await?;
        let question = Self::new_row(
            project,
            by.id,
            request.client_id.clone(),
            KIND_USER,
            text,
            None,
        )
        .insert(&txn)
        .await;
        let question = match question {
            Ok(q) => q,
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return Err(AppError::Conflict(
                    "This question was already asked; reload the chat.".into(),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let mut answer = Self::new_row(
            project,
            by.id,
            answer_key(&request.client_id),
            KIND_AI,
            String::new(),
            Some(MessageId(question.id)),
        );
        answer.ai_state = Set(Some(state_str(AiState::Streaming).to_owned()));
        answer.ai_request = Set(Some(prompt_json));
        answer.ai_context = Set(Some(shown_json));
        let answer = answer.insert(&txn).await?;
        txn.commit().await?;
        let claim = self
            .reserve(MessageId(answer.id))
            .ok_or_else(|| crate::error::bug("a new answer was already streaming"))?;
        let reply = self.ask_reply(project, question, answer, by).await?;
        self.publish(project, &reply.question);
        self.publish(project, &reply.answer);
        self.spawn_answer(project, reply.answer.id, prompt, claim);
        Ok(reply)
    }

    pub(super) async fn stop_answer(
        &self,
        project: ProjectId,
        by: &UserInfo,
        role: Role,
        id: MessageId,
    ) -> AppResult<()> {
        let r = self.find(project, id).await?;
        Self::may_control(&r, by, role)?;
        // Already finished: nothing to stop.
        if let Some(stop) = lock(&self.0.running)
            .get_mut(&id)
            .and_then(|a| a.stop.take())
        {
            let _ = stop.send(());
        }
        Ok(())
    }

    pub(super) async fn regenerate_answer(
        &self,
        project: ProjectId,
        by: &UserInfo,
        role: Role,
        id: MessageId,
    ) -> AppResult<ChatMessage> {
        self.provider()?;
        let r = self.find(project, id).await?;
        Self::may_control(&r, by, role)?;
        if r.deleted_at.is_some() {
            return Err(AppError::Conflict("This answer was deleted.".into()));
        }
        let prompt: Vec<PromptMessage> = r
            .ai_request
            .as_deref()
            .and_then(|j| serde_json::from_str(j).ok())
            .ok_or_else(|| AppError::Conflict("This answer cannot be regenerated.".into()))?;
        self.may_ask(project, by.id).await?;
        let claim = self.reserve(id).ok_or_else(|| {
            AppError::Conflict("This answer is still being written; stop it first.".into())
        })?;
        let reset = row::Entity::update_many()
            .col_expr(row::Column::Body, String::new().into())
            .col_expr(row::Column::AiState, state_str(AiState::Streaming).into())
            .col_expr(row::Column::AiError, None::<String>.into())
            .filter(row::Column::Id.eq(id.0))
            .exec(&self.0.db)
            .await;
        if let Err(e) = reset {
            lock(&self.0.running).remove(&id);
            return Err(e.into());
        }
        let m = self.announce(project, id).await?;
        self.spawn_answer(project, id, prompt, claim);
        Ok(m)
    }
}
