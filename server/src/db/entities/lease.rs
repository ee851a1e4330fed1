use sea_orm::entity::prelude::*;

/// A lease one node holds on a named piece of work until `until_ms` (`crate::lease`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "leases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// Random per acquisition, so only the holder gives it back.
    pub holder: i64,
    pub until_ms: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
