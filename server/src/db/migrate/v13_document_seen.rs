//! What each person last saw of each document: the document's sequence number when they last
//! had it open. The tree marks files changed by others since then.

use sea_orm::{
    DbBackend, Statement,
    sea_query::{ColumnDef, Index, Table},
};

use super::{fk, idents::*};

pub(super) fn steps(backend: DbBackend) -> Vec<Statement> {
    let big = |c: DocumentSeen| ColumnDef::new(c).big_integer().not_null().to_owned();
    vec![
        backend.build(
            &Table::create()
                .table(DocumentSeen::Table)
                .if_not_exists()
                .col(big(DocumentSeen::UserId))
                .col(big(DocumentSeen::DocumentId))
                .col(big(DocumentSeen::Seq))
                .primary_key(
                    Index::create()
                        .col(DocumentSeen::UserId)
                        .col(DocumentSeen::DocumentId),
                )
                .foreign_key(&mut fk(
                    "fk_seen_user",
                    (DocumentSeen::Table, DocumentSeen::UserId),
                    (Users::Table, Users::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_seen_document",
                    (DocumentSeen::Table, DocumentSeen::DocumentId),
                    (Documents::Table, Documents::Id),
                ))
                .to_owned(),
        ),
    ]
}
