//! Login attempt limits (finding 7 of the security review). One node counts in memory (a
//! restart forgetting the counts is acceptable for this purpose); several nodes (`--bus`)
//! count in the shared database ([`crate::rate::shared`]), with the same rules, so five nodes
//! allow what one would.
//!
//! - Every attempt is counted when it starts, before the password is hashed, and refunded when
//!   it succeeds, so concurrent guesses cannot all pass a check made before any failed.
//! - Per (account, client IP) pair, the first `free` failures cost nothing; after that each
//!   attempt waits twice as long as the one before (1 s, 2 s, 4 s, … up to 15 minutes). A
//!   guesser slows down; the account's owner, on another address, does not.
//! - Per client IP across accounts (password spraying): at most `per_ip` failures per window.
//! - Per account across addresses (a distributed guess), a backstop: past `backstop` failures
//!   per window every attempt waits, doubling up to 30 s; a delay, never a lock, so the owner
//!   can still sign in.

use std::{
    collections::HashMap,
    net::IpAddr,
    ops::Add,
    sync::Mutex,
    time::{Duration, Instant},
};

use app::{AppError, AppResult};

use crate::{
    error::ServerError,
    rate::shared::{Counter, Millis, SharedCounts},
};

/// Longest wait between two attempts of one account and address.
const PAIR_CAP: Duration = Duration::from_secs(15 * 60);
/// Longest wait the account backstop imposes.
const BACKSTOP_CAP: Duration = Duration::from_secs(30);
/// Beyond this many tracked keys in a map, stale ones are swept on the next attempt.
const SWEEP_AT: usize = 10_000;

/// A point in time the rules can measure from: an `Instant` in memory, [`Millis`] in the
/// shared database.
pub trait Moment: Copy + Add<Duration, Output = Self> {
    /// How long after `earlier` this is (zero when it is not after it).
    fn after(self, earlier: Self) -> Duration;
}

impl Moment for Instant {
    fn after(self, earlier: Self) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl Moment for Millis {
    fn after(self, earlier: Self) -> Duration {
        self.since(earlier)
    }
}

type Count = Counter<Instant>;

#[derive(Debug, Default)]
struct Counts {
    pairs: HashMap<(String, IpAddr), Count>,
    ips: HashMap<IpAddr, Count>,
    accounts: HashMap<String, Count>,
}

#[derive(Debug)]
pub struct LoginLimiter {
    free: u32,
    per_ip: u32,
    backstop: u32,
    window: Duration,
    counts: Mutex<Counts>,
    /// Set when several nodes share the database: the counts live there instead.
    shared: Option<SharedCounts>,
}

/// An attempt under way; hand it back to [`LoginLimiter::finish`].
#[derive(Debug)]
#[must_use]
pub struct Attempt {
    account: String,
    ip: IpAddr,
}

/// `base · 2^(n-1)`, capped.
fn doubling(base: Duration, n: u32, cap: Duration) -> Duration {
    base.saturating_mul(1u32 << n.saturating_sub(1).min(20))
        .min(cap)
}

fn sweep<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Count>, now: Instant, keep_for: Duration) {
    if map.len() >= SWEEP_AT {
        map.retain(|_, c| now.saturating_duration_since(c.last) < keep_for);
    }
}

/// The rate-limited answer: how many seconds to wait, rounded up so a client that waits
/// exactly this long is let in.
fn wait_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// The keys of one attempt's counters in the shared database.
fn shared_keys(ip: IpAddr, account: &str) -> [String; 3] {
    [
        format!("login:pair:{ip}:{account}"),
        format!("login:ip:{ip}"),
        format!("login:account:{account}"),
    ]
}

impl LoginLimiter {
    /// `free` failures per account and address before delays start, `per_ip` failures per
    /// address per window, `backstop` failures per account per window before every attempt
    /// on it waits.
    pub fn new(free: u32, per_ip: u32, backstop: u32, window: Duration) -> Self {
        Self {
            free,
            per_ip,
            backstop,
            window,
            counts: Mutex::new(Counts::default()),
            shared: None,
        }
    }

    /// Counts in the shared database from now on (several nodes).
    pub fn shared(mut self, counts: SharedCounts) -> Self {
        self.shared = Some(counts);
        self
    }

    /// The same rules with no counts yet.
    pub fn clone_rules(&self) -> Self {
        Self::new(self.free, self.per_ip, self.backstop, self.window)
    }

    /// Starts an attempt now, where the counts live; `RateLimited` says how long to wait.
    pub async fn start(&self, ip: IpAddr, account: &str) -> AppResult<Attempt> {
        let Some(shared) = &self.shared else {
            return self
                .begin(ip, account, Instant::now())
                .map_err(|retry_after_secs| AppError::RateLimited { retry_after_secs });
        };
        let account = account.to_lowercase();
        let keys = shared_keys(ip, &account);
        let now = Millis::now();
        let decided = shared
            .update(&[&keys[0], &keys[1], &keys[2]], now, |c| match c {
                [Some(pair), Some(ip), Some(account)] => self.check(now, pair, ip, account),
                _ => Ok(()),
            })
            .await
            .map_err(ServerError::from)?;
        decided
            .map(|()| Attempt { account, ip })
            .map_err(|retry_after_secs| AppError::RateLimited { retry_after_secs })
    }

    /// Ends an attempt started with [`Self::start`].
    pub async fn end(&self, attempt: Attempt, succeeded: bool) {
        let Some(shared) = &self.shared else {
            return self.finish(attempt, succeeded);
        };
        if !succeeded {
            return;
        }
        let keys = shared_keys(attempt.ip, &attempt.account);
        let refunded = shared
            .update(&[&keys[0], &keys[1], &keys[2]], Millis::now(), |c| {
                c[0] = None;
                for c in c[1..].iter_mut().flatten() {
                    c.count = c.count.saturating_sub(1);
                }
            })
            .await;
        if let Err(e) = refunded {
            // The owner is in; at worst their next failure waits a little sooner.
            tracing::warn!(error = %e, "cannot refund a successful sign-in's count");
        }
    }

    /// Starts an attempt, or says how many seconds to wait first (the counts in memory).
    pub fn begin(&self, ip: IpAddr, account: &str, now: Instant) -> Result<Attempt, u64> {
        let account = account.to_lowercase();
        let window = self.window;
        let mut counts = crate::lock::lock(&self.counts);
        let Counts {
            pairs,
            ips,
            accounts,
        } = &mut *counts;
        sweep(pairs, now, PAIR_CAP.max(window) * 2);
        sweep(ips, now, window);
        sweep(accounts, now, window);
        let ip_count = ips.entry(ip).or_insert_with(|| Count::new(now));
        let account_count = accounts
            .entry(account.clone())
            .or_insert_with(|| Count::new(now));
        let pair = pairs
            .entry((account.clone(), ip))
            .or_insert_with(|| Count::new(now));
        self.check(now, pair, ip_count, account_count)?;
        Ok(Attempt { account, ip })
    }

    /// The rules, wherever the counts live: the wait, or the attempt counted (as failed until
    /// it succeeds).
    fn check<T: Moment>(
        &self,
        now: T,
        pair: &mut Counter<T>,
        ip: &mut Counter<T>,
        account: &mut Counter<T>,
    ) -> Result<(), u64> {
        let window = self.window;
        // Windowed counts start over once their window has passed.
        for c in [&mut *ip, &mut *account] {
            if now.after(c.since) >= window {
                *c = Counter::new(now);
            }
        }
        // A pair left alone for twice the longest delay starts over.
        if now.after(pair.last) >= PAIR_CAP.max(window) * 2 {
            *pair = Counter::new(now);
        }
        let mut wait = Duration::ZERO;
        if ip.count >= self.per_ip {
            wait = wait.max((ip.since + window).after(now));
        }
        if pair.count >= self.free {
            let delay = doubling(Duration::from_secs(1), pair.count - self.free + 1, PAIR_CAP);
            wait = wait.max((pair.last + delay).after(now));
        }
        if account.count >= self.backstop {
            let delay = doubling(
                Duration::from_secs(1),
                account.count - self.backstop + 1,
                BACKSTOP_CAP,
            );
            wait = wait.max((account.last + delay).after(now));
        }
        if !wait.is_zero() {
            return Err(wait_secs(wait));
        }
        for c in [ip, account, pair] {
            c.count += 1;
            c.last = now;
        }
        Ok(())
    }

    /// Ends an attempt. A success refunds it everywhere and clears the pair's delays (not the
    /// address's other failures: one good password must not reset a guessing run against
    /// other accounts).
    pub fn finish(&self, attempt: Attempt, succeeded: bool) {
        if !succeeded {
            return;
        }
        let mut counts = crate::lock::lock(&self.counts);
        counts.pairs.remove(&(attempt.account.clone(), attempt.ip));
        if let Some(c) = counts.ips.get_mut(&attempt.ip) {
            c.count = c.count.saturating_sub(1);
        }
        if let Some(c) = counts.accounts.get_mut(&attempt.account) {
            c.count = c.count.saturating_sub(1);
        }
    }
}

/// At most `max` events per key in any hour (a sliding count of the last hour's events).
/// In the shared database (several nodes) the hour is a window that starts at the first
/// event after the last one ended, which allows at most twice `max` in any sliding hour.
#[derive(Debug)]
pub struct PerHour {
    max: u32,
    events: Mutex<HashMap<IpAddr, Vec<Instant>>>,
    shared: Option<SharedCounts>,
}

impl PerHour {
    pub fn new(max: u32) -> Self {
        Self {
            max,
            events: Mutex::new(HashMap::new()),
            shared: None,
        }
    }

    /// Counts in the shared database from now on (several nodes).
    pub fn shared(mut self, counts: SharedCounts) -> Self {
        self.shared = Some(counts);
        self
    }

    pub fn max(&self) -> u32 {
        self.max
    }

    /// Records an event for `key` now, where the counts live; false when over the limit.
    pub async fn allow(&self, key: IpAddr) -> AppResult<bool> {
        let Some(shared) = &self.shared else {
            return Ok(self.take(key, Instant::now()));
        };
        let taken = shared
            .take(
                &format!("signup:{key}"),
                self.max,
                Duration::from_secs(3600),
                Millis::now(),
            )
            .await
            .map_err(ServerError::from)?;
        Ok(taken.is_ok())
    }

    /// Records an event for `key` if it is under the limit; false when it is not.
    pub fn take(&self, key: IpAddr, now: Instant) -> bool {
        const HOUR: Duration = Duration::from_secs(3600);
        let mut events = crate::lock::lock(&self.events);
        if events.len() >= SWEEP_AT {
            events.retain(|_, at| at.iter().any(|t| now.saturating_duration_since(*t) < HOUR));
        }
        let at = events.entry(key).or_default();
        at.retain(|t| now.saturating_duration_since(*t) < HOUR);
        if at.len() >= self.max as usize {
            return false;
        }
        at.push(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const OWNER_IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 7));

    fn limiter() -> LoginLimiter {
        LoginLimiter::new(3, 100, 1_000, Duration::from_secs(900))
    }

    fn fail(l: &LoginLimiter, ip: IpAddr, account: &str, at: Instant) -> Result<(), u64> {
        l.begin(ip, account, at).map(|a| l.finish(a, false))
    }

    #[test]
    fn sign_ups_per_address_per_hour() {
        let limit = PerHour::new(2);
        let t0 = Instant::now();
        assert!(limit.take(IP, t0));
        assert!(limit.take(IP, t0 + Duration::from_secs(10)));
        assert!(!limit.take(IP, t0 + Duration::from_secs(20)));
        assert!(limit.take(OWNER_IP, t0 + Duration::from_secs(20)));
        // An hour after the first, one slot is free again.
        assert!(limit.take(IP, t0 + Duration::from_secs(3600)));
        assert!(!limit.take(IP, t0 + Duration::from_secs(3601)));
    }

    #[test]
    fn concurrent_guesses_are_counted_before_they_are_checked() {
        let l = limiter();
        let t0 = Instant::now();
        // Four attempts start before any finishes: the fourth already waits.
        let started: Vec<_> = (0..3).map(|_| l.begin(IP, "alice", t0)).collect();
        assert!(started.iter().all(Result::is_ok));
        assert_eq!(l.begin(IP, "alice", t0).err(), Some(1));
    }

    #[test]
    fn delays_double_after_the_free_failures_and_spare_the_owner() {
        let l = limiter();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(fail(&l, IP, "alice", t0).is_ok());
        }
        assert_eq!(fail(&l, IP, "Alice", t0), Err(1));
        let mut at = t0;
        for want in [1, 2, 4, 8] {
            at += Duration::from_secs(want);
            assert!(fail(&l, IP, "alice", at).is_ok(), "after {want} s");
            let next = l.begin(IP, "alice", at).err();
            assert_eq!(next, Some(want * 2));
        }
        // The owner, elsewhere, signs in at once; the guesser's delay stays.
        let owner = l.begin(OWNER_IP, "alice", at).expect("not locked out");
        l.finish(owner, true);
        assert!(l.begin(IP, "alice", at).is_err());
        // Other accounts from the guessing address are not slowed by alice's pair.
        assert!(l.begin(IP, "bob", at).is_ok());
    }

    #[test]
    fn the_delay_is_capped() {
        let l = limiter();
        let mut at = Instant::now();
        for _ in 0..40 {
            while let Err(wait) = fail(&l, IP, "alice", at) {
                assert!(wait <= PAIR_CAP.as_secs(), "{wait}");
                at += Duration::from_secs(wait);
            }
        }
    }

    #[test]
    fn an_address_spraying_accounts_is_stopped() {
        let l = LoginLimiter::new(100, 3, 1_000, Duration::from_secs(60));
        let t0 = Instant::now();
        for name in ["a", "b", "c"] {
            assert!(fail(&l, IP, name, t0).is_ok());
        }
        assert_eq!(l.begin(IP, "d", t0).err(), Some(60));
        assert!(l.begin(OWNER_IP, "d", t0).is_ok());
        assert!(l.begin(IP, "d", t0 + Duration::from_secs(60)).is_ok());
    }

    #[test]
    fn the_account_backstop_slows_a_distributed_guess_but_never_locks() {
        let l = LoginLimiter::new(100, 100, 5, Duration::from_secs(900));
        let t0 = Instant::now();
        for i in 0..5u8 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, i));
            assert!(fail(&l, ip, "alice", t0).is_ok());
        }
        let wait = l.begin(OWNER_IP, "alice", t0).expect_err("slowed");
        assert!(wait <= BACKSTOP_CAP.as_secs());
        let owner = l
            .begin(OWNER_IP, "alice", t0 + Duration::from_secs(wait))
            .expect("let in after the delay");
        l.finish(owner, true);
    }

    #[test]
    fn success_refunds_and_clears_the_pair_only() {
        let l = LoginLimiter::new(2, 3, 1_000, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(fail(&l, IP, "a", t0).is_ok());
        let ok = l.begin(IP, "a", t0).expect("second try");
        l.finish(ok, true);
        assert!(l.begin(IP, "a", t0).is_ok(), "the pair starts over");
        assert!(fail(&l, IP, "b", t0).is_ok());
        // The address has a's first failure, the attempt above and b's: three.
        assert!(l.begin(IP, "c", t0).is_err());
    }
}
