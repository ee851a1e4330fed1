//! Who wrote what. Each logged update records its author (the account, or none for the
//! server) and how it came; the time is kept per document in marks (the sequence number from
//! which a time holds, one row per half minute of activity) rather than in every update row,
//! which would add more bytes to each keystroke than the author does. Compaction, which folds
//! the log away, first turns it into `document_authorship`: ranges of Yjs item ids (client,
//! clock) with their author and time, merged while one author keeps typing, so "who wrote this"
//! survives as long as the text does.

use sea_orm::{
    DbBackend, Statement,
    sea_query::{ColumnDef, Index, Table},
};

use super::{fk, idents::*};

pub(super) fn steps(backend: DbBackend) -> Vec<Statement> {
    vec![
        // SQLite adds one column per statement. Existing rows read as unknown.
        backend.build(
            &Table::alter()
                .table(DocumentUpdates::Table)
                .add_column(
                    ColumnDef::new(DocumentUpdates::AuthorId)
                        .big_integer()
                        .null(),
                )
                .to_owned(),
        ),
        backend.build(
            &Table::alter()
                .table(DocumentUpdates::Table)
                .add_column(
                    ColumnDef::new(DocumentUpdates::Via)
                        .small_integer()
                        .not_null()
                        .default(0),
                )
                .to_owned(),
        ),
        backend.build(
            &Table::create()
                .table(DocumentTimes::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(DocumentTimes::DocumentId)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(DocumentTimes::Seq).big_integer().not_null())
                .col(ColumnDef::new(DocumentTimes::AtMs).big_integer().not_null())
                .primary_key(
                    Index::create()
                        .col(DocumentTimes::DocumentId)
                        .col(DocumentTimes::Seq),
                )
                .foreign_key(&mut fk(
                    "fk_times_document",
                    (DocumentTimes::Table, DocumentTimes::DocumentId),
                    (Documents::Table, Documents::Id),
                ))
                .to_owned(),
        ),
        backend.build(
            &Table::create()
                .table(DocumentAuthorship::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(DocumentAuthorship::DocumentId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(DocumentAuthorship::Client)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(DocumentAuthorship::ClockStart)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(DocumentAuthorship::ClockEnd)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(DocumentAuthorship::AuthorId)
                        .big_integer()
                        .null(),
                )
                .col(
                    ColumnDef::new(DocumentAuthorship::Via)
                        .small_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(DocumentAuthorship::AtMs)
                        .big_integer()
                        .not_null(),
                )
                // A range claimed twice (a client resending to another node) keeps its first
                // claim.
                .primary_key(
                    Index::create()
                        .col(DocumentAuthorship::DocumentId)
                        .col(DocumentAuthorship::Client)
                        .col(DocumentAuthorship::ClockStart),
                )
                .foreign_key(&mut fk(
                    "fk_authorship_document",
                    (DocumentAuthorship::Table, DocumentAuthorship::DocumentId),
                    (Documents::Table, Documents::Id),
                ))
                .to_owned(),
        ),
    ]
}
