//! A file's timeline in `document_versions`: written when compaction folds the log away (the
//! log is the only record of the texts in between), and read back by the history feature.
//!
//! Each compaction replays the log it folds on top of the previous snapshot, cuts it into
//! bursts of editing (`collab::versions::bursts`) and stores the text after each burst as a
//! line delta against the version before, with the whole text every [`DEPTH_MAX`] versions or
//! when a delta would not be much smaller. Reading any version reads at most `DEPTH_MAX + 1`
//! rows.

use collab::{
    doc::DocError,
    store::Author,
    versions::{self, Burst, DeltaError, Edit, Replay},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::{CONTENT, store::time_of};
use crate::db::entities::{
    document, document_snapshot, document_time, document_update, document_version,
};
use app::types::history::Via;

/// Deltas at most between a version and a whole text.
pub const DEPTH_MAX: i32 = 16;

#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Delta(#[from] DeltaError),
    #[error("the document's log does not replay: {0}")]
    Doc(#[from] DocError),
    #[error("version {0} is missing")]
    Missing(i64),
    #[error("the history could not be computed")]
    Join,
}

/// What a new row says about itself (its text is passed beside it).
pub struct NewVersion {
    pub seq: i64,
    pub started_ms: i64,
    pub at_ms: i64,
    pub authors: Vec<i64>,
    pub vias: u32,
    pub name: Option<String>,
    pub named_by: Option<i64>,
}

impl NewVersion {
    fn of(b: &Burst) -> Self {
        Self {
            seq: b.last_seq,
            started_ms: b.started_ms,
            at_ms: b.at_ms,
            authors: b.authors.clone(),
            vias: b.vias,
            name: None,
            named_by: None,
        }
    }
}

/// The version a delta can be written against: its id, text and depth.
pub struct Base {
    pub id: i64,
    pub text: String,
    pub depth: i32,
}

pub fn authors_text(authors: &[i64]) -> String {
    authors
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

pub fn authors_of(text: &str) -> Vec<i64> {
    text.split(',').filter_map(|s| s.parse().ok()).collect()
}

/// The log as the timeline sees it.
pub fn edits_of<'a>(
    logged: impl IntoIterator<Item = (i64, Option<i64>, i16)> + 'a,
    times: &'a [document_time::Model],
) -> impl Iterator<Item = Edit> + 'a {
    logged.into_iter().map(move |(seq, user, via)| Edit {
        seq,
        author: Author {
            user,
            via: u8::try_from(via).unwrap_or(0),
        },
        at_ms: time_of(seq, times),
    })
}

/// Stores `text` as a new version: a delta against `base` where that is worth it, else whole.
pub async fn insert(
    db: &impl ConnectionTrait,
    doc: i64,
    row: NewVersion,
    text: &str,
    base: Option<&Base>,
) -> Result<Base, DbErr> {
    let delta = base
        .filter(|b| b.depth < DEPTH_MAX)
        .map(|b| (b, versions::delta(&b.text, text)))
        .filter(|(_, d)| d.len() < text.len() / 2 + 64);
    let (base_id, depth, data) = match delta {
        Some((b, d)) => (Some(b.id), b.depth + 1, d),
        None => (None, 0, text.as_bytes().to_vec()),
    };
    let made = document_version::Entity::insert(document_version::ActiveModel {
        document_id: Set(doc),
        seq: Set(row.seq),
        started_ms: Set(row.started_ms),
        at_ms: Set(row.at_ms),
        authors: Set(authors_text(&row.authors)),
        vias: Set(i32::try_from(row.vias).unwrap_or(0)),
        name: Set(row.name),
        named_by: Set(row.named_by),
        base_id: Set(base_id),
        depth: Set(depth),
        data: Set(data),
        ..Default::default()
    })
    .exec(db)
    .await?;
    Ok(Base {
        id: made.last_insert_id,
        text: text.to_owned(),
        depth,
    })
}

/// The text of version `id` of `doc`: its whole text, or its chain of deltas applied to the
/// nearest whole text.
pub async fn text_of(db: &impl ConnectionTrait, doc: i64, id: i64) -> Result<String, VersionError> {
    let mut chain = Vec::new();
    let mut next = Some(id);
    while let Some(at) = next {
        // Depth is bounded when written; the bound here keeps a damaged row from looping.
        if chain.len() > DEPTH_MAX as usize + 1 {
            return Err(VersionError::Missing(at));
        }
        let row = document_version::Entity::find_by_id(at)
            .filter(document_version::Column::DocumentId.eq(doc))
            .one(db)
            .await?
            .ok_or(VersionError::Missing(at))?;
        next = row.base_id;
        chain.push(row.data);
    }
    let whole = chain.pop().ok_or(VersionError::Missing(id))?;
    let mut text = String::from_utf8(whole).map_err(|_| DeltaError::NOT_UTF8)?;
    while let Some(delta) = chain.pop() {
        text = versions::apply_delta(&text, &delta)?;
    }
    Ok(text)
}

/// The last version of the chain compaction writes (named versions stand apart).
pub async fn last_base(db: &impl ConnectionTrait, doc: i64) -> Result<Option<Base>, VersionError> {
    let last: Option<(i64, i32)> = document_version::Entity::find()
        .select_only()
        .column(document_version::Column::Id)
        .column(document_version::Column::Depth)
        .filter(document_version::Column::DocumentId.eq(doc))
        .filter(document_version::Column::Name.is_null())
        .order_by_desc(document_version::Column::Id)
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    match last {
        None => Ok(None),
        Some((id, depth)) => Ok(Some(Base {
            id,
            text: text_of(db, doc, id).await?,
            depth,
        })),
    }
}

/// A burst compaction has not stored yet because it was still going when the log was folded:
/// what the store keeps of it between compactions of the document (in memory: a restart
/// forgets it, and the next stored version then starts later than the burst did).
#[derive(Debug, Clone)]
pub struct Open {
    pub burst: Burst,
    /// Compactions it has spanned so far.
    pub spanned: u32,
}

/// A burst that goes on is stored at least every this many compactions (every 16,000
/// updates at the default): the replay it takes is skipped in between.
pub const SPAN_MAX: u32 = 16;

/// The text before the log and after each of `bursts`, replayed from the snapshot. Malformed
/// updates are skipped (they were refused when they came); a decoder panic stops the replay.
pub fn replay(
    snapshot: Option<&[u8]>,
    updates: &[(i64, Vec<u8>)],
    bursts: Vec<Burst>,
) -> Result<(String, Vec<(Burst, String)>), DocError> {
    let mut doc = Replay::new(CONTENT);
    if let Some(s) = snapshot {
        doc.apply(s)?;
    }
    let before = doc.text();
    let mut rest = updates.iter().peekable();
    let mut out = Vec::new();
    for burst in bursts {
        while let Some((_, data)) = rest.next_if(|(seq, _)| *seq <= burst.last_seq) {
            if let Err(DocError::Poisoned) = doc.apply(data) {
                return Err(DocError::Poisoned);
            }
        }
        let text = doc.text();
        out.push((burst, text));
    }
    Ok((before, out))
}

/// Turns the log compaction is about to fold into versions. Called inside the compaction's
/// transaction, before the snapshot is replaced (it replays from the old one). `open` is the
/// burst an earlier compaction left going; the answer is the one this compaction leaves (the
/// log was one burst that goes on, so nothing was replayed or stored), if any.
pub async fn record(
    txn: &impl ConnectionTrait,
    doc: i64,
    logged: &[document_update::Model],
    times: &[document_time::Model],
    open: Option<Open>,
) -> Result<Option<Open>, VersionError> {
    if logged.is_empty() {
        return Ok(open);
    }
    let restore = Via::Restore.code();
    let edits: Vec<Edit> =
        edits_of(logged.iter().map(|u| (u.seq, u.author_id, u.via)), times).collect();
    let mut bursts = versions::bursts(edits, restore);
    // The burst left going: this log goes on with it, or it ended where the last log did.
    let mut ended = None;
    let mut spanned = 0;
    if let Some(o) = open {
        match bursts.first_mut() {
            Some(first) if o.burst.continued_by(first, restore) => {
                let mut whole = o.burst;
                whole.absorb(first.clone());
                *first = whole;
                spanned = o.spanned;
            }
            _ => ended = Some(o.burst),
        }
    }
    let has_versions = document_version::Entity::find()
        .select_only()
        .column(document_version::Column::Id)
        .filter(document_version::Column::DocumentId.eq(doc))
        .filter(document_version::Column::Name.is_null())
        .limit(1)
        .into_tuple::<i64>()
        .one(txn)
        .await?
        .is_some();
    let restores = bursts.iter().any(|b| b.vias & (1 << restore) != 0);
    if ended.is_none() && bursts.len() == 1 && !restores && has_versions && spanned + 1 < SPAN_MAX {
        return Ok(bursts.pop().map(|burst| Open {
            burst,
            spanned: spanned + 1,
        }));
    }
    let snapshot = document_snapshot::Entity::find_by_id(doc).one(txn).await?;
    let folded = snapshot.as_ref().map_or(0, |s| s.seq);
    let mut base = last_base(txn, doc).await?;
    // Who made the document, for its first version (the text it was created with).
    let creation = match (&base, folded) {
        (None, 0) => {
            document::Entity::find_by_id(doc)
                .select_only()
                .column(document::Column::CreatedBy)
                .column(document::Column::CreatedAt)
                .into_tuple::<(i64, i64)>()
                .one(txn)
                .await?
        }
        _ => None,
    };
    let updates: Vec<(i64, Vec<u8>)> = logged.iter().map(|u| (u.seq, u.data.clone())).collect();
    // Replaying is CPU work proportional to the log and the text.
    let (before, after) = tokio::task::spawn_blocking(move || {
        replay(
            snapshot.as_ref().map(|s| s.data.as_slice()),
            &updates,
            bursts,
        )
    })
    .await
    .map_err(|_| VersionError::Join)??;
    if base.is_none() && !before.is_empty() && ended.is_none() {
        // The first version: the text the document was created with (stored now rather than
        // at creation, so an import of many files that are never edited stores each text once),
        // or for a document older than its history, what it held when history began.
        let first = match creation {
            Some((by, at_secs)) => NewVersion {
                seq: 0,
                started_ms: at_secs * 1000,
                at_ms: at_secs * 1000,
                authors: vec![by],
                vias: 1 << Via::Created.code(),
                name: None,
                named_by: None,
            },
            None => NewVersion {
                seq: folded,
                started_ms: 0,
                at_ms: 0,
                authors: Vec::new(),
                vias: 0,
                name: None,
                named_by: None,
            },
        };
        base = Some(insert(txn, doc, first, &before, None).await?);
    }
    // The burst that ended where the last log did: its text is the one before this log.
    let ended = ended.map(|b| (b, before.clone()));
    let mut last = base
        .as_ref()
        .map_or(before.as_str(), |b| b.text.as_str())
        .to_owned();
    for (burst, text) in ended.into_iter().chain(after) {
        if text == last {
            continue;
        }
        base = Some(insert(txn, doc, NewVersion::of(&burst), &text, base.as_ref()).await?);
        last = text;
    }
    Ok(None)
}
