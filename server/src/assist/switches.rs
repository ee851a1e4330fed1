//! Each project's AI switches (owners turn inline completions, or the assistant and its code
//! actions, off for everyone in the project). Read on every completion request, so kept in a
//! small cache; a change made on this node applies at once, one made on another node within
//! [`FRESH_FOR`].

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use app::{
    AppResult,
    projects::ai::AiSwitches,
    types::{ProjectId, UserId},
};
use sea_orm::{DatabaseConnection, EntityTrait, Set, sea_query::OnConflict};

use crate::{db::entities::project_ai as row, lock::lock};

/// How long a cached answer is used before the database is asked again.
pub const FRESH_FOR: Duration = Duration::from_secs(5);
/// Projects whose switches are cached at most (older entries are dropped first).
const CACHED: usize = 4_096;

#[derive(Clone)]
pub struct Switches(Arc<Inner>);

struct Inner {
    db: DatabaseConnection,
    cache: Mutex<HashMap<ProjectId, (AiSwitches, Instant)>>,
}

impl Switches {
    pub fn new(db: DatabaseConnection) -> Self {
        Self(Arc::new(Inner {
            db,
            cache: Mutex::new(HashMap::new()),
        }))
    }

    fn remember(&self, project: ProjectId, s: AiSwitches) {
        let mut cache = lock(&self.0.cache);
        if cache.len() >= CACHED {
            let now = Instant::now();
            cache.retain(|_, (_, at)| now.duration_since(*at) < FRESH_FOR);
            if cache.len() >= CACHED {
                cache.clear();
            }
        }
        cache.insert(project, (s, Instant::now()));
    }

    pub async fn get(&self, project: ProjectId) -> AppResult<AiSwitches> {
        if let Some((s, at)) = lock(&self.0.cache).get(&project).copied()
            && at.elapsed() < FRESH_FOR
        {
            return Ok(s);
        }
        let s = row::Entity::find_by_id(project.0)
            .one(&self.0.db)
            .await?
            .map_or(AiSwitches::default(), |r| AiSwitches {
                completions: r.completions,
                assistant: r.assistant,
            });
        self.remember(project, s);
        Ok(s)
    }

    pub async fn set(&self, project: ProjectId, by: UserId, s: AiSwitches) -> AppResult<()> {
        row::Entity::insert(row::ActiveModel {
            project_id: Set(project.0),
            completions: Set(s.completions),
            assistant: Set(s.assistant),
            updated_by: Set(by.0),
            updated_at: Set(crate::db::now()),
        })
        .on_conflict(
            OnConflict::column(row::Column::ProjectId)
                .update_columns([
                    row::Column::Completions,
                    row::Column::Assistant,
                    row::Column::UpdatedBy,
                    row::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&self.0.db)
        .await?;
        self.remember(project, s);
        Ok(())
    }
}
