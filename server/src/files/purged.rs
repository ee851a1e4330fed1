//! Text files of an emptied trash, kept for the server's retention period: listed (with their
//! history reachable), brought back by owners, and deleted for good by the hourly sweep.

use app::{
    AppError, AppResult,
    files::{FileEntry, FileKind, names::free_name},
    types::{DocId, ProjectId, UserId, files::PurgedFile},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::tree::{NewEntry, Tree, entry};
use crate::db::{
    entities::{document, purged_file, user},
    now,
};

/// Kept files listed at most (newest first).
const LISTED: u64 = 500;

impl Tree {
    /// The project's kept files, newest first.
    pub async fn purged(&self, project: ProjectId) -> AppResult<Vec<PurgedFile>> {
        let rows = purged_file::Entity::find()
            .filter(purged_file::Column::ProjectId.eq(project.0))
            .order_by_desc(purged_file::Column::PurgedAt)
            .order_by_desc(purged_file::Column::Id)
            .limit(LISTED)
            .all(&self.db)
            .await?;
        let mut ids: Vec<i64> = rows.iter().map(|r| r.purged_by).collect();
        ids.sort_unstable();
        ids.dedup();
        let names: std::collections::HashMap<i64, String> = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .column(user::Column::Name)
            .filter(user::Column::Id.is_in(ids))
            .into_tuple::<(i64, String)>()
            .all(&self.db)
            .await?
            .into_iter()
            .collect();
        Ok(rows
            .into_iter()
            .map(|r| PurgedFile {
                id: r.id,
                purged_by: names
                    .get(&r.purged_by)
                    .cloned()
                    .unwrap_or_else(|| "Unknown".to_owned()),
                expires_at: r.purged_at + self.trash_retention_secs,
                name: r.name,
                path: r.path,
                doc: DocId(r.document_id),
                purged_at: r.purged_at,
            })
            .collect())
    }

    /// Brings a kept file back at the project's root (renamed `name (2)` if taken).
    pub async fn restore_purged(
        &self,
        project: ProjectId,
        by: UserId,
        id: i64,
    ) -> AppResult<FileEntry> {
        let _guard = self.lock(project).await?;
        let kept = purged_file::Entity::find_by_id(id)
            .filter(purged_file::Column::ProjectId.eq(project.0))
            .one(&self.db)
            .await?
            .ok_or_else(|| AppError::NotFound("Deleted file".into()))?;
        let taken = self.taken(project, None, None).await?;
        let name = free_name(&kept.name, |k| taken.contains(k));
        self.check_disk_path(project, &[], &name, false).await?;
        self.check_room(project, 1, 0).await?;
        let row = self
            .insert(
                &self.db,
                project,
                by,
                NewEntry {
                    parent: None,
                    name: &name,
                    kind: FileKind::File,
                    doc: Some(DocId(kept.document_id)),
                    size: None,
                },
            )
            .await?;
        purged_file::Entity::delete_by_id(kept.id)
            .exec(&self.db)
            .await?;
        self.announce(project, std::slice::from_ref(&row));
        Ok(entry(&row))
    }

    /// Deletes kept files (and their documents) whose retention has ended; returns how many.
    pub async fn sweep_purged(&self) -> AppResult<u64> {
        let cutoff = now() - self.trash_retention_secs;
        let old: Vec<(i64, i64)> = purged_file::Entity::find()
            .select_only()
            .column(purged_file::Column::Id)
            .column(purged_file::Column::DocumentId)
            .filter(purged_file::Column::PurgedAt.lt(cutoff))
            .limit(1000)
            .into_tuple()
            .all(&self.db)
            .await?;
        if old.is_empty() {
            return Ok(0);
        }
        // The kept rows go with their documents (foreign keys cascade).
        document::Entity::delete_many()
            .filter(document::Column::Id.is_in(old.iter().map(|(_, d)| *d)))
            .exec(&self.db)
            .await?;
        Ok(old.len() as u64)
    }
}
