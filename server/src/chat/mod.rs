//! Project chat on the server: messages stored with sea-orm and ordered by their id, sent to
//! every tab of the project on the project channel, and the AI assistant whose answers stream
//! into the chat token by token. Sends are idempotent per (project, author, client id), so a
//! browser retrying after a reconnect never posts twice.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use app::{
    AppError, AppResult,
    chat::{
        AiRequest, AiState, AskReply, ChatMessage, HistoryPage, MAX_CLIENT_ID, PAGE_SIZE,
        ssr::ChatService,
    },
    live::events::ServerEvent,
    projects::ssr::Projects,
    types::{MessageId, ProjectId, Role, UserId, UserInfo},
};
use async_trait::async_trait;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, SqlErr,
};

mod args;
pub use args::Args;
pub mod ai;
mod answers;
mod lookup;
pub mod mentions;
mod queries;

use answers::Answer;
use queries::state_str;
pub mod render;

use crate::{
    db::{entities::chat_message as row, now},
    editor::Editor,
    error::ServerError,
    live::Hub,
    lock::lock,
    rate::{PerMinute, shared::SharedCounts},
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
    /// AI requests one project may make per minute, whoever asks.
    pub ai_requests_per_minute_per_project: u32,
    pub ai: Option<ai::AiConfig>,
}

#[derive(Clone)]
pub struct Chat(Arc<Inner>);

struct Inner {
    db: DatabaseConnection,
    hub: Hub,
    projects: Arc<dyn Projects>,
    editor: Editor,
    /// The project's files, for the assistant's lookups (search).
    files: Arc<dyn app::files::ssr::FileService>,
    settings: ChatSettings,
    provider: Option<ai::Provider>,
    sends: PerMinute,
    asks: PerMinute,
    project_asks: PerMinute<ProjectId>,
    project_asks_per_minute: u32,
    /// Answers being streamed, by message id.
    running: Mutex<HashMap<MessageId, Answer>>,
    /// Where each project's AI use is counted.
    usage: crate::chat::ai::usage::Usage,
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

impl Chat {
    /// Answers cut off by a restart are marked failed, since nothing will finish them.
    pub async fn new(
        db: DatabaseConnection,
        hub: Hub,
        (projects, files): (Arc<dyn Projects>, Arc<dyn app::files::ssr::FileService>),
        editor: Editor,
        settings: ChatSettings,
        shared: Option<SharedCounts>,
        usage: crate::chat::ai::usage::Usage,
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
            sends: PerMinute::maybe_shared(settings.messages_per_minute, &shared, "chat-sends"),
            asks: PerMinute::maybe_shared(settings.ai_requests_per_minute, &shared, "ai-asks"),
            project_asks: PerMinute::maybe_shared(
                settings.ai_requests_per_minute_per_project,
                &shared,
                "ai-project-asks",
            ),
            project_asks_per_minute: settings.ai_requests_per_minute_per_project,
            db,
            hub,
            projects,
            editor,
            files,
            settings,
            provider,
            running: Mutex::new(HashMap::new()),
            usage,
        })))
    }

    /// The AI provider, shared with the editor's completions (one cap on requests in flight).
    pub fn ai(&self) -> Option<ai::Provider> {
        self.0.provider.clone()
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

    async fn rate(limit: &PerMinute, user: UserId) -> AppResult<()> {
        limit
            .take_now(user)
            .await
            .map_err(|retry_after_secs| AppError::RateLimited { retry_after_secs })
    }

    /// An AI request's allowance: the asker's own, then the project's (a team of many cannot
    /// spend without bound by each staying under the personal limit).
    pub(crate) async fn may_ask(&self, project: ProjectId, user: UserId) -> AppResult<()> {
        Self::rate(&self.0.asks, user).await?;
        self.0.project_asks.take_now(project).await.map_err(|wait| {
            crate::limits::refused("ai-requests-per-minute-per-project");
            AppError::TooMany(format!(
                "The assistant takes at most {} requests a minute in one project; try again \
                 in {wait} s.",
                self.0.project_asks_per_minute
            ))
        })
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
        if author.is_some() && !m.mentions.is_empty() {
            // Sent or edited by its author: the people it names (not the author) are told.
            let named: Vec<UserId> = m
                .mentions
                .iter()
                .copied()
                .filter(|u| *u != m.author.id)
                .collect();
            mentions::record(&self.0.db, project, m.id, &named).await?;
        }
        self.publish(project, &m);
        Ok(m)
    }

    /// Re-reads a message and tells everyone its current state.
    async fn announce(&self, project: ProjectId, id: MessageId) -> AppResult<ChatMessage> {
        let r = self.find(project, id).await?;
        self.announce_row(project, &r, None).await
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
}

#[async_trait]
impl ChatService for Chat {
    async fn history(
        &self,
        project: ProjectId,
        before: Option<MessageId>,
        after: Option<MessageId>,
    ) -> AppResult<HistoryPage> {
        let limit = PAGE_SIZE as u64 + 1;
        let query = row::Entity::find().filter(row::Column::ProjectId.eq(project.0));
        let mut rows = match after {
            Some(after) => {
                query
                    .filter(row::Column::Id.gt(after.0))
                    .order_by_asc(row::Column::Id)
                    .limit(limit)
                    .all(&self.0.db)
                    .await
            }
            None => {
                let query = match before {
                    Some(b) => query.filter(row::Column::Id.lt(b.0)),
                    None => query,
                };
                query
                    .order_by_desc(row::Column::Id)
                    .limit(limit)
                    .all(&self.0.db)
                    .await
            }
        }?;
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
        reply_to: Option<MessageId>,
    ) -> AppResult<ChatMessage> {
        check_client_id(client_id)?;
        let body = self.check_body(body)?;
        if let Some(r) = reply_to {
            self.find(project, r)
                .await
                .map_err(|_| AppError::invalid("reply_to", "The message you reply to is gone."))?;
        }
        if let Err(limited) = Self::rate(&self.0.sends, by.id).await {
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
                    .ok_or_else(|| crate::error::bug("a duplicate send whose original is gone"))?;
                return self.one(project, &existing, Some(by)).await;
            }
            Err(e) => return Err(e.into()),
        };
        self.announce_row(project, &r, Some(by)).await
    }

    async fn edit(
        &self,
        project: ProjectId,
        by: &UserInfo,
        id: MessageId,
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
        let r = change.update(&self.0.db).await?;
        self.announce_row(project, &r, Some(by)).await
    }

    async fn delete(
        &self,
        project: ProjectId,
        by: &UserInfo,
        role: Role,
        id: MessageId,
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
        change.update(&self.0.db).await?;
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
        self.ask_question(project, by, request).await
    }

    async fn stop(
        &self,
        project: ProjectId,
        by: &UserInfo,
        role: Role,
        id: MessageId,
    ) -> AppResult<()> {
        self.stop_answer(project, by, role, id).await
    }

    async fn regenerate(
        &self,
        project: ProjectId,
        by: &UserInfo,
        role: Role,
        id: MessageId,
    ) -> AppResult<ChatMessage> {
        self.regenerate_answer(project, by, role, id).await
    }
}
