//! Versioned schema migrations, applied in order at start-up (and by `tandem migrate`). Each
//! migration is written out in sea-query rather than derived from the entities, so a later
//! change to an entity never rewrites what an old migration did.
//!
//! A small runner instead of `sea-orm-migration`: the schema needs only ordered, recorded steps,
//! and the extra crate (with sea-schema) costs build minutes on every cold CI run.

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryOrder, Set, Statement,
    TransactionTrait,
    sea_query::{ColumnDef, ForeignKey, ForeignKeyAction, Table},
};

use crate::{db::now, error::Result};

mod idents;
use idents::SchemaMigrations;
mod v10_node_work;
mod v11_attribution;
mod v12_history;
mod v13_document_seen;
mod v14_ai;
mod v15_ai_context;
mod v16_environments;
mod v17_dashboard;
mod v18_operations;
mod v1_accounts;
mod v2_documents;
mod v3_files;
mod v4_blobs_and_disks;
mod v5_chat;
mod v6_account_rights;
mod v7_runs;
mod v8_document_snapshots;
mod v9_shared_state;

/// A migration is the list of statements it runs, built for the connected backend.
type Steps = fn(DbBackend) -> Vec<Statement>;

const MIGRATIONS: &[(i64, &str, Steps)] = &[
    (1, "accounts_projects_sessions", v1_accounts::steps),
    (2, "documents_and_update_log", v2_documents::steps),
    (3, "files", v3_files::steps),
    (4, "blobs_and_disk_projects", v4_blobs_and_disks::steps),
    (5, "chat_messages", v5_chat::steps),
    (6, "account_rights", v6_account_rights::steps),
    (7, "runs", v7_runs::steps),
    (8, "document_snapshots", v8_document_snapshots::steps),
    (9, "rate_counts_and_leases", v9_shared_state::steps),
    (10, "terminals_and_run_nodes", v10_node_work::steps),
    (11, "attribution", v11_attribution::steps),
    (12, "history_and_audit", v12_history::steps),
    (13, "document_seen", v13_document_seen::steps),
    (14, "ai_suggestions_usage_settings", v14_ai::steps),
    (15, "ai_answer_context", v15_ai_context::steps),
    (16, "environments", v16_environments::steps),
    (17, "dashboard", v17_dashboard::steps),
    (18, "operations", v18_operations::steps),
];

pub async fn run(db: &DatabaseConnection) -> Result<Vec<&'static str>> {
    apply(db, i64::MAX).await
}

/// Applies the migrations not yet applied, up to and including version `through`.
async fn apply(db: &DatabaseConnection, through: i64) -> Result<Vec<&'static str>> {
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
        if applied.contains(&version) || version > through {
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

pub(super) fn id_col(col: impl sea_orm::sea_query::IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .big_integer()
        .not_null()
        .auto_increment()
        .primary_key()
        .to_owned()
}

/// A required boolean column, false unless set (rows that existed before it read false).
pub(super) fn flag(c: impl sea_orm::sea_query::IntoIden) -> ColumnDef {
    ColumnDef::new(c)
        .boolean()
        .not_null()
        .default(false)
        .to_owned()
}

/// A required 64-bit integer column (ids and Unix times).
pub(super) fn big(c: impl sea_orm::sea_query::IntoIden) -> ColumnDef {
    ColumnDef::new(c).big_integer().not_null().to_owned()
}

pub(super) fn fk(
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

#[cfg(test)]
mod tests {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};

    /// A database written before v8 keeps its documents: snapshots move to their own table
    /// and the document rows lose the columns that held them.
    #[tokio::test]
    async fn v8_moves_snapshots_out_of_document_rows() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = super::super::connect_with(&url, 1).await.expect("connects");
        super::apply(&db, 7).await.expect("v1 to v7");
        let sql = |s: &str| Statement::from_string(DbBackend::Sqlite, s.to_owned());
        for s in [
            "INSERT INTO users (id, name, name_key, password_hash, created_at) VALUES (1, 'a', 'a', 'x', 0)",
            "INSERT INTO projects (id, name, created_by, created_at, updated_at) VALUES (1, 'p', 1, 0, 0)",
            "INSERT INTO documents (id, project_id, created_by, created_at, snapshot, \
             snapshot_seq, last_seq) VALUES (1, 1, 1, 0, X'0102', 5, 9), (2, 1, 1, 0, NULL, 0, 3)",
        ] {
            db.execute_raw(sql(s)).await.expect(s);
        }
        assert_eq!(
            super::apply(&db, 8).await.expect("v8"),
            ["document_snapshots"]
        );
        let rows = db
            .query_all_raw(sql("SELECT document_id, seq, data FROM document_snapshots"))
            .await
            .expect("reads");
        assert_eq!(rows.len(), 1, "only the document that had a snapshot");
        let row = &rows[0];
        assert_eq!(row.try_get::<i64>("", "document_id").expect("id"), 1);
        assert_eq!(row.try_get::<i64>("", "seq").expect("seq"), 5);
        assert_eq!(row.try_get::<Vec<u8>>("", "data").expect("data"), [1, 2]);
        let columns: Vec<String> = db
            .query_all_raw(sql("SELECT name FROM pragma_table_info('documents')"))
            .await
            .expect("reads")
            .iter()
            .filter_map(|r| r.try_get::<String>("", "name").ok())
            .collect();
        assert!(columns.contains(&"last_seq".to_owned()), "{columns:?}");
        assert!(
            !columns.iter().any(|c| c.starts_with("snapshot")),
            "{columns:?}"
        );
    }
}
