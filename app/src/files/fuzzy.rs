//! Fuzzy file-name matching, as in Ctrl+P: the query's characters must appear in order in the
//! path; matches at word starts, in the file name and in runs score higher, shorter paths win
//! ties. Runs in the browser over the whole tree, so it has to be cheap: one pass, no
//! allocation but the matched positions.

/// A match: higher `score` is better; `positions` are char indices into the path (for bold).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub score: i32,
    pub positions: Vec<usize>,
}

fn is_boundary(prev: Option<char>, c: char) -> bool {
    match prev {
        None => true,
        Some(p) => {
            matches!(p, '/' | '_' | '-' | '.' | ' ') || (p.is_lowercase() && c.is_uppercase())
        }
    }
}

/// Greedy left-to-right match of `query` in `path`, case-insensitive; `None` if it does not
/// match. Whitespace in the query is ignored.
pub fn score(query: &str, path: &str) -> Option<Match> {
    let query: Vec<char> = query
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    if query.is_empty() {
        return Some(Match {
            score: 0,
            positions: Vec::new(),
        });
    }
    let name_start = path.rfind('/').map_or(0, |i| path[..=i].chars().count());
    let mut positions = Vec::with_capacity(query.len());
    let mut score = 0i32;
    let mut q = 0;
    let mut prev: Option<char> = None;
    let mut last_match: Option<usize> = None;
    for (i, c) in path.chars().enumerate() {
        if q < query.len() && c.to_lowercase().eq(std::iter::once(query[q])) {
            let mut s = 1;
            if is_boundary(prev, c) {
                s += 8;
            }
            if last_match.is_some_and(|l| l + 1 == i) {
                s += 5;
            }
            if i >= name_start {
                s += 3;
            }
            score += s;
            positions.push(i);
            last_match = Some(i);
            q += 1;
        }
        prev = Some(c);
    }
    if q < query.len() {
        return None;
    }
    // Prefer shorter paths among equal matches.
    score -= (path.chars().count() / 8) as i32;
    Some(Match { score, positions })
}

/// The best `limit` matches of `query` among `paths`, best first.
pub fn rank<'a, T>(
    query: &str,
    items: impl IntoIterator<Item = (T, &'a str)>,
    limit: usize,
) -> Vec<(T, Match)> {
    let mut found: Vec<(T, Match, usize)> = items
        .into_iter()
        .filter_map(|(t, p)| score(query, p).map(|m| (t, m, p.len())))
        .collect();
    found.sort_by(|a, b| b.1.score.cmp(&a.1.score).then(a.2.cmp(&b.2)));
    found.truncate(limit);
    found.into_iter().map(|(t, m, _)| (t, m)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsequence_in_order_or_nothing() {
        assert!(score("mrs", "src/main.rs").is_some());
        assert!(score("srm", "src/main.rs").is_some());
        assert!(score("xyz", "src/main.rs").is_none());
        assert!(score("rsm", "main.rs").is_none());
        assert_eq!(
            score("MAIN", "src/main.rs").map(|m| m.positions),
            Some(vec![4, 5, 6, 7])
        );
    }

    #[test]
    fn file_names_and_word_starts_rank_first() {
        let paths = [
            "docs/maintenance/notes.txt",
            "src/main.rs",
            "server/src/editor/mod.rs",
        ];
        let ranked = rank("main", paths.iter().map(|p| (*p, *p)), 10);
        assert_eq!(ranked[0].0, "src/main.rs");
        let ranked = rank("emod", paths.iter().map(|p| (*p, *p)), 10);
        assert_eq!(ranked[0].0, "server/src/editor/mod.rs");
        assert_eq!(rank("", paths.iter().map(|p| (*p, *p)), 2).len(), 2);
    }
}
