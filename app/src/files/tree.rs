//! The browser's copy of a project's tree: entries by id, children sorted as the tree shows
//! them (folders first, then by name), and the rows a view of it shows (expanded folders, a
//! filter). Tree events from the server are applied to it incrementally. Pure data, so it is
//! tested without a browser.

use std::collections::{HashMap, HashSet};

use super::{FileEntry, FileKind};

#[derive(Debug, Clone, Default)]
pub struct TreeModel {
    entries: HashMap<i64, FileEntry>,
    /// Live (not trashed) children of each folder, sorted; `None` is the root.
    children: HashMap<Option<i64>, Vec<i64>>,
}

/// One visible line of the tree.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Row {
    pub id: i64,
    pub depth: usize,
    pub name: String,
    pub kind: FileKind,
    pub expanded: bool,
}

fn sort_key(e: &FileEntry) -> (bool, String, i64) {
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
    pub fn purge(&mut self, ids: &[i64]) {
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

    pub fn get(&self, id: i64) -> Option<&FileEntry> {
        self.entries.get(&id)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn children(&self, parent: Option<i64>) -> &[i64] {
        self.children.get(&parent).map_or(&[], Vec::as_slice)
    }

    /// In the tree: neither it nor any folder above it is in the trash.
    pub fn is_live(&self, id: i64) -> bool {
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
    pub fn path(&self, id: i64) -> Option<String> {
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
    pub fn ancestors(&self, id: i64) -> Vec<i64> {
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
    pub fn is_within(&self, id: i64, folder: i64) -> bool {
        id == folder || self.ancestors(id).contains(&folder)
    }

    /// The visible rows: expanded folders show their children. With a filter, every live file
    /// whose path contains it (case-insensitively) is shown with its folders, all expanded.
    pub fn rows(&self, expanded: &HashSet<i64>, filter: &str) -> Vec<Row> {
        let filter = filter.trim().to_lowercase();
        let keep: Option<HashSet<i64>> = (!filter.is_empty()).then(|| self.matching(&filter));
        let mut rows = Vec::new();
        let mut stack: Vec<(i64, usize)> = self
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
    fn matching(&self, filter: &str) -> HashSet<i64> {
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
    pub fn files(&self) -> Vec<(i64, String)> {
        self.entries
            .values()
            .filter(|e| e.kind != FileKind::Folder && self.is_live(e.id))
            .filter_map(|e| Some((e.id, self.path(e.id)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: i64, parent: Option<i64>, name: &str, kind: FileKind) -> FileEntry {
        FileEntry {
            id,
            parent,
            name: name.into(),
            kind,
            doc: (kind == FileKind::File).then_some(id * 10),
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
        let open: HashSet<i64> = [1, 5].into();
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
        assert_eq!(t.path(6).as_deref(), Some("src/util/fmt.rs"));
    }

    #[test]
    fn events_apply_incrementally() {
        let mut t = sample();
        let mut moved = entry(6, None, "fmt.rs", FileKind::File);
        moved.name = "format.rs".into();
        t.apply(vec![moved]);
        assert_eq!(t.path(6).as_deref(), Some("format.rs"));
        assert!(t.children(Some(5)).is_empty());
        let mut trashed = entry(1, None, "src", FileKind::Folder);
        trashed.deleted_at = Some(5);
        t.apply(vec![trashed]);
        assert!(!t.is_live(2), "inside a trashed folder");
        assert_eq!(t.trash().len(), 1, "only the folder, not its contents");
        assert_eq!(
            names(&t.rows(&HashSet::new(), "")),
            ["format.rs", "README.md"]
        );
        t.purge(&[1, 2, 3, 5]);
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
        assert!(t.is_within(6, 1));
        assert!(t.is_within(5, 5));
        assert!(!t.is_within(4, 1));
        assert_eq!(t.ancestors(6), [1, 5]);
    }
}
