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

pub async fn connect(url: &str) -> Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_owned());
    let sqlite = url.starts_with("sqlite:");
    opts.sqlx_logging(false)
        // SQLite has one writer at a time; a few connections serve readers, more only contend.
        .max_connections(if sqlite { 8 } else { 20 })
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

pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
