//! How much the local copies may hold, and which to drop when they hold more: the least
//! recently used first, never one with edits the server has not acknowledged, never one that
//! is open. Pure, so it is tested without a browser.

use std::collections::HashSet;

/// What the store keeps about one document copy (its state's size, not the state).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyInfo {
    pub key: String,
    pub project: i64,
    pub doc: i64,
    #[serde(default)]
    pub name: String,
    pub bytes: u64,
    /// Local edits the server has not acknowledged.
    pub pending: u64,
    /// When it was last written or opened (ms since the epoch).
    pub used_at: f64,
}

/// The bounds of the local copies on one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// All documents of all projects.
    pub total: u64,
    /// One project's documents.
    pub per_project: u64,
}

impl Default for Limits {
    /// 50 MB in all, 20 MB per project: thousands of source files, a small share of what
    /// browsers grant a site (Chromium: 60 % of the free disk).
    fn default() -> Self {
        Self {
            // Decimal, as the account page prints sizes ("50.0 MB", not "52.4 MB").
            total: 50_000_000,
            per_project: 20_000_000,
        }
    }
}

impl Limits {
    /// `"total,per_project"` in bytes (the `tandem.offline.limits` browser setting, for tests
    /// and small devices); anything unreadable keeps the defaults.
    pub fn parse(s: &str) -> Option<Self> {
        let (total, per) = s.split_once(',')?;
        Some(Self {
            total: total.trim().parse().ok()?,
            per_project: per.trim().parse().ok()?,
        })
    }
}

/// The keys to delete so that every project and the total fit `limits`. A copy with pending
/// edits or in `open` is never chosen, even when that leaves the store over its bounds (those
/// copies are the only place the edits exist).
pub fn evictions(copies: &[CopyInfo], limits: Limits, open: &HashSet<String>) -> Vec<String> {
    let mut by_age: Vec<&CopyInfo> = copies.iter().collect();
    by_age.sort_by(|a, b| a.used_at.total_cmp(&b.used_at));
    let evictable = |c: &CopyInfo| c.pending == 0 && !open.contains(&c.key);
    let mut gone: HashSet<&str> = HashSet::new();
    let mut projects: Vec<i64> = copies.iter().map(|c| c.project).collect();
    projects.sort_unstable();
    projects.dedup();
    for project in projects {
        let mut used: u64 = copies
            .iter()
            .filter(|c| c.project == project)
            .map(|c| c.bytes)
            .sum();
        for c in by_age.iter().filter(|c| c.project == project) {
            if used <= limits.per_project {
                break;
            }
            if evictable(c) {
                gone.insert(&c.key);
                used -= c.bytes;
            }
        }
    }
    let mut used: u64 = copies
        .iter()
        .filter(|c| !gone.contains(c.key.as_str()))
        .map(|c| c.bytes)
        .sum();
    for c in &by_age {
        if used <= limits.total {
            break;
        }
        if evictable(c) && gone.insert(&c.key) {
            used -= c.bytes;
        }
    }
    by_age
        .iter()
        .filter(|c| gone.contains(c.key.as_str()))
        .map(|c| c.key.clone())
        .collect()
}

/// What the settings page shows: bytes and copies per project, and in all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    pub bytes: u64,
    pub copies: usize,
    pub pending_edits: u64,
    /// (project, bytes, copies), biggest first.
    pub projects: Vec<(i64, u64, usize)>,
}

pub fn usage(copies: &[CopyInfo]) -> Usage {
    let mut projects: Vec<(i64, u64, usize)> = Vec::new();
    for c in copies {
        match projects.iter_mut().find(|p| p.0 == c.project) {
            Some(p) => {
                p.1 += c.bytes;
                p.2 += 1;
            }
            None => projects.push((c.project, c.bytes, 1)),
        }
    }
    projects.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Usage {
        bytes: copies.iter().map(|c| c.bytes).sum(),
        copies: copies.len(),
        pending_edits: copies.iter().map(|c| c.pending).sum(),
        projects,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(key: &str, project: i64, bytes: u64, pending: u64, used_at: f64) -> CopyInfo {
        CopyInfo {
            key: key.into(),
            project,
            doc: 0,
            name: String::new(),
            bytes,
            pending,
            used_at,
        }
    }

    const ROOMY: Limits = Limits {
        total: 1000,
        per_project: 1000,
    };

    #[test]
    fn nothing_goes_while_within_bounds() {
        let copies = [copy("a", 1, 400, 0, 1.0), copy("b", 2, 600, 0, 2.0)];
        assert!(evictions(&copies, ROOMY, &HashSet::new()).is_empty());
    }

    #[test]
    fn least_recently_used_go_first_until_the_total_fits() {
        let copies = [
            copy("new", 1, 400, 0, 30.0),
            copy("old", 2, 400, 0, 10.0),
            copy("mid", 3, 400, 0, 20.0),
        ];
        let limits = Limits {
            total: 500,
            per_project: 1000,
        };
        assert_eq!(evictions(&copies, limits, &HashSet::new()), ["old", "mid"]);
    }

    #[test]
    fn a_project_over_its_share_loses_its_own_oldest_copies() {
        let copies = [
            copy("p1-old", 1, 300, 0, 1.0),
            copy("p1-new", 1, 300, 0, 5.0),
            copy("p2-older", 2, 100, 0, 0.5),
        ];
        let limits = Limits {
            total: 1000,
            per_project: 400,
        };
        // p2's older copy stays: only project 1 is over its share and the total fits after.
        assert_eq!(evictions(&copies, limits, &HashSet::new()), ["p1-old"]);
    }

    #[test]
    fn copies_with_unsent_edits_or_open_are_never_evicted() {
        let copies = [
            copy("unsent", 1, 800, 3, 1.0),
            copy("open", 1, 800, 0, 2.0),
            copy("plain", 1, 800, 0, 3.0),
        ];
        let open = HashSet::from(["open".to_string()]);
        let tiny = Limits {
            total: 100,
            per_project: 100,
        };
        // Over the bounds still, but the only place those edits exist is kept.
        assert_eq!(evictions(&copies, tiny, &open), ["plain"]);
    }

    #[test]
    fn limits_parse_from_the_setting() {
        assert_eq!(
            Limits::parse("2000, 500"),
            Some(Limits {
                total: 2000,
                per_project: 500
            })
        );
        assert_eq!(Limits::parse("lots"), None);
        assert_eq!(Limits::parse("1,x"), None);
    }

    #[test]
    fn usage_sums_per_project_biggest_first() {
        let copies = [
            copy("a", 1, 100, 2, 1.0),
            copy("b", 2, 300, 0, 1.0),
            copy("c", 1, 50, 1, 1.0),
        ];
        let u = usage(&copies);
        assert_eq!(u.bytes, 450);
        assert_eq!(u.copies, 3);
        assert_eq!(u.pending_edits, 3);
        assert_eq!(u.projects, vec![(2, 300, 1), (1, 150, 2)]);
    }
}
