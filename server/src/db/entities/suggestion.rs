use sea_orm::entity::prelude::*;

/// An AI suggestion (`app::suggestions::Suggestion`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "suggestions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    pub file_id: i64,
    pub document_id: i64,
    /// Who asked the assistant.
    pub author_id: i64,
    /// `doc`, `refactor` or `fix` (`app::suggestions::CodeAction`).
    pub action: String,
    pub instruction: Option<String>,
    /// yrs sticky indices (v1) of the replaced text's start and end.
    pub start_anchor: Vec<u8>,
    pub end_anchor: Vec<u8>,
    pub first_line: i64,
    pub last_line: i64,
    pub original: String,
    pub replacement: String,
    /// `writing`, `open`, `accepted`, `rejected`, `stale` or `failed`.
    pub state: String,
    pub error: Option<String>,
    pub decided_by: Option<i64>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
