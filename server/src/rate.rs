//! Rate limits on `governor` (GCRA, no background work): one limiter per websocket connection,
//! and keyed ones per user for chat sends and AI requests and per project for AI requests. In
//! memory: a restart forgetting the counts is harmless. With several nodes the keyed ones
//! count in the shared database instead ([`shared`]), so a user cannot multiply an allowance
//! by the number of nodes. (The login limiter counts failures rather than requests, so it is
//! not one of these; it has its own shared mode.)

pub mod shared;

use std::{fmt::Display, hash::Hash, num::NonZeroU32, time::Duration};

use app::types::UserId;
use governor::{
    Quota, RateLimiter,
    clock::{Clock, DefaultClock},
    middleware::NoOpMiddleware,
    state::{InMemoryState, NotKeyed, keyed::DefaultKeyedStateStore},
};

/// Keys past this many make the per-user limiter drop users whose allowance is full again.
const FORGET_ABOVE: usize = 10_000;

fn at_least_one(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

/// `per_sec` messages per second, with bursts of twice that: one connection's allowance.
#[derive(Debug)]
pub struct PerSecond<C: Clock = DefaultClock>(
    RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<C::Instant>>,
);

impl PerSecond {
    pub fn new(per_sec: u32) -> Self {
        Self::with_clock(per_sec, DefaultClock::default())
    }
}

impl<C: Clock> PerSecond<C> {
    fn with_clock(per_sec: u32, clock: C) -> Self {
        let quota = Quota::per_second(at_least_one(per_sec))
            .allow_burst(at_least_one(per_sec.saturating_mul(2)));
        Self(RateLimiter::direct_with_clock(quota, clock))
    }

    pub fn allow(&self) -> bool {
        self.0.check().is_ok()
    }
}

/// A minute's allowance per key (a user, a project), refilled continuously, so a burst is
/// allowed and a flood is not. Shared between nodes, it is a count per minute-long window
/// instead (at most twice the allowance in any sliding minute).
#[derive(Debug)]
pub struct PerMinute<K: Hash + Eq + Clone = UserId, C: Clock = DefaultClock> {
    local: RateLimiter<K, DefaultKeyedStateStore<K>, C, NoOpMiddleware<C::Instant>>,
    shared: Option<Shared>,
}

/// Where a shared allowance is counted.
#[derive(Debug, Clone)]
struct Shared {
    counts: shared::SharedCounts,
    /// Names the limit in the counters' keys (`chat-sends:<user>`).
    name: &'static str,
    per_minute: u32,
}

impl<K: Hash + Eq + Clone + Display> PerMinute<K> {
    pub fn new(per_minute: u32) -> Self {
        Self::with_clock(per_minute, DefaultClock::default())
    }

    /// Counted in the shared database when there is one (several nodes), else in memory.
    pub fn maybe_shared(
        per_minute: u32,
        shared: &Option<shared::SharedCounts>,
        name: &'static str,
    ) -> Self {
        match shared {
            Some(counts) => Self::shared(per_minute, counts.clone(), name),
            None => Self::new(per_minute),
        }
    }

    /// Counts in the shared database (several nodes), under keys that start with `name`.
    pub fn shared(per_minute: u32, counts: shared::SharedCounts, name: &'static str) -> Self {
        let mut limit = Self::new(per_minute);
        limit.shared = Some(Shared {
            counts,
            name,
            per_minute,
        });
        limit
    }

    /// Takes one of `key`'s tokens wherever they are counted, or says how many seconds until
    /// one is free. A database that cannot be reached lets the request through on this
    /// node's own count rather than refusing everyone.
    pub async fn take_now(&self, key: K) -> Result<(), u64> {
        let Some(s) = &self.shared else {
            return self.take(key);
        };
        let counted = s
            .counts
            .take(
                &format!("{}:{key}", s.name),
                s.per_minute,
                Duration::from_secs(60),
                shared::Millis::now(),
            )
            .await;
        match counted {
            Ok(decided) => decided,
            Err(e) => {
                tracing::warn!(error = %e, limit = s.name, "cannot read a shared rate counter");
                self.take(key)
            }
        }
    }
}

impl<K: Hash + Eq + Clone, C: Clock> PerMinute<K, C> {
    fn with_clock(per_minute: u32, clock: C) -> Self {
        let n = at_least_one(per_minute);
        Self {
            local: RateLimiter::dashmap_with_clock(Quota::per_minute(n).allow_burst(n), clock),
            shared: None,
        }
    }

    /// Takes one of `key`'s tokens, or says how many seconds until one is free.
    pub fn take(&self, key: K) -> Result<(), u64> {
        if self.local.len() > FORGET_ABOVE {
            self.local.retain_recent();
        }
        self.local.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.local.clock().now());
            wait.as_secs_f64().ceil().max(1.0) as u64
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use governor::clock::FakeRelativeClock;

    use super::*;

    #[test]
    fn a_connection_bursts_twice_its_rate_then_refills() {
        let clock = FakeRelativeClock::default();
        let r = PerSecond::with_clock(10, clock.clone());
        assert_eq!(
            (0..30).filter(|_| r.allow()).count(),
            20,
            "burst of twice the rate"
        );
        clock.advance(Duration::from_millis(500));
        assert_eq!((0..30).filter(|_| r.allow()).count(), 5);
    }

    #[test]
    fn a_minutes_allowance_per_user_then_a_steady_trickle() {
        let clock = FakeRelativeClock::default();
        let limit: PerMinute<UserId, _> = PerMinute::with_clock(6, clock.clone());
        let ann = UserId(1);
        for _ in 0..6 {
            assert!(limit.take(ann).is_ok());
        }
        assert_eq!(limit.take(ann), Err(10), "one token per 10 s");
        assert!(limit.take(UserId(2)).is_ok(), "others are not affected");
        clock.advance(Duration::from_secs(10));
        assert!(limit.take(ann).is_ok());
        clock.advance(Duration::from_secs(1));
        assert!(limit.take(ann).is_err());
    }
}
