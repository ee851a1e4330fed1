//! What the assistant looks up in the project before it answers a free question: the files
//! the question names, and where the identifiers it mentions are defined or used (the
//! project's own content search). Everything comes from the asking member's project only,
//! fits a share of the context budget, and is cited back as links; what did not fit is said.

use std::collections::{BTreeMap, HashMap, HashSet};

use app::{
    AppResult,
    chat::{AiSource, SourceWhy},
    files::{FileKind, SearchQuery},
    types::{FileId, ProjectId},
};

use super::Chat;

/// Words that look like file names kept per question (prose has "e.g." and URLs too).
const MAX_FILE_CANDIDATES: usize = 16;
/// Identifiers searched for per question at most.
const MAX_NAMES: usize = 4;
/// Files named in a question looked at most.
const MAX_NAMED_FILES: usize = 3;
/// Files shown per identifier at most (the best-ranked ones).
const FILES_PER_NAME: usize = 4;
/// Lines shown above and below a matching line; a definition gets more below it.
const ABOVE: u32 = 3;
const BELOW: u32 = 8;
const BELOW_DEFINITION: u32 = 20;
/// Characters of framing around each snippet in the prompt (path, lines, fence).
const FRAME: usize = 60;

/// The names and file names a question mentions.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Terms {
    /// Code identifiers (`parse_config`, `parseConfig`, `TextCache`, `MAX_HITS`).
    pub(super) names: Vec<String>,
    /// Things that look like paths or file names (`src/main.rs`, `Cargo.toml`).
    pub(super) files: Vec<String>,
}

fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An identifier a person would only write about code: with an underscore, a lower-to-upper
/// case change inside, or a capital followed by more capitals or lower case letters that is
/// not an ordinary capitalised word. Plain words ("where", "Config") are left out: searching
/// for them finds everything.
fn looks_like_code(s: &str) -> bool {
    if s.len() < 3 || !is_ident(s) {
        return false;
    }
    let inner_upper = s
        .as_bytes()
        .windows(2)
        .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase());
    let snake = s.trim_matches('_').contains('_');
    let shouting = s.len() >= 4 && s.chars().all(|c| c.is_ascii_uppercase() || c == '_');
    inner_upper || snake || shouting
}

/// `src/main.rs`, `main.rs`, `Cargo.toml`, `docs/`: a slash, or a name with a short
/// extension.
fn looks_like_file(s: &str) -> bool {
    if s.is_empty() || s.len() > 200 || s.contains(char::is_whitespace) || s.contains("..") {
        return false;
    }
    if s.contains('/') {
        return s.chars().any(|c| c.is_ascii_alphanumeric());
    }
    match s.rsplit_once('.') {
        Some((stem, ext)) => {
            !stem.is_empty()
                && (1..=8).contains(&ext.len())
                && ext.chars().all(|c| c.is_ascii_alphanumeric())
                && ext.chars().any(|c| c.is_ascii_alphabetic())
        }
        None => false,
    }
}

/// Strips what surrounds a word in prose: quotes, brackets, trailing punctuation, a call's
/// `()`.
fn bare(word: &str) -> &str {
    let w = word.trim_matches(|c: char| "\"'`()[]{}<>,;!?*".contains(c));
    let w = w.strip_suffix("()").unwrap_or(w);
    w.trim_end_matches(['.', ':'])
}

/// The terms of a question: backticked spans first (the asker marked them as code), then
/// code-looking words, each once, within the caps.
pub(super) fn terms(question: &str) -> Terms {
    let mut t = Terms::default();
    let mut seen = HashSet::new();
    let mut add = |t: &mut Terms, word: &str, marked: bool| {
        let w = bare(word);
        if w.is_empty() || !seen.insert(w.to_owned()) {
            return;
        }
        if looks_like_file(w) {
            // Only the ones that name a project file count towards the cap (later).
            if t.files.len() < MAX_FILE_CANDIDATES {
                t.files.push(w.to_owned());
            }
            return;
        }
        // `a::b::c` and `obj.method`: the last part that reads as code is what is defined
        // somewhere (`TextCache::get` marked as code is `get`; in prose, `TextCache`).
        let wanted = |part: &&str| {
            if marked {
                is_ident(part) && part.len() >= 3
            } else {
                looks_like_code(part)
            }
        };
        let Some(name) = w.rsplit([':', '.']).find(wanted) else {
            return;
        };
        if t.names.len() < MAX_NAMES && !t.names.iter().any(|n| n == name) {
            t.names.push(name.to_owned());
        }
    };
    // Backticked spans: odd-numbered pieces between backticks.
    for span in question.split('`').skip(1).step_by(2) {
        let span = span.trim();
        if !span.contains(char::is_whitespace) {
            add(&mut t, span, true);
        }
    }
    for word in question.split(|c: char| c.is_whitespace() || c == '`') {
        add(&mut t, word, false);
    }
    t
}

/// Whether `line` defines `name` in one of the common languages' ways.
pub(super) fn is_definition(line: &str, name: &str) -> bool {
    const KEYWORDS: [&str; 18] = [
        "fn",
        "function",
        "def",
        "class",
        "struct",
        "enum",
        "trait",
        "interface",
        "type",
        "const",
        "let",
        "var",
        "impl",
        "mod",
        "module",
        "static",
        "func",
        "macro_rules!",
    ];
    let words: Vec<&str> = line
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '!'))
        .filter(|w| !w.is_empty())
        .collect();
    let by_keyword = words
        .windows(2)
        .any(|w| w[1] == name && KEYWORDS.contains(&w[0]));
    // `name = …`, `name: …` at the start of a line (assignments, object keys, YAML).
    let trimmed = line.trim_start();
    let assigned = trimmed.strip_prefix(name).is_some_and(|rest| {
        let rest = rest.trim_start();
        (rest.starts_with('=') && !rest.starts_with("==")) || rest.starts_with(':')
    });
    by_keyword || assigned
}

/// One piece of a file shown to the assistant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub file: FileId,
    pub path: String,
    pub language: &'static str,
    /// 1-based, inclusive.
    pub first: u32,
    pub last: u32,
    pub text: String,
    pub why: SourceWhy,
}

impl Snippet {
    pub fn source(&self) -> AiSource {
        AiSource {
            file: self.file,
            path: self.path.clone(),
            first: self.first,
            last: self.last,
            why: self.why.clone(),
        }
    }

    fn cost(&self) -> usize {
        self.text.chars().count() + self.path.len() + FRAME
    }
}

/// Lines `first..=last` (1-based) of `text`, clamped to it.
pub(super) fn lines_of(text: &str, first: u32, last: u32) -> (u32, u32, String) {
    let lines: Vec<&str> = text.split('\n').collect();
    let n = lines.len() as u32;
    let first = first.clamp(1, n);
    let last = last.clamp(first, n);
    (
        first,
        last,
        lines[first as usize - 1..last as usize].join("\n"),
    )
}

/// The leading lines of `text` that fit in `budget` characters: (last line, text, whole).
fn head(text: &str, budget: usize) -> (u32, String, bool) {
    let mut used = 0;
    let mut out = Vec::new();
    let all: Vec<&str> = text.split('\n').collect();
    for line in &all {
        let cost = line.chars().count() + 1;
        if used + cost > budget {
            break;
        }
        used += cost;
        out.push(*line);
    }
    (out.len() as u32, out.join("\n"), out.len() == all.len())
}

/// What the lookup found and what it had to leave out.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Lookup {
    pub snippets: Vec<Snippet>,
    /// Said to the asker and the assistant: what did not fit.
    pub left_out: Vec<String>,
    /// The terms searched for, for the prompt's framing.
    pub searched: Vec<String>,
}

impl Lookup {
    pub fn used(&self) -> usize {
        self.snippets.iter().map(Snippet::cost).sum()
    }
}

/// A matching line in a file, ranked: definitions first, then files with more matches.
struct Hit {
    file: FileId,
    path: String,
    line: u32,
    definition: bool,
    matches: usize,
    name: String,
}

/// Merges a new range into a file's ranges; true if it added lines not shown yet.
fn merge(ranges: &mut Vec<(u32, u32)>, first: u32, last: u32) -> bool {
    if ranges.iter().any(|&(a, b)| a <= first && last <= b) {
        return false;
    }
    ranges.push((first, last));
    true
}

impl Chat {
    /// Looks up what `question` names in `project`, within `budget` characters.
    pub(super) async fn look_up(
        &self,
        project: ProjectId,
        question: &str,
        budget: usize,
    ) -> AppResult<Lookup> {
        let terms = terms(question);
        let mut found = Lookup {
            searched: terms.names.clone(),
            ..Lookup::default()
        };
        if terms.names.is_empty() && terms.files.is_empty() {
            return Ok(found);
        }
        let snap = crate::files::tree::snapshot(&self.0.db, project).await?;
        let files: Vec<(FileId, String)> = snap
            .live()
            .filter(|(r, _)| r.kind == FileKind::File.as_str() && r.document_id.is_some())
            .map(|(r, path)| (FileId(r.id), path))
            .collect();
        let mut left = budget;
        let mut shown: BTreeMap<FileId, Vec<(u32, u32)>> = BTreeMap::new();
        // Each file is read once, however many snippets it gives.
        let mut texts: HashMap<FileId, Option<String>> = HashMap::new();
        let mut text_of = async |file: FileId| -> AppResult<Option<String>> {
            if let Some(t) = texts.get(&file) {
                return Ok(t.clone());
            }
            let t = self.file_text(&snap, file).await?;
            texts.insert(file, t.clone());
            Ok(t)
        };

        // Files the question names: their beginning, as much as fits in half the budget.
        let mut named = 0;
        for name in &terms.files {
            if named == MAX_NAMED_FILES {
                break;
            }
            let wanted = name.trim_start_matches("./").trim_end_matches('/');
            let Some((file, path)) = files
                .iter()
                .find(|(_, p)| p == wanted)
                .or_else(|| {
                    files
                        .iter()
                        .find(|(_, p)| p.ends_with(&format!("/{wanted}")))
                })
                .cloned()
            else {
                continue;
            };
            let Some(text) = text_of(file).await? else {
                continue;
            };
            named += 1;
            let room = (left / 2).saturating_sub(path.len() + FRAME);
            let (last, shown_text, whole) = head(&text, room);
            if last == 0 {
                found.left_out.push(format!("`{path}`"));
                continue;
            }
            if !whole {
                let total = text.split('\n').count();
                found
                    .left_out
                    .push(format!("`{path}` after line {last} (of {total})"));
            }
            let s = Snippet {
                file,
                path: path.clone(),
                language: app::editor::lang::language_for(&path),
                first: 1,
                last,
                text: shown_text,
                why: SourceWhy::Named,
            };
            left = left.saturating_sub(s.cost());
            shown.entry(file).or_default().push((1, last));
            found.snippets.push(s);
        }

        // Where each name is defined or used.
        let mut hits = Vec::new();
        for name in &terms.names {
            let query = SearchQuery {
                text: name.clone(),
                regex: false,
                case_sensitive: true,
            };
            let results = self.0.files.search(project, query).await?;
            if results.timed_out && !found.left_out.iter().any(|l| l.contains("ran out")) {
                found
                    .left_out
                    .push("files the search ran out of time for".to_owned());
            }
            let mut per_name: Vec<Hit> = results
                .files
                .into_iter()
                .filter_map(|f| {
                    let best = f
                        .hits
                        .iter()
                        .find(|h| is_definition(&h.preview, name))
                        .or(f.hits.first())?;
                    Some(Hit {
                        file: f.file,
                        path: f.path.clone(),
                        line: best.line,
                        definition: is_definition(&best.preview, name),
                        matches: f.hits.len(),
                        name: name.clone(),
                    })
                })
                .collect();
            per_name.sort_by(|a, b| {
                b.definition
                    .cmp(&a.definition)
                    .then(b.matches.cmp(&a.matches))
                    .then(a.path.cmp(&b.path))
            });
            let more = per_name.len().saturating_sub(FILES_PER_NAME);
            per_name.truncate(FILES_PER_NAME);
            if more > 0 {
                found
                    .left_out
                    .push(format!("{more} more files that mention `{name}`"));
            }
            hits.extend(per_name);
        }
        // Definitions of every name before plain uses of any.
        hits.sort_by_key(|h| std::cmp::Reverse(h.definition));
        let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
        for hit in hits {
            let below = if hit.definition {
                BELOW_DEFINITION
            } else {
                BELOW
            };
            let (first, last) = (hit.line.saturating_sub(ABOVE).max(1), hit.line + below);
            let ranges = shown.entry(hit.file).or_default();
            if ranges.iter().any(|&(a, b)| a <= hit.line && hit.line <= b) {
                continue;
            }
            let Some(text) = text_of(hit.file).await? else {
                continue;
            };
            let (first, last, text) = lines_of(&text, first, last);
            let s = Snippet {
                file: hit.file,
                language: app::editor::lang::language_for(&hit.path),
                path: hit.path,
                first,
                last,
                text,
                why: SourceWhy::Match(hit.name.clone()),
            };
            if s.cost() > left {
                *skipped.entry(hit.name).or_default() += 1;
                continue;
            }
            left -= s.cost();
            merge(ranges, first, last);
            found.snippets.push(s);
        }
        for (name, n) in skipped {
            let what = if n == 1 { "place" } else { "places" };
            found
                .left_out
                .push(format!("{n} more {what} that mention `{name}`"));
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_yield_code_names_and_file_names() {
        let t = terms("Where is parseConfig defined, and what does `load` do in src/app.js?");
        assert_eq!(t.names, ["load", "parseConfig"]);
        assert_eq!(t.files, ["src/app.js"]);
        let t = terms("Why does MAX_HITS matter for TextCache::get() and Cargo.toml?");
        assert_eq!(t.names, ["MAX_HITS", "TextCache"]);
        assert_eq!(t.files, ["Cargo.toml"]);
        // Ordinary words are not searched for; a marked one is.
        let t = terms("What does this Project do? Is it fast?");
        assert_eq!(t, Terms::default());
        let t = terms("explain `config`");
        assert_eq!(t.names, ["config"]);
        // Caps.
        let t = terms("a_a b_b c_c d_d e_e f_f");
        assert_eq!(t.names.len(), MAX_NAMES);
        // Nothing that climbs out of the project or is only punctuation.
        let t = terms("see ../../etc/passwd and `..` and ` `");
        assert!(t.files.is_empty(), "{t:?}");
    }

    #[test]
    fn textcache_get_takes_the_last_part() {
        let t = terms("what does `TextCache::get` return");
        assert_eq!(t.names, ["get"]);
        let t = terms("what does TextCache do");
        assert_eq!(t.names, ["TextCache"]);
    }

    #[test]
    fn definitions_are_recognised_in_common_languages() {
        for line in [
            "pub fn parse_config(text: &str) -> Config {",
            "function parseConfig(text) {",
            "export async function parseConfig(text) {",
            "def parse_config(text):",
            "class TextCache:",
            "pub struct TextCache {",
            "const MAX_HITS: usize = 2000;",
            "  parseConfig = (text) => {",
            "parseConfig: function (text) {",
            "macro_rules! parse_config {",
        ] {
            let name = ["parse_config", "parseConfig", "TextCache", "MAX_HITS"]
                .into_iter()
                .find(|n| line.contains(n))
                .expect("a name");
            assert!(is_definition(line, name), "{line}");
        }
        for line in [
            "let c = parseConfig(text);",
            "if parseConfig == other {",
            "// see parse_config",
        ] {
            let name = if line.contains("parseConfig") {
                "parseConfig"
            } else {
                "parse_config"
            };
            assert!(!is_definition(line, name), "{line}");
        }
    }

    #[test]
    fn lines_and_heads_are_clamped_and_budgeted() {
        let text = "a\nb\nc\nd";
        assert_eq!(lines_of(text, 0, 2), (1, 2, "a\nb".into()));
        assert_eq!(lines_of(text, 3, 99), (3, 4, "c\nd".into()));
        assert_eq!(lines_of(text, 9, 12), (4, 4, "d".into()));
        assert_eq!(head(text, 4), (2, "a\nb".into(), false));
        assert_eq!(head(text, 100), (4, text.into(), true));
        assert_eq!(head(text, 1), (0, String::new(), false));
    }

    #[test]
    fn ranges_already_shown_are_not_added_again() {
        let mut r = vec![(1, 20)];
        assert!(!merge(&mut r, 3, 10));
        assert!(merge(&mut r, 15, 30));
        assert_eq!(r.len(), 2);
    }
}
