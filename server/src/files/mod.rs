//! Project files. Until the file tree (issue 4) a project has one file, but it is a real record
//! with its own document, the same shape every later file has.

use app::{
    AppResult,
    editor::FileDoc,
    types::{ProjectId, UserId},
};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};

use crate::{
    db::{entities::file, now},
    editor::Editor,
    error::Internal,
};

/// The first file a new project gets when an editor opens it.
pub const DEFAULT_FILE: &str = "README.md";

async fn first_file(db: &DatabaseConnection, project: ProjectId) -> AppResult<Option<FileDoc>> {
    let row = file::Entity::find()
        .filter(file::Column::ProjectId.eq(project.0))
        .filter(file::Column::Kind.eq("file"))
        .filter(file::Column::DeletedAt.is_null())
        .filter(file::Column::DocumentId.is_not_null())
        .order_by_asc(file::Column::Id)
        .one(db)
        .await
        .internal()?;
    Ok(row.and_then(|f| {
        Some(FileDoc {
            file: f.id,
            name: f.name,
            doc: f.document_id?,
        })
    }))
}

pub async fn default_file(
    db: &DatabaseConnection,
    editor: &Editor,
    project: ProjectId,
    user: UserId,
    may_create: bool,
) -> AppResult<Option<FileDoc>> {
    if let Some(f) = first_file(db, project).await? {
        return Ok(Some(f));
    }
    if !may_create {
        return Ok(None);
    }
    // Two tabs opening a new project at once must not create two READMEs (on this node).
    let _creating = editor.creating_files.lock().await;
    if let Some(f) = first_file(db, project).await? {
        return Ok(Some(f));
    }
    let doc = editor.create(project, user, None).await?;
    let at = now();
    file::Entity::insert(file::ActiveModel {
        project_id: Set(project.0),
        parent_id: Set(None),
        name: Set(DEFAULT_FILE.to_owned()),
        kind: Set("file".to_owned()),
        document_id: Set(Some(doc)),
        created_by: Set(user.0),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
        ..Default::default()
    })
    .exec(db)
    .await
    .internal()?;
    first_file(db, project).await
}
