use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// As typed at sign-up.
    pub name: String,
    /// Lower-cased name; unique, so "Alice" and "alice" cannot both exist.
    #[sea_orm(unique)]
    pub name_key: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub created_at: i64,
    /// May open folders of the server as projects (set with `tandem user admin NAME`).
    pub is_admin: bool,
    /// Disabled by an admin: no sign-in, no session (the console's "Disable").
    pub disabled: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
