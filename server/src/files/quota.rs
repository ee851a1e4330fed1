//! How much one project may hold: entries (files and folders, trashed ones included until the
//! trash is emptied) and stored bytes (documents with their logs, binary files). Checked
//! whenever entries are added by a person (create, duplicate, import); typing grows a project
//! only within each document's own cap (`--max-doc-bytes`). Folders served from disk are the
//! operator's choice and are not limited.

use app::{
    AppError, AppResult,
    types::{DocId, ProjectId},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
    sea_query::{Expr, IntoCondition, Query},
};

use crate::db::entities::{document, document_snapshot, document_update, file, purged_file};

#[derive(Debug, Clone, Copy)]
pub struct Quota {
    pub max_entries: u64,
    pub max_bytes: u64,
}

/// What a project holds now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub entries: u64,
    pub bytes: u64,
}

/// Sums a byte length over rows in SQL both SQLite and PostgreSQL read the same way (a plain
/// `SUM` of an integer is `numeric` in PostgreSQL).
fn sum_of(expr: &str) -> Expr {
    Expr::cust(format!("CAST(COALESCE(SUM({expr}), 0) AS BIGINT)"))
}

/// Bytes as people read them: "640 KB", "1.5 MB".
fn size(bytes: u64) -> String {
    if bytes < 1 << 20 {
        format!("{} KB", bytes.div_ceil(1024))
    } else {
        format!("{:.1} MB", bytes as f64 / f64::from(1u32 << 20))
    }
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}

/// Three aggregate queries: entries with binary sizes, document snapshots, document logs.
pub async fn usage(db: &impl ConnectionTrait, project: ProjectId) -> AppResult<Usage> {
    let (entries, blobs) = file::Entity::find()
        .select_only()
        .column_as(Expr::cust("COUNT(*)"), "n")
        .column_as(sum_of("size"), "b")
        .filter(file::Column::ProjectId.eq(project.0))
        .into_tuple::<(i64, i64)>()
        .one(db)
        .await?
        .unwrap_or_default();
    // Files kept after the trash was emptied do not count: they go when retention ends.
    let kept = Query::select()
        .column(purged_file::Column::DocumentId)
        .from(purged_file::Entity)
        .and_where(purged_file::Column::ProjectId.eq(project.0))
        .to_owned();
    let docs = Query::select()
        .column(document::Column::Id)
        .from(document::Entity)
        .and_where(document::Column::ProjectId.eq(project.0))
        .and_where(document::Column::Id.not_in_subquery(kept))
        .to_owned();
    let documents = documents_bytes(
        db,
        document_snapshot::Column::DocumentId.in_subquery(docs.clone()),
        document_update::Column::DocumentId.in_subquery(docs),
    )
    .await?;
    Ok(Usage {
        entries: count(entries),
        bytes: count(blobs) + documents,
    })
}

/// What `docs` take in the store (snapshots and logs): what copies of them take at most.
pub async fn stored_bytes(db: &impl ConnectionTrait, docs: &[DocId]) -> AppResult<u64> {
    let mut total = 0;
    for ids in docs.chunks(1000) {
        let ids: Vec<i64> = ids.iter().map(|d| d.0).collect();
        total += documents_bytes(
            db,
            document_snapshot::Column::DocumentId.is_in(ids.clone()),
            document_update::Column::DocumentId.is_in(ids),
        )
        .await?;
    }
    Ok(total)
}

async fn documents_bytes(
    db: &impl ConnectionTrait,
    their_snapshots: impl IntoCondition,
    their_log: impl IntoCondition,
) -> AppResult<u64> {
    let snapshots = document_snapshot::Entity::find()
        .select_only()
        .column_as(sum_of("LENGTH(data)"), "b")
        .filter(their_snapshots)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .unwrap_or_default();
    let logs = document_update::Entity::find()
        .select_only()
        .column_as(sum_of("LENGTH(data)"), "b")
        .filter(their_log)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .unwrap_or_default();
    Ok(count(snapshots) + count(logs))
}

impl Quota {
    /// Refuses adding `entries` entries and `bytes` bytes to a project holding `usage`, with a
    /// message that names the limit and how to make room.
    pub fn check(&self, usage: Usage, entries: u64, bytes: u64) -> AppResult<()> {
        if usage.entries.saturating_add(entries) > self.max_entries {
            crate::limits::refused("max-files-per-project");
            return Err(AppError::TooMany(format!(
                "A project holds at most {} files and folders on this server (the trash counts \
                 until it is emptied); this would make {}.",
                self.max_entries,
                usage.entries.saturating_add(entries)
            )));
        }
        if usage.bytes.saturating_add(bytes) > self.max_bytes {
            crate::limits::refused("max-project-bytes");
            return Err(AppError::TooMany(format!(
                "A project holds at most {} on this server and this one has {}; delete files \
                 and empty the trash to make room.",
                size(self.max_bytes),
                size(usage.bytes)
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_bytes_are_both_limits() {
        let q = Quota {
            max_entries: 10,
            max_bytes: 3 << 20,
        };
        let used = Usage {
            entries: 9,
            bytes: 2 << 20,
        };
        assert!(q.check(used, 1, 1 << 20).is_ok(), "exactly at both limits");
        let more = q.check(used, 2, 0).expect_err("11 entries");
        assert!(more.to_string().contains("at most 10 files"), "{more}");
        assert_eq!(more.status(), 429);
        let big = q.check(used, 0, (1 << 20) + 1).expect_err("over 3 MB");
        assert!(big.to_string().contains("at most 3.0 MB"), "{big}");
        assert!(big.to_string().contains("has 2.0 MB"), "{big}");
        assert_eq!(size(1000), "1 KB");
        assert!(
            q.check(Usage::default(), u64::MAX, u64::MAX).is_err(),
            "no overflow"
        );
    }
}
