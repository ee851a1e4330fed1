//! The project audit log's records: what owners read and export.

use serde::{Deserialize, Serialize};

use super::{DocId, FileId, UserId};

macro_rules! actions {
    ($($name:ident = $code:literal, $label:literal;)*) => {
        /// What happened. Stored as its code; unknown codes (a newer server's) read as `Other`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum AuditAction {
            $($name,)*
            Other,
        }

        impl AuditAction {
            pub const ALL: &[AuditAction] = &[$(AuditAction::$name,)*];

            pub fn code(self) -> &'static str {
                match self {
                    $(AuditAction::$name => $code,)*
                    AuditAction::Other => "other",
                }
            }

            pub fn parse(code: &str) -> AuditAction {
                match code {
                    $($code => AuditAction::$name,)*
                    _ => AuditAction::Other,
                }
            }

            /// How the log names it.
            pub fn label(self) -> &'static str {
                match self {
                    $(AuditAction::$name => $label,)*
                    AuditAction::Other => "Other",
                }
            }
        }
    };
}

actions! {
    ProjectOpened = "project_opened", "Opened the project";
    MemberAdded = "member_added", "Added a member";
    MemberRemoved = "member_removed", "Removed a member";
    MemberLeft = "member_left", "Left the project";
    RoleChanged = "role_changed", "Changed a role";
    InviteCreated = "invite_created", "Created an invite link";
    InviteUsed = "invite_used", "Joined by invite link";
    InviteRevoked = "invite_revoked", "Revoked an invite link";
    ProjectRenamed = "project_renamed", "Renamed the project";
    FileRenamed = "file_renamed", "Renamed a file";
    FileMoved = "file_moved", "Moved a file";
    FileDeleted = "file_deleted", "Moved to the trash";
    FileRestored = "file_restored", "Restored from the trash";
    TrashEmptied = "trash_emptied", "Emptied the trash";
    PurgedRestored = "purged_restored", "Brought back a deleted file";
    Imported = "imported", "Imported a zip";
    Exported = "exported", "Exported a zip";
    VersionRestored = "version_restored", "Restored a version";
    VersionNamed = "version_named", "Named a version";
    RunStarted = "run_started", "Started a run";
    RunStopped = "run_stopped", "Stopped a run";
    TerminalOpened = "terminal_opened", "Opened a terminal";
    TerminalClosed = "terminal_closed", "Closed a terminal";
    AiRequest = "ai_request", "Asked the assistant";
    AiSettings = "ai_settings", "Changed the AI settings";
    SuggestionAccepted = "suggestion_accepted", "Accepted an AI suggestion";
    FolderOpened = "folder_opened", "Opened a server folder";
    EnvChanged = "env_changed", "Changed an environment";
}

/// What an entry is about, resolved to a name when it is recorded (it may be gone later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditTarget {
    None,
    User(UserId),
    File(FileId),
    Doc(DocId),
    Text(String),
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    /// Milliseconds since the epoch.
    pub at: i64,
    pub actor: Option<UserId>,
    /// The actor's name then.
    pub actor_name: String,
    pub action: AuditAction,
    pub target: String,
    pub detail: String,
}

/// Which entries to read; every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    pub actor: Option<UserId>,
    pub action: Option<AuditAction>,
    /// From this time (ms), inclusive.
    pub from: Option<i64>,
    /// Until this time (ms), exclusive.
    pub to: Option<i64>,
}

/// A page of the log, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Ask again with `before` = this for older entries.
    pub more: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.code()), *a);
            assert!(seen.insert(a.code()), "{} twice", a.code());
            // The stored column holds 40 characters.
            assert!(a.code().len() <= 40);
        }
        assert_eq!(AuditAction::parse("from_the_future"), AuditAction::Other);
    }
}
