use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "documents")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    /// Set for free-standing documents opened by name through `/yjs/{name}`; files have none.
    pub name: Option<String>,
    pub created_by: i64,
    pub created_at: i64,
    /// Sequence number of the last logged update. Its snapshot, if the log was ever folded, is
    /// in `document_snapshots`: this row is rewritten on every commit and stays small.
    pub last_seq: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
