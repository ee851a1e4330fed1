//! The browser's copy of a project's tree: entries by id, children sorted as the tree shows
//! them (folders first, then by name), and the rows a view of it shows (expanded folders, a
//! filter). Tree events from the server are applied to it incrementally. Pure data, so it is
//! tested without a browser.

use std::collections::{HashMap, HashSet};

use super::{FileEntry, FileKind};
use crate::types::FileId;

#[derive(Debug, Clone, Default)]
pub struct TreeModel {
    entries: HashMap<FileId, FileEntry>,
    /// Live (not trashed) children of each folder, sorted; `None` is the root.
    children: HashMap<Option<FileId>, Vec<FileId>>,
}

/// One visible line of the tree.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Row {
    pub id: FileId,
    pub depth: usize,
    pub name: String,
    pub kind: FileKind,
    pub expanded: bool,
}

fn sort_key(e: &FileEntry) -> (bool, String, FileId) {
    (e.kind != FileKind::Folder, e.name.to_lowercase(), e.id)
}

impl TreeModel {
    pub fn new(entries: Vec<FileEntry>) -> Self {
        let mut t = Self::default();
        t.apply(entries);
        t
    }

    /// Adds or replaces entries (created, renamed, moved, trashed, restored).
    pub fn apply(&mut self, entries: Vec<FileEntry>) {
        for e in entries {
            self.entries.insert(e.id, e);
        }
        self.reindex();
    }

    /// Forgets entries for good (trash emptied).
    pub fn purge(&mut self, ids: &[FileId]) {
        for id in ids {
            self.entries.remove(id);
        }
        self.reindex();
    }

    fn reindex(&mut self) {
        self.children.clear();
        for e in self.entries.values() {
            if e.deleted_at.is_none() {
                self.children.entry(e.parent).or_default().push(e.id);
            }
        }
        let entries = &self.entries;
        for list in self.children.values_mut() {
            list.sort_by_cached_key(|id| entries.get(id).map(sort_key));
        }
    }

    /// Every entry (live and trashed), in no particular order: what a kept copy of the tree holds.
    pub fn entries(&self) -> Vec<FileEntry> {
        self.entries.values().cloned().collect()
    }

    pub fn get(&self, id: FileId) -> Option<&FileEntry> {
        self.entries.get(&id)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn children(&self, parent: Option<FileId>) -> &[FileId] {
        self.children.get(&parent).map_or(&[], Vec::as_slice)
    }

    /// In the tree: neither it nor any folder above it is in the trash.
    pub fn is_live(&self, id: FileId) -> bool {
        let mut cur = Some(id);
        let mut hops = 0;
        while let Some(c) = cur {
            match self.entries.get(&c) {
                Some(e) if e.deleted_at.is_none() && hops < 1000 => cur = e.parent,
                _ => return false,
            }
            hops += 1;
        }
        true
    }

    /// `src/app/main.rs`, or `None` for an unknown id.
    pub fn path(&self, id: FileId) -> Option<String> {
        let mut parts = Vec::new();
        let mut cur = Some(id);
        while let Some(c) = cur {
            let e = self.entries.get(&c)?;
            parts.push(e.name.as_str());
            cur = e.parent;
            if parts.len() > 1000 {
                return None;
            }
        }
        parts.reverse();
        Some(parts.join("/"))
    }

    /// The folders containing `id`, nearest last (to expand them when revealing a file).
    pub fn ancestors(&self, id: FileId) -> Vec<FileId> {
        let mut out = Vec::new();
        let mut cur = self.entries.get(&id).and_then(|e| e.parent);
        while let Some(c) = cur {
            if out.len() > 1000 {
                break;
            }
            out.push(c);
            cur = self.entries.get(&c).and_then(|e| e.parent);
        }
        out.reverse();
        out
    }

    /// Is `folder` the entry `id` itself or above it? (A move there would make a cycle.)
    pub fn is_within(&self, id: FileId, folder: FileId) -> bool {
        id == folder || self.ancestors(id).contains(&folder)
    }

    /// The visible rows: expanded folders show their children. With a filter, every live file
    /// whose path contains it (case-insensitively) is shown with its folders, all expanded.
    pub fn rows(&self, expanded: &HashSet<FileId>, filter: &str) -> Vec<Row> {
        let filter = filter.trim().to_lowercase();
        let keep: Option<HashSet<FileId>> = (!filter.is_empty()).then(|| self.matching(&filter));
        let mut rows = Vec::new();
        let mut stack: Vec<(FileId, usize)> = self
            .children(None)
            .iter()
            .rev()
            .map(|id| (*id, 0))
            .collect();
        while let Some((id, depth)) = stack.pop() {
            let Some(e) = self.entries.get(&id) else {
                continue;
            };
            if keep.as_ref().is_some_and(|k| !k.contains(&id)) {
                continue;
            }
            let open = e.kind == FileKind::Folder && (keep.is_some() || expanded.contains(&id));
            rows.push(Row {
                id,
                depth,
                name: e.name.clone(),
                kind: e.kind,
                expanded: open,
            });
            if open {
                stack.extend(
                    self.children(Some(id))
                        .iter()
                        .rev()
                        .map(|c| (*c, depth + 1)),
                );
            }
        }
        rows
    }

    /// Entries whose name matches the filter, with every folder above them.
    fn matching(&self, filter: &str) -> HashSet<FileId> {
        let mut keep = HashSet::new();
        for (id, e) in &self.entries {
            if e.name.to_lowercase().contains(filter) && self.is_live(*id) {
                keep.insert(*id);
                keep.extend(self.ancestors(*id));
            }
        }
        keep
    }

    /// What the trash shows: trashed entries whose folder is not itself trashed, newest first.
    pub fn trash(&self) -> Vec<&FileEntry> {
        let mut out: Vec<&FileEntry> = self
            .entries
            .values()
            .filter(|e| e.deleted_at.is_some())
            .filter(|e| e.parent.is_none_or(|p| self.is_live(p)))
            .collect();
        out.sort_by_key(|e| std::cmp::Reverse((e.deleted_at, e.id)));
        out
    }

    /// Every live file with its path (for Ctrl+P).
    pub fn files(&self) -> Vec<(FileId, String)> {
        self.entries
            .values()
            .filter(|e| e.kind != FileKind::Folder && self.is_live(e.id))
            .filter_map(|e| Some((e.id, self.path(e.id)?)))
            .collect()
    }
}

/// A change the project channel made to the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeChange {
    Apply(Vec<FileEntry>),
    Purge(Vec<FileId>),
}

impl TreeChange {
    pub fn apply_to(&self, tree: &mut TreeModel) {
        match self {
            TreeChange::Apply(entries) => tree.apply(entries.clone()),
            TreeChange::Purge(ids) => tree.purge(ids),
        }
    }
}

/// Refetching the whole tree (after a reconnect) while change events keep arriving. The list
/// can be read before a change commits and answer after its event was applied, so changes
/// seen while a refetch is in flight are replayed over its answer; otherwise a file created
/// right after a reconnect would vanish from the tree. Only the newest refetch's answer is
/// used.
#[derive(Debug, Default)]
pub struct Refetch {
    /// `None` when no refetch is in flight.
    seen: Option<Vec<TreeChange>>,
    latest: u32,
}

impl Refetch {
    /// A refetch starts; returns its ticket.
    pub fn start(&mut self) -> u32 {
        self.seen.get_or_insert_with(Vec::new);
        self.latest = self.latest.wrapping_add(1);
        self.latest
    }

    /// A change event arrived (and was applied to the current tree).
    pub fn saw(&mut self, change: &TreeChange) {
        if let Some(seen) = &mut self.seen {
            seen.push(change.clone());
        }
    }

    /// The answer of refetch `ticket`: the tree to show, or `None` when a newer refetch
    /// superseded it (or it failed: pass `None`, and the current tree stays).
    pub fn finish(&mut self, ticket: u32, answer: Option<Vec<FileEntry>>) -> Option<TreeModel> {
        if ticket != self.latest {
            return None;
        }
        let seen = self.seen.take().unwrap_or_default();
        let mut tree = TreeModel::new(answer?);
        for change in &seen {
            change.apply_to(&mut tree);
        }
        Some(tree)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: i64, parent: Option<i64>, name: &str, kind: FileKind) -> FileEntry {
        FileEntry {
            id: FileId(id),
            parent: parent.map(FileId),
            name: name.into(),
            kind,
            doc: (kind == FileKind::File).then_some(crate::types::DocId(id * 10)),
            size: None,
            updated_at: 0,
            deleted_at: None,
        }
    }

    fn sample() -> TreeModel {
        TreeModel::new(vec![
            entry(1, None, "src", FileKind::Folder),
            entry(2, Some(1), "main.rs", FileKind::File),
            entry(3, Some(1), "App.rs", FileKind::File),
            entry(4, None, "README.md", FileKind::File),
            entry(5, Some(1), "util", FileKind::Folder),
            entry(6, Some(5), "fmt.rs", FileKind::File),
        ])
    }

    fn names(rows: &[Row]) -> Vec<String> {
        rows.iter()
            .map(|r| format!("{}{}", "  ".repeat(r.depth), r.name))
            .collect()
    }

    #[test]
    fn folders_first_then_names_case_insensitively() {
        let t = sample();
        assert_eq!(names(&t.rows(&HashSet::new(), "")), ["src", "README.md"]);
        let open: HashSet<FileId> = [FileId(1), FileId(5)].into();
        assert_eq!(
            names(&t.rows(&open, "")),
            [
                "src",
                "  util",
                "    fmt.rs",
                "  App.rs",
                "  main.rs",
                "README.md"
            ]
        );
        assert_eq!(t.path(FileId(6)).as_deref(), Some("src/util/fmt.rs"));
    }

    #[test]
    fn events_apply_incrementally() {
        let mut t = sample();
        let mut moved = entry(6, None, "fmt.rs", FileKind::File);
        moved.name = "format.rs".into();
        t.apply(vec![moved]);
        assert_eq!(t.path(FileId(6)).as_deref(), Some("format.rs"));
        assert!(t.children(Some(FileId(5))).is_empty());
        let mut trashed = entry(1, None, "src", FileKind::Folder);
        trashed.deleted_at = Some(5);
        t.apply(vec![trashed]);
        assert!(!t.is_live(FileId(2)), "inside a trashed folder");
        assert_eq!(t.trash().len(), 1, "only the folder, not its contents");
        assert_eq!(
            names(&t.rows(&HashSet::new(), "")),
            ["format.rs", "README.md"]
        );
        t.purge(&[1, 2, 3, 5].map(FileId));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn filter_shows_matches_with_their_folders() {
        let t = sample();
        assert_eq!(
            names(&t.rows(&HashSet::new(), "FMT")),
            ["src", "  util", "    fmt.rs"]
        );
        assert!(t.rows(&HashSet::new(), "nothing").is_empty());
    }

    #[test]
    fn cycles_are_detected() {
        let t = sample();
        assert!(t.is_within(FileId(6), FileId(1)));
        assert!(t.is_within(FileId(5), FileId(5)));
        assert!(!t.is_within(FileId(4), FileId(1)));
        assert_eq!(t.ancestors(FileId(6)), [1, 5].map(FileId));
    }

    #[test]
    fn a_refetch_keeps_changes_that_overtook_it() {
        let mut r = Refetch::default();
        let first = r.start();
        // Created after the list was read, announced before the list arrived.
        let made = TreeChange::Apply(vec![entry(9, None, "new.rs", FileKind::File)]);
        r.saw(&made);
        let second = r.start();
        r.saw(&TreeChange::Purge(vec![FileId(4)]));
        let old = sample();
        let stale: Vec<FileEntry> = (1..=6)
            .filter_map(|i| old.get(FileId(i)).cloned())
            .collect();
        assert!(r.finish(first, Some(stale.clone())).is_none(), "superseded");
        let tree = r.finish(second, Some(stale)).expect("the newest answer");
        assert!(tree.is_live(FileId(9)), "the overtaking creation survives");
        assert!(tree.get(FileId(4)).is_none(), "the purge too");
        // Once done, changes are no longer recorded.
        r.saw(&made);
        let third = r.start();
        assert_eq!(r.finish(third, Some(Vec::new())).map(|t| t.len()), Some(0));
    }
}
