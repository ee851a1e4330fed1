//! Runs: one row per run (who, what, when, how it ended, the tail of its output), listed per
//! project newest first; and each project's run settings (network opt-in).

use sea_orm::{
    DbBackend, Statement,
    sea_query::{ColumnDef, Index, Table},
};

use super::{fk, flag, id_col, idents::*};

pub(super) fn steps(backend: DbBackend) -> Vec<Statement> {
    let big = |c: Runs| ColumnDef::new(c).big_integer().not_null().to_owned();
    vec![
        backend.build(
            &Table::create()
                .table(Runs::Table)
                .if_not_exists()
                .col(id_col(Runs::Id))
                .col(big(Runs::ProjectId))
                .col(ColumnDef::new(Runs::Name).string_len(256).not_null())
                .col(ColumnDef::new(Runs::Command).text().not_null())
                .col(big(Runs::StartedBy))
                .col(
                    ColumnDef::new(Runs::StartedByName)
                        .string_len(64)
                        .not_null(),
                )
                .col(big(Runs::StartedAt))
                .col(ColumnDef::new(Runs::EndedAt).big_integer().null())
                .col(ColumnDef::new(Runs::ExitCode).integer().null())
                .col(ColumnDef::new(Runs::Reason).text().null())
                .col(ColumnDef::new(Runs::Tail).text().not_null())
                .foreign_key(&mut fk(
                    "fk_runs_project",
                    (Runs::Table, Runs::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .to_owned(),
        ),
        backend.build(
            Index::create()
                .name("idx_runs_project_id")
                .table(Runs::Table)
                .col(Runs::ProjectId)
                .col(Runs::Id)
                .if_not_exists(),
        ),
        backend.build(
            &Table::create()
                .table(RunSettings::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(RunSettings::ProjectId)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(flag(RunSettings::Network))
                .foreign_key(&mut fk(
                    "fk_run_settings_project",
                    (RunSettings::Table, RunSettings::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .to_owned(),
        ),
    ]
}
