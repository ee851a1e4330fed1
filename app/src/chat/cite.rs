//! Citations in the assistant's answers: `src/main.rs:12` (or `:12-20`) in inline code names a
//! line of a project file, and the chat turns it into a link that opens the file there. Only
//! paths that are files of the project become links; anything else stays text.

use crate::types::{FileId, chat::AiSource};

/// `path:line`, `path:first-last` or `path:first–last` → (path, first line).
pub fn parse(text: &str) -> Option<(&str, u32)> {
    let (path, lines) = text.trim().rsplit_once(':')?;
    let first = lines.split(['-', '–']).next()?;
    let line: u32 = first.parse().ok().filter(|l| *l > 0)?;
    let path = path.trim_start_matches("./");
    let plausible = !path.is_empty()
        && path.len() <= 500
        && !path.contains(char::is_whitespace)
        && !path.contains("://");
    plausible.then_some((path, line))
}

/// The file and line a citation opens: a source of the answer first (the assistant was
/// shown it), else any file of the project with that path (`find`).
pub fn resolve(
    text: &str,
    sources: &[AiSource],
    find: impl Fn(&str) -> Option<FileId>,
) -> Option<(FileId, u32)> {
    let (path, line) = parse(text)?;
    let file = sources
        .iter()
        .find(|s| s.path == path)
        .map(|s| s.file)
        .or_else(|| find(path))?;
    Some((file, line))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::chat::SourceWhy;

    #[test]
    fn citations_parse() {
        assert_eq!(parse("src/main.rs:12"), Some(("src/main.rs", 12)));
        assert_eq!(parse("./a.js:3-9"), Some(("a.js", 3)));
        assert_eq!(parse("a.js:3–9"), Some(("a.js", 3)));
        for not in [
            "main",
            "a.js:",
            "a.js:0",
            "a.js:x",
            ":3",
            "a b.js:3",
            "http://x:80",
        ] {
            assert_eq!(parse(not), None, "{not}");
        }
    }

    #[test]
    fn sources_come_before_the_tree_and_unknown_paths_stay_text() {
        let sources = [AiSource {
            file: FileId(2),
            path: "src/util.js".into(),
            first: 1,
            last: 9,
            why: SourceWhy::Match("parseConfig".into()),
        }];
        let tree = |p: &str| (p == "README.md").then_some(FileId(5));
        assert_eq!(
            resolve("src/util.js:4", &sources, tree),
            Some((FileId(2), 4))
        );
        assert_eq!(resolve("README.md:1", &sources, tree), Some((FileId(5), 1)));
        assert_eq!(resolve("nope.rs:1", &sources, tree), None);
    }
}
