//! Project environments: named sets of variables and secrets (sealed with the server's key)
//! that runs and terminals started in them get; and which environment each run used.

use sea_orm::{
    DbBackend, Statement,
    sea_query::{ColumnDef, Index, Table},
};

use super::{big, fk, id_col, idents::*};

pub(super) fn steps(backend: DbBackend) -> Vec<Statement> {
    vec![
        backend.build(
            &Table::create()
                .table(Environments::Table)
                .if_not_exists()
                .col(id_col(Environments::Id))
                .col(big(Environments::ProjectId))
                .col(ColumnDef::new(Environments::Name).string_len(64).not_null())
                // No foreign key to users: an environment outlives the account that made it.
                .col(big(Environments::CreatedBy))
                .col(big(Environments::CreatedAt))
                .foreign_key(&mut fk(
                    "fk_environment_project",
                    (Environments::Table, Environments::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .to_owned(),
        ),
        backend.build(
            Index::create()
                .name("idx_environment_project_name")
                .table(Environments::Table)
                .col(Environments::ProjectId)
                .col(Environments::Name)
                .unique()
                .if_not_exists(),
        ),
        backend.build(
            &Table::create()
                .table(EnvironmentVars::Table)
                .if_not_exists()
                .col(id_col(EnvironmentVars::Id))
                .col(big(EnvironmentVars::EnvironmentId))
                .col(
                    ColumnDef::new(EnvironmentVars::Name)
                        .string_len(128)
                        .not_null(),
                )
                .col(ColumnDef::new(EnvironmentVars::Secret).boolean().not_null())
                // A plain value's UTF-8, or a secret sealed (`envs::crypt`).
                .col(ColumnDef::new(EnvironmentVars::Value).binary().not_null())
                .col(big(EnvironmentVars::SetBy))
                .col(big(EnvironmentVars::SetAt))
                .foreign_key(&mut fk(
                    "fk_environment_var_environment",
                    (EnvironmentVars::Table, EnvironmentVars::EnvironmentId),
                    (Environments::Table, Environments::Id),
                ))
                .to_owned(),
        ),
        backend.build(
            Index::create()
                .name("idx_environment_var_name")
                .table(EnvironmentVars::Table)
                .col(EnvironmentVars::EnvironmentId)
                .col(EnvironmentVars::Name)
                .unique()
                .if_not_exists(),
        ),
        backend.build(
            Table::alter()
                .table(Runs::Table)
                .add_column(ColumnDef::new(Runs::Environment).string_len(64).null()),
        ),
    ]
}
