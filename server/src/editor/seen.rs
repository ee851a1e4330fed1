//! What each person last saw of each document (`document_seen`: the document's `last_seq` when
//! they last had it open), and which documents someone else changed since: the tree's
//! "changed since you looked" marks. Written when a tab opens or closes a document, never per
//! keystroke.

use app::types::{ProjectId, UserId};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set,
    sea_query::{OnConflict, Query},
};

use crate::db::entities::{document, document_seen, document_update, document_version};

/// Documents checked at most per call (the ones changed since seen, in id order).
pub const CHECKED_MAX: usize = 500;

/// Records that `user` has seen `docs` as they are now.
pub async fn mark(db: &impl ConnectionTrait, user: UserId, docs: &[i64]) -> Result<(), DbErr> {
    if docs.is_empty() {
        return Ok(());
    }
    let now: Vec<(i64, i64)> = document::Entity::find()
        .select_only()
        .column(document::Column::Id)
        .column(document::Column::LastSeq)
        .filter(document::Column::Id.is_in(docs.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    if now.is_empty() {
        return Ok(());
    }
    let rows = now
        .into_iter()
        .map(|(doc, seq)| document_seen::ActiveModel {
            user_id: Set(user.0),
            document_id: Set(doc),
            seq: Set(seq),
        });
    document_seen::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                document_seen::Column::UserId,
                document_seen::Column::DocumentId,
            ])
            .update_column(document_seen::Column::Seq)
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The documents of `project` that `user` has seen and that someone else (another account,
/// the disk, the server) changed since.
pub async fn changed(
    db: &impl ConnectionTrait,
    project: ProjectId,
    user: UserId,
) -> Result<Vec<i64>, DbErr> {
    let docs = Query::select()
        .column(document::Column::Id)
        .from(document::Entity)
        .and_where(document::Column::ProjectId.eq(project.0))
        .to_owned();
    let seen: Vec<(i64, i64)> = document_seen::Entity::find()
        .select_only()
        .column(document_seen::Column::DocumentId)
        .column(document_seen::Column::Seq)
        .filter(document_seen::Column::UserId.eq(user.0))
        .filter(document_seen::Column::DocumentId.in_subquery(docs))
        .into_tuple()
        .all(db)
        .await?;
    if seen.is_empty() {
        return Ok(Vec::new());
    }
    let last: std::collections::HashMap<i64, i64> = document::Entity::find()
        .select_only()
        .column(document::Column::Id)
        .column(document::Column::LastSeq)
        .filter(document::Column::Id.is_in(seen.iter().map(|(d, _)| *d)))
        .into_tuple::<(i64, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut out = Vec::new();
    let moved = seen
        .into_iter()
        .filter(|(doc, seq)| last.get(doc).is_some_and(|l| l > seq))
        .take(CHECKED_MAX);
    for (doc, seq) in moved {
        if by_others(db, doc, seq, user).await? {
            out.push(doc);
        }
    }
    Ok(out)
}

/// Someone other than `user` changed `doc` after update `seq`: in the log, or in the versions
/// compaction stored from it.
async fn by_others(
    db: &impl ConnectionTrait,
    doc: i64,
    seq: i64,
    user: UserId,
) -> Result<bool, DbErr> {
    let logged: Option<i64> = document_update::Entity::find()
        .select_only()
        .column(document_update::Column::Seq)
        .filter(document_update::Column::DocumentId.eq(doc))
        .filter(document_update::Column::Seq.gt(seq))
        .filter(
            Condition::any()
                .add(document_update::Column::AuthorId.is_null())
                .add(document_update::Column::AuthorId.ne(user.0)),
        )
        .limit(1)
        .into_tuple()
        .one(db)
        .await?;
    if logged.is_some() {
        return Ok(true);
    }
    let versions: Vec<String> = document_version::Entity::find()
        .select_only()
        .column(document_version::Column::Authors)
        .filter(document_version::Column::DocumentId.eq(doc))
        .filter(document_version::Column::Seq.gt(seq))
        .filter(document_version::Column::Name.is_null())
        .into_tuple()
        .all(db)
        .await?;
    Ok(versions
        .iter()
        .any(|a| super::versions::authors_of(a).iter().any(|&u| u != user.0)))
}
