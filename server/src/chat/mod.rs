//! Project chat on the server: messages stored with sea-orm and ordered by their id, sent to
//! every tab of the project on the project channel, and the AI assistant whose answers stream
//! into the chat token by token. Sends are idempotent per (project, author, client id), so a
//! browser retrying after a reconnect never posts twice.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Instant,
};

use app::{
    AppError, AppResult,
    chat::{
        AiInfo, AiRequest, AiState, AiTask, AskReply, ChatMessage, HistoryPage, MAX_CLIENT_ID,
        MAX_SELECTION_CHARS, MessageKind, PAGE_SIZE, ssr::ChatService,
    },
    live::events::ServerEvent,
    projects::ssr::Projects,
    types::{ProjectId, Role, UserId, UserInfo},
};
use async_trait::async_trait;
use collab::DocId;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, SqlErr, TransactionTrait,
};
use tokio::sync::oneshot;

mod args;
pub use args::Args;
pub mod ai;
pub mod limits;
pub mod render;

use ai::{
    PromptMessage,
    prompt::{FileContext, Recent},
};

use crate::{
    db::{
        entities::{chat_message as row, user},
        now,
    },
    editor::Editor,
    error::{Internal, ServerError},
    live::Hub,
};

/// What the AI commands answer when the server has no provider.
pub const NO_PROVIDER: &str = "No AI provider is configured on this server. Start Tandem with \
--ai-base-url (any OpenAI-compatible API: https://api.openai.com/v1, Ollama's \
http://127.0.0.1:11434/v1, a llama.cpp or vLLM server), --ai-model and, if the provider needs \
one, --ai-api-key (or the environment variables TANDEM_AI_BASE_URL, TANDEM_AI_MODEL, \
TANDEM_AI_API_KEY).";

const INTERRUPTED: &str = "The server restarted before this answer was finished.";
/// Earlier chat messages sent along with a question.
const RECENT_MESSAGES: u64 = 10;

const KIND_USER: &str = "user";
const KIND_AI: &str = "ai";

/// Chat limits and the AI provider (`--chat-*`, `--ai-*`).
#[derive(Debug, Clone)]
pub struct ChatSettings {
    pub max_message_bytes: usize,
    pub messages_per_minute: u32,
    pub ai_requests_per_minute: u32,
    pub ai: Option<ai::AiConfig>,
}

#[derive(Clone)]
pub struct Chat(Arc<Inner>);

struct Inner {
    db: DatabaseConnection,
    hub: Hub,
    projects: Arc<dyn Projects>,
    editor: Editor,
    settings: ChatSettings,
    provider: Option<ai::Provider>,
    sends: limits::PerMinute,
    asks: limits::PerMinute,
    /// Answers being streamed, by message id.
    running: Mutex<HashMap<i64, Answer>>,
}

struct Answer {
    stop: Option<oneshot::Sender<()>>,
    /// The text so far, for history pages read mid-answer.
    text: Arc<Mutex<String>>,
}

fn state_str(s: AiState) -> &'static str {
    match s {
        AiState::Streaming => "streaming",
        AiState::Done => "done",
        AiState::Stopped => "stopped",
        AiState::Failed => "failed",
    }
}

fn parse_state(s: &str) -> Option<AiState> {
    [
        AiState::Streaming,
        AiState::Done,
        AiState::Stopped,
        AiState::Failed,
    ]
    .into_iter()
    .find(|x| state_str(*x) == s)
}

/// The answer's idempotency key, derived from the question's (`:` never occurs in those).
fn answer_key(client_id: &str) -> String {
    format!("{client_id}:ai")
}

fn check_client_id(id: &str) -> AppResult<()> {
    let ok = !id.is_empty()
        && id.len() + 3 <= MAX_CLIENT_ID
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid(
            "client_id",
            "A message id is 1-61 letters, digits, - or _.",
        ))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The maps stay consistent even if a holder panicked.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Names of authors and of members who can be mentioned, for rendering a batch of rows.
struct Names {
    users: HashMap<i64, String>,
    members: render::Mentionable,
}

impl Chat {
    /// Answers cut off by a restart are marked failed, since nothing will finish them.
    pub async fn new(
        db: DatabaseConnection,
        hub: Hub,
        projects: Arc<dyn Projects>,
        editor: Editor,
        settings: ChatSettings,
    ) -> crate::error::Result<Self> {
        let provider = settings
            .ai
            .clone()
            .map(ai::Provider::new)
            .transpose()
            .map_err(ServerError::Usage)?;
        row::Entity::update_many()
            .col_expr(row::Column::AiState, state_str(AiState::Failed).into())
            .col_expr(row::Column::AiError, INTERRUPTED.into())
            .filter(row::Column::AiState.eq(state_str(AiState::Streaming)))
            .exec(&db)
            .await?;
        Ok(Self(Arc::new(Inner {
            sends: limits::PerMinute::new(settings.messages_per_minute),
            asks: limits::PerMinute::new(settings.ai_requests_per_minute),
            db,
            hub,
            projects,
            editor,
            settings,
            provider,
            running: Mutex::new(HashMap::new()),
        })))
    }

    fn check_body<'b>(&self, body: &'b str) -> AppResult<&'b str> {
        let body = body.trim_end().trim_start_matches(['\n', '\r']);
        if body.trim().is_empty() {
            return Err(AppError::invalid("body", "Write something first."));
        }
        let max = self.0.settings.max_message_bytes;
        if body.len() > max {
            return Err(AppError::invalid(
                "body",
                format!(
                    "Messages are limited to {max} bytes; this one has {}. Share long text as a file.",
                    body.len()
                ),
            ));
        }
        Ok(body)
    }

    fn rate(limit: &limits::PerMinute, user: UserId) -> AppResult<()> {
        limit
            .take(user, Instant::now())
            .map_err(|retry_after_secs| AppError::RateLimited { retry_after_secs })
    }

    async fn find(&self, project: ProjectId, id: i64) -> AppResult<row::Model> {
        row::Entity::find_by_id(id)
            .filter(row::Column::ProjectId.eq(project.0))
            .one(&self.0.db)
            .await
            .internal()?
            .ok_or_else(|| AppError::NotFound("Message".into()))
    }

    async fn by_client_id(
        &self,
        project: ProjectId,
        author: UserId,
        client_id: &str,
    ) -> AppResult<Option<row::Model>> {
        row::Entity::find()
            .filter(row::Column::ProjectId.eq(project.0))
            .filter(row::Column::AuthorId.eq(author.0))
            .filter(row::Column::ClientId.eq(client_id))
            .one(&self.0.db)
            .await
            .internal()
    }

    /// Looks up only what the rows need: authors not already `known`, and the member list
    /// only when some message may mention someone.
    async fn names(
        &self,
        project: ProjectId,
        rows: &[row::Model],
        known: Option<&UserInfo>,
    ) -> AppResult<Names> {
        let users = self.authors(rows, known).await?;
        let members = if rows.iter().any(|r| r.body.contains('@')) {
            self.0
                .projects
                .members(project)
                .await?
                .into_iter()
                .map(|m| (m.user.name.to_lowercase(), (m.user.id.0, m.user.name)))
                .collect()
        } else {
            render::Mentionable::new()
        };
        Ok(Names { users, members })
    }

    /// Author names by id, reading only those not already `known`.
    async fn authors(
        &self,
        rows: &[row::Model],
        known: Option<&UserInfo>,
    ) -> AppResult<HashMap<i64, String>> {
        let mut ids: Vec<i64> = rows
            .iter()
            .map(|r| r.author_id)
            .filter(|id| known.is_none_or(|k| k.id.0 != *id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut users: HashMap<i64, String> = if ids.is_empty() {
            HashMap::new()
        } else {
            user::Entity::find()
                .filter(user::Column::Id.is_in(ids))
                .all(&self.0.db)
                .await
                .internal()?
                .into_iter()
                .map(|u| (u.id, u.name))
                .collect()
        };
        if let Some(k) = known {
            users.insert(k.id.0, k.name.clone());
        }
        Ok(users)
    }

    fn message(&self, r: &row::Model, names: &Names) -> ChatMessage {
        let ai = r
            .ai_state
            .as_deref()
            .and_then(parse_state)
            .map(|state| AiInfo {
                state,
                error: r.ai_error.clone(),
            });
        let kind = if r.kind == KIND_AI {
            MessageKind::Ai
        } else {
            MessageKind::User
        };
        let streaming = ai.as_ref().is_some_and(|a| a.state == AiState::Streaming);
        let body = if streaming {
            lock(&self.0.running)
                .get(&r.id)
                .map_or_else(|| r.body.clone(), |a| lock(&a.text).clone())
        } else {
            r.body.clone()
        };
        // A streaming answer is shown as plain text until it is finished and rendered.
        let (html, mentions) = if r.deleted_at.is_some() || streaming {
            (String::new(), Vec::new())
        } else {
            render::render(&body, &names.members)
        };
        ChatMessage {
            id: r.id,
            client_id: r.client_id.clone(),
            author: UserInfo {
                id: UserId(r.author_id),
                name: names
                    .users
                    .get(&r.author_id)
                    .cloned()
                    .unwrap_or_else(|| "(unknown)".into()),
            },
            kind,
            body,
            html,
            created_at: r.created_at,
            edited_at: r.edited_at,
            deleted: r.deleted_at.is_some(),
            reply_to: r.reply_to,
            mentions: if kind == MessageKind::User {
                mentions
            } else {
                Vec::new()
            },
            ai,
        }
    }

    async fn messages(
        &self,
        project: ProjectId,
        rows: &[row::Model],
        known: Option<&UserInfo>,
    ) -> AppResult<Vec<ChatMessage>> {
        let names = self.names(project, rows, known).await?;
        Ok(rows.iter().map(|r| self.message(r, &names)).collect())
    }

    async fn one(
        &self,
        project: ProjectId,
        r: &row::Model,
        known: Option<&UserInfo>,
    ) -> AppResult<ChatMessage> {
        let mut one = self
            .messages(project, std::slice::from_ref(r), known)
            .await?;
        one.pop().ok_or(AppError::Internal)
    }

    /// A question and its answer, both asked by `by`.
    async fn ask_reply(
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
            _ => Err(AppError::Internal),
        }
    }

    fn publish(&self, project: ProjectId, message: &ChatMessage) {
        self.0.hub.publish(
            project,
            &ServerEvent::Chat {
                message: message.clone(),
            },
        );
    }

    /// Tells everyone a stored message's current state.
    async fn announce_row(
        &self,
        project: ProjectId,
        r: &row::Model,
        author: Option<&UserInfo>,
    ) -> AppResult<ChatMessage> {
        let m = self.one(project, r, author).await?;
        self.publish(project, &m);
        Ok(m)
    }

    /// Re-reads a message and tells everyone its current state.
    async fn announce(&self, project: ProjectId, id: i64) -> AppResult<ChatMessage> {
        let r = self.find(project, id).await?;
        self.announce_row(project, &r, None).await
    }

    fn new_row(
        project: ProjectId,
        author: UserId,
        client_id: String,
        kind: &str,
        body: String,
        reply_to: Option<i64>,
    ) -> row::ActiveModel {
        row::ActiveModel {
            project_id: Set(project.0),
            author_id: Set(author.0),
            client_id: Set(client_id),
            kind: Set(kind.to_owned()),
            body: Set(body),
            created_at: Set(now()),
            edited_at: Set(None),
            deleted_at: Set(None),
            reply_to: Set(reply_to),
            ai_state: Set(None),
            ai_error: Set(None),
            ai_request: Set(None),
            ..Default::default()
        }
    }

    /// Who may stop or regenerate an answer: who asked, editors and owners.
    fn may_control(r: &row::Model, by: &UserInfo, role: Role) -> AppResult<()> {
        if r.kind != KIND_AI {
            return Err(AppError::invalid("id", "That message is not an answer."));
        }
        if r.author_id == by.id.0 || role >= Role::Editor {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    fn provider(&self) -> AppResult<&ai::Provider> {
        self.0
            .provider
            .as_ref()
            .ok_or_else(|| AppError::Unavailable(NO_PROVIDER.into()))
    }

    async fn file_context(
        &self,
        project: ProjectId,
        file: i64,
        line: Option<u32>,
    ) -> AppResult<Option<FileContext>> {
        let snap = crate::files::tree::snapshot(&self.0.db, project).await?;
        let Some(r) = snap.rows.get(&file) else {
            return Err(AppError::NotFound("File".into()));
        };
        let Some(doc) = r.document_id.filter(|_| snap.is_live(file)) else {
            return Ok(None);
        };
        let state = self
            .0
            .editor
            .engine
            .state(DocId(doc as u64))
            .await
            .map_err(|e| {
                tracing::error!(doc, error = %e, "cannot read a document for the assistant");
                AppError::Internal
            })?;
        let text = tokio::task::spawn_blocking(move || crate::files::text::text_of(&state))
            .await
            .internal()?
            .map_err(|e| {
                tracing::error!(doc, error = %e, "unreadable document");
                AppError::Internal
            })?;
        Ok(Some(FileContext {
            path: snap.path(file).unwrap_or_else(|| r.name.clone()),
            language: app::editor::lang::language_for(&r.name),
            text,
            line,
        }))
    }

    async fn prompt(
        &self,
        project: ProjectId,
        request: &AiRequest,
        budget: usize,
    ) -> AppResult<Vec<PromptMessage>> {
        let file = match request.context.file {
            Some(id) => self.file_context(project, id, request.context.line).await?,
            None => None,
        };
        let selection: Option<String> = request
            .context
            .selection
            .as_ref()
            .map(|s| s.chars().take(MAX_SELECTION_CHARS).collect());
        let mut rows = row::Entity::find()
            .filter(row::Column::ProjectId.eq(project.0))
            .filter(row::Column::DeletedAt.is_null())
            .order_by_desc(row::Column::Id)
            .limit(RECENT_MESSAGES)
            .all(&self.0.db)
            .await
            .internal()?;
        rows.reverse();
        let authors = self.authors(&rows, None).await?;
        let recent: Vec<Recent> = rows
            .iter()
            .filter(|r| !r.body.is_empty())
            .map(|r| Recent {
                author: authors.get(&r.author_id).cloned().unwrap_or_default(),
                ai: r.kind == KIND_AI,
                body: r.body.clone(),
            })
            .collect();
        Ok(ai::prompt::build(
            &request.task,
            file.as_ref(),
            selection.as_deref(),
            &recent,
            budget,
        ))
    }

    /// Claims the right to stream answer `id`; `None` if it is already streaming.
    fn reserve(&self, id: i64) -> Option<(oneshot::Receiver<()>, Arc<Mutex<String>>)> {
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
    fn spawn_answer(
        &self,
        project: ProjectId,
        id: i64,
        messages: Vec<PromptMessage>,
        (stopped, text): (oneshot::Receiver<()>, Arc<Mutex<String>>),
    ) {
        let chat = self.clone();
        tokio::spawn(async move {
            let Some(provider) = chat.0.provider.clone() else {
                return;
            };
            let hub = chat.0.hub.clone();
            let outcome = tokio::select! {
                r = provider.stream(&messages, |delta| {
                    lock(&text).push_str(delta);
                    hub.publish(project, &ServerEvent::ChatDelta { id, text: delta.to_owned() });
                }) => r.map(|()| AiState::Done),
                // A stop (or its sender going away) drops the stream: the upstream request
                // is closed with it.
                _ = stopped => Ok(AiState::Stopped),
            };
            let (state, error) = match outcome {
                Ok(state) => (state, None),
                Err(e) => {
                    tracing::warn!(message = id, error = %e, "AI answer failed");
                    (AiState::Failed, Some(e.to_string()))
                }
            };
            let body = lock(&text).clone();
            // A message deleted meanwhile stays deleted.
            let stored = row::Entity::update_many()
                .col_expr(row::Column::Body, body.into())
                .col_expr(row::Column::AiState, state_str(state).into())
                .col_expr(row::Column::AiError, error.into())
                .filter(row::Column::Id.eq(id))
                .filter(row::Column::DeletedAt.is_null())
                .exec(&chat.0.db)
                .await;
            if let Err(e) = stored {
                tracing::error!(message = id, error = %e, "cannot store an AI answer");
            }
            lock(&chat.0.running).remove(&id);
            if let Err(e) = chat.announce(project, id).await {
                tracing::error!(message = id, error = %e, "cannot announce an AI answer");
            }
        });
    }
}

#[async_trait]
impl ChatService for Chat {
    async fn history(
        &self,
        project: ProjectId,
        before: Option<i64>,
        after: Option<i64>,
    ) -> AppResult<HistoryPage> {
        let limit = PAGE_SIZE as u64 + 1;
        let query = row::Entity::find().filter(row::Column::ProjectId.eq(project.0));
        let mut rows = match after {
            Some(after) => {
                query
                    .filter(row::Column::Id.gt(after))
                    .order_by_asc(row::Column::Id)
                    .limit(limit)
                    .all(&self.0.db)
                    .await
            }
            None => {
                let query = match before {
                    Some(b) => query.filter(row::Column::Id.lt(b)),
                    None => query,
                };
                query
                    .order_by_desc(row::Column::Id)
                    .limit(limit)
                    .all(&self.0.db)
                    .await
            }
        }
        .internal()?;
        // One row past the page tells whether there is more.
        let more = rows.len() > PAGE_SIZE;
        rows.truncate(PAGE_SIZE);
        if after.is_none() {
            rows.reverse();
        }
        Ok(HistoryPage {
            messages: self.messages(project, &rows, None).await?,
            more,
        })
    }

    async fn send(
        &self,
        project: ProjectId,
        by: &UserInfo,
        client_id: &str,
        body: &str,
        reply_to: Option<i64>,
    ) -> AppResult<ChatMessage> {
        check_client_id(client_id)?;
        let body = self.check_body(body)?;
        if let Some(r) = reply_to {
            self.find(project, r)
                .await
                .map_err(|_| AppError::invalid("reply_to", "The message you reply to is gone."))?;
        }
        if let Err(limited) = Self::rate(&self.0.sends, by.id) {
            // A retry of a message already stored is not a new message: it is never refused.
            return match self.by_client_id(project, by.id, client_id).await? {
                Some(existing) => self.one(project, &existing, Some(by)).await,
                None => Err(limited),
            };
        }
        // The insert itself detects a retry (the unique index on the client id), so the
        // common path is one statement.
        let new = Self::new_row(
            project,
            by.id,
            client_id.to_owned(),
            KIND_USER,
            body.to_owned(),
            reply_to,
        );
        let r = match new.insert(&self.0.db).await {
            Ok(r) => r,
            // A retry of a send that reached the server: the stored message, not announced
            // again.
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                let existing = self
                    .by_client_id(project, by.id, client_id)
                    .await?
                    .ok_or(AppError::Internal)?;
                return self.one(project, &existing, Some(by)).await;
            }
            Err(e) => return Err(e).internal(),
        };
        self.announce_row(project, &r, Some(by)).await
    }

    async fn edit(
        &self,
        project: ProjectId,
        by: &UserInfo,
        id: i64,
        body: &str,
    ) -> AppResult<ChatMessage> {
        let r = self.find(project, id).await?;
        if r.author_id != by.id.0 {
            return Err(AppError::Forbidden);
        }
        if r.kind != KIND_USER {
            return Err(AppError::invalid(
                "id",
                "Answers from the assistant cannot be edited.",
            ));
        }
        if r.deleted_at.is_some() {
            return Err(AppError::Conflict("This message was deleted.".into()));
        }
        let body = self.check_body(body)?;
        let mut change: row::ActiveModel = r.into();
        change.body = Set(body.to_owned());
        change.edited_at = Set(Some(now()));
        let r = change.update(&self.0.db).await.internal()?;
        self.announce_row(project, &r, Some(by)).await
    }

    async fn delete(
        &self,
        project: ProjectId,
        by: &UserInfo,
        role: Role,
        id: i64,
    ) -> AppResult<ChatMessage> {
        let r = self.find(project, id).await?;
        if r.author_id != by.id.0 && role < Role::Owner {
            return Err(AppError::Forbidden);
        }
        if r.deleted_at.is_some() {
            return self.one(project, &r, None).await;
        }
        let was_streaming = r.ai_state.as_deref() == Some(state_str(AiState::Streaming));
        let mut change: row::ActiveModel = r.into();
        change.body = Set(String::new());
        change.deleted_at = Set(Some(now()));
        change.ai_request = Set(None);
        change.ai_error = Set(None);
        if was_streaming {
            change.ai_state = Set(Some(state_str(AiState::Stopped).to_owned()));
        }
        change.update(&self.0.db).await.internal()?;
        if let Some(stop) = lock(&self.0.running)
            .get_mut(&id)
            .and_then(|a| a.stop.take())
        {
            let _ = stop.send(());
        }
        self.announce(project, id).await
    }

    async fn ask(
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
        Self::rate(&self.0.asks, by.id)?;
        let prompt = self.prompt(project, &request, budget).await?;
        let prompt_json = serde_json::to_string(&prompt).map_err(|e| {
            tracing::error!(error = %e, "cannot encode a prompt");
            AppError::Internal
        })?;
        let txn = self.0.db.begin().await.internal()?;
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
            Err(e) => return Err(e).internal(),
        };
        let mut answer = Self::new_row(
            project,
            by.id,
            answer_key(&request.client_id),
            KIND_AI,
            String::new(),
            Some(question.id),
        );
        answer.ai_state = Set(Some(state_str(AiState::Streaming).to_owned()));
        answer.ai_request = Set(Some(prompt_json));
        let answer = answer.insert(&txn).await.internal()?;
        txn.commit().await.internal()?;
        let claim = self.reserve(answer.id).ok_or(AppError::Internal)?;
        let reply = self.ask_reply(project, question, answer, by).await?;
        self.publish(project, &reply.question);
        self.publish(project, &reply.answer);
        self.spawn_answer(project, reply.answer.id, prompt, claim);
        Ok(reply)
    }

    async fn stop(&self, project: ProjectId, by: &UserInfo, role: Role, id: i64) -> AppResult<()> {
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

    async fn regenerate(
        &self,
        project: ProjectId,
        by: &UserInfo,
        role: Role,
        id: i64,
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
        Self::rate(&self.0.asks, by.id)?;
        let claim = self.reserve(id).ok_or_else(|| {
            AppError::Conflict("This answer is still being written; stop it first.".into())
        })?;
        let reset = row::Entity::update_many()
            .col_expr(row::Column::Body, String::new().into())
            .col_expr(row::Column::AiState, state_str(AiState::Streaming).into())
            .col_expr(row::Column::AiError, None::<String>.into())
            .filter(row::Column::Id.eq(id))
            .exec(&self.0.db)
            .await;
        if let Err(e) = reset {
            lock(&self.0.running).remove(&id);
            return Err(e).internal();
        }
        let m = self.announce(project, id).await?;
        self.spawn_answer(project, id, prompt, claim);
        Ok(m)
    }
}
