//! Rate-limit counters in the shared database, for limits that several nodes enforce
//! together (`--bus`): the sign-in limiter, sign-ups per address, chat and AI allowances. On
//! one node the same limits are counted in memory and this module is not used.
//!
//! Each check is one short transaction over the rows of its keys: PostgreSQL's row locks
//! (SQLite's write lock) make two nodes' attempts on one key count one after the other, so
//! five nodes allow what one would. Counters idle for a day are swept now and then.

use std::{
    ops::{Add, AddAssign},
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};

use crate::db::entities::rate_count;

/// Milliseconds since the Unix epoch: a time every node reads the same way (an `Instant`
/// means nothing to another process).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Millis(pub i64);

impl Millis {
    pub fn now() -> Self {
        Self((time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64)
    }

    /// How long after `earlier` this is (zero when it is not after it).
    pub fn since(self, earlier: Self) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0).max(0) as u64)
    }
}

impl Add<Duration> for Millis {
    type Output = Self;
    fn add(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }
}

impl AddAssign<Duration> for Millis {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

/// One counter as a limit sees it (the sign-in limiter also keeps these in memory, with
/// `Instant`s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter<T = Millis> {
    pub count: u32,
    /// Its window started here.
    pub since: T,
    /// Last counted (delays are measured from it).
    pub last: T,
}

impl<T: Copy> Counter<T> {
    pub fn new(now: T) -> Self {
        Self {
            count: 0,
            since: now,
            last: now,
        }
    }
}

/// Counters idle this long are deleted (longer than any window or delay they serve).
const KEEP: Duration = Duration::from_secs(24 * 3600);
/// A node sweeps at most this often.
const SWEEP_EVERY: Duration = Duration::from_secs(600);

#[derive(Debug, Clone)]
pub struct SharedCounts {
    db: DatabaseConnection,
    swept: Arc<AtomicI64>,
}

impl SharedCounts {
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            swept: Arc::new(AtomicI64::new(0)),
        }
    }

    /// Runs `f` on the counters of `keys` (a missing one starts at zero, now), in one
    /// transaction holding their rows, and stores what `f` leaves; a counter `f` sets to
    /// `None` is deleted.
    pub async fn update<R>(
        &self,
        keys: &[&str],
        now: Millis,
        f: impl FnOnce(&mut [Option<Counter>]) -> R,
    ) -> Result<R, DbErr> {
        self.sweep(now).await;
        let mut sorted: Vec<&str> = keys.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let txn = self.db.begin().await?;
        // Rows first (in key order, so two transactions lock in one order), then read them
        // locked.
        for key in &sorted {
            rate_count::Entity::insert(rate_count::ActiveModel {
                key: Set((*key).to_owned()),
                count: Set(0),
                since_ms: Set(now.0),
                last_ms: Set(now.0),
            })
            .on_conflict_do_nothing()
            .exec_without_returning(&txn)
            .await?;
        }
        let rows = rate_count::Entity::find()
            .filter(rate_count::Column::Key.is_in(sorted.iter().copied()))
            .order_by_asc(rate_count::Column::Key)
            .lock_exclusive()
            .all(&txn)
            .await?;
        let mut counters: Vec<Option<Counter>> = keys
            .iter()
            .map(|k| {
                let row = rows.iter().find(|r| r.key == *k);
                Some(row.map_or(Counter::new(now), |r| Counter {
                    count: u32::try_from(r.count.max(0)).unwrap_or(u32::MAX),
                    since: Millis(r.since_ms),
                    last: Millis(r.last_ms),
                }))
            })
            .collect();
        let before = counters.clone();
        let result = f(&mut counters);
        for ((key, was), now) in keys.iter().zip(before).zip(counters) {
            match now {
                Some(c) if Some(c) != was => {
                    rate_count::ActiveModel {
                        key: Set((*key).to_owned()),
                        count: Set(i64::from(c.count)),
                        since_ms: Set(c.since.0),
                        last_ms: Set(c.last.0),
                    }
                    .update(&txn)
                    .await?;
                }
                Some(_) => {}
                None => {
                    rate_count::Entity::delete_by_id((*key).to_owned())
                        .exec(&txn)
                        .await?;
                }
            }
        }
        txn.commit().await?;
        Ok(result)
    }

    /// At most `max` per `window` for `key`, the window starting at the first use after the
    /// last one ended: takes one, or says how many seconds until the window ends.
    pub async fn take(
        &self,
        key: &str,
        max: u32,
        window: Duration,
        now: Millis,
    ) -> Result<Result<(), u64>, DbErr> {
        self.update(&[key], now, |c| {
            let Some(c) = c.first_mut().and_then(Option::as_mut) else {
                return Ok(());
            };
            if now.since(c.since) >= window {
                *c = Counter::new(now);
            }
            if c.count >= max {
                let wait = (c.since + window).since(now);
                return Err(wait.as_secs() + u64::from(wait.subsec_nanos() > 0));
            }
            c.count += 1;
            c.last = now;
            Ok(())
        })
        .await
    }

    /// Deletes counters idle for a day, at most every ten minutes per node. Best effort: a
    /// failure leaves them for the next sweep.
    async fn sweep(&self, now: Millis) {
        let last = self.swept.load(Ordering::Relaxed);
        if now.since(Millis(last)) < SWEEP_EVERY
            || self
                .swept
                .compare_exchange(last, now.0, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let cutoff = Millis(now.0.saturating_sub(KEEP.as_millis() as i64));
        if let Err(e) = rate_count::Entity::delete_many()
            .filter(rate_count::Column::LastMs.lt(cutoff.0))
            .exec(&self.db)
            .await
        {
            tracing::warn!(error = %e, "cannot sweep idle rate counters");
        }
    }
}
