use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    /// The configuration's name (or the detected file's path).
    pub name: String,
    pub command: String,
    pub started_by: i64,
    pub started_by_name: String,
    /// Unix milliseconds.
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub exit_code: Option<i32>,
    /// `app::types::runs::StopReason` as JSON, when a person or a limit ended it.
    pub reason: Option<String>,
    /// The last few KiB of output.
    pub tail: String,
    /// The block of the node running it (`live::ask::block`); null for runs from before
    /// migration 10.
    pub node: Option<i64>,
    /// The project environment it ran in (its name then), if any (migration 16).
    pub environment: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
