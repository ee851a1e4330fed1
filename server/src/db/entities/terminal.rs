use sea_orm::entity::prelude::*;

/// An open terminal, while its node runs it (`crate::terminals`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "terminals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: i64,
    pub project_id: i64,
    /// The block of the node that runs it (`live::ask::block`).
    pub node: i64,
    pub opened_by: i64,
    pub opened_by_name: String,
    /// Unix milliseconds.
    pub opened_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
