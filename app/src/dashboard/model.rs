//! What the team dashboard shows, as the server sends it.

use serde::{Deserialize, Serialize};

use crate::types::{FileId, MessageId, ProjectId, ProjectSummary, UserId, runs::RunInfo};

/// Days of activity a project's sparkline covers (today last).
pub const SPARK_DAYS: usize = 14;
/// Feed entries per page.
pub const FEED_PAGE: u64 = 40;
/// Mentions listed (the unread count covers all of them).
pub const MENTIONS_SHOWN: u64 = 10;
/// Edits of one person to one file are one feed entry while no pause longer than this
/// separates them (minutes).
pub const BURST_GAP_MIN: i64 = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Edit,
    Chat,
    Run,
    Join,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 4] = [Self::Edit, Self::Chat, Self::Run, Self::Join];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Edit => "edit",
            Self::Chat => "chat",
            Self::Run => "run",
            Self::Join => "join",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The filter's label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Edit => "Edits",
            Self::Chat => "Chat",
            Self::Run => "Runs",
            Self::Join => "Members",
        }
    }
}

/// What happened, by kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum What {
    /// Edits to a file in one burst of work.
    Edit {
        file: FileId,
        /// Its name now (or when it was deleted).
        path: String,
        updates: u64,
        /// When the burst began (`Activity::at` is its latest edit).
        since: i64,
    },
    /// A chat message (an answer of the assistant is "asked by" its asker).
    Chat {
        message: MessageId,
        /// The start of its text, as plain text.
        excerpt: String,
        ai: bool,
    },
    /// A run that started (ended: with its outcome).
    Run { run: RunInfo },
    /// A member joined the project.
    Join { role: crate::types::Role },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub project: ProjectId,
    pub project_name: String,
    pub user: UserId,
    pub who: String,
    /// Unix milliseconds (the latest moment of it).
    pub at: i64,
    pub what: What,
}

impl Activity {
    pub fn kind(&self) -> ActivityKind {
        match self.what {
            What::Edit { .. } => ActivityKind::Edit,
            What::Chat { .. } => ActivityKind::Chat,
            What::Run { .. } => ActivityKind::Run,
            What::Join { .. } => ActivityKind::Join,
        }
    }
}

/// Which entries the feed shows; empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedFilter {
    pub project: Option<ProjectId>,
    /// Kinds to show (none: all).
    #[serde(default)]
    pub kinds: Vec<ActivityKind>,
    pub person: Option<UserId>,
    /// Pages of [`FEED_PAGE`] entries wanted (Show older adds one; at most [`MAX_PAGES`]).
    #[serde(default)]
    pub pages: u32,
}

/// The most pages of the feed one request reads.
pub const MAX_PAGES: u32 = 25;

impl FeedFilter {
    /// Entries this filter asks for.
    pub fn wanted(&self) -> u64 {
        FEED_PAGE * u64::from(self.pages.clamp(1, MAX_PAGES))
    }
}

/// Someone in a project now, and the files they have open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Online {
    pub user: UserId,
    pub name: String,
    pub files: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectCard {
    pub project: ProjectSummary,
    pub online: Vec<Online>,
    /// Activity per day over the last [`SPARK_DAYS`] days, oldest first.
    pub spark: Vec<u32>,
    pub running: Vec<RunInfo>,
}

/// Files listed as changed most this week.
pub const HOT_FILES: usize = 10;
/// Runs listed on a project's dashboard (the newest).
pub const PROJECT_RUNS: usize = 20;
/// How far back "changed most this week" looks.
pub const WEEK_MS: i64 = 7 * 86_400_000;

/// A file and who changed it how much in the last week (edit counts: about one a keystroke).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HotFile {
    pub file: crate::types::FileId,
    pub name: String,
    pub changes: u64,
    /// (name, changes), most first.
    pub people: Vec<(String, u64)>,
}

/// A project's own dashboard: its card (who is here, the sparkline, runs in progress), its
/// latest runs, the files changed most this week and by whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectOverview {
    pub card: ProjectCard,
    pub runs: Vec<RunInfo>,
    pub hot_files: Vec<HotFile>,
    pub today: i64,
}

/// "3 min 20 s", "1.2 s": how long a run took (or has been running, until `now`).
pub fn duration(run: &RunInfo, now: i64) -> String {
    let ms = (run.ended_at.unwrap_or(now) - run.started_at).max(0);
    match ms {
        m if m < 60_000 => format!("{:.1} s", m as f64 / 1000.0),
        m if m < 3_600_000 => format!("{} min {} s", m / 60_000, (m % 60_000) / 1000),
        m => format!("{} h {} min", m / 3_600_000, (m % 3_600_000) / 60_000),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mention {
    pub message: MessageId,
    pub project: ProjectId,
    pub project_name: String,
    pub by: String,
    pub excerpt: String,
    pub at: i64,
    pub read: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamDashboard {
    pub projects: Vec<ProjectCard>,
    pub feed: Vec<Activity>,
    /// More entries match the filter past the last one.
    pub more: bool,
    /// Everyone in my projects (the person filter).
    pub people: Vec<(UserId, String)>,
    pub unread: u64,
    pub mentions: Vec<Mention>,
    /// The start of today (UTC, ms), the sparklines' last day.
    pub today: i64,
}

/// The first `n` characters of a Markdown message as one line of plain text.
pub fn excerpt(markdown: &str, n: usize) -> String {
    let flat: String = markdown
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !matches!(c, '`' | '*' | '#' | '>'))
        .collect();
    if flat.chars().count() > n {
        let cut: String = flat.chars().take(n).collect();
        format!("{}…", cut.trim_end())
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        let run = |start, end| RunInfo {
            id: crate::types::RunId(1),
            name: "x".into(),
            command: "x".into(),
            started_by: crate::types::UserId(1),
            started_by_name: "a".into(),
            started_at: start,
            ended_at: end,
            exit_code: None,
            reason: None,
            environment: None,
        };
        assert_eq!(duration(&run(0, Some(1_250)), 0), "1.2 s");
        assert_eq!(duration(&run(0, Some(200_000)), 0), "3 min 20 s");
        assert_eq!(duration(&run(0, None), 7_500_000), "2 h 5 min");
    }

    #[test]
    fn excerpts_are_one_short_line() {
        assert_eq!(excerpt("**hi**\n\n`there`", 50), "hi there");
        assert_eq!(excerpt("abcdef", 3), "abc…");
        assert_eq!(excerpt("", 3), "");
    }

    #[test]
    fn kinds_round_trip() {
        for k in ActivityKind::ALL {
            assert_eq!(ActivityKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(ActivityKind::parse("drop"), None);
    }
}
