//! Collaborative documents: a snapshot plus an append-only log of yrs updates after it.

use sea_orm::{
    DbBackend, Statement,
    sea_query::{ColumnDef, Index, Table, TableCreateStatement},
};

use super::{fk, id_col, idents::*};

pub(super) fn steps(backend: DbBackend) -> Vec<Statement> {
    let table = |t: &TableCreateStatement| backend.build(t);
    vec![
        table(
            &Table::create()
                .table(Documents::Table)
                .if_not_exists()
                .col(id_col(Documents::Id))
                .col(
                    ColumnDef::new(Documents::ProjectId)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(Documents::Name).string_len(128).null())
                .col(
                    ColumnDef::new(Documents::CreatedBy)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Documents::CreatedAt)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(Documents::Snapshot).blob().null())
                .col(
                    ColumnDef::new(Documents::SnapshotSeq)
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                .col(
                    ColumnDef::new(Documents::LastSeq)
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                .foreign_key(&mut fk(
                    "fk_documents_project",
                    (Documents::Table, Documents::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .to_owned(),
        ),
        table(
            &Table::create()
                .table(DocumentUpdates::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(DocumentUpdates::DocumentId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(DocumentUpdates::Seq)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(DocumentUpdates::Data).blob().not_null())
                .primary_key(
                    Index::create()
                        .col(DocumentUpdates::DocumentId)
                        .col(DocumentUpdates::Seq),
                )
                .foreign_key(&mut fk(
                    "fk_updates_document",
                    (DocumentUpdates::Table, DocumentUpdates::DocumentId),
                    (Documents::Table, Documents::Id),
                ))
                .to_owned(),
        ),
        // Also the lookup index for documents by project; named documents are unique per project
        // (NULL names, the files' documents, never clash).
        backend.build(
            Index::create()
                .name("idx_documents_project_name")
                .table(Documents::Table)
                .col(Documents::ProjectId)
                .col(Documents::Name)
                .unique()
                .if_not_exists(),
        ),
    ]
}
