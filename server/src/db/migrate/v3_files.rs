//! A project's tree: folders and files, each file's text in its own document. Server-
//! authoritative records (moves need one order); `deleted_at` is the trash.

use sea_orm::{
    DbBackend, Statement,
    sea_query::{ColumnDef, Index, Table},
};

use super::{fk, id_col, idents::*};

pub(super) fn steps(backend: DbBackend) -> Vec<Statement> {
    let big = |c: Files| ColumnDef::new(c).big_integer().not_null().to_owned();
    vec![
        backend.build(
            &Table::create()
                .table(Files::Table)
                .if_not_exists()
                .col(id_col(Files::Id))
                .col(big(Files::ProjectId))
                .col(ColumnDef::new(Files::ParentId).big_integer().null())
                .col(ColumnDef::new(Files::Name).string_len(255).not_null())
                .col(ColumnDef::new(Files::Kind).string_len(16).not_null())
                .col(ColumnDef::new(Files::DocumentId).big_integer().null())
                .col(big(Files::CreatedBy))
                .col(big(Files::CreatedAt))
                .col(big(Files::UpdatedAt))
                .col(ColumnDef::new(Files::DeletedAt).big_integer().null())
                .foreign_key(&mut fk(
                    "fk_files_project",
                    (Files::Table, Files::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_files_parent",
                    (Files::Table, Files::ParentId),
                    (Files::Table, Files::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_files_document",
                    (Files::Table, Files::DocumentId),
                    (Documents::Table, Documents::Id),
                ))
                .to_owned(),
        ),
        backend.build(
            Index::create()
                .name("idx_files_project_parent")
                .table(Files::Table)
                .col(Files::ProjectId)
                .col(Files::ParentId)
                .if_not_exists(),
        ),
    ]
}
