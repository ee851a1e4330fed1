//! Per-user rate limits for chat sends and AI requests: a token bucket per user that holds a
//! minute's allowance and refills continuously, so a burst is allowed and a flood is not. In
//! memory, like the login limits: a restart forgetting the counts is harmless.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use app::types::UserId;

#[derive(Debug)]
pub struct PerMinute {
    per_minute: f64,
    buckets: Mutex<HashMap<UserId, (f64, Instant)>>,
}

/// Buckets untouched this long are full again and can be forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(120);

impl PerMinute {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute: f64::from(per_minute.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token, or says how many seconds until one is free.
    pub fn take(&self, user: UserId, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 10_000 {
            buckets.retain(|_, (_, at)| now.duration_since(*at) < FORGET_AFTER);
        }
        let rate = self.per_minute / 60.0;
        let (tokens, at) = buckets.entry(user).or_insert((self.per_minute, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(self.per_minute);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / rate).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minutes_allowance_then_a_steady_trickle() {
        let limit = PerMinute::new(6);
        let t0 = Instant::now();
        let ann = UserId(1);
        for _ in 0..6 {
            assert!(limit.take(ann, t0).is_ok());
        }
        assert_eq!(limit.take(ann, t0), Err(10), "one token per 10 s");
        assert!(limit.take(UserId(2), t0).is_ok(), "others are not affected");
        assert!(limit.take(ann, t0 + Duration::from_secs(10)).is_ok());
        assert!(limit.take(ann, t0 + Duration::from_secs(11)).is_err());
    }
}
