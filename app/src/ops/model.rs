//! What the operations console shows and what every page's notice bar shows: plain data shared
//! by the server functions, the live channels and the views.

use serde::{Deserialize, Serialize};

use crate::types::UserId;

/// The longest broadcast or maintenance message, in characters.
pub const MESSAGE_MAX: usize = 280;
/// The longest restart countdown an admin can announce, in seconds (an hour).
pub const SHUTDOWN_MAX_SECS: u32 = 3600;

/// How loud a broadcast is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    #[default]
    Info,
    Warning,
}

/// A message from the server's admins to everyone signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Banner {
    pub text: String,
    pub level: Level,
    pub by: String,
    pub at_ms: i64,
}

/// Maintenance: every document is read-only, new runs and terminals are refused, file changes
/// too; sessions and open tabs are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Maintenance {
    pub message: String,
    pub by: String,
    pub since_ms: i64,
}

/// The server restarts at `at_ms` (announced by an admin, or by the server itself when it is
/// asked to stop).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shutdown {
    pub at_ms: i64,
    pub message: String,
}

/// Everything the notice bar shows. The same on every node (kept in the database); a node that
/// is stopping adds its own shutdown notice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub banner: Option<Banner>,
    pub maintenance: Option<Maintenance>,
    pub shutdown: Option<Shutdown>,
}

impl Notice {
    pub fn is_empty(&self) -> bool {
        self.banner.is_none() && self.maintenance.is_none() && self.shutdown.is_none()
    }
}

/// Checks and trims an admin's message: required, at most [`MESSAGE_MAX`] characters, one
/// line's worth of plain text (it is shown as text, never as markup).
pub fn message(text: &str) -> Result<String, crate::AppError> {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return Err(crate::AppError::invalid("message", "Write a message."));
    }
    if text.chars().count() > MESSAGE_MAX {
        return Err(crate::AppError::invalid(
            "message",
            format!("At most {MESSAGE_MAX} characters."),
        ));
    }
    Ok(text)
}

/// One node of the cluster as its last report says (just this one on a single server).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeStatus {
    pub node: String,
    /// The node answering this request.
    pub this: bool,
    pub sockets: u64,
    pub open_docs: u64,
    pub memory_bytes: u64,
    /// "local" (one process), "connected" or "disconnected" (from the broker).
    pub broker: String,
    pub uptime_secs: u64,
    pub reported_ms: i64,
}

/// The server's health right now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemStatus {
    pub nodes: Vec<NodeStatus>,
    /// One `SELECT 1` from this node, in milliseconds.
    pub db_latency_ms: f64,
    pub database: String,
    /// Mean and slowest document commit over the last sample interval, in milliseconds.
    pub commit_mean_ms: f64,
    pub commit_max_ms: f64,
    pub failed_commits: u64,
    pub disk_free_bytes: u64,
    pub disk_total_bytes: u64,
    pub users: u64,
    pub projects: u64,
}

/// What crossed a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    CommitLatency,
    FailedCommits,
    DiskSpace,
}

impl AlertKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::CommitLatency => "commit_latency",
            Self::FailedCommits => "failed_commits",
            Self::DiskSpace => "disk_space",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [Self::CommitLatency, Self::FailedCommits, Self::DiskSpace]
            .into_iter()
            .find(|k| k.code() == code)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::CommitLatency => "Slow commits",
            Self::FailedCommits => "Failed commits",
            Self::DiskSpace => "Low disk space",
        }
    }
}

/// A threshold crossed: open while `ended_ms` is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: i64,
    pub kind: AlertKind,
    pub node: String,
    pub message: String,
    /// The worst value seen while it was open, and the threshold.
    pub value: f64,
    pub threshold: f64,
    pub started_ms: i64,
    pub ended_ms: Option<i64>,
}

/// A user as the console lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: UserId,
    pub name: String,
    pub created_at: i64,
    pub admin: bool,
    pub disabled: bool,
    pub sessions: u64,
    pub projects: u64,
}

/// The console in one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Console {
    pub status: SystemStatus,
    pub notice: Notice,
    pub users: Vec<UserRow>,
    /// Open alerts first, then the most recent closed ones.
    pub alerts: Vec<Alert>,
}

/// What an admin does to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserAction {
    /// No sign-in; every session ends and its sockets close.
    Disable,
    Enable,
    /// Every session ends and its sockets close.
    SignOut,
    /// A new random password, shown once to the admin; every session ends.
    ResetPassword,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_trimmed_line_within_the_limit() {
        assert_eq!(
            message("  Back \n in 5  ").ok().as_deref(),
            Some("Back in 5")
        );
        assert!(message(" \n ").is_err());
        assert!(message(&"x".repeat(MESSAGE_MAX)).is_ok());
        assert!(message(&"x".repeat(MESSAGE_MAX + 1)).is_err());
    }

    #[test]
    fn alert_kinds_round_trip_their_codes() {
        for kind in [
            AlertKind::CommitLatency,
            AlertKind::FailedCommits,
            AlertKind::DiskSpace,
        ] {
            assert_eq!(AlertKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(AlertKind::from_code("nope"), None);
    }
}
