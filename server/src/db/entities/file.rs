use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "files")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    /// `None` at the project root.
    pub parent_id: Option<i64>,
    pub name: String,
    /// `file`, `folder` or `blob` (`app::files::FileKind`).
    pub kind: String,
    /// The yrs document with a file's text; folders have none.
    pub document_id: Option<i64>,
    pub created_by: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Set while the entry is in the trash.
    pub deleted_at: Option<i64>,
    /// Bytes of a binary file (`kind` = `blob`).
    pub size: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
