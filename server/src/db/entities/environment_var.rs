use sea_orm::entity::prelude::*;

/// A variable or secret of an environment.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "environment_vars")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub environment_id: i64,
    pub name: String,
    pub secret: bool,
    /// A plain value's UTF-8, or a secret sealed with the server's key (`envs::crypt`).
    pub value: Vec<u8>,
    pub set_by: i64,
    /// Unix milliseconds.
    pub set_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
