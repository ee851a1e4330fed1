//! The durable update log over sea-orm (SQLite or PostgreSQL): `documents` holds the last
//! sequence number, `document_snapshots` the log folded so far, `document_updates` the updates
//! logged after it.
//! Each `append` is one transaction (the engine's group commit), so an acknowledged update is
//! committed; with SQLite in WAL mode that survives a killed process.
//!
//! Shared by several nodes (`--bus`), a node's compaction folds in what the log holds rather
//! than trusting its own copy of the document: another node's update can be logged (or still
//! be committing) below the sequence number the compaction folds through, before this node
//! has received it over the bus.

use async_trait::async_trait;
use bytes::Bytes;
use collab::{
    DocId,
    store::{DocStore, StoreError, Stored},
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
    sea_query::{Expr, ExprTrait, OnConflict, Query},
};

use crate::db::entities::{document, document_snapshot, document_update};

/// Rows per `INSERT`: 3 bound variables each keeps a statement under SQLite's historical limit
/// of 999 (and far under PostgreSQL's 65,535).
const ROWS_PER_INSERT: usize = 300;

#[derive(Clone)]
pub struct DbDocStore {
    db: DatabaseConnection,
    /// Other nodes write to the same documents.
    shared: bool,
}

impl DbDocStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db, shared: false }
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

    async fn append(&self, doc: DocId, updates: &[Bytes]) -> Result<u64, StoreError> {
        let doc_id = id(doc)?;
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
                    data: Set(u.to_vec()),
                });
            document_update::Entity::insert_many(rows)
                .exec(&txn)
                .await
                .map_err(err)?;
        }
        txn.commit().await.map_err(err)?;
        Ok(u64::try_from(last).unwrap_or(0))
    }

    async fn compact(&self, doc: DocId, snapshot: Vec<u8>, through: u64) -> Result<(), StoreError> {
        let doc_id = id(doc)?;
        let through =
            i64::try_from(through).map_err(|_| StoreError("sequence out of range".into()))?;
        let txn = self.db.begin().await.map_err(err)?;
        let snapshot = if self.shared {
            fold_logged(&txn, doc_id, through, snapshot).await?
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
        txn.commit().await.map_err(err)
    }
}

/// `snapshot` merged with the stored snapshot and every update logged through `through`.
/// Starts by writing the document's row: that waits for appends other nodes have in flight
/// (they hold the row until they commit), so every sequence number up to `through` is logged
/// by the time the log is read.
async fn fold_logged(
    txn: &sea_orm::DatabaseTransaction,
    doc: i64,
    through: i64,
    snapshot: Vec<u8>,
) -> Result<Vec<u8>, StoreError> {
    let touch = Query::update()
        .table(document::Entity)
        .value(
            document::Column::LastSeq,
            Expr::col(document::Column::LastSeq),
        )
        .and_where(Expr::col(document::Column::Id).eq(doc))
        .to_owned();
    txn.execute(&touch).await.map_err(err)?;
    let stored = document_snapshot::Entity::find_by_id(doc)
        .one(txn)
        .await
        .map_err(err)?;
    let logged = document_update::Entity::find()
        .filter(document_update::Column::DocumentId.eq(doc))
        .filter(document_update::Column::Seq.lte(through))
        .order_by_asc(document_update::Column::Seq)
        .all(txn)
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
