//! A tower-sessions store over sea-orm, so sessions live in the same database (SQLite or
//! PostgreSQL) as everything else and survive restarts. sea-orm 2 uses sqlx 0.9 while the
//! ready-made sqlx store is on 0.8; this small store avoids building two sqlx versions.

use app::types::UserId;
use async_trait::async_trait;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    sea_query::OnConflict,
};
use tower_sessions::{
    SessionStore,
    session::{Id, Record},
    session_store::{self, Error},
};

use super::revoke::{AccessChange, Revocations};
use crate::db::{entities::session, now};

#[derive(Clone)]
pub struct DbSessionStore {
    db: DatabaseConnection,
    /// Told when a session is deleted, so its open sockets close at once.
    revocations: Revocations,
}

impl std::fmt::Debug for DbSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbSessionStore")
    }
}

impl DbSessionStore {
    pub fn new(db: DatabaseConnection, revocations: Revocations) -> Self {
        Self { db, revocations }
    }

    /// Deletes expired sessions; run periodically so the table does not grow forever.
    pub async fn delete_expired(&self) -> Result<u64, sea_orm::DbErr> {
        let res = session::Entity::delete_many()
            .filter(session::Column::ExpiresAt.lte(now()))
            .exec(&self.db)
            .await?;
        Ok(res.rows_affected)
    }

    fn row(record: &Record) -> session_store::Result<session::ActiveModel> {
        Ok(session::ActiveModel {
            id: Set(record.id.to_string()),
            data: Set(
                serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?
            ),
            expires_at: Set(record.expiry_date.unix_timestamp()),
            user_id: Set(record
                .data
                .get(app::auth::ssr::USER_KEY)
                .and_then(serde_json::Value::as_i64)),
        })
    }

    /// The user's live sessions, most recently used first.
    pub async fn of_user(&self, user: UserId) -> Result<Vec<session::Model>, sea_orm::DbErr> {
        session::Entity::find()
            .filter(session::Column::UserId.eq(user.0))
            .filter(session::Column::ExpiresAt.gt(now()))
            .order_by_desc(session::Column::ExpiresAt)
            .all(&self.db)
            .await
    }

    /// Ends the user's sessions but `keep` (none when `None`), closing their open sockets;
    /// returns how many ended.
    pub async fn end_for_user(
        &self,
        user: UserId,
        keep: Option<&Id>,
    ) -> Result<u64, sea_orm::DbErr> {
        let keep = keep.map(Id::to_string);
        let ids: Vec<String> = session::Entity::find()
            .filter(session::Column::UserId.eq(user.0))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|s| s.id)
            .filter(|id| Some(id) != keep.as_ref())
            .collect();
        self.end(ids).await
    }

    /// Deletes sessions by id and announces each (to this process's sockets directly, to
    /// every other process through the shared table; see `revoke`).
    pub async fn end(&self, ids: Vec<String>) -> Result<u64, sea_orm::DbErr> {
        if ids.is_empty() {
            return Ok(0);
        }
        let res = session::Entity::delete_many()
            .filter(session::Column::Id.is_in(ids.clone()))
            .exec(&self.db)
            .await?;
        for session in ids {
            self.revocations
                .announce(&self.db, AccessChange::SessionEnded { session })
                .await;
        }
        Ok(res.rows_affected)
    }
}

fn backend(e: sea_orm::DbErr) -> Error {
    Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // Ids are 128 random bits; a collision is astronomically unlikely but must not merge
        // two users' sessions, so a clash draws a new id.
        for _ in 0..4 {
            let exists = session::Entity::find_by_id(record.id.to_string())
                .one(&self.db)
                .await
                .map_err(backend)?
                .is_some();
            if !exists {
                session::Entity::insert(Self::row(record)?)
                    .exec(&self.db)
                    .await
                    .map_err(backend)?;
                return Ok(());
            }
            record.id = Id::default();
        }
        Err(Error::Backend("could not allocate a session id".into()))
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        session::Entity::insert(Self::row(record)?)
            .on_conflict(
                OnConflict::column(session::Column::Id)
                    .update_columns([
                        session::Column::Data,
                        session::Column::ExpiresAt,
                        session::Column::UserId,
                    ])
                    .to_owned(),
            )
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(row) = session::Entity::find_by_id(id.to_string())
            .filter(session::Column::ExpiresAt.gt(now()))
            .one(&self.db)
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str(&row.data).map_err(|e| Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(row.expires_at)
            .map_err(|e| Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    /// Sign-out (`flush`) and the id change at sign-in (`cycle_id`) both end up here.
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        session::Entity::delete_by_id(id.to_string())
            .exec(&self.db)
            .await
            .map_err(backend)?;
        self.revocations
            .announce(
                &self.db,
                AccessChange::SessionEnded {
                    session: id.to_string(),
                },
            )
            .await;
        Ok(())
    }
}
