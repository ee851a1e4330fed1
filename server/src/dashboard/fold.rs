//! Folds the editor's edit counts into the feed: every few seconds, one row per person and
//! file and burst of work (a new row after a pause of [`BURST_GAP_MIN`] minutes), so the feed
//! costs the keystroke path a map update and the database a statement per person and file
//! per flush — never a row per keystroke. Then the projects whose feed grew are told.

use std::{collections::HashMap, time::Duration};

use app::{dashboard::BURST_GAP_MIN, live::events::ServerEvent, types::ProjectId};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use crate::{
    db::entities::{edit_activity, file},
    editor::edits::{Count, EditTally},
    live::Hub,
};

/// Writes the counts in `tally` every `every` until the server stops.
pub async fn run(db: DatabaseConnection, tally: EditTally, hub: Hub, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let counts = tally.take();
        if counts.is_empty() {
            continue;
        }
        match fold(&db, counts).await {
            Ok(projects) => {
                for p in projects {
                    hub.publish(ProjectId(p), &ServerEvent::Activity);
                }
            }
            // The feed misses these counts; editing itself is not affected.
            Err(e) => tracing::warn!(error = %e, "could not write the edit activity"),
        }
    }
}

/// Writes `counts` (by document and person); the projects whose feed changed.
pub async fn fold(
    db: &DatabaseConnection,
    counts: HashMap<(i64, i64), Count>,
) -> Result<Vec<i64>, DbErr> {
    let docs: Vec<i64> = counts.keys().map(|(d, _)| *d).collect();
    // Documents of files (free-standing `/yjs` documents are nobody's file work).
    let files: HashMap<i64, (i64, i64)> = file::Entity::find()
        .select_only()
        .column(file::Column::DocumentId)
        .column(file::Column::Id)
        .column(file::Column::ProjectId)
        .filter(file::Column::DocumentId.is_in(docs))
        .into_tuple::<(Option<i64>, i64, i64)>()
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(doc, f, p)| doc.map(|d| (d, (f, p))))
        .collect();
    let mut changed = Vec::new();
    for ((doc, user), c) in counts {
        let Some(&(file_id, project)) = files.get(&doc) else {
            continue;
        };
        let gap = BURST_GAP_MIN * 60_000;
        let burst = edit_activity::Entity::find()
            .filter(edit_activity::Column::ProjectId.eq(project))
            .filter(edit_activity::Column::UserId.eq(user))
            .filter(edit_activity::Column::FileId.eq(file_id))
            .filter(edit_activity::Column::At.gte(c.first - gap))
            .order_by_desc(edit_activity::Column::At)
            .one(db)
            .await?;
        let updates = i64::try_from(c.updates).unwrap_or(i64::MAX);
        match burst {
            Some(b) => {
                let mut row: edit_activity::ActiveModel = b.clone().into();
                row.updates = Set(b.updates.saturating_add(updates));
                row.at = Set(b.at.max(c.last));
                row.update(db).await?;
            }
            None => {
                edit_activity::ActiveModel {
                    project_id: Set(project),
                    user_id: Set(user),
                    file_id: Set(file_id),
                    updates: Set(updates),
                    first_at: Set(c.first),
                    at: Set(c.last),
                    ..Default::default()
                }
                .insert(db)
                .await?;
            }
        }
        if !changed.contains(&project) {
            changed.push(project);
        }
    }
    Ok(changed)
}
