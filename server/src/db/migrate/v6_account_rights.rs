//! Accounts carry their own rights and sessions know their user: `users.is_admin` replaces
//! naming admins on the command line (a name anyone could sign up under), and
//! `sessions.user_id` lets a user list their sessions and end them (password change, "sign out
//! everywhere"). `access_changes` carries revocations between processes sharing the database
//! (`tandem user password` run beside a server, several nodes).

use sea_orm::{
    DbBackend, Statement,
    sea_query::{ColumnDef, Index, Table},
};

use super::{flag, id_col, idents::*};

pub(super) fn steps(backend: DbBackend) -> Vec<Statement> {
    vec![
        backend.build(
            Table::alter()
                .table(Users::Table)
                .add_column(flag(Users::IsAdmin)),
        ),
        // Nullable: rows written before this migration are read (and filled in) on their
        // next save; a session without a user is a signed-out visitor's.
        backend.build(
            Table::alter()
                .table(Sessions::Table)
                .add_column(ColumnDef::new(Sessions::UserId).big_integer().null()),
        ),
        backend.build(
            Index::create()
                .name("idx_sessions_user")
                .table(Sessions::Table)
                .col(Sessions::UserId)
                .if_not_exists(),
        ),
        backend.build(
            Table::create()
                .table(AccessChanges::Table)
                .if_not_exists()
                .col(id_col(AccessChanges::Id))
                .col(
                    ColumnDef::new(AccessChanges::Origin)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(AccessChanges::Body).text().not_null())
                .col(
                    ColumnDef::new(AccessChanges::CreatedAt)
                        .big_integer()
                        .not_null(),
                ),
        ),
    ]
}
