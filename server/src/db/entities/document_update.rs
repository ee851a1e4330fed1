use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "document_updates")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub document_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    /// One yrs v1 update, as the client sent it.
    pub data: Vec<u8>,
    /// Who sent it (`None`: the server, or logged before attribution).
    pub author_id: Option<i64>,
    /// How it came (`app::types::history::Via` code).
    pub via: i16,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
