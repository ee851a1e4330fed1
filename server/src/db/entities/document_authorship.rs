use sea_orm::entity::prelude::*;

/// Yjs items `client`:[`clock_start`, `clock_end`) of a document, written by one author.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "document_authorship")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub document_id: i64,
    /// The Yjs client id's 64 bits, as a signed number.
    #[sea_orm(primary_key, auto_increment = false)]
    pub client: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub clock_start: i64,
    pub clock_end: i64,
    pub author_id: Option<i64>,
    pub via: i16,
    pub at_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
