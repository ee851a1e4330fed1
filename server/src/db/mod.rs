//! Database connection and schema. SQLite (WAL) by default, PostgreSQL for teams; both through
//! sea-orm with the same migrations.

use std::time::Duration;

use sea_orm::{
    ConnectOptions, Database, DatabaseConnection,
    sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous},
};

pub mod entities;
pub mod migrate;

use crate::error::Result;

/// Connects and brings the schema up to date. The migrations run on a connection of their own,
/// closed before the pool opens: an SQLite connection that was open while a migration altered
/// a table prepares its next statement against the schema it remembers, and sqlx keeps that
/// statement's columns even after SQLite re-prepares it for the new schema. Seen as "Missing
/// value for column 'is_admin'" on a fresh server's first sign-ups, a few runs in a hundred,
/// whenever the pool handed out a connection last used before `v6` added the column.
pub async fn open(url: &str) -> Result<DatabaseConnection> {
    let migrating = connect_with(url, 1).await?;
    migrate::run(&migrating).await?;
    migrating.close().await?;
    connect(url).await
}

/// The serving pool (the schema must be current: see [`open`]).
pub async fn connect(url: &str) -> Result<DatabaseConnection> {
    // SQLite has one writer at a time; a few connections serve readers, more only contend.
    let max = if url.starts_with("sqlite:") { 8 } else { 20 };
    connect_with(url, max).await
}

async fn connect_with(url: &str, max_connections: u32) -> Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false)
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        // WAL keeps readers off the writer's back, and a committed transaction survives a
        // killed process (NORMAL only risks the last commits on power loss).
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
        });
    Ok(Database::connect(opts).await?)
}

/// Seconds since the Unix epoch; every timestamp column stores this, so comparisons are plain
/// integer comparisons on both backends.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Milliseconds since the Unix epoch, for columns named `…_ms`.
pub fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX)
}

pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// How a deleted account is named where its work is still shown.
pub const FORMER_MEMBER: &str = "a former member";

/// Users' names by id, in one query (ids of deleted accounts are simply absent).
pub async fn user_names(
    db: &DatabaseConnection,
    ids: impl IntoIterator<Item = i64>,
) -> std::result::Result<std::collections::HashMap<i64, String>, sea_orm::DbErr> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    let ids: std::collections::HashSet<i64> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    Ok(entities::user::Entity::find()
        .select_only()
        .column(entities::user::Column::Id)
        .column(entities::user::Column::Name)
        .filter(entities::user::Column::Id.is_in(ids))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}
