use sea_orm::entity::prelude::*;

/// A threshold one node saw crossed: open while `ended_ms` is null.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "ops_alerts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `app::ops::AlertKind::code`.
    pub kind: String,
    pub node: String,
    pub message: String,
    /// The worst value seen while open.
    pub value: f64,
    pub threshold: f64,
    pub started_ms: i64,
    pub ended_ms: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
