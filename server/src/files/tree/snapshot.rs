//! A project's whole tree read at once, for operations over a subtree and for paths.

use std::collections::HashMap;

use app::{
    AppResult,
    files::{FileEntry, FileKind, tree::TreeModel},
    types::{DocId, FileId, ProjectId},
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::db::entities::file;

pub(crate) fn entry(m: &file::Model) -> FileEntry {
    FileEntry {
        id: FileId(m.id),
        parent: m.parent_id.map(FileId),
        name: m.name.clone(),
        kind: FileKind::parse(&m.kind).unwrap_or(FileKind::File),
        doc: m.document_id.map(DocId),
        size: m.size,
        updated_at: m.updated_at,
        deleted_at: m.deleted_at,
    }
}

/// All of a project's rows, for operations over a whole subtree. Liveness, paths and
/// children come from the same `TreeModel` the browser keeps, so both agree on them.
pub(crate) struct Snapshot {
    pub rows: HashMap<FileId, file::Model>,
    tree: TreeModel,
}

impl Snapshot {
    pub(crate) fn is_live(&self, id: FileId) -> bool {
        self.tree.is_live(id)
    }

    /// `a/b/c.rs` for a row.
    pub(crate) fn path(&self, id: FileId) -> Option<String> {
        self.tree.path(id)
    }

    /// The rows in the tree (not trashed, nor inside a trashed folder), with their paths.
    pub(crate) fn live(&self) -> impl Iterator<Item = (&file::Model, String)> {
        self.rows
            .values()
            .filter(|r| self.is_live(FileId(r.id)))
            .filter_map(|r| Some((r, self.path(FileId(r.id))?)))
    }

    /// `id` and the live entries below it, parents before children.
    pub(crate) fn subtree(&self, id: FileId) -> Vec<FileId> {
        let mut out = vec![id];
        let mut i = 0;
        while i < out.len() {
            out.extend(self.tree.children(Some(out[i])));
            i += 1;
        }
        out
    }

    /// Levels of live entries below `id` (0 for a file).
    pub(super) fn height(&self, id: FileId) -> usize {
        let kids = self.tree.children(Some(id));
        if kids.is_empty() {
            return 0;
        }
        1 + kids.iter().map(|k| self.height(*k)).max().unwrap_or(0)
    }
}

pub(crate) async fn snapshot(db: &impl ConnectionTrait, project: ProjectId) -> AppResult<Snapshot> {
    let rows = file::Entity::find()
        .filter(file::Column::ProjectId.eq(project.0))
        .all(db)
        .await?;
    Ok(Snapshot {
        tree: TreeModel::new(rows.iter().map(entry).collect()),
        rows: rows.into_iter().map(|r| (FileId(r.id), r)).collect(),
    })
}
