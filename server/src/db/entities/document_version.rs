use sea_orm::entity::prelude::*;

/// One entry of a file's timeline: the text after a burst of editing, or a version a person
/// named. `data` is the whole text (UTF-8) when `base_id` is `None`, else a line delta
/// (`history::delta`) against the version `base_id`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "document_versions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub document_id: i64,
    /// The last update of the log this version includes.
    pub seq: i64,
    pub started_ms: i64,
    pub at_ms: i64,
    /// The accounts that edited, comma-separated ids in order of first edit.
    pub authors: String,
    /// Bit `1 << via code` for each way an edit came.
    pub vias: i32,
    pub name: Option<String>,
    pub named_by: Option<i64>,
    pub base_id: Option<i64>,
    /// Deltas between this version and the nearest whole text.
    pub depth: i32,
    pub data: Vec<u8>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
