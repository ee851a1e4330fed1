//! A file's timeline: the versions compaction stored (`editor::versions`), newest first, a page
//! at a time, with the bursts of the log not folded yet in front; the text of any of them; and
//! restoring one as a new edit.

use std::collections::HashMap;

use app::{
    AppError, AppResult,
    types::{
        DocId, UserId,
        history::{LineRange, Timeline, VersionCursor, VersionEntry, VersionId, Via},
    },
};
use collab::versions::{self, BURST_GAP_MS, BURST_MAX_MS, Replay};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use crate::{
    db::{
        entities::{document, document_snapshot, document_update, document_version},
        now_ms,
    },
    editor::{
        CONTENT,
        store::times_through,
        versions::{self as stored, NewVersion, VersionError, authors_of, edits_of},
    },
};

/// Entries per page of a timeline.
pub const PAGE: u64 = 50;
/// The text of the file now, as the timeline's clients ask for it (the whole log).
pub const CURRENT: VersionId = VersionId::Pending(i64::MAX);

/// Named versions one file keeps at most.
pub const NAMED_MAX: u64 = 200;

/// A timeline entry before names are looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raw {
    pub id: VersionId,
    pub seq: i64,
    pub started: i64,
    pub at: i64,
    pub authors: Vec<i64>,
    pub vias: u32,
    pub name: Option<String>,
    pub named_by: Option<i64>,
}

impl Raw {
    fn is_restore(&self) -> bool {
        self.vias & (1 << Via::Restore.code()) != 0
    }
}

pub fn internal(doc: DocId, e: VersionError) -> AppError {
    match e {
        VersionError::Db(e) => e.into(),
        VersionError::Missing(_) => AppError::NotFound("Version".into()),
        e => {
            tracing::error!(doc = doc.0, error = %e, "a version of a file cannot be read");
            AppError::Internal
        }
    }
}

/// One burst split over two compactions (or still going in the log) reads as one entry:
/// `older` folds into `newer` when the same people typed on without a pause.
fn continues(newer: &Raw, older: &Raw) -> bool {
    let mut a = newer.authors.clone();
    let mut b = older.authors.clone();
    a.sort_unstable();
    b.sort_unstable();
    newer.name.is_none()
        && older.name.is_none()
        && !newer.is_restore()
        && !older.is_restore()
        // The text a file was created with stays an entry of its own.
        && older.vias & (1 << Via::Created.code()) == 0
        && older.at > 0
        && a == b
        && newer.started - older.at < BURST_GAP_MS
        && newer.at - older.started < BURST_MAX_MS
}

/// Entries newest first, bursts split by compaction joined again.
pub fn merge(entries: Vec<Raw>) -> Vec<Raw> {
    let mut out: Vec<Raw> = Vec::with_capacity(entries.len());
    for e in entries {
        match out.last_mut() {
            Some(newer) if continues(newer, &e) => {
                newer.started = e.started;
                newer.vias |= e.vias;
            }
            _ => out.push(e),
        }
    }
    out
}

/// The bursts of the log not folded yet, newest first.
pub async fn pending(db: &impl ConnectionTrait, doc: i64) -> Result<Vec<Raw>, sea_orm::DbErr> {
    let folded = folded(db, doc).await?;
    let logged: Vec<(i64, Option<i64>, i16)> = document_update::Entity::find()
        .select_only()
        .column(document_update::Column::Seq)
        .column(document_update::Column::AuthorId)
        .column(document_update::Column::Via)
        .filter(document_update::Column::DocumentId.eq(doc))
        .filter(document_update::Column::Seq.gt(folded))
        .order_by_asc(document_update::Column::Seq)
        .into_tuple()
        .all(db)
        .await?;
    let times = times_through(db, doc, i64::MAX).await?;
    let bursts = versions::bursts(edits_of(logged, &times), Via::Restore.code());
    Ok(bursts
        .into_iter()
        .rev()
        .map(|b| Raw {
            id: VersionId::Pending(b.last_seq),
            seq: b.last_seq,
            started: b.started_ms,
            at: b.at_ms,
            authors: b.authors,
            vias: b.vias,
            name: None,
            named_by: None,
        })
        .collect())
}

/// The version a document was created with, while it is still only its snapshot (compaction
/// stores it as the first version later): `Pending(0)`.
async fn created(db: &impl ConnectionTrait, doc: i64) -> Result<Option<Raw>, sea_orm::DbErr> {
    if folded(db, doc).await? != 0
        || document_snapshot::Entity::find_by_id(doc)
            .select_only()
            .column(document_snapshot::Column::DocumentId)
            .into_tuple::<i64>()
            .one(db)
            .await?
            .is_none()
    {
        return Ok(None);
    }
    let row: Option<(i64, i64)> = document::Entity::find_by_id(doc)
        .select_only()
        .column(document::Column::CreatedBy)
        .column(document::Column::CreatedAt)
        .into_tuple()
        .one(db)
        .await?;
    Ok(row.map(|(by, at)| Raw {
        id: VersionId::Pending(0),
        seq: 0,
        started: at * 1000,
        at: at * 1000,
        authors: vec![by],
        vias: 1 << Via::Created.code(),
        name: None,
        named_by: None,
    }))
}

async fn folded(db: &impl ConnectionTrait, doc: i64) -> Result<i64, sea_orm::DbErr> {
    Ok(document_snapshot::Entity::find_by_id(doc)
        .select_only()
        .column(document_snapshot::Column::Seq)
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or(0))
}

type Row = (i64, i64, i64, i64, String, i32, Option<String>, Option<i64>);

/// Stored versions older than `before`, newest first, at most `limit` (metadata only).
async fn stored_page(
    db: &impl ConnectionTrait,
    doc: i64,
    before: Option<VersionCursor>,
    limit: u64,
) -> Result<Vec<Raw>, sea_orm::DbErr> {
    use document_version::Column as C;
    let mut q = document_version::Entity::find()
        .select_only()
        .columns([
            C::Id,
            C::Seq,
            C::StartedMs,
            C::AtMs,
            C::Authors,
            C::Vias,
            C::Name,
            C::NamedBy,
        ])
        .filter(C::DocumentId.eq(doc));
    if let Some(c) = before {
        q = q.filter(
            Condition::any()
                .add(C::Seq.lt(c.seq))
                .add(Condition::all().add(C::Seq.eq(c.seq)).add(C::Id.lt(c.id))),
        );
    }
    let rows: Vec<Row> = q
        .order_by_desc(C::Seq)
        .order_by_desc(C::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, seq, started, at, authors, vias, name, named_by)| Raw {
                id: VersionId::Stored(id),
                seq,
                started,
                at,
                authors: authors_of(&authors),
                vias: u32::try_from(vias).unwrap_or(0),
                name,
                named_by,
            },
        )
        .collect())
}

/// A page of the timeline (with one entry past it when there are more).
pub async fn page(
    db: &impl ConnectionTrait,
    doc: i64,
    before: Option<VersionCursor>,
) -> Result<(Vec<Raw>, Option<VersionCursor>), sea_orm::DbErr> {
    let mut entries = match before {
        None => pending(db, doc).await?,
        Some(_) => Vec::new(),
    };
    // One more than a page: the last entry's "previous".
    let stored = stored_page(db, doc, before, PAGE + 1).await?;
    let first = if before.is_none()
        && (stored.len() as u64) <= PAGE
        && stored.iter().all(|r| r.name.is_some())
    {
        // Never compacted yet: the text it was created with is the first version.
        created(db, doc).await?
    } else {
        None
    };
    let more = (stored.len() as u64 > PAGE)
        .then(|| stored.get(PAGE as usize - 1))
        .flatten()
        .map(|r| VersionCursor {
            seq: r.seq,
            id: match r.id {
                VersionId::Stored(id) => id,
                VersionId::Pending(_) => 0,
            },
        });
    entries.extend(stored);
    entries.extend(first);
    Ok((merge(entries), more))
}

/// The people a page names.
pub fn people(entries: &[Raw]) -> Vec<i64> {
    let mut ids: Vec<i64> = entries
        .iter()
        .flat_map(|e| e.authors.iter().copied().chain(e.named_by))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The page as it crosses the wire: names, ways, and each entry's previous version. The
/// entry past a full page only serves as the last one's previous.
pub fn entries(
    raw: Vec<Raw>,
    more: Option<VersionCursor>,
    names: &HashMap<i64, String>,
) -> Timeline {
    let name = |u: &i64| {
        names
            .get(u)
            .cloned()
            .unwrap_or_else(|| "Unknown".to_owned())
    };
    let shown = raw.len() - usize::from(more.is_some() && raw.len() > 1);
    let entries = raw
        .iter()
        .enumerate()
        .take(shown)
        .map(|(i, r)| VersionEntry {
            id: r.id,
            previous: raw.get(i + 1).map(|p| p.id),
            started: r.started,
            at: r.at,
            authors: r.authors.iter().map(name).collect(),
            vias: Via::ALL
                .into_iter()
                .filter(|v| r.vias & (1 << v.code()) != 0)
                .collect(),
            name: r.name.clone(),
            named_by: r.named_by.as_ref().map(name),
        })
        .collect();
    Timeline { entries, more }
}

/// The text of a version. A pending one that compaction has stored since is read from the
/// stored version that took its place.
pub async fn text(
    db: &impl ConnectionTrait,
    doc: i64,
    version: VersionId,
) -> Result<String, VersionError> {
    match version {
        VersionId::Stored(id) => stored::text_of(db, doc, id).await,
        VersionId::Pending(seq) => {
            // The log before the snapshot (as the store loads a document): a compaction in
            // between then leaves only updates the newer snapshot already holds, which the
            // filter drops; the other order would miss the ones it folded.
            let logged: Vec<(i64, Vec<u8>)> = document_update::Entity::find()
                .select_only()
                .column(document_update::Column::Seq)
                .column(document_update::Column::Data)
                .filter(document_update::Column::DocumentId.eq(doc))
                .filter(document_update::Column::Seq.lte(seq))
                .order_by_asc(document_update::Column::Seq)
                .into_tuple()
                .all(db)
                .await?;
            let snapshot = document_snapshot::Entity::find_by_id(doc).one(db).await?;
            let folded = snapshot.as_ref().map_or(0, |s| s.seq);
            if seq < folded {
                let id: Option<i64> = document_version::Entity::find()
                    .select_only()
                    .column(document_version::Column::Id)
                    .filter(document_version::Column::DocumentId.eq(doc))
                    .filter(document_version::Column::Name.is_null())
                    .filter(document_version::Column::Seq.lte(seq))
                    .order_by_desc(document_version::Column::Seq)
                    .order_by_desc(document_version::Column::Id)
                    .limit(1)
                    .into_tuple()
                    .one(db)
                    .await?;
                let id = id.ok_or(VersionError::Missing(seq))?;
                return stored::text_of(db, doc, id).await;
            }
            tokio::task::spawn_blocking(move || {
                let mut doc = Replay::new(CONTENT);
                if let Some(s) = snapshot {
                    doc.apply(&s.data)?;
                }
                for (_, u) in logged.iter().filter(|(s, _)| *s > folded) {
                    // Refused when it came, skipped now as then.
                    let _ = doc.apply(u);
                }
                Ok(doc.text())
            })
            .await
            .map_err(|_| VersionError::Join)?
        }
    }
}

/// The text a restore leaves: the version's, or the current one with the version's lines.
pub fn restored(current: &str, version: &str, lines: Option<LineRange>) -> String {
    match lines {
        None => version.to_owned(),
        Some(r) => versions::revert_lines(current, version, r.from, r.to.max(r.from)),
    }
}

/// Stores `text` as a named version of `doc`, unless the file has as many as it may keep.
pub async fn name(
    db: &impl ConnectionTrait,
    doc: i64,
    text: &str,
    name: String,
    by: UserId,
) -> AppResult<()> {
    let named = document_version::Entity::find()
        .filter(document_version::Column::DocumentId.eq(doc))
        .filter(document_version::Column::Name.is_not_null())
        .count(db)
        .await?;
    if named >= NAMED_MAX {
        return Err(AppError::TooMany(format!(
            "A file keeps at most {NAMED_MAX} named versions."
        )));
    }
    let seq: i64 = document::Entity::find_by_id(doc)
        .select_only()
        .column(document::Column::LastSeq)
        .into_tuple()
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("Document".into()))?;
    let at = now_ms();
    let row = NewVersion {
        seq,
        started_ms: at,
        at_ms: at,
        authors: vec![by.0],
        vias: 0,
        name: Some(name),
        named_by: Some(by.0),
    };
    stored::insert(db, doc, row, text, None).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(id: i64, started: i64, at: i64, authors: &[i64]) -> Raw {
        Raw {
            id: VersionId::Stored(id),
            seq: id,
            started,
            at,
            authors: authors.to_vec(),
            vias: 2,
            name: None,
            named_by: None,
        }
    }

    #[test]
    fn a_burst_split_by_compaction_reads_as_one_entry() {
        let m = merge(vec![
            raw(4, 100_000, 160_000, &[1]),
            raw(3, 40_000, 90_000, &[1]),
            raw(2, 20_000, 30_000, &[2]),
            raw(1, 0, 0, &[]),
        ]);
        assert_eq!(m.len(), 3);
        assert_eq!((m[0].id, m[0].started), (VersionId::Stored(4), 40_000));
        let mut named = raw(5, 170_000, 170_000, &[1]);
        named.name = Some("v1".into());
        assert_eq!(merge(vec![named, raw(4, 100_000, 160_000, &[1])]).len(), 2);
    }

    #[test]
    fn a_page_links_each_entry_to_the_one_before() {
        let names = HashMap::from([(1, "ann".to_owned())]);
        let t = entries(
            vec![raw(3, 0, 900_000, &[1]), raw(2, 0, 500_000, &[9])],
            None,
            &names,
        );
        assert_eq!(t.entries.len(), 2);
        assert_eq!(t.entries[0].previous, Some(VersionId::Stored(2)));
        assert_eq!(t.entries[0].authors, vec!["ann"]);
        assert_eq!(t.entries[1].authors, vec!["Unknown"]);
        assert_eq!(t.entries[1].previous, None);
        assert_eq!(t.entries[0].vias, vec![Via::Browser]);
    }
}
