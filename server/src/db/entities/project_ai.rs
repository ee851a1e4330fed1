use sea_orm::entity::prelude::*;

/// A project's AI switches; no row means both on.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "project_ai")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub project_id: i64,
    /// Inline completions (ghost text).
    pub completions: bool,
    /// The chat assistant and code actions.
    pub assistant: bool,
    pub updated_by: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
