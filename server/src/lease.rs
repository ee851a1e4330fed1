//! Leases in the shared database: one holder at a time for a named piece of work, across every
//! node (a project's tree changes, so no folder gets two entries of one name and a new project
//! one README). A holder renews its lease while it works (every third of the time to live), so
//! long work (a large import) keeps it; a node that dies holding one (kill -9) stops renewing,
//! and the others wait at most the time to live.
//!
//! One statement takes it: an insert that, on a conflict, takes over only an expired lease
//! (PostgreSQL and SQLite both say whether a row was written). One statement gives it back,
//! only if still held by the same holder.

use std::time::Duration;

use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set,
    sea_query::{Expr, OnConflict},
};

use crate::{db::entities::lease, rate::shared::Millis};

/// The first wait between two tries; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(2);
const MAX_BACKOFF: Duration = Duration::from_millis(50);

#[derive(Debug, Clone)]
pub struct Leases {
    db: DatabaseConnection,
    ttl: Duration,
}

/// A lease held; give it back with [`Lease::release`] (dropped without that, it is given
/// back in the background).
#[derive(Debug)]
pub struct Lease {
    db: DatabaseConnection,
    name: String,
    holder: i64,
    released: bool,
    renew: tokio::task::AbortHandle,
}

impl Leases {
    /// Leases that expire `ttl` after they are taken if their holder never gives them back.
    pub fn new(db: DatabaseConnection, ttl: Duration) -> Self {
        Self { db, ttl }
    }

    /// Takes `name`, waiting (with a short backoff) while another holder has it.
    pub async fn acquire(&self, name: &str) -> Result<Lease, DbErr> {
        let holder: i64 = rand::random::<i64>() & i64::MAX;
        let mut backoff = FIRST_BACKOFF;
        loop {
            if self.try_acquire(name, holder).await? {
                let renew = tokio::spawn(renew(self.clone(), name.to_owned(), holder));
                return Ok(Lease {
                    db: self.db.clone(),
                    name: name.to_owned(),
                    holder,
                    released: false,
                    renew: renew.abort_handle(),
                });
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    async fn try_acquire(&self, name: &str, holder: i64) -> Result<bool, DbErr> {
        let now = Millis::now();
        let written = lease::Entity::insert(lease::ActiveModel {
            name: Set(name.to_owned()),
            holder: Set(holder),
            until_ms: Set((now + self.ttl).0),
        })
        .on_conflict(
            OnConflict::column(lease::Column::Name)
                .update_columns([lease::Column::Holder, lease::Column::UntilMs])
                .action_and_where(lease::Column::UntilMs.lt(now.0))
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        Ok(written == 1)
    }
}

/// Extends the lease while its holder works (until the lease is dropped, which stops this).
async fn renew(leases: Leases, name: String, holder: i64) {
    loop {
        tokio::time::sleep(leases.ttl / 3).await;
        let until = (Millis::now() + leases.ttl).0;
        let renewed = lease::Entity::update_many()
            .col_expr(lease::Column::UntilMs, Expr::value(until))
            .filter(lease::Column::Name.eq(name.as_str()))
            .filter(lease::Column::Holder.eq(holder))
            .exec(&leases.db)
            .await;
        if let Err(e) = renewed {
            tracing::warn!(name, error = %e, "cannot renew a lease");
        }
    }
}

impl Lease {
    pub async fn release(mut self) {
        self.released = true;
        self.renew.abort();
        release(&self.db, &self.name, self.holder).await;
    }
}

async fn release(db: &DatabaseConnection, name: &str, holder: i64) {
    let gone = lease::Entity::delete_many()
        .filter(lease::Column::Name.eq(name))
        .filter(lease::Column::Holder.eq(holder))
        .exec(db)
        .await;
    if let Err(e) = gone {
        // It expires on its own; until then the others wait.
        tracing::warn!(name, error = %e, "cannot give a lease back");
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renew.abort();
        if self.released {
            return;
        }
        let (db, name, holder) = (self.db.clone(), std::mem::take(&mut self.name), self.holder);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { release(&db, &name, holder).await });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn db() -> (tempfile::TempDir, DatabaseConnection) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = crate::db::open(&url).await.expect("opens");
        (dir, db)
    }

    #[tokio::test]
    async fn one_holder_at_a_time_and_the_next_gets_it_on_release() {
        let (_dir, db) = db().await;
        let one = Leases::new(db.clone(), Duration::from_secs(30));
        let two = Leases::new(db, Duration::from_secs(30));
        let held = one.acquire("tree:1").await.expect("free");
        // Another name is independent.
        two.acquire("tree:2").await.expect("free").release().await;
        let mut waiting = Box::pin(two.acquire("tree:1"));
        // What is tested is that nothing happens while the lease is held.
        assert!(
            tokio::time::timeout(Duration::from_millis(300), &mut waiting)
                .await
                .is_err(),
            "a held lease is not taken"
        );
        held.release().await;
        tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("taken once given back")
            .expect("no database error");
    }

    #[tokio::test]
    async fn a_dead_holders_lease_expires_and_a_live_one_is_renewed() {
        let (_dir, db) = db().await;
        let short = Leases::new(db.clone(), Duration::from_millis(300));
        // A live holder working past the time to live keeps its lease.
        let held = short.acquire("tree:1").await.expect("free");
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(!short.try_acquire("tree:1", 7).await.expect("query"));
        held.release().await;
        // A holder that died (no renewal, never given back) loses it after the time to live.
        assert!(short.try_acquire("tree:1", 8).await.expect("query"));
        let started = tokio::time::Instant::now();
        short
            .acquire("tree:1")
            .await
            .expect("expires")
            .release()
            .await;
        assert!(started.elapsed() >= Duration::from_millis(200));
    }
}
