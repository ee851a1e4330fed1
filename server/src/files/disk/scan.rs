//! Reading a directory tree as the mirror sees it: honouring `.gitignore`, `.git` and the
//! ignore list, skipping symlinks and oversized files.

use std::{
    collections::{HashMap, HashSet, hash_map::DefaultHasher},
    hash::{Hash, Hasher},
};

use app::files::names;

use super::root::Root;

/// What a scan found on disk.
#[derive(Debug, Default)]
pub struct Scan {
    /// Relative path (with `/`) → `None` for a folder, the bytes for a file.
    pub entries: HashMap<String, Option<Vec<u8>>>,
    /// Paths skipped, with why (symlinks, names the tree refuses, unreadable files).
    pub skipped: Vec<(String, String)>,
}

/// Walks `under` (relative; `""` for the whole root), honouring `.gitignore` files and the
/// ignore list, never following symlinks.
pub fn scan(root: &Root, under: &str, ignore: &[String]) -> Scan {
    let mut out = Scan::default();
    let start = if under.is_empty() {
        root.path.clone()
    } else {
        root.path.join(under)
    };
    let names: HashSet<String> = ignore.iter().cloned().chain([".git".to_owned()]).collect();
    let walker = ignore::WalkBuilder::new(&start)
        .hidden(false)
        .git_ignore(true)
        .git_exclude(false)
        .git_global(false)
        .require_git(false)
        .parents(true)
        .follow_links(false)
        .filter_entry(move |e| {
            let n = e.file_name().to_string_lossy();
            !names.contains(n.as_ref()) && !is_temp(&n)
        })
        .build();
    for entry in walker.flatten() {
        let Ok(rel) = entry.path().strip_prefix(&root.path) else {
            continue;
        };
        let Some(rel) = rel.to_str().map(str::to_owned) else {
            out.skipped
                .push((entry.path().display().to_string(), "not UTF-8".into()));
            continue;
        };
        if rel.is_empty() {
            continue;
        }
        if let Some(bad) = rel
            .split('/')
            .find_map(|part| names::check_name(part).err())
        {
            out.skipped.push((rel, bad));
            continue;
        }
        let Some(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_symlink() {
            let why = match root.dir.metadata(&rel) {
                Ok(_) => "symbolic link (not followed)",
                Err(_) => "symbolic link leading outside the project (unsafe, not followed)",
            };
            tracing::warn!(path = %rel, "{why}");
            out.skipped.push((rel, why.into()));
        } else if kind.is_dir() {
            out.entries.insert(rel, None);
        } else if kind.is_file() {
            match root.read(&rel) {
                Ok(bytes) => {
                    out.entries.insert(rel, Some(bytes));
                }
                Err(e) => out.skipped.push((rel, e.to_string())),
            }
        }
    }
    out
}

pub(super) fn is_temp(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tandem-") && name.ends_with(".tmp")
}

pub(super) fn hash(bytes: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}
