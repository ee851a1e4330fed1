//! What the assistant was shown for an answer (the files and lines it may cite, and what did
//! not fit in its context), kept with the answer so its links survive a reload and a
//! regeneration.

use sea_orm::{
    DbBackend, Statement,
    sea_query::{ColumnDef, Table},
};

use super::idents::*;

pub(super) fn steps(backend: DbBackend) -> Vec<Statement> {
    vec![
        backend.build(
            Table::alter()
                .table(ChatMessages::Table)
                .add_column(ColumnDef::new(ChatMessages::AiContext).text().null()),
        ),
    ]
}
