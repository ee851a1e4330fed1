//! The file tree's records as they travel between server and browser (in server-function
//! answers and `tree` events on the project channel).

use serde::{Deserialize, Serialize};

use super::{DocId, FileId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Folder,
    /// Text, edited live in its document.
    File,
    /// Binary or too large to edit: stored as bytes, shown as such, downloadable.
    Blob,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Folder => "folder",
            FileKind::File => "file",
            FileKind::Blob => "blob",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [FileKind::Folder, FileKind::File, FileKind::Blob]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One node of the tree as the browser sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub id: FileId,
    /// `None` at the project root.
    pub parent: Option<FileId>,
    pub name: String,
    pub kind: FileKind,
    /// The document with a text file's content.
    pub doc: Option<DocId>,
    /// Bytes, for binary files.
    pub size: Option<i64>,
    pub updated_at: i64,
    /// Set while in the trash.
    pub deleted_at: Option<i64>,
}

/// A text file whose trash was emptied, kept with its history until `expires_at` (seconds
/// since the epoch, like the other times here). Owners may bring it back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgedFile {
    pub id: i64,
    pub name: String,
    /// Where it was ("src/lib.rs").
    pub path: String,
    pub doc: DocId,
    pub purged_at: i64,
    pub purged_by: String,
    pub expires_at: i64,
}
