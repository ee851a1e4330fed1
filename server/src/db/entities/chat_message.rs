use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "chat_messages")]
pub struct Model {
    /// Server-assigned; the chat's order.
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    /// The writer; for an AI answer, who asked.
    pub author_id: i64,
    /// The sender's idempotency key, unique per project and author.
    pub client_id: String,
    /// `user` or `ai` (`app::chat::MessageKind`).
    pub kind: String,
    /// Markdown source; emptied on delete.
    pub body: String,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    pub deleted_at: Option<i64>,
    pub reply_to: Option<i64>,
    /// For answers: `streaming`, `done`, `stopped` or `failed`.
    pub ai_state: Option<String>,
    /// What went wrong, for a failed answer.
    pub ai_error: Option<String>,
    /// The prompt sent to the provider (JSON), so the answer can be regenerated.
    pub ai_request: Option<String>,
    /// What the answer was shown (JSON: its sources and what was cut), for its links.
    pub ai_context: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
