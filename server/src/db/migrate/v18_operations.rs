//! The operations console: the server-wide notice (broadcast, maintenance, restart) in one
//! row every node follows, each node's last status report, the alert history, and accounts an
//! admin disabled.

use sea_orm::{
    DbBackend, Statement,
    sea_query::{ColumnDef, Index, Table},
};

use super::{big, flag, id_col, idents::*};

pub(super) fn steps(backend: DbBackend) -> Vec<Statement> {
    vec![
        backend.build(
            Table::alter()
                .table(Users::Table)
                .add_column(flag(Users::Disabled)),
        ),
        backend.build(
            &Table::create()
                .table(OpsState::Table)
                .if_not_exists()
                // One row (id 1): not generated.
                .col(big(OpsState::Id).primary_key().to_owned())
                .col(ColumnDef::new(OpsState::Body).text().not_null())
                .col(big(OpsState::Version))
                .col(big(OpsState::UpdatedAt))
                .to_owned(),
        ),
        backend.build(
            &Table::create()
                .table(OpsNodes::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(OpsNodes::Node)
                        .string()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(OpsNodes::Body).text().not_null())
                .col(big(OpsNodes::ReportedMs))
                .to_owned(),
        ),
        backend.build(
            &Table::create()
                .table(OpsAlerts::Table)
                .if_not_exists()
                .col(id_col(OpsAlerts::Id))
                .col(ColumnDef::new(OpsAlerts::Kind).string().not_null())
                .col(ColumnDef::new(OpsAlerts::Node).string().not_null())
                .col(ColumnDef::new(OpsAlerts::Message).text().not_null())
                .col(ColumnDef::new(OpsAlerts::Value).double().not_null())
                .col(ColumnDef::new(OpsAlerts::Threshold).double().not_null())
                .col(big(OpsAlerts::StartedMs))
                .col(ColumnDef::new(OpsAlerts::EndedMs).big_integer().null())
                .to_owned(),
        ),
        backend.build(
            Index::create()
                .name("idx_ops_alerts_started")
                .table(OpsAlerts::Table)
                .col(OpsAlerts::StartedMs)
                .if_not_exists(),
        ),
    ]
}
