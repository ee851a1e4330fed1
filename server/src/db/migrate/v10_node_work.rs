//! What each node is running, where every node can see it: the node a run runs on, and the
//! open terminals (which lived only in their node's memory). Another node routes a stop or a
//! keystroke to the owner, lists them for its own tabs, counts them against the project's
//! limits, and closes what a dead node left behind (`crate::remote::sweep`).

use sea_orm::{
    DbBackend, Statement,
    sea_query::{ColumnDef, Index, Table},
};

use super::idents::{Runs, Terminals};

pub(super) fn steps(backend: DbBackend) -> Vec<Statement> {
    vec![
        // Null for runs started before this migration: no live node claims them.
        backend.build(
            &Table::alter()
                .table(Runs::Table)
                .add_column(ColumnDef::new(Runs::Node).big_integer().null())
                .to_owned(),
        ),
        backend.build(
            &Table::create()
                .table(Terminals::Table)
                .if_not_exists()
                // The id the node gave it (its block in the high bits), not a sequence.
                .col(
                    ColumnDef::new(Terminals::Id)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(Terminals::ProjectId)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(Terminals::Node).big_integer().not_null())
                .col(ColumnDef::new(Terminals::OpenedBy).big_integer().not_null())
                .col(ColumnDef::new(Terminals::OpenedByName).string().not_null())
                .col(ColumnDef::new(Terminals::OpenedAt).big_integer().not_null())
                .to_owned(),
        ),
        backend.build(
            &Index::create()
                .name("idx_terminals_project")
                .table(Terminals::Table)
                .col(Terminals::ProjectId)
                .to_owned(),
        ),
    ]
}
