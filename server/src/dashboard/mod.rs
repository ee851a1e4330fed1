//! The team dashboard on the server: my projects with who is in them (the hub's presence),
//! runs in progress, sparklines and the activity feed (`feed`), mentions of me (the chat's
//! `mentions`), the edit counts folded into the feed (`fold`) and the live stream (`live`).

use std::{collections::HashMap, sync::Arc};

use app::{
    AppResult,
    dashboard::{
        HOT_FILES, HotFile, MENTIONS_SHOWN, Mention, Online, PROJECT_RUNS, ProjectCard,
        ProjectOverview, SPARK_DAYS, TeamDashboard, WEEK_MS, excerpt, ssr::DashboardService,
    },
    projects::ssr::Projects,
    types::{MessageId, ProjectId, UserId},
};
use async_trait::async_trait;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

pub mod feed;
pub mod fold;
pub mod live;

use crate::{
    chat::mentions,
    db::{
        entities::{chat_message, edit_activity, file, member, run},
        now_ms,
    },
    live::Hub,
};

/// Runs in progress listed (the newest).
const RUNNING_SHOWN: u64 = 50;

#[derive(Clone)]
pub struct Dashboard {
    db: DatabaseConnection,
    hub: Hub,
    projects: Arc<dyn Projects>,
}

impl Dashboard {
    pub fn new(db: DatabaseConnection, hub: Hub, projects: Arc<dyn Projects>) -> Self {
        Self { db, hub, projects }
    }

    /// Who is in each project now, with the names of the files they have open.
    async fn online(&self, projects: &[i64]) -> AppResult<HashMap<i64, Vec<Online>>> {
        let viewers: Vec<(i64, Vec<app::live::events::Viewer>)> = projects
            .iter()
            .map(|p| (*p, self.hub.viewers(ProjectId(*p))))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        let docs: Vec<i64> = viewers
            .iter()
            .flat_map(|(_, v)| v.iter().flat_map(|v| v.docs.iter().map(|d| d.0)))
            .collect();
        let names: HashMap<i64, String> = if docs.is_empty() {
            HashMap::new()
        } else {
            file::Entity::find()
                .select_only()
                .column(file::Column::DocumentId)
                .column(file::Column::Name)
                .filter(file::Column::DocumentId.is_in(docs))
                .filter(file::Column::DeletedAt.is_null())
                .into_tuple::<(Option<i64>, String)>()
                .all(&self.db)
                .await?
                .into_iter()
                .filter_map(|(d, n)| d.map(|d| (d, n)))
                .collect()
        };
        Ok(viewers
            .into_iter()
            .map(|(p, vs)| {
                let online = vs
                    .into_iter()
                    .map(|v| {
                        let mut files: Vec<String> = v
                            .docs
                            .iter()
                            .filter_map(|d| names.get(&d.0).cloned())
                            .collect();
                        files.sort();
                        Online {
                            user: v.user,
                            name: v.name,
                            files,
                        }
                    })
                    .collect();
                (p, online)
            })
            .collect())
    }

    async fn running(
        &self,
        projects: &[i64],
    ) -> AppResult<HashMap<i64, Vec<app::types::runs::RunInfo>>> {
        let rows = run::Entity::find()
            .filter(run::Column::ProjectId.is_in(projects.iter().copied()))
            .filter(run::Column::EndedAt.is_null())
            .order_by_desc(run::Column::Id)
            .limit(RUNNING_SHOWN)
            .all(&self.db)
            .await?;
        let mut out: HashMap<i64, Vec<_>> = HashMap::new();
        for r in &rows {
            out.entry(r.project_id)
                .or_default()
                .push(crate::runs::history::info_of(r));
        }
        Ok(out)
    }

    async fn mentions(
        &self,
        user: UserId,
        projects: &HashMap<i64, String>,
    ) -> AppResult<(u64, Vec<Mention>)> {
        let ids: Vec<i64> = projects.keys().copied().collect();
        let unread = mentions::unread(&self.db, user, &ids).await?;
        let rows = mentions::recent(&self.db, user, &ids, MENTIONS_SHOWN).await?;
        let messages: HashMap<i64, chat_message::Model> = chat_message::Entity::find()
            .filter(chat_message::Column::Id.is_in(rows.iter().map(|r| r.message_id)))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        let names = crate::db::user_names(&self.db, messages.values().map(|m| m.author_id)).await?;
        let list = rows
            .into_iter()
            .filter_map(|r| {
                let m = messages.get(&r.message_id)?;
                Some(Mention {
                    message: MessageId(m.id),
                    project: ProjectId(r.project_id),
                    project_name: projects.get(&r.project_id).cloned().unwrap_or_default(),
                    by: names
                        .get(&m.author_id)
                        .cloned()
                        .unwrap_or_else(|| crate::db::FORMER_MEMBER.to_owned()),
                    excerpt: if m.deleted_at.is_some() {
                        "(deleted)".to_owned()
                    } else {
                        excerpt(&m.body, 160)
                    },
                    at: m.created_at.saturating_mul(1000),
                    read: r.read_at.is_some(),
                })
            })
            .collect();
        Ok((unread, list))
    }

    /// The files of `project` changed most since `since_ms`, with who changed them.
    async fn hot_files(&self, project: i64, since_ms: i64) -> AppResult<Vec<HotFile>> {
        use sea_orm::sea_query::{Expr, ExprTrait};
        // One row per (file, person): the week's bursts summed.
        let rows: Vec<(i64, i64, i64)> = edit_activity::Entity::find()
            .select_only()
            .column(edit_activity::Column::FileId)
            .column(edit_activity::Column::UserId)
            // PostgreSQL sums bigints as numeric: cast back.
            .column_as(
                Expr::col(edit_activity::Column::Updates)
                    .sum()
                    .cast_as(sea_orm::sea_query::Alias::new("BIGINT")),
                "n",
            )
            .filter(edit_activity::Column::ProjectId.eq(project))
            .filter(edit_activity::Column::At.gte(since_ms))
            .group_by(edit_activity::Column::FileId)
            .group_by(edit_activity::Column::UserId)
            .into_tuple::<(i64, i64, i64)>()
            .all(&self.db)
            .await?;
        let files = feed::file_names(&self.db, rows.iter().map(|r| r.0)).await?;
        let people = crate::db::user_names(&self.db, rows.iter().map(|r| r.1)).await?;
        Ok(hottest(rows, HOT_FILES, &files, &people))
    }

    /// Everyone in `projects`, by name.
    async fn people(&self, projects: &[i64]) -> AppResult<Vec<(UserId, String)>> {
        let ids: Vec<i64> = member::Entity::find()
            .select_only()
            .column(member::Column::UserId)
            .filter(member::Column::ProjectId.is_in(projects.iter().copied()))
            .distinct()
            .into_tuple::<i64>()
            .all(&self.db)
            .await?;
        let mut people: Vec<(UserId, String)> = crate::db::user_names(&self.db, ids)
            .await?
            .into_iter()
            .map(|(id, n)| (UserId(id), n))
            .collect();
        people.sort_by_key(|a| a.1.to_lowercase());
        Ok(people)
    }
}

/// The `n` files with the most changes in `rows` (file, person, changes), each with its people
/// (most first); a file or person no longer known keeps a placeholder name.
fn hottest(
    rows: Vec<(i64, i64, i64)>,
    n: usize,
    files: &HashMap<i64, String>,
    people: &HashMap<i64, String>,
) -> Vec<HotFile> {
    let mut by_file: HashMap<i64, Vec<(i64, u64)>> = HashMap::new();
    for (file, person, changes) in rows {
        by_file
            .entry(file)
            .or_default()
            .push((person, u64::try_from(changes).unwrap_or(0)));
    }
    let mut hot: Vec<HotFile> = by_file
        .into_iter()
        .map(|(file, mut who)| {
            who.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            HotFile {
                file: app::types::FileId(file),
                name: files
                    .get(&file)
                    .cloned()
                    .unwrap_or_else(|| "(deleted file)".to_owned()),
                changes: who.iter().map(|w| w.1).sum(),
                people: who
                    .into_iter()
                    .map(|(p, c)| {
                        let name = people
                            .get(&p)
                            .cloned()
                            .unwrap_or_else(|| crate::db::FORMER_MEMBER.to_owned());
                        (name, c)
                    })
                    .collect(),
            }
        })
        .collect();
    hot.sort_by(|a, b| b.changes.cmp(&a.changes).then(a.name.cmp(&b.name)));
    hot.truncate(n);
    hot
}

#[async_trait]
impl DashboardService for Dashboard {
    async fn project(&self, user: UserId, project: ProjectId) -> AppResult<ProjectOverview> {
        let summary = self
            .projects
            .list_for(user)
            .await?
            .into_iter()
            .find(|p| p.id == project)
            .ok_or(app::AppError::Forbidden)?;
        let id = project.0;
        let today = feed::day_start(now_ms());
        let spark = feed::spark(&self.db, &[id], today)
            .await?
            .remove(&id)
            .unwrap_or_else(|| vec![0; SPARK_DAYS]);
        let online = self.online(&[id]).await?.remove(&id).unwrap_or_default();
        let running = self.running(&[id]).await?.remove(&id).unwrap_or_default();
        let runs = run::Entity::find()
            .filter(run::Column::ProjectId.eq(id))
            .order_by_desc(run::Column::Id)
            .limit(PROJECT_RUNS as u64)
            .all(&self.db)
            .await?
            .iter()
            .map(crate::runs::history::info_of)
            .collect();
        Ok(ProjectOverview {
            card: ProjectCard {
                project: summary,
                online,
                spark,
                running,
            },
            runs,
            hot_files: self.hot_files(id, now_ms() - WEEK_MS).await?,
            today,
        })
    }

    async fn team(
        &self,
        user: UserId,
        filter: app::dashboard::FeedFilter,
    ) -> AppResult<TeamDashboard> {
        let list = self.projects.list_for(user).await?;
        let names: HashMap<i64, String> = list.iter().map(|p| (p.id.0, p.name.clone())).collect();
        let ids: Vec<i64> = list.iter().map(|p| p.id.0).collect();
        let today = feed::day_start(now_ms());
        let (feed, more) = feed::page(&self.db, &names, &filter).await?;
        let mut spark = feed::spark(&self.db, &ids, today).await?;
        let mut online = self.online(&ids).await?;
        let mut running = self.running(&ids).await?;
        let (unread, mentions) = self.mentions(user, &names).await?;
        let people = self.people(&ids).await?;
        let projects = list
            .into_iter()
            .map(|p| {
                let id = p.id.0;
                ProjectCard {
                    project: p,
                    online: online.remove(&id).unwrap_or_default(),
                    spark: spark.remove(&id).unwrap_or_else(|| vec![0; SPARK_DAYS]),
                    running: running.remove(&id).unwrap_or_default(),
                }
            })
            .collect();
        Ok(TeamDashboard {
            projects,
            feed,
            more,
            people,
            unread,
            mentions,
            today,
        })
    }

    async fn read_mentions(&self, user: UserId, message: Option<MessageId>) -> AppResult<u64> {
        Ok(mentions::mark_read(&self.db, user, message).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hottest_files_come_first_with_their_people() {
        let files = HashMap::from([(1, "a.py".to_owned()), (2, "b.py".to_owned())]);
        let people = HashMap::from([(10, "ann".to_owned()), (11, "bob".to_owned())]);
        let rows = vec![(1, 10, 5), (2, 10, 30), (2, 11, 40), (3, 12, 1)];
        let hot = hottest(rows, 2, &files, &people);
        assert_eq!(hot.len(), 2);
        assert_eq!(hot[0].name, "b.py");
        assert_eq!(hot[0].changes, 70);
        assert_eq!(
            hot[0].people,
            vec![("bob".to_owned(), 40), ("ann".to_owned(), 30)]
        );
        assert_eq!(hot[1].name, "a.py");
        let all = hottest(vec![(3, 12, 1)], 5, &files, &people);
        assert_eq!(all[0].name, "(deleted file)");
        assert_eq!(all[0].people[0].0, crate::db::FORMER_MEMBER);
    }
}
