use sea_orm::entity::prelude::*;

/// One person's work on one file in one burst: the editor's counts folded together while
/// they go on editing (`dashboard::tally`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "edit_activity")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    pub user_id: i64,
    pub file_id: i64,
    /// Document updates (about one per keystroke or paste) in the burst.
    pub updates: i64,
    /// Unix milliseconds of the burst's first and latest counted edit.
    pub first_at: i64,
    pub at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
