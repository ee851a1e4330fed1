use sea_orm::entity::prelude::*;

/// One line of a project's audit log. Inserted and read, never updated; old rows go by
/// retention only.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    pub at_ms: i64,
    pub actor_id: Option<i64>,
    /// The actor's name when it happened (the account may be gone since).
    pub actor_name: String,
    /// `app::types::history::AuditAction` as stored.
    pub action: String,
    pub target: String,
    pub detail: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
