//! Failed-login limits per client IP and per account, in fixed windows. In memory: one process
//! serves a team, and a restart forgetting the counts is acceptable for this purpose.

use std::{
    collections::HashMap,
    hash::Hash,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

#[derive(Debug)]
pub struct LoginLimiter {
    per_ip: Counter<IpAddr>,
    per_account: Counter<String>,
}

impl LoginLimiter {
    pub fn new(max_per_account: u32, max_per_ip: u32, window: Duration) -> Self {
        Self {
            per_ip: Counter::new(max_per_ip, window),
            per_account: Counter::new(max_per_account, window),
        }
    }

    /// `Err(seconds)` to wait when either the IP or the account used up its failures.
    pub fn check(&self, ip: IpAddr, account: &str, now: Instant) -> Result<(), u64> {
        let ip_wait = self.per_ip.blocked_for(&ip, now);
        let account_wait = self.per_account.blocked_for(&account.to_lowercase(), now);
        match ip_wait.max(account_wait) {
            Some(wait) => Err(wait.as_secs().max(1)),
            None => Ok(()),
        }
    }

    pub fn failed(&self, ip: IpAddr, account: &str, now: Instant) {
        self.per_ip.hit(ip, now);
        self.per_account.hit(account.to_lowercase(), now);
    }

    /// A successful login clears the account's failures (not the IP's: one good password must
    /// not reset a guessing run against other accounts).
    pub fn succeeded(&self, account: &str) {
        self.per_account.clear(&account.to_lowercase());
    }
}

#[derive(Debug)]
struct Counter<K> {
    max: u32,
    window: Duration,
    entries: Mutex<HashMap<K, (u32, Instant)>>,
}

/// Beyond this many tracked keys, expired ones are swept on the next hit.
const SWEEP_AT: usize = 10_000;

impl<K: Hash + Eq> Counter<K> {
    fn new(max: u32, window: Duration) -> Self {
        Self {
            max,
            window,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (u32, Instant)>> {
        // A panic while holding this lock cannot leave the map inconsistent: keep going.
        crate::lock::lock(&self.entries)
    }

    fn blocked_for(&self, key: &K, now: Instant) -> Option<Duration> {
        let entries = self.lock();
        let &(count, started) = entries.get(key)?;
        let ends = started + self.window;
        (count >= self.max && now < ends).then(|| ends - now)
    }

    fn hit(&self, key: K, now: Instant) {
        let mut entries = self.lock();
        if entries.len() >= SWEEP_AT {
            let window = self.window;
            entries.retain(|_, (_, started)| now < *started + window);
        }
        let entry = entries.entry(key).or_insert((0, now));
        if now >= entry.1 + self.window {
            *entry = (0, now);
        }
        entry.0 += 1;
    }

    fn clear(&self, key: &K) {
        self.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn locks_an_account_after_its_failures_then_unlocks() {
        let limiter = LoginLimiter::new(3, 100, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(IP, "Alice", t0).is_ok());
            limiter.failed(IP, "alice", t0);
        }
        assert_eq!(limiter.check(IP, "ALICE", t0), Err(60));
        assert!(
            limiter.check(IP, "bob", t0).is_ok(),
            "other accounts unaffected"
        );
        assert!(
            limiter
                .check(IP, "alice", t0 + Duration::from_secs(61))
                .is_ok()
        );
    }

    #[test]
    fn limits_an_ip_across_accounts() {
        let limiter = LoginLimiter::new(100, 2, Duration::from_secs(60));
        let t0 = Instant::now();
        limiter.failed(IP, "a", t0);
        limiter.failed(IP, "b", t0);
        assert!(limiter.check(IP, "c", t0).is_err());
        let other: IpAddr = "10.0.0.1".parse().expect("ip");
        assert!(limiter.check(other, "c", t0).is_ok());
    }

    #[test]
    fn success_clears_the_account_only() {
        let limiter = LoginLimiter::new(2, 3, Duration::from_secs(60));
        let t0 = Instant::now();
        limiter.failed(IP, "a", t0);
        limiter.failed(IP, "a", t0);
        limiter.succeeded("a");
        assert!(limiter.check(IP, "a", t0).is_ok());
        limiter.failed(IP, "b", t0);
        assert!(limiter.check(IP, "a", t0).is_err(), "the IP still counts 3");
    }
}
