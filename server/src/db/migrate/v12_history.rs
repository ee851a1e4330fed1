//! File history, kept files and the audit log.
//!
//! `document_versions` is a file's timeline: one row per burst of editing (or a version a
//! person named), written when compaction folds the log away. A row's text is stored whole
//! (`base_id` null) or as a line delta against the row `base_id`; `depth` counts the deltas to
//! the nearest whole text, which compaction keeps bounded so reading any version reads a
//! bounded number of rows.
//!
//! `purged_files` keeps the documents of text files whose trash was emptied, for the server's
//! retention period; a sweep deletes them (and their documents) after it.
//!
//! `audit_entries` is append-only through the application: it has an insert and a read path,
//! and only the retention sweep deletes (old rows, never single ones).

use sea_orm::{
    DbBackend, Statement,
    sea_query::{ColumnDef, Index, Table},
};

use super::{fk, id_col, idents::*};

pub(super) fn steps(backend: DbBackend) -> Vec<Statement> {
    let big = |c: DocumentVersions| ColumnDef::new(c).big_integer().not_null().to_owned();
    let pbig = |c: PurgedFiles| ColumnDef::new(c).big_integer().not_null().to_owned();
    let abig = |c: AuditEntries| ColumnDef::new(c).big_integer().not_null().to_owned();
    vec![
        backend.build(
            &Table::create()
                .table(DocumentVersions::Table)
                .if_not_exists()
                .col(id_col(DocumentVersions::Id))
                .col(big(DocumentVersions::DocumentId))
                .col(big(DocumentVersions::Seq))
                .col(big(DocumentVersions::StartedMs))
                .col(big(DocumentVersions::AtMs))
                .col(
                    ColumnDef::new(DocumentVersions::Authors)
                        .string_len(400)
                        .not_null(),
                )
                .col(ColumnDef::new(DocumentVersions::Vias).integer().not_null())
                .col(
                    ColumnDef::new(DocumentVersions::Name)
                        .string_len(200)
                        .null(),
                )
                .col(
                    ColumnDef::new(DocumentVersions::NamedBy)
                        .big_integer()
                        .null(),
                )
                .col(
                    ColumnDef::new(DocumentVersions::BaseId)
                        .big_integer()
                        .null(),
                )
                .col(ColumnDef::new(DocumentVersions::Depth).integer().not_null())
                .col(ColumnDef::new(DocumentVersions::Data).blob().not_null())
                .foreign_key(&mut fk(
                    "fk_versions_document",
                    (DocumentVersions::Table, DocumentVersions::DocumentId),
                    (Documents::Table, Documents::Id),
                ))
                .to_owned(),
        ),
        backend.build(
            Index::create()
                .name("idx_versions_document")
                .table(DocumentVersions::Table)
                .col(DocumentVersions::DocumentId)
                .col(DocumentVersions::Id)
                .if_not_exists(),
        ),
        backend.build(
            &Table::create()
                .table(PurgedFiles::Table)
                .if_not_exists()
                .col(id_col(PurgedFiles::Id))
                .col(pbig(PurgedFiles::ProjectId))
                .col(pbig(PurgedFiles::DocumentId))
                .col(ColumnDef::new(PurgedFiles::Name).string().not_null())
                .col(ColumnDef::new(PurgedFiles::Path).text().not_null())
                .col(pbig(PurgedFiles::PurgedAt))
                .col(pbig(PurgedFiles::PurgedBy))
                .foreign_key(&mut fk(
                    "fk_purged_project",
                    (PurgedFiles::Table, PurgedFiles::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_purged_document",
                    (PurgedFiles::Table, PurgedFiles::DocumentId),
                    (Documents::Table, Documents::Id),
                ))
                .to_owned(),
        ),
        backend.build(
            Index::create()
                .name("idx_purged_project")
                .table(PurgedFiles::Table)
                .col(PurgedFiles::ProjectId)
                .col(PurgedFiles::PurgedAt)
                .if_not_exists(),
        ),
        backend.build(
            &Table::create()
                .table(AuditEntries::Table)
                .if_not_exists()
                .col(id_col(AuditEntries::Id))
                .col(abig(AuditEntries::ProjectId))
                .col(abig(AuditEntries::AtMs))
                // No foreign key to users: an entry outlives the account it names.
                .col(ColumnDef::new(AuditEntries::ActorId).big_integer().null())
                .col(ColumnDef::new(AuditEntries::ActorName).string().not_null())
                .col(
                    ColumnDef::new(AuditEntries::Action)
                        .string_len(40)
                        .not_null(),
                )
                .col(ColumnDef::new(AuditEntries::Target).text().not_null())
                .col(ColumnDef::new(AuditEntries::Detail).text().not_null())
                .foreign_key(&mut fk(
                    "fk_audit_project",
                    (AuditEntries::Table, AuditEntries::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .to_owned(),
        ),
        backend.build(
            Index::create()
                .name("idx_audit_project_time")
                .table(AuditEntries::Table)
                .col(AuditEntries::ProjectId)
                .col(AuditEntries::AtMs)
                .if_not_exists(),
        ),
    ]
}
