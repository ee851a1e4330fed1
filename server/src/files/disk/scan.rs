//! Reading a directory tree as the mirror sees it: honouring `.gitignore`, `.git` and the
//! ignore list, skipping symlinks and oversized files.

use std::{
    collections::{HashMap, HashSet, hash_map::DefaultHasher},
    hash::{Hash, Hasher},
};

use app::files::names;
use ignore::{Match, gitignore::GitignoreBuilder};

use super::root::Root;

/// What a scan found on disk.
#[derive(Debug, Default)]
pub struct Scan {
    /// Relative path (with `/`) → `None` for a folder, the bytes for a file.
    pub entries: HashMap<String, Option<Vec<u8>>>,
    /// Paths skipped, with why (symlinks, names the tree refuses, unreadable files).
    pub skipped: Vec<(String, String)>,
}

/// Whether the ignore files (`.gitignore`, then `.ignore`, as the scan reads them) of the
/// folders from the root down to `path` ignore it or a folder above it; a deeper file's
/// verdict wins, as in git.
pub(super) fn ignored(root: &Root, path: &str, is_dir: bool) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    let full = root.path.join(path);
    let mut verdict = false;
    for depth in 0..parts.len() {
        let dir = parts[..depth].join("/");
        for name in [".gitignore", ".ignore"] {
            let file = if dir.is_empty() {
                name.to_owned()
            } else {
                format!("{dir}/{name}")
            };
            let Ok(bytes) = root.read(&file) else {
                continue;
            };
            let mut rules = GitignoreBuilder::new(root.path.join(&dir));
            for line in String::from_utf8_lossy(&bytes).lines() {
                // A malformed line is skipped, as git skips it.
                let _ = rules.add_line(None, line);
            }
            let Ok(rules) = rules.build() else {
                continue;
            };
            match rules.matched_path_or_any_parents(&full, is_dir) {
                Match::Ignore(_) => verdict = true,
                Match::Whitelist(_) => verdict = false,
                Match::None => {}
            }
        }
    }
    verdict
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignore_files_from_the_root_down_decide_a_new_path() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join(".gitignore"), "build/\n*.log\n.env\n").expect("write");
        std::fs::create_dir_all(dir.path().join("logs")).expect("mkdir");
        std::fs::write(dir.path().join("logs/.gitignore"), "!keep.log\n").expect("write");
        let root = Root::open(dir.path()).expect("root");
        for (path, is_dir, want) in [
            ("build", true, true),
            ("build/out/x.o", false, true),
            ("src/build.rs", false, false),
            ("debug.log", false, true),
            ("logs/keep.log", false, false),
            ("logs/other.log", false, true),
            (".env", false, true),
            ("src/main.rs", false, false),
            ("notes", true, false),
        ] {
            assert_eq!(ignored(&root, path, is_dir), want, "{path}");
        }
    }
}
