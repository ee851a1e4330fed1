//! Rate limits on `governor` (GCRA, no background work): one limiter per websocket connection,
//! and keyed ones per user for chat sends and AI requests and per project for AI requests. In memory: a restart forgetting the counts is
//! harmless. (The login limiter counts failures rather than requests, so it is not one of these.)

use std::{hash::Hash, num::NonZeroU32};

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
/// allowed and a flood is not.
#[derive(Debug)]
pub struct PerMinute<K: Hash + Eq + Clone = UserId, C: Clock = DefaultClock>(
    RateLimiter<K, DefaultKeyedStateStore<K>, C, NoOpMiddleware<C::Instant>>,
);

impl<K: Hash + Eq + Clone> PerMinute<K> {
    pub fn new(per_minute: u32) -> Self {
        Self::with_clock(per_minute, DefaultClock::default())
    }
}

impl<K: Hash + Eq + Clone, C: Clock> PerMinute<K, C> {
    fn with_clock(per_minute: u32, clock: C) -> Self {
        let n = at_least_one(per_minute);
        Self(RateLimiter::dashmap_with_clock(
            Quota::per_minute(n).allow_burst(n),
            clock,
        ))
    }

    /// Takes one of `key`'s tokens, or says how many seconds until one is free.
    pub fn take(&self, key: K) -> Result<(), u64> {
        if self.0.len() > FORGET_ABOVE {
            self.0.retain_recent();
        }
        self.0.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.0.clock().now());
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
