//! Versioned schema migrations, applied in order at start-up (and by `tandem migrate`). Each
//! migration is written out in sea-query rather than derived from the entities, so a later
//! change to an entity never rewrites what an old migration did.
//!
//! A small runner instead of `sea-orm-migration`: the schema needs only ordered, recorded steps,
//! and the extra crate (with sea-schema) costs build minutes on every cold CI run.

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DeriveIden, EntityTrait, QueryOrder, Set,
    Statement, TransactionTrait,
    sea_query::{
        ColumnDef, ForeignKey, ForeignKeyAction, Index, IndexCreateStatement, Table,
        TableCreateStatement,
    },
};

use crate::{db::now, error::Result};

/// A migration is the list of statements it runs, built for the connected backend.
type Steps = fn(DbBackend) -> Vec<Statement>;

const MIGRATIONS: &[(i64, &str, Steps)] = &[
    (1, "accounts_projects_sessions", v1),
    (2, "documents_and_update_log", v2),
    (3, "files", v3),
    (4, "blobs_and_disk_projects", v4),
    (5, "chat_messages", v5),
];

pub async fn run(db: &DatabaseConnection) -> Result<Vec<&'static str>> {
    db.execute(
        &Table::create()
            .table(SchemaMigrations::Table)
            .if_not_exists()
            .col(
                ColumnDef::new(SchemaMigrations::Version)
                    .big_integer()
                    .not_null()
                    .primary_key(),
            )
            .col(ColumnDef::new(SchemaMigrations::Name).string().not_null())
            .col(
                ColumnDef::new(SchemaMigrations::AppliedAt)
                    .big_integer()
                    .not_null(),
            )
            .to_owned(),
    )
    .await?;
    let applied: Vec<i64> = applied::Entity::find()
        .order_by_asc(applied::Column::Version)
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.version)
        .collect();
    let mut ran = Vec::new();
    for &(version, name, steps) in MIGRATIONS {
        if applied.contains(&version) {
            continue;
        }
        // One transaction per migration: PostgreSQL rolls DDL back on failure; SQLite too.
        let txn = db.begin().await?;
        for statement in steps(db.get_database_backend()) {
            txn.execute_raw(statement).await?;
        }
        applied::Entity::insert(applied::ActiveModel {
            version: Set(version),
            name: Set(name.to_owned()),
            applied_at: Set(now()),
        })
        .exec(&txn)
        .await?;
        txn.commit().await?;
        tracing::info!(version, name, "applied migration");
        ran.push(name);
    }
    Ok(ran)
}

/// Backend name for logs and health output.
pub fn backend_name(db: &DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        DbBackend::Sqlite => "sqlite",
        DbBackend::Postgres => "postgres",
        _ => "other",
    }
}

fn id_col(col: impl sea_orm::sea_query::IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

fn fk(
    name: &str,
    from: (
        impl sea_orm::sea_query::IntoIden,
        impl sea_orm::sea_query::IntoIden,
    ),
    to: (
        impl sea_orm::sea_query::IntoIden,
        impl sea_orm::sea_query::IntoIden,
    ),
) -> sea_orm::sea_query::ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to.0, to.1)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn v1(backend: DbBackend) -> Vec<Statement> {
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

/// Collaborative documents: a snapshot plus an append-only log of yrs updates after it.
fn v2(backend: DbBackend) -> Vec<Statement> {
    let table = |t: &TableCreateStatement| backend.build(t);
    vec![
        table(
            &Table::create()
                .table(Documents::Table)
                .if_not_exists()
                .col(id_col(Documents::Id))
                .col(
                    ColumnDef::new(Documents::ProjectId)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(Documents::Name).string_len(128).null())
                .col(
                    ColumnDef::new(Documents::CreatedBy)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Documents::CreatedAt)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(Documents::Snapshot).blob().null())
                .col(
                    ColumnDef::new(Documents::SnapshotSeq)
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                .col(
                    ColumnDef::new(Documents::LastSeq)
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                .foreign_key(&mut fk(
                    "fk_documents_project",
                    (Documents::Table, Documents::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .to_owned(),
        ),
        table(
            &Table::create()
                .table(DocumentUpdates::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(DocumentUpdates::DocumentId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(DocumentUpdates::Seq)
                        .big_integer()
                        .not_null(),
                )
                .col(ColumnDef::new(DocumentUpdates::Data).blob().not_null())
                .primary_key(
                    Index::create()
                        .col(DocumentUpdates::DocumentId)
                        .col(DocumentUpdates::Seq),
                )
                .foreign_key(&mut fk(
                    "fk_updates_document",
                    (DocumentUpdates::Table, DocumentUpdates::DocumentId),
                    (Documents::Table, Documents::Id),
                ))
                .to_owned(),
        ),
        // Also the lookup index for documents by project; named documents are unique per project
        // (NULL names, the files' documents, never clash).
        backend.build(
            Index::create()
                .name("idx_documents_project_name")
                .table(Documents::Table)
                .col(Documents::ProjectId)
                .col(Documents::Name)
                .unique()
                .if_not_exists(),
        ),
    ]
}

/// A project's tree: folders and files, each file's text in its own document. Server-
/// authoritative records (moves need one order); `deleted_at` is the trash.
fn v3(backend: DbBackend) -> Vec<Statement> {
    let big = |c: Files| ColumnDef::new(c).big_integer().not_null().to_owned();
    vec![
        backend.build(
            &Table::create()
                .table(Files::Table)
                .if_not_exists()
                .col(id_col(Files::Id))
                .col(big(Files::ProjectId))
                .col(ColumnDef::new(Files::ParentId).big_integer().null())
                .col(ColumnDef::new(Files::Name).string_len(255).not_null())
                .col(ColumnDef::new(Files::Kind).string_len(16).not_null())
                .col(ColumnDef::new(Files::DocumentId).big_integer().null())
                .col(big(Files::CreatedBy))
                .col(big(Files::CreatedAt))
                .col(big(Files::UpdatedAt))
                .col(ColumnDef::new(Files::DeletedAt).big_integer().null())
                .foreign_key(&mut fk(
                    "fk_files_project",
                    (Files::Table, Files::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_files_parent",
                    (Files::Table, Files::ParentId),
                    (Files::Table, Files::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_files_document",
                    (Files::Table, Files::DocumentId),
                    (Documents::Table, Documents::Id),
                ))
                .to_owned(),
        ),
        backend.build(
            Index::create()
                .name("idx_files_project_parent")
                .table(Files::Table)
                .col(Files::ProjectId)
                .col(Files::ParentId)
                .if_not_exists(),
        ),
    ]
}

/// Binary (and too-large) files keep their bytes in `file_blobs`, with the size on the file
/// for the tree; a project may be bound to a directory on the server's disk.
fn v4(backend: DbBackend) -> Vec<Statement> {
    vec![
        backend.build(
            Table::alter()
                .table(Files::Table)
                .add_column(ColumnDef::new(Files::Size).big_integer().null()),
        ),
        backend.build(
            Table::alter()
                .table(Projects::Table)
                .add_column(ColumnDef::new(Projects::DiskRoot).text().null()),
        ),
        backend.build(
            &Table::create()
                .table(FileBlobs::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(FileBlobs::FileId)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(FileBlobs::Data).blob().not_null())
                .foreign_key(&mut fk(
                    "fk_blobs_file",
                    (FileBlobs::Table, FileBlobs::FileId),
                    (Files::Table, Files::Id),
                ))
                .to_owned(),
        ),
    ]
}

/// Project chat. The id is the chat's order; `(project, author, client_id)` is unique so a
/// resent message is found instead of stored twice; history pages walk `(project, id)`.
fn v5(backend: DbBackend) -> Vec<Statement> {
    let big = |c: ChatMessages| ColumnDef::new(c).big_integer().not_null().to_owned();
    let opt_big = |c: ChatMessages| ColumnDef::new(c).big_integer().null().to_owned();
    vec![
        backend.build(
            &Table::create()
                .table(ChatMessages::Table)
                .if_not_exists()
                .col(id_col(ChatMessages::Id))
                .col(big(ChatMessages::ProjectId))
                .col(big(ChatMessages::AuthorId))
                .col(
                    ColumnDef::new(ChatMessages::ClientId)
                        .string_len(64)
                        .not_null(),
                )
                .col(ColumnDef::new(ChatMessages::Kind).string_len(8).not_null())
                .col(ColumnDef::new(ChatMessages::Body).text().not_null())
                .col(big(ChatMessages::CreatedAt))
                .col(opt_big(ChatMessages::EditedAt))
                .col(opt_big(ChatMessages::DeletedAt))
                .col(opt_big(ChatMessages::ReplyTo))
                .col(ColumnDef::new(ChatMessages::AiState).string_len(16).null())
                .col(ColumnDef::new(ChatMessages::AiError).text().null())
                .col(ColumnDef::new(ChatMessages::AiRequest).text().null())
                .foreign_key(&mut fk(
                    "fk_chat_project",
                    (ChatMessages::Table, ChatMessages::ProjectId),
                    (Projects::Table, Projects::Id),
                ))
                .foreign_key(&mut fk(
                    "fk_chat_author",
                    (ChatMessages::Table, ChatMessages::AuthorId),
                    (Users::Table, Users::Id),
                ))
                .to_owned(),
        ),
        backend.build(
            Index::create()
                .name("idx_chat_project_id")
                .table(ChatMessages::Table)
                .col(ChatMessages::ProjectId)
                .col(ChatMessages::Id)
                .if_not_exists(),
        ),
        backend.build(
            Index::create()
                .name("idx_chat_client_id")
                .table(ChatMessages::Table)
                .col(ChatMessages::ProjectId)
                .col(ChatMessages::AuthorId)
                .col(ChatMessages::ClientId)
                .unique()
                .if_not_exists(),
        ),
    ]
}

#[derive(DeriveIden)]
enum ChatMessages {
    Table,
    Id,
    ProjectId,
    AuthorId,
    ClientId,
    Kind,
    Body,
    CreatedAt,
    EditedAt,
    DeletedAt,
    ReplyTo,
    AiState,
    AiError,
    AiRequest,
}

#[derive(DeriveIden)]
enum FileBlobs {
    Table,
    FileId,
    Data,
}

#[derive(DeriveIden)]
enum Files {
    Table,
    Id,
    ProjectId,
    ParentId,
    Name,
    Kind,
    DocumentId,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
    Size,
}

#[derive(DeriveIden)]
enum Documents {
    Table,
    Id,
    ProjectId,
    Name,
    CreatedBy,
    CreatedAt,
    Snapshot,
    SnapshotSeq,
    LastSeq,
}

#[derive(DeriveIden)]
enum DocumentUpdates {
    Table,
    DocumentId,
    Seq,
    Data,
}

#[derive(DeriveIden)]
enum SchemaMigrations {
    Table,
    Version,
    Name,
    AppliedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Name,
    NameKey,
    PasswordHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
    Name,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    DiskRoot,
}

#[derive(DeriveIden)]
enum ProjectMembers {
    Table,
    ProjectId,
    UserId,
    Role,
    JoinedAt,
}

#[derive(DeriveIden)]
enum Invites {
    Table,
    Id,
    ProjectId,
    Token,
    Role,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    Data,
    ExpiresAt,
}

/// The bookkeeping table, as an entity so it can be read portably.
pub mod applied {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "schema_migrations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub version: i64,
        pub name: String,
        pub applied_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
