//! Content search over the live text of a project's files. Texts are cached per document and
//! revalidated by the document's last logged update, so a repeated search reads no document
//! that has not changed. The matching runs off the async threads, bounded in time and hits.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use app::{
    AppError, AppResult,
    files::{FileHits, FileKind, SearchHit, SearchQuery, SearchResults},
    types::{DocId, FileId, ProjectId},
};
use hashlink::LinkedHashMap;
use regex::{Regex, RegexBuilder};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{
    text::{text_of, text_of_parts},
    tree::Tree,
};
use crate::db::entities::{document, document_snapshot, document_update};

/// Longest query accepted.
const MAX_QUERY: usize = 1000;
/// Matching lines returned at most.
pub const MAX_HITS: usize = 2000;
/// Hits shown per file at most; the rest count towards `truncated`.
const MAX_HITS_PER_FILE: usize = 200;
/// Wall time for reading and matching.
pub const BUDGET: Duration = Duration::from_secs(3);
/// Documents read from the store per query.
const LOAD_CHUNK: usize = 300;
/// Characters of context either side of a match in a preview.
const PREVIEW_CONTEXT: usize = 60;

/// Texts of documents as last read, up to a byte budget: the least recently used go first
/// when it is full, so the cache cannot grow with every document a server has ever searched.
pub struct TextCache {
    inner: Mutex<Cached>,
    max_bytes: usize,
}

#[derive(Default)]
struct Cached {
    /// Document → (its last logged update when read, its text), least recently used first.
    texts: LinkedHashMap<DocId, (i64, Arc<str>)>,
    bytes: usize,
}

impl TextCache {
    pub fn new(max_bytes: usize) -> Self {
        Self {
            inner: Mutex::default(),
            max_bytes,
        }
    }

    fn get(&self, doc: DocId, seq: i64) -> Option<Arc<str>> {
        let mut cached = crate::lock::lock(&self.inner);
        cached
            .texts
            .to_back(&doc)
            .filter(|(s, _)| *s == seq)
            .map(|(_, t)| t.clone())
    }

    fn put(&self, doc: DocId, seq: i64, text: Arc<str>) {
        if text.len() > self.max_bytes {
            return;
        }
        let mut cached = crate::lock::lock(&self.inner);
        cached.bytes += text.len();
        if let Some((_, old)) = cached.texts.insert(doc, (seq, text)) {
            cached.bytes -= old.len();
        }
        while cached.bytes > self.max_bytes {
            let Some((_, (_, gone))) = cached.texts.pop_front() else {
                break;
            };
            cached.bytes -= gone.len();
        }
    }

    /// Bytes of text held.
    pub fn bytes(&self) -> usize {
        crate::lock::lock(&self.inner).bytes
    }
}

pub fn compile(query: &SearchQuery) -> AppResult<Regex> {
    if query.text.is_empty() {
        return Err(AppError::invalid("query", "Type something to search for."));
    }
    if query.text.len() > MAX_QUERY {
        return Err(AppError::invalid(
            "query",
            format!("Searches are at most {MAX_QUERY} characters."),
        ));
    }
    let pattern = if query.regex {
        query.text.clone()
    } else {
        regex::escape(&query.text)
    };
    RegexBuilder::new(&pattern)
        .case_insensitive(!query.case_sensitive)
        .multi_line(true)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| AppError::invalid("query", format!("Not a valid regular expression: {e}")))
}

fn utf16_len(s: &str) -> u32 {
    s.encode_utf16().count() as u32
}

/// The matches in one text, up to `limit` lines.
pub fn matches_in(re: &Regex, text: &str, limit: usize) -> (Vec<SearchHit>, bool) {
    let mut hits = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let Some(m) = re.find(line) else {
            continue;
        };
        if hits.len() == limit {
            return (hits, true);
        }
        let start = line[..m.start()]
            .char_indices()
            .rev()
            .nth(PREVIEW_CONTEXT)
            .map_or(0, |(i, _)| i);
        let end = line[m.end()..]
            .char_indices()
            .nth(PREVIEW_CONTEXT)
            .map_or(line.len(), |(i, _)| m.end() + i);
        hits.push(SearchHit {
            line: n as u32 + 1,
            column: utf16_len(&line[..m.start()]) + 1,
            end_column: utf16_len(&line[..m.end()]) + 1,
            preview: line[start..end].to_owned(),
        });
    }
    (hits, false)
}

impl Tree {
    /// The current text of each document: open ones from their owners (with edits not yet
    /// committed), cached ones when unchanged, the rest read from the store in bulk (a
    /// handful of queries instead of one per file) and decoded off the async threads.
    /// Stops loading at `deadline` (search's budget); `None` loads them all (export).
    pub(crate) async fn texts(
        &self,
        cache: &TextCache,
        project: ProjectId,
        docs: &[DocId],
        deadline: Option<Instant>,
    ) -> AppResult<HashMap<DocId, Arc<str>>> {
        let seqs: HashMap<i64, i64> = document::Entity::find()
            .select_only()
            .column(document::Column::Id)
            .column(document::Column::LastSeq)
            .filter(document::Column::ProjectId.eq(project.0))
            .into_tuple::<(i64, i64)>()
            .all(&self.db)
            .await?
            .into_iter()
            .collect();
        let mut texts = HashMap::with_capacity(docs.len());
        let mut to_load = Vec::new();
        for &doc in docs {
            let engine = &self.editor.engine;
            let id = crate::editor::engine_id(doc)?;
            if engine.is_open(id) {
                if let Ok(state) = engine.state(id).await {
                    let text = crate::error::blocking(move || text_of(&state))
                        .await?
                        .unwrap_or_default();
                    texts.insert(doc, Arc::from(text));
                }
                continue;
            }
            let seq = seqs.get(&doc.0).copied().unwrap_or(0);
            match cache.get(doc, seq) {
                Some(t) => {
                    texts.insert(doc, t);
                }
                None => to_load.push((doc, seq)),
            }
        }
        for chunk in to_load.chunks(LOAD_CHUNK) {
            if deadline.is_some_and(|d| Instant::now() > d) {
                break;
            }
            let seq_of: HashMap<DocId, i64> = chunk.iter().copied().collect();
            let ids: Vec<i64> = chunk.iter().map(|(d, _)| d.0).collect();
            // The log before the snapshots: a compaction in between then only leaves updates
            // that the newer snapshot already holds, which the filter below drops.
            let logged = document_update::Entity::find()
                .filter(document_update::Column::DocumentId.is_in(ids.clone()))
                .order_by_asc(document_update::Column::DocumentId)
                .order_by_asc(document_update::Column::Seq)
                .all(&self.db)
                .await?;
            let mut snapshots: HashMap<i64, document_snapshot::Model> =
                document_snapshot::Entity::find()
                    .filter(document_snapshot::Column::DocumentId.is_in(ids.clone()))
                    .all(&self.db)
                    .await?
                    .into_iter()
                    .map(|s| (s.document_id, s))
                    .collect();
            let mut updates: HashMap<i64, Vec<Vec<u8>>> = HashMap::new();
            for u in logged {
                if u.seq > snapshots.get(&u.document_id).map_or(0, |s| s.seq) {
                    updates.entry(u.document_id).or_default().push(u.data);
                }
            }
            // Documents that no longer exist (deleted meanwhile) are left out.
            let present: Vec<i64> = ids.into_iter().filter(|i| seqs.contains_key(i)).collect();
            let decoded = crate::error::blocking(move || {
                present
                    .into_iter()
                    .map(|id| {
                        let logged = updates.remove(&id).unwrap_or_default();
                        let snapshot = snapshots.remove(&id).map(|s| s.data);
                        let parts: Vec<&[u8]> = snapshot
                            .iter()
                            .chain(logged.iter())
                            .map(Vec::as_slice)
                            .collect();
                        (DocId(id), text_of_parts(&parts).unwrap_or_default())
                    })
                    .collect::<Vec<_>>()
            })
            .await?;
            for (doc, text) in decoded {
                let text: Arc<str> = text.into();
                cache.put(doc, seq_of.get(&doc).copied().unwrap_or(0), text.clone());
                texts.insert(doc, text);
            }
        }
        Ok(texts)
    }

    pub async fn search(
        &self,
        cache: &TextCache,
        project: ProjectId,
        query: SearchQuery,
    ) -> AppResult<SearchResults> {
        let started = Instant::now();
        let re = compile(&query)?;
        let tree = super::tree::snapshot(&self.db, project).await?;
        let mut files: Vec<(FileId, String, DocId)> = tree
            .live()
            .filter(|(r, _)| r.kind == FileKind::File.as_str())
            .filter_map(|(r, path)| Some((FileId(r.id), path, DocId(r.document_id?))))
            .collect();
        files.sort_by(|a, b| a.1.cmp(&b.1));
        let docs: Vec<DocId> = files.iter().map(|f| f.2).collect();
        let texts = self
            .texts(cache, project, &docs, Some(started + BUDGET))
            .await?;
        // One blocking pass over every text, in path order, within the budget.
        crate::error::blocking(move || {
            let mut results = SearchResults::default();
            let mut total = 0;
            for (file, path, doc) in files {
                let Some(text) = texts.get(&doc) else {
                    results.timed_out = true;
                    continue;
                };
                if started.elapsed() > BUDGET {
                    results.timed_out = true;
                    break;
                }
                results.searched += 1;
                let limit = MAX_HITS_PER_FILE.min(MAX_HITS - total);
                let (hits, more) = matches_in(&re, text, limit);
                results.truncated |= more;
                if !hits.is_empty() {
                    total += hits.len();
                    results.files.push(FileHits { file, path, hits });
                }
                if total >= MAX_HITS {
                    results.truncated = true;
                    break;
                }
            }
            results
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_keeps_its_byte_budget_and_drops_the_least_recently_used() {
        let cache = TextCache::new(10);
        cache.put(DocId(1), 1, "aaaa".into());
        cache.put(DocId(2), 1, "bbbb".into());
        assert!(cache.get(DocId(1), 1).is_some(), "1 is now the most recent");
        cache.put(DocId(3), 1, "cccc".into());
        assert_eq!(cache.bytes(), 8);
        assert!(cache.get(DocId(2), 1).is_none(), "2 was the least recent");
        assert!(
            cache.get(DocId(1), 2).is_none(),
            "a newer version is a miss"
        );
        cache.put(DocId(1), 2, "a".into());
        assert_eq!(cache.bytes(), 5, "a replaced text is not counted twice");
        cache.put(DocId(4), 1, "far too long to keep".into());
        assert!(cache.get(DocId(4), 1).is_none());
        assert_eq!(cache.bytes(), 5);
    }

    fn q(text: &str, regex: bool, case_sensitive: bool) -> SearchQuery {
        SearchQuery {
            text: text.into(),
            regex,
            case_sensitive,
        }
    }

    #[test]
    fn plain_regex_and_case() {
        let text = "let x = 1;\nlet Y = foo(x);\n// é then FOO\n";
        let re = compile(&q("foo", false, false)).expect("compiles");
        let (hits, more) = matches_in(&re, text, 10);
        assert!(!more);
        assert_eq!(hits.iter().map(|h| h.line).collect::<Vec<_>>(), [2, 3]);
        assert_eq!((hits[0].column, hits[0].end_column), (9, 12));
        // Columns count UTF-16 units, as Monaco does: "// é then " is 10 units.
        assert_eq!(hits[1].column, 11);
        let re = compile(&q("foo", false, true)).expect("compiles");
        assert_eq!(matches_in(&re, text, 10).0.len(), 1);
        let re = compile(&q(r"let \w =", true, true)).expect("compiles");
        assert_eq!(matches_in(&re, text, 10).0.len(), 2);
        // Plain mode takes regex characters literally.
        let re = compile(&q("foo(x)", false, true)).expect("compiles");
        assert_eq!(matches_in(&re, text, 10).0.len(), 1);
        assert!(compile(&q("(", true, false)).is_err());
        assert!(compile(&q("", false, false)).is_err());
        let (hits, more) = matches_in(&compile(&q("let", false, false)).expect("c"), text, 1);
        assert_eq!((hits.len(), more), (1, true));
    }

    #[test]
    fn previews_are_cut_around_the_match() {
        let line = format!("{}needle{}", "a".repeat(500), "b".repeat(500));
        let re = compile(&q("needle", false, false)).expect("compiles");
        let (hits, _) = matches_in(&re, &line, 10);
        assert!(hits[0].preview.len() < 200);
        assert!(hits[0].preview.contains("needle"));
    }
}
