//! The tab connection's state as the status bar shows it, and how long to wait before the
//! next reconnect.

use std::time::Duration;

use super::events::close;

/// The tab's connection to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Connecting,
    Connected,
    /// Lost; the next attempt is scheduled.
    Reconnecting {
        attempt: u32,
    },
    /// The browser reports no network; reconnects as soon as it is back.
    Offline,
    /// The session ended; reconnecting cannot help until the user logs in again.
    SignedOut,
    /// The user was removed from the project while the tab was open.
    NoAccess,
    /// The project was deleted while the tab was open.
    Deleted,
}

impl Link {
    pub fn label(self) -> &'static str {
        match self {
            Link::Connecting => "Connecting…",
            Link::Connected => "Connected",
            Link::Reconnecting { .. } => "Reconnecting…",
            Link::Offline => "Offline",
            Link::SignedOut => "Signed out",
            Link::NoAccess => "You no longer have access",
            Link::Deleted => "This project was deleted",
        }
    }

    pub fn class(self) -> &'static str {
        match self {
            Link::Connected => "ok",
            Link::Connecting | Link::Reconnecting { .. } => "warn",
            Link::Offline | Link::SignedOut | Link::NoAccess | Link::Deleted => "bad",
        }
    }

    /// Access is gone for good (signed out, removed, project deleted): views of live project
    /// data close.
    pub fn lost(self) -> bool {
        matches!(self, Link::SignedOut | Link::NoAccess | Link::Deleted)
    }

    /// The state after the server closed the socket with `code`, when that code means
    /// reconnecting cannot help (`events::close`).
    pub fn final_for(code: u16) -> Option<Link> {
        match code {
            close::SIGNED_OUT => Some(Link::SignedOut),
            close::NO_ACCESS => Some(Link::NoAccess),
            close::DELETED => Some(Link::Deleted),
            _ => None,
        }
    }
}

/// Reconnect delay: exponential from 500 ms, capped at 10 s, with "equal jitter" (half fixed,
/// half random) so a restarted server is not hit by every tab at the same instant. `random`
/// is in [0, 1).
pub fn backoff(attempt: u32, random: f64) -> Duration {
    let base = 500u64.saturating_mul(1 << attempt.min(5)).min(10_000);
    let jitter = (base as f64 / 2.0 * random.clamp(0.0, 1.0)) as u64;
    Duration::from_millis(base / 2 + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoking_close_codes_are_final() {
        assert_eq!(Link::final_for(close::SIGNED_OUT), Some(Link::SignedOut));
        assert_eq!(Link::final_for(close::NO_ACCESS), Some(Link::NoAccess));
        assert_eq!(Link::final_for(close::DELETED), Some(Link::Deleted));
        // Normal closes, slow-consumer drops and restarts are retried.
        for code in [1000, 1001, 1006, 1008, 1011, 1012, 1013] {
            assert_eq!(Link::final_for(code), None);
        }
    }

    #[test]
    fn backoff_grows_caps_and_jitters() {
        assert_eq!(backoff(0, 0.0), Duration::from_millis(250));
        assert_eq!(backoff(0, 0.999), Duration::from_millis(499));
        assert_eq!(backoff(3, 0.0), Duration::from_millis(2_000));
        assert_eq!(backoff(30, 0.0), Duration::from_millis(5_000));
        assert!(backoff(30, 0.99) < Duration::from_millis(10_000));
    }
}
