use sea_orm::entity::prelude::*;

/// An access change announced by one process for the others sharing the database (the CLI,
/// other nodes); kept for a few minutes, read by each server's follower.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "access_changes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The announcing process (random per start), so a server skips its own.
    pub origin: i64,
    /// `auth::revoke::AccessChange` as JSON.
    pub body: String,
    pub created_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
