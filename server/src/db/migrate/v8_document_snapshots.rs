//! Snapshots move out of `documents` into their own table. Every commit bumps
//! `documents.last_seq`, and SQLite rewrites a whole record to update one column: with the
//! snapshot in that row (overflow pages that grow with the document) each keystroke batch read
//! and rewrote the whole document, and every lookup of a document row read it too. The counter
//! now sits in a row of a few dozen bytes; the snapshot is written only when the log is folded.

use sea_orm::{
    DbBackend, Statement,
    sea_query::{ColumnDef, Table},
};

use super::{fk, idents::*};

pub(super) fn steps(backend: DbBackend) -> Vec<Statement> {
    vec![
        backend.build(
            &Table::create()
                .table(DocumentSnapshots::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(DocumentSnapshots::DocumentId)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(DocumentSnapshots::Seq)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(DocumentSnapshots::Data).blob().not_null())
                .foreign_key(&mut fk(
                    "fk_snapshots_document",
                    (DocumentSnapshots::Table, DocumentSnapshots::DocumentId),
                    (Documents::Table, Documents::Id),
                ))
                .to_owned(),
        ),
        // Plain SQL that both backends read the same way.
        Statement::from_string(
            backend,
            "INSERT INTO document_snapshots (document_id, seq, data) \
             SELECT id, snapshot_seq, snapshot FROM documents WHERE snapshot IS NOT NULL",
        ),
        // One column per statement: SQLite alters one thing at a time.
        backend.build(
            &Table::alter()
                .table(Documents::Table)
                .drop_column(Documents::Snapshot)
                .to_owned(),
        ),
        backend.build(
            &Table::alter()
                .table(Documents::Table)
                .drop_column(Documents::SnapshotSeq)
                .to_owned(),
        ),
    ]
}
