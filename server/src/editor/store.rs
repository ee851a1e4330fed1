//! The durable update log over sea-orm (SQLite or PostgreSQL): `documents` holds the last
//! sequence number, `document_snapshots` the log folded so far, `document_updates` the updates
//! logged after it.
//! Each `append` is one transaction (the engine's group commit), so an acknowledged update is
//! committed; with SQLite in WAL mode that survives a killed process.
//!
//! Each logged update carries its author; the time is marked per document (`document_times`)
//! at most every [`TIME_STEP_MS`] of a node's activity on it rather than stored in every row. A
//! compaction first turns the log it folds into authorship spans (`document_authorship`), so
//! attribution survives it.
//!
//! Shared by several nodes (`--bus`), a node's compaction folds in what the log holds rather
//! than trusting its own copy of the document: another node's update can be logged (or still
//! be committing) below the sequence number the compaction folds through, before this node
//! has received it over the bus.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use async_trait::async_trait;
use bytes::Bytes;
use collab::{
    DocId,
    attribution::{self, LoggedUpdate, Span},
    store::{Author, DocStore, Logged, StoreError, Stored},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
    sea_query::{Expr, ExprTrait, OnConflict, Query},
};

use crate::db::{
    entities::{document, document_authorship, document_snapshot, document_time, document_update},
    now_ms,
};

/// Rows per `INSERT`: 5 bound variables each keeps a statement under SQLite's historical limit
/// of 999 (and far under PostgreSQL's 65,535).
const ROWS_PER_INSERT: usize = 190;
/// Authorship rows per `INSERT` (7 bound variables each).
const SPANS_PER_INSERT: usize = 140;
/// A node marks the time of a document's updates at most this often: the precision of "when"
/// in attribution and history.
pub const TIME_STEP_MS: i64 = 30_000;
/// One author's adjacent text stays one span while stored within this of the span's start.
pub const MERGE_MS: i64 = 10 * 60_000;
/// Documents whose last mark this node remembers; past it, it forgets them all (and marks each
/// again on its next commit: one extra row, never a missing one).
const MARKS_REMEMBERED: usize = 10_000;

#[derive(Clone)]
pub struct DbDocStore {
    db: DatabaseConnection,
    /// Other nodes write to the same documents.
    shared: bool,
    /// When this node last marked each document's time (ms).
    marked: Arc<Mutex<HashMap<i64, i64>>>,
    /// Bursts of editing still going when their log was folded (see `versions::Open`).
    open: Arc<Mutex<HashMap<i64, super::versions::Open>>>,
    /// Who edited what, for the team dashboard (none: not counted, as in the benchmarks'
    /// baseline).
    edits: Option<super::edits::EditTally>,
}

impl DbDocStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            shared: false,
            marked: Arc::default(),
            open: Arc::default(),
            edits: None,
        }
    }

    /// Counts each committed batch's authors into `tally`.
    pub fn counting(mut self, tally: super::edits::EditTally) -> Self {
        self.edits = Some(tally);
        self
    }

    /// A store other nodes append to as well: compaction merges the log into the snapshot.
    pub fn shared(mut self, shared: bool) -> Self {
        self.shared = shared;
        self
    }
}

fn err(e: sea_orm::DbErr) -> StoreError {
    StoreError(e.to_string())
}

fn id(doc: DocId) -> Result<i64, StoreError> {
    i64::try_from(doc.0).map_err(|_| StoreError(format!("document id {} out of range", doc.0)))
}

#[async_trait]
impl DocStore for DbDocStore {
    async fn load(&self, doc: DocId) -> Result<Stored, StoreError> {
        let doc_id = id(doc)?;
        let Some(last_seq) = document::Entity::find_by_id(doc_id)
            .select_only()
            .column(document::Column::LastSeq)
            .into_tuple::<i64>()
            .one(&self.db)
            .await
            .map_err(err)?
        else {
            return Ok(Stored::default());
        };
        // The log before the snapshot: a compaction in between then leaves only updates the
        // newer snapshot already holds, which the filter drops (the other order would miss
        // the ones folded in between).
        let logged = document_update::Entity::find()
            .filter(document_update::Column::DocumentId.eq(doc_id))
            .order_by_asc(document_update::Column::Seq)
            .all(&self.db)
            .await
            .map_err(err)?;
        let snapshot = document_snapshot::Entity::find_by_id(doc_id)
            .one(&self.db)
            .await
            .map_err(err)?;
        let folded = snapshot.as_ref().map_or(0, |s| s.seq);
        let updates = logged
            .into_iter()
            .filter(|u| u.seq > folded)
            .map(|u| Bytes::from(u.data))
            .collect();
        Ok(Stored {
            snapshot: snapshot.map(|s| s.data),
            updates,
            last_seq: u64::try_from(last_seq).unwrap_or(0),
        })
    }

    async fn append(&self, doc: DocId, updates: &[Logged]) -> Result<u64, StoreError> {
        let doc_id = id(doc)?;
        let now = now_ms();
        let mark = crate::lock::lock(&self.marked)
            .get(&doc_id)
            .is_none_or(|&at| now - at >= TIME_STEP_MS);
        let n = i64::try_from(updates.len()).map_err(|_| StoreError("batch too large".into()))?;
        let txn = self.db.begin().await.map_err(err)?;
        // Reserve the sequence numbers with a write first: on SQLite a transaction that read
        // before writing fails with BUSY(_SNAPSHOT) when another writer got in between, while
        // one that starts by writing waits its turn (busy_timeout).
        // The row holds only the counter (the snapshot has its own table), so this rewrites a
        // few dozen bytes; returning just the column keeps it that way if the row grows.
        let reserve = Query::update()
            .table(document::Entity)
            .value(
                document::Column::LastSeq,
                Expr::col(document::Column::LastSeq).add(n),
            )
            .and_where(Expr::col(document::Column::Id).eq(doc_id))
            .returning_col(document::Column::LastSeq)
            .to_owned();
        let last: i64 = txn
            .query_one(&reserve)
            .await
            .map_err(err)?
            .ok_or_else(|| StoreError(format!("document {doc_id} does not exist")))?
            .try_get("", "last_seq")
            .map_err(err)?;
        // A batch grows without bound while the previous commit is being written (and a failed
        // one is retried together with newer updates), so it is inserted in statements of
        // bounded size: one statement for all of it would exceed the database's limit on bound
        // variables and then fail on every retry. Still one transaction.
        let first = last - n + 1;
        for (i, chunk) in updates.chunks(ROWS_PER_INSERT).enumerate() {
            let start = first + (i * ROWS_PER_INSERT) as i64;
            let rows = chunk
                .iter()
                .zip(start..)
                .map(|(u, seq)| document_update::ActiveModel {
                    document_id: Set(doc_id),
                    seq: Set(seq),
                    data: Set(u.update.to_vec()),
                    author_id: Set(u.author.user),
                    via: Set(i16::from(u.author.via)),
                });
            document_update::Entity::insert_many(rows)
                .exec(&txn)
                .await
                .map_err(err)?;
        }
        if mark {
            let row = document_time::ActiveModel {
                document_id: Set(doc_id),
                seq: Set(first),
                at_ms: Set(now),
            };
            document_time::Entity::insert(row)
                .exec_without_returning(&txn)
                .await
                .map_err(err)?;
        }
        txn.commit().await.map_err(err)?;
        if let Some(tally) = &self.edits {
            tally.note(doc_id, updates, now);
        }
        if mark {
            let mut marked = crate::lock::lock(&self.marked);
            if marked.len() >= MARKS_REMEMBERED {
                marked.clear();
            }
            marked.insert(doc_id, now);
        }
        Ok(u64::try_from(last).unwrap_or(0))
    }

    async fn compact(&self, doc: DocId, snapshot: Vec<u8>, through: u64) -> Result<(), StoreError> {
        let doc_id = id(doc)?;
        let through =
            i64::try_from(through).map_err(|_| StoreError("sequence out of range".into()))?;
        let txn = self.db.begin().await.map_err(err)?;
        // The transaction starts by writing (the document's row, unchanged), as `append` does:
        // on SQLite one that reads the log first and writes later fails with BUSY_SNAPSHOT
        // whenever an append commits in between, which under steady typing is nearly every
        // time, and the log then never folds. Writing first waits its turn instead. With
        // several nodes it also waits for appends they have in flight (they hold the row
        // until they commit), so every sequence number up to `through` is logged by the time
        // the log is read.
        let touch = Query::update()
            .table(document::Entity)
            .value(
                document::Column::LastSeq,
                Expr::col(document::Column::LastSeq),
            )
            .and_where(Expr::col(document::Column::Id).eq(doc_id))
            .to_owned();
        txn.execute(&touch).await.map_err(err)?;
        let logged = document_update::Entity::find()
            .filter(document_update::Column::DocumentId.eq(doc_id))
            .filter(document_update::Column::Seq.lte(through))
            .order_by_asc(document_update::Column::Seq)
            .all(&txn)
            .await
            .map_err(err)?;
        let times = times_through(&txn, doc_id, through).await.map_err(err)?;
        let spans = spans_of(&logged, &times);
        save_spans(&txn, doc_id, &spans).await.map_err(err)?;
        let open = crate::lock::lock(&self.open).remove(&doc_id);
        let still_open = match super::versions::record(&txn, doc_id, &logged, &times, open).await {
            Ok(open) => open,
            // A failed statement ends the transaction (PostgreSQL): the compaction is retried.
            Err(super::versions::VersionError::Db(e)) => return Err(err(e)),
            // The log folds anyway: a gap in the timeline beats a log that never compacts.
            Err(e) => {
                tracing::warn!(doc = doc_id, error = %e, "no versions for this stretch of the log");
                None
            }
        };
        let snapshot = if self.shared {
            fold_logged(&txn, doc_id, &logged, snapshot).await?
        } else {
            snapshot
        };
        save_snapshot(&txn, doc_id, through, snapshot)
            .await
            .map_err(err)?;
        document_update::Entity::delete_many()
            .filter(document_update::Column::DocumentId.eq(doc_id))
            .filter(document_update::Column::Seq.lte(through))
            .exec(&txn)
            .await
            .map_err(err)?;
        // The last mark at or before `through` still dates the updates after it.
        if let Some(keep) = times.last() {
            document_time::Entity::delete_many()
                .filter(document_time::Column::DocumentId.eq(doc_id))
                .filter(document_time::Column::Seq.lt(keep.seq))
                .exec(&txn)
                .await
                .map_err(err)?;
        }
        txn.commit().await.map_err(err)?;
        if let Some(open) = still_open {
            let mut all = crate::lock::lock(&self.open);
            if all.len() >= MARKS_REMEMBERED {
                all.clear();
            }
            all.insert(doc_id, open);
        }
        Ok(())
    }
}

/// The time marks of `doc` up to update `through`, oldest first.
pub(crate) async fn times_through(
    db: &impl ConnectionTrait,
    doc: i64,
    through: i64,
) -> Result<Vec<document_time::Model>, sea_orm::DbErr> {
    document_time::Entity::find()
        .filter(document_time::Column::DocumentId.eq(doc))
        .filter(document_time::Column::Seq.lte(through))
        .order_by_asc(document_time::Column::Seq)
        .all(db)
        .await
}

/// When update `seq` was logged, by the marks (0: before any mark).
pub(crate) fn time_of(seq: i64, times: &[document_time::Model]) -> i64 {
    match times.partition_point(|t| t.seq <= seq) {
        0 => 0,
        i => times[i - 1].at_ms,
    }
}

/// The authorship spans of logged updates (those logged before attribution claim nothing).
pub(crate) fn spans_of(
    logged: &[document_update::Model],
    times: &[document_time::Model],
) -> Vec<Span> {
    let updates = logged
        .iter()
        .filter(|u| u.author_id.is_some() || u.via != 0)
        .map(|u| LoggedUpdate {
            data: &u.data,
            author: Author {
                user: u.author_id,
                via: u8::try_from(u.via).unwrap_or(0),
            },
            at_ms: time_of(u.seq, times),
        });
    attribution::spans_of(updates, MERGE_MS)
}

/// Stores authorship spans; a range already claimed keeps its first claim.
pub(crate) async fn save_spans(
    db: &impl ConnectionTrait,
    doc: i64,
    spans: &[Span],
) -> Result<(), sea_orm::DbErr> {
    for chunk in spans.chunks(SPANS_PER_INSERT) {
        let rows = chunk.iter().map(|s| document_authorship::ActiveModel {
            document_id: Set(doc),
            client: Set(s.client.cast_signed()),
            clock_start: Set(i64::from(s.start)),
            clock_end: Set(i64::from(s.end)),
            author_id: Set(s.author.user),
            via: Set(i16::from(s.author.via)),
            at_ms: Set(s.at_ms),
        });
        document_authorship::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([
                    document_authorship::Column::DocumentId,
                    document_authorship::Column::Client,
                    document_authorship::Column::ClockStart,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// `snapshot` merged with the stored snapshot and the logged updates (everything through the
/// sequence number being folded).
async fn fold_logged(
    txn: &sea_orm::DatabaseTransaction,
    doc: i64,
    logged: &[document_update::Model],
    snapshot: Vec<u8>,
) -> Result<Vec<u8>, StoreError> {
    let stored = document_snapshot::Entity::find_by_id(doc)
        .one(txn)
        .await
        .map_err(err)?;
    let parts: Vec<&[u8]> = stored
        .as_ref()
        .map(|s| s.data.as_slice())
        .into_iter()
        .chain(logged.iter().map(|u| u.data.as_slice()))
        .chain(std::iter::once(snapshot.as_slice()))
        .collect();
    // A union of updates (no garbage collection): the next load applies it like any update.
    // yrs panics on some malformed updates (the log holds client data): guarded, such a log
    // fails this compaction and stays as it is.
    collab::protocol::guarded(|| yrs::merge_updates_v1(parts))
        .map_err(|e| StoreError(format!("cannot merge the log: {e}")))?
        .map_err(|e| StoreError(format!("cannot merge the log: {e}")))
}

/// Writes (or replaces) the snapshot of `doc`, folded through update `seq`.
pub(crate) async fn save_snapshot(
    db: &impl ConnectionTrait,
    doc: i64,
    seq: i64,
    data: Vec<u8>,
) -> Result<(), sea_orm::DbErr> {
    let row = document_snapshot::ActiveModel {
        document_id: Set(doc),
        seq: Set(seq),
        data: Set(data),
    };
    document_snapshot::Entity::insert(row)
        .on_conflict(
            OnConflict::column(document_snapshot::Column::DocumentId)
                .update_columns([
                    document_snapshot::Column::Seq,
                    document_snapshot::Column::Data,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .map(drop)
}
