//! The project root on disk: every read and write goes through a `cap_std` directory handle,
//! so no path can leave it; writes are atomic (temporary file, fsync, rename).

use std::{
    io::{self, Write},
    path::{Component, Path, PathBuf},
};

use cap_std::fs::{Dir, OpenOptions};

use super::MAX_DISK_FILE;

#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    #[error("“{0}” is not a relative path inside the project")]
    Outside(String),
    #[error("“{0}” is inside .git, which Tandem never writes")]
    Protected(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Checks a path relative to the root before it reaches the file system: no absolute paths,
/// no `..`, no empty or `.` parts, no NUL. (cap-std enforces the same and also refuses
/// symlinks out of the root; this makes the refusal explicit and testable.)
pub fn relative(raw: &str) -> Result<PathBuf, DiskError> {
    let outside = || DiskError::Outside(raw.to_owned());
    if raw.is_empty() || raw.contains('\0') || raw.contains('\\') {
        return Err(outside());
    }
    let path = Path::new(raw);
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(part) => out.push(part),
            _ => return Err(outside()),
        }
    }
    if out.as_os_str().is_empty() {
        return Err(outside());
    }
    Ok(out)
}

/// True for a name no write may touch: `.git` in any letter case (case-insensitive file
/// systems treat `.GIT` as the same folder).
pub(super) fn is_protected(name: &str) -> bool {
    name.eq_ignore_ascii_case(".git")
}

/// [`relative`] for a write, rename or removal: also refuses any path through `.git`, so no
/// operation, whatever the tree says, can change a repository's config or hooks.
fn writable(raw: &str) -> Result<PathBuf, DiskError> {
    let rel = relative(raw)?;
    if rel
        .components()
        .any(|c| c.as_os_str().to_str().is_none_or(is_protected))
    {
        return Err(DiskError::Protected(raw.to_owned()));
    }
    Ok(rel)
}

/// The directory of one project, capability-style.
pub struct Root {
    pub path: PathBuf,
    pub(super) dir: Dir,
}

impl Root {
    pub fn open(path: &Path) -> io::Result<Self> {
        let path = path.canonicalize()?;
        let dir = Dir::open_ambient_dir(&path, cap_std::ambient_authority())?;
        Ok(Self { path, dir })
    }

    /// Reads a regular file; symlinks (even inside the root) are refused.
    pub fn read(&self, rel: &str) -> Result<Vec<u8>, DiskError> {
        let rel = relative(rel)?;
        let meta = self.dir.symlink_metadata(&rel)?;
        if meta.is_symlink() {
            return Err(DiskError::Outside(rel.display().to_string()));
        }
        if meta.len() > MAX_DISK_FILE {
            return Err(DiskError::Io(io::Error::other("file too large")));
        }
        Ok(self.dir.read(&rel)?)
    }

    /// Replaces a file's content atomically: a temporary file next to it, written and synced,
    /// then renamed over it, so a reader (or a crash) sees the old or the new file, never half.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), DiskError> {
        let rel = writable(rel)?;
        let name = rel
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| DiskError::Outside(rel.display().to_string()))?;
        let parent = rel.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(p) = parent {
            self.dir.create_dir_all(p)?;
        }
        if self
            .dir
            .symlink_metadata(&rel)
            .is_ok_and(|m| m.is_symlink())
        {
            return Err(DiskError::Outside(rel.display().to_string()));
        }
        let tmp_name = format!(".{name}.tandem-{:016x}.tmp", rand::random::<u64>());
        let tmp = parent.map_or_else(|| PathBuf::from(&tmp_name), |p| p.join(&tmp_name));
        let result = (|| -> io::Result<()> {
            let mut f = self
                .dir
                .open_with(&tmp, OpenOptions::new().write(true).create_new(true))?;
            f.write_all(bytes)?;
            f.sync_all()?;
            drop(f);
            // Keep the file's mode (an executable script stays executable).
            if let Ok(meta) = self.dir.metadata(&rel) {
                self.dir.set_permissions(&tmp, meta.permissions())?;
            }
            self.dir.rename(&tmp, &self.dir, &rel)?;
            // The rename itself is durable once the directory is synced.
            let d = match parent {
                Some(p) => self.dir.open_dir(p)?,
                None => self.dir.try_clone()?,
            };
            d.open(".").and_then(|f| f.sync_all()).or(Ok(()))
        })();
        if result.is_err() {
            let _ = self.dir.remove_file(&tmp);
        }
        Ok(result?)
    }

    pub(super) fn mkdir(&self, rel: &str) -> Result<(), DiskError> {
        Ok(self.dir.create_dir_all(writable(rel)?)?)
    }

    pub(super) fn rename(&self, from: &str, to: &str) -> Result<(), DiskError> {
        let (from, to) = (writable(from)?, writable(to)?);
        if let Some(p) = to.parent().filter(|p| !p.as_os_str().is_empty()) {
            self.dir.create_dir_all(p)?;
        }
        Ok(self.dir.rename(from, &self.dir, to)?)
    }

    pub(super) fn remove(&self, rel: &str) -> Result<(), DiskError> {
        let rel = writable(rel)?;
        let result = match self.dir.symlink_metadata(&rel) {
            Ok(m) if m.is_dir() => self.dir.remove_dir_all(&rel),
            Ok(_) => self.dir.remove_file(&rel),
            Err(e) => Err(e),
        };
        match result {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_written_through_git() {
        for bad in [
            ".git",
            ".git/config",
            "sub/.git/hooks/pre-commit",
            ".GIT/config",
        ] {
            assert!(
                matches!(writable(bad), Err(DiskError::Protected(_))),
                "{bad}"
            );
        }
        for ok in [".gitignore", "src/.github/x.yml", "git/config"] {
            assert!(writable(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn relative_paths_only() {
        for ok in ["a.txt", "src/main.rs", "a/b/c"] {
            assert!(relative(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a/..",
            "..",
            "a\\..\\b",
            "a\0b",
            "/",
        ] {
            assert!(relative(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
