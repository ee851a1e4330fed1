use sea_orm::entity::prelude::*;

/// A document's update log folded into one state, written at compaction only.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "document_snapshots")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub document_id: i64,
    /// The last logged update folded in: the log holds only what comes after it.
    pub seq: i64,
    /// The whole document as one yrs v1 update.
    pub data: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
