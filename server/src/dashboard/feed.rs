//! The activity feed and the sparklines, read from where each kind of activity already lives:
//! edits from `edit_activity` (the editor's counts, folded by [`super::fold`]), chat messages,
//! runs and memberships from their own tables. Each source is read newest first with the
//! filter and a limit, on its `(project, time)` index, and the lists are merged: a page costs
//! four indexed reads however long the history is.

use std::collections::{HashMap, HashSet};

use app::{
    dashboard::{Activity, ActivityKind, FeedFilter, SPARK_DAYS, What, excerpt},
    types::{FileId, MessageId, ProjectId, Role, UserId},
};
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect,
    sea_query::{Alias, Expr, ExprTrait},
};

use crate::db::entities::{chat_message, edit_activity, file, member, run};

const DAY_MS: i64 = 86_400_000;
/// Characters of a chat message shown in the feed.
const EXCERPT: usize = 140;

/// Names of files, by id.
pub(crate) async fn file_names(
    db: &DatabaseConnection,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, String>, DbErr> {
    let ids: HashSet<i64> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(file::Entity::find()
        .select_only()
        .column(file::Column::Id)
        .column(file::Column::Name)
        .filter(file::Column::Id.is_in(ids))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// One page of the feed over `projects` (the caller's), newest first, and whether more match.
pub async fn page(
    db: &DatabaseConnection,
    projects: &HashMap<i64, String>,
    filter: &FeedFilter,
) -> Result<(Vec<Activity>, bool), DbErr> {
    let scope: Vec<i64> = match filter.project {
        Some(p) if projects.contains_key(&p.0) => vec![p.0],
        Some(_) => return Ok((Vec::new(), false)),
        None => projects.keys().copied().collect(),
    };
    if scope.is_empty() {
        return Ok((Vec::new(), false));
    }
    let wants = |k: ActivityKind| filter.kinds.is_empty() || filter.kinds.contains(&k);
    let person = filter.person.map(|p| p.0);
    let wanted = filter.wanted();
    let n = wanted + 1;
    let mut out: Vec<(i64, Activity)> = Vec::new();
    let mut people: HashSet<i64> = HashSet::new();
    let entry = |project: i64, user: i64, at: i64, what: What| Activity {
        project: ProjectId(project),
        project_name: projects.get(&project).cloned().unwrap_or_default(),
        user: UserId(user),
        who: String::new(),
        at,
        what,
    };

    if wants(ActivityKind::Edit) {
        let mut q = edit_activity::Entity::find()
            .filter(edit_activity::Column::ProjectId.is_in(scope.clone()));
        if let Some(p) = person {
            q = q.filter(edit_activity::Column::UserId.eq(p));
        }
        let rows = q
            .order_by_desc(edit_activity::Column::At)
            .limit(n)
            .all(db)
            .await?;
        let paths = file_names(db, rows.iter().map(|r| r.file_id)).await?;
        for r in rows {
            people.insert(r.user_id);
            let what = What::Edit {
                file: FileId(r.file_id),
                path: paths.get(&r.file_id).cloned().unwrap_or_default(),
                updates: u64::try_from(r.updates).unwrap_or(0),
                since: r.first_at,
            };
            out.push((r.at, entry(r.project_id, r.user_id, r.at, what)));
        }
    }
    if wants(ActivityKind::Chat) {
        // Chat times are in seconds.
        let mut q = chat_message::Entity::find()
            .filter(chat_message::Column::ProjectId.is_in(scope.clone()))
            .filter(chat_message::Column::DeletedAt.is_null());
        if let Some(p) = person {
            q = q.filter(chat_message::Column::AuthorId.eq(p));
        }
        let rows = q
            .order_by_desc(chat_message::Column::Id)
            .limit(n)
            .all(db)
            .await?;
        for r in rows {
            people.insert(r.author_id);
            let at = r.created_at.saturating_mul(1000);
            let ai = r.kind == "ai";
            let what = What::Chat {
                message: MessageId(r.id),
                excerpt: excerpt(&r.body, EXCERPT),
                ai,
            };
            let mut e = entry(r.project_id, r.author_id, at, what);
            if ai {
                // An answer is the assistant's, filed under who asked.
                e.who = "Assistant".to_owned();
            }
            out.push((at, e));
        }
    }
    if wants(ActivityKind::Run) {
        let mut q = run::Entity::find().filter(run::Column::ProjectId.is_in(scope.clone()));
        if let Some(p) = person {
            q = q.filter(run::Column::StartedBy.eq(p));
        }
        let rows = q.order_by_desc(run::Column::Id).limit(n).all(db).await?;
        for r in rows {
            let info = crate::runs::history::info_of(&r);
            let mut e = entry(
                r.project_id,
                r.started_by,
                r.started_at,
                What::Run { run: info },
            );
            e.who = r.started_by_name.clone();
            out.push((r.started_at, e));
        }
    }
    if wants(ActivityKind::Join) {
        let mut q = member::Entity::find().filter(member::Column::ProjectId.is_in(scope.clone()));
        if let Some(p) = person {
            q = q.filter(member::Column::UserId.eq(p));
        }
        let rows = q
            .order_by_desc(member::Column::JoinedAt)
            .limit(n)
            .all(db)
            .await?;
        for r in rows {
            people.insert(r.user_id);
            let at = r.joined_at.saturating_mul(1000);
            let role = Role::parse(&r.role).unwrap_or(Role::Viewer);
            out.push((at, entry(r.project_id, r.user_id, at, What::Join { role })));
        }
    }
    // Newest first; ties in a stable order (the kinds' order, then the project).
    out.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(a.1.kind().as_str().cmp(b.1.kind().as_str()))
            .then(a.1.project.0.cmp(&b.1.project.0))
    });
    let more = out.len() as u64 > wanted;
    out.truncate(usize::try_from(wanted).unwrap_or(usize::MAX));
    let names = crate::db::user_names(db, people).await?;
    let feed = out
        .into_iter()
        .map(|(_, mut a)| {
            if a.who.is_empty() {
                a.who = names
                    .get(&a.user.0)
                    .cloned()
                    .unwrap_or_else(|| crate::db::FORMER_MEMBER.to_owned());
            }
            a
        })
        .collect();
    Ok((feed, more))
}

#[derive(Debug, FromQueryResult)]
struct DayCount {
    project_id: i64,
    day: i64,
    n: i64,
}

/// Activity per project and day over the last [`SPARK_DAYS`] days up to `today` (the start of
/// today, ms): entries of every kind, one per edit burst, message, run and join.
pub async fn spark(
    db: &DatabaseConnection,
    projects: &[i64],
    today: i64,
) -> Result<HashMap<i64, Vec<u32>>, DbErr> {
    let first_day = today.div_euclid(DAY_MS) - (SPARK_DAYS as i64 - 1);
    let since_ms = first_day * DAY_MS;
    let mut out: HashMap<i64, Vec<u32>> =
        projects.iter().map(|p| (*p, vec![0; SPARK_DAYS])).collect();
    if projects.is_empty() {
        return Ok(out);
    }
    let mut add = |rows: Vec<DayCount>| {
        for r in rows {
            let i = r.day - first_day;
            if let (Some(days), Ok(i)) = (out.get_mut(&r.project_id), usize::try_from(i))
                && let Some(slot) = days.get_mut(i)
            {
                *slot = slot.saturating_add(u32::try_from(r.n).unwrap_or(u32::MAX));
            }
        }
    };
    // Each table's time in milliseconds, divided into days.
    let day = |col: Expr, per_day: i64| col.div(per_day);
    add(edit_activity::Entity::find()
        .select_only()
        .column(edit_activity::Column::ProjectId)
        .column_as(day(Expr::col(edit_activity::Column::At), DAY_MS), "day")
        .column_as(Expr::col(edit_activity::Column::Id).count(), "n")
        .filter(edit_activity::Column::ProjectId.is_in(projects.iter().copied()))
        .filter(edit_activity::Column::At.gte(since_ms))
        .group_by(edit_activity::Column::ProjectId)
        .group_by(Expr::col(Alias::new("day")))
        .into_model::<DayCount>()
        .all(db)
        .await?);
    add(chat_message::Entity::find()
        .select_only()
        .column(chat_message::Column::ProjectId)
        .column_as(
            day(Expr::col(chat_message::Column::CreatedAt), DAY_MS / 1000),
            "day",
        )
        .column_as(Expr::col(chat_message::Column::Id).count(), "n")
        .filter(chat_message::Column::ProjectId.is_in(projects.iter().copied()))
        .filter(chat_message::Column::CreatedAt.gte(since_ms / 1000))
        .filter(chat_message::Column::DeletedAt.is_null())
        .group_by(chat_message::Column::ProjectId)
        .group_by(Expr::col(Alias::new("day")))
        .into_model::<DayCount>()
        .all(db)
        .await?);
    add(run::Entity::find()
        .select_only()
        .column(run::Column::ProjectId)
        .column_as(day(Expr::col(run::Column::StartedAt), DAY_MS), "day")
        .column_as(Expr::col(run::Column::Id).count(), "n")
        .filter(run::Column::ProjectId.is_in(projects.iter().copied()))
        .filter(run::Column::StartedAt.gte(since_ms))
        .group_by(run::Column::ProjectId)
        .group_by(Expr::col(Alias::new("day")))
        .into_model::<DayCount>()
        .all(db)
        .await?);
    add(member::Entity::find()
        .select_only()
        .column(member::Column::ProjectId)
        .column_as(
            day(Expr::col(member::Column::JoinedAt), DAY_MS / 1000),
            "day",
        )
        .column_as(Expr::col(member::Column::UserId).count(), "n")
        .filter(member::Column::ProjectId.is_in(projects.iter().copied()))
        .filter(member::Column::JoinedAt.gte(since_ms / 1000))
        .group_by(member::Column::ProjectId)
        .group_by(Expr::col(Alias::new("day")))
        .into_model::<DayCount>()
        .all(db)
        .await?);
    Ok(out)
}

/// The start of the UTC day holding `ms`.
pub fn day_start(ms: i64) -> i64 {
    ms.div_euclid(DAY_MS) * DAY_MS
}
