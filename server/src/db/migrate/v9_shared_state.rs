//! What several nodes sharing the database coordinate through: rate-limit counters, so they
//! enforce one limit (five nodes must not allow five times the sign-in attempts), and leases,
//! so one node at a time changes a project's tree. A single node keeps its counters in memory
//! and its locks in the process, and never touches these tables.

use sea_orm::{
    DbBackend, Statement,
    sea_query::{ColumnDef, Index, Table},
};

use super::idents::{Leases, RateCounts};

pub(super) fn steps(backend: DbBackend) -> Vec<Statement> {
    vec![
        backend.build(
            &Table::create()
                .table(RateCounts::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(RateCounts::Key)
                        .string()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(RateCounts::Count).big_integer().not_null())
                .col(ColumnDef::new(RateCounts::SinceMs).big_integer().not_null())
                .col(ColumnDef::new(RateCounts::LastMs).big_integer().not_null())
                .to_owned(),
        ),
        // The sweep deletes idle counters by their last use.
        backend.build(
            &Index::create()
                .name("idx_rate_counts_last")
                .table(RateCounts::Table)
                .col(RateCounts::LastMs)
                .to_owned(),
        ),
        backend.build(
            &Table::create()
                .table(Leases::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(Leases::Name)
                        .string()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Leases::Holder).big_integer().not_null())
                .col(ColumnDef::new(Leases::UntilMs).big_integer().not_null())
                .to_owned(),
        ),
    ]
}
