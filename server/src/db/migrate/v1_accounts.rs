//! Accounts, projects, members, invites and sessions.

use sea_orm::{
    DbBackend, Statement,
    sea_query::{ColumnDef, Index, IndexCreateStatement, Table, TableCreateStatement},
};

use super::{fk, id_col, idents::*};

pub(super) fn steps(backend: DbBackend) -> Vec<Statement> {
    let table = |t: &TableCreateStatement| backend.build(t);
    let index = |i: &IndexCreateStatement| backend.build(i);
    vec![
        table(
            &Table::create()
                .table(Users::Table)
                .if_not_exists()
                .col(id_col(Users::Id))
                .col(ColumnDef::new(Users::Name).string_len(64).not_null())
                .col(
                    ColumnDef::new(Users::NameKey)
                        .string_len(64)
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(Users::PasswordHash).text().not_null())
                .col(ColumnDef::new(Users::CreatedAt).big_integer().not_null())
                .to_owned(),
        ),
        table(
            &Table::create()
                .table(Projects::Table)
                .if_not_exists()
                .col(id_col(Projects::Id))
                .col(ColumnDef::new(Projects::Name).string_len(256).not_null())
                .col(ColumnDef::new(Projects::CreatedBy).big_integer().not_null())
                .col(ColumnDef::new(Projects::CreatedAt).big_integer().not_null())
                .col(ColumnDef::new(Projects::UpdatedAt).big_integer().not_null())
                .foreign_key(&mut fk(
                    "fk_projects_created_by",
                    (Projects::Table, Projects::CreatedBy),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        ),
        table(
            &Table::create()
                .table(ProjectMembers::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(ProjectMembers::ProjectId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ProjectMembers::UserId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ProjectMembers::Role)
                        .string_len(16)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ProjectMembers::JoinedAt)
                        .big_integer()
                        .not_null(),
                )
                .primary_key(
                    Index::create()
                        .col(ProjectMembers::ProjectId)
                        .col(ProjectMembers::UserId),
                )
                .foreign_key(&mut fk(
                    "fk_members_project",
                    (ProjectMembers::Table, ProjectMembers::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_members_user",
                    (ProjectMembers::Table, ProjectMembers::UserId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        ),
        index(
            &Index::create()
                .name("idx_members_user")
                .table(ProjectMembers::Table)
                .col(ProjectMembers::UserId)
                .if_not_exists()
                .to_owned(),
        ),
        table(
            &Table::create()
                .table(Invites::Table)
                .if_not_exists()
                .col(id_col(Invites::Id))
                .col(ColumnDef::new(Invites::ProjectId).big_integer().not_null())
                .col(
                    ColumnDef::new(Invites::Token)
                        .string_len(64)
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(Invites::Role).string_len(16).not_null())
                .col(ColumnDef::new(Invites::CreatedBy).big_integer().not_null())
                .col(ColumnDef::new(Invites::CreatedAt).big_integer().not_null())
                .col(ColumnDef::new(Invites::ExpiresAt).big_integer().not_null())
                .foreign_key(&mut fk(
                    "fk_invites_project",
                    (Invites::Table, Invites::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_invites_created_by",
                    (Invites::Table, Invites::CreatedBy),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        ),
        table(
            &Table::create()
                .table(Sessions::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(Sessions::Id)
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Sessions::Data).text().not_null())
                .col(ColumnDef::new(Sessions::ExpiresAt).big_integer().not_null())
                .to_owned(),
        ),
        index(
            &Index::create()
                .name("idx_sessions_expires")
                .table(Sessions::Table)
                .col(Sessions::ExpiresAt)
                .if_not_exists()
                .to_owned(),
        ),
    ]
}
