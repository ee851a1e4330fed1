//! The chat's reads and rows: finding messages, turning rows into what members see (with
//! author names and mentions), and new rows.

use std::collections::HashMap;

use app::{
    AppError, AppResult,
    chat::{AiInfo, AiState, ChatMessage, MessageKind},
    types::{MessageId, ProjectId, UserId, UserInfo},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::db::{
    entities::{chat_message as row, user},
    now,
};

use super::{Chat, KIND_AI, render};
use crate::lock::lock;

pub(super) fn state_str(s: AiState) -> &'static str {
    match s {
        AiState::Streaming => "streaming",
        AiState::Done => "done",
        AiState::Stopped => "stopped",
        AiState::Failed => "failed",
    }
}

pub(super) fn parse_state(s: &str) -> Option<AiState> {
    [
        AiState::Streaming,
        AiState::Done,
        AiState::Stopped,
        AiState::Failed,
    ]
    .into_iter()
    .find(|x| state_str(*x) == s)
}

/// Names of authors and of members who can be mentioned, for rendering a batch of rows.
pub(super) struct Names {
    users: HashMap<UserId, String>,
    members: render::Mentionable,
}

impl Chat {
    pub(super) async fn find(&self, project: ProjectId, id: MessageId) -> AppResult<row::Model> {
        row::Entity::find_by_id(id.0)
            .filter(row::Column::ProjectId.eq(project.0))
            .one(&self.0.db)
            .await?
            .ok_or_else(|| AppError::NotFound("Message".into()))
    }

    pub(super) async fn by_client_id(
        &self,
        project: ProjectId,
        author: UserId,
        client_id: &str,
    ) -> AppResult<Option<row::Model>> {
        Ok(row::Entity::find()
            .filter(row::Column::ProjectId.eq(project.0))
            .filter(row::Column::AuthorId.eq(author.0))
            .filter(row::Column::ClientId.eq(client_id))
            .one(&self.0.db)
            .await?)
    }

    /// Looks up only what the rows need: authors not already `known`, and the member list
    /// only when some message may mention someone.
    pub(super) async fn names(
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
                .map(|m| (m.user.name.to_lowercase(), (m.user.id, m.user.name)))
                .collect()
        } else {
            render::Mentionable::new()
        };
        Ok(Names { users, members })
    }

    /// Author names by id, reading only those not already `known`.
    pub(super) async fn authors(
        &self,
        rows: &[row::Model],
        known: Option<&UserInfo>,
    ) -> AppResult<HashMap<UserId, String>> {
        let mut ids: Vec<i64> = rows
            .iter()
            .map(|r| r.author_id)
            .filter(|id| known.is_none_or(|k| k.id.0 != *id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let mut users: HashMap<UserId, String> = if ids.is_empty() {
            HashMap::new()
        } else {
            user::Entity::find()
                .filter(user::Column::Id.is_in(ids))
                .all(&self.0.db)
                .await?
                .into_iter()
                .map(|u| (UserId(u.id), u.name))
                .collect()
        };
        if let Some(k) = known {
            users.insert(k.id, k.name.clone());
        }
        Ok(users)
    }

    pub(super) fn message(&self, r: &row::Model, names: &Names) -> ChatMessage {
        let ai = r.ai_state.as_deref().and_then(parse_state).map(|state| {
            let shown: super::ai::prompt::Shown = r
                .ai_context
                .as_deref()
                .and_then(|j| serde_json::from_str(j).ok())
                .unwrap_or_default();
            AiInfo {
                state,
                error: r.ai_error.clone(),
                sources: shown.sources,
                cut: shown.cut,
            }
        });
        let kind = if r.kind == KIND_AI {
            MessageKind::Ai
        } else {
            MessageKind::User
        };
        let streaming = ai.as_ref().is_some_and(|a| a.state == AiState::Streaming);
        let body = if streaming {
            lock(&self.0.running)
                .get(&MessageId(r.id))
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
            id: MessageId(r.id),
            client_id: r.client_id.clone(),
            author: UserInfo {
                id: UserId(r.author_id),
                name: names
                    .users
                    .get(&UserId(r.author_id))
                    .cloned()
                    .unwrap_or_else(|| "(unknown)".into()),
            },
            kind,
            body,
            html,
            created_at: r.created_at,
            edited_at: r.edited_at,
            deleted: r.deleted_at.is_some(),
            reply_to: r.reply_to.map(MessageId),
            mentions: if kind == MessageKind::User {
                mentions
            } else {
                Vec::new()
            },
            ai,
        }
    }

    pub(super) async fn messages(
        &self,
        project: ProjectId,
        rows: &[row::Model],
        known: Option<&UserInfo>,
    ) -> AppResult<Vec<ChatMessage>> {
        let names = self.names(project, rows, known).await?;
        Ok(rows.iter().map(|r| self.message(r, &names)).collect())
    }

    pub(super) async fn one(
        &self,
        project: ProjectId,
        r: &row::Model,
        known: Option<&UserInfo>,
    ) -> AppResult<ChatMessage> {
        let mut one = self
            .messages(project, std::slice::from_ref(r), known)
            .await?;
        one.pop()
            .ok_or_else(|| crate::error::bug("a stored message did not render"))
    }

    pub(super) fn new_row(
        project: ProjectId,
        author: UserId,
        client_id: String,
        kind: &str,
        body: String,
        reply_to: Option<MessageId>,
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
            reply_to: Set(reply_to.map(|r| r.0)),
            ai_state: Set(None),
            ai_error: Set(None),
            ai_request: Set(None),
            ai_context: Set(None),
            ..Default::default()
        }
    }
}
