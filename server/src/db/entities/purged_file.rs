use sea_orm::entity::prelude::*;

/// A text file whose trash was emptied, kept (with its document and history) until the
/// server's retention period ends.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "purged_files")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    pub document_id: i64,
    pub name: String,
    /// Where it was, folders included ("src/lib.rs").
    pub path: String,
    pub purged_at: i64,
    pub purged_by: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
