//! Types shared by the browser and the server: ids, roles and the records server functions
//! return or the project channel carries. Every feature may use them; they use no feature.

use std::fmt;

use serde::{Deserialize, Serialize};

pub mod audit;
pub mod chat;
pub mod files;
pub mod history;
pub mod runs;
pub mod suggestions;
pub mod terminals;

/// A typed `i64` id with `Display` and `FromStr`.
macro_rules! id_type {
    ($name:ident) => {
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }
    };
}

pub(crate) use id_type;

id_type!(UserId);
id_type!(ProjectId);
id_type!(InviteId);
id_type!(FileId);
id_type!(DocId);
id_type!(MessageId);
id_type!(RunId);
id_type!(TermId);

/// An id that does not fit where it is going: a negative database id for the engine, or an
/// engine id past `i64::MAX` from the wire. Neither comes from a well-behaved peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("document id {0} is out of range")]
pub struct BadDocId(pub i128);

/// The database keys documents by `i64`, the engine and the wire by `u64`: the two meet here,
/// checked both ways, so no `as` cast can wrap an id into another document's.
impl TryFrom<DocId> for collab::DocId {
    type Error = BadDocId;

    fn try_from(id: DocId) -> Result<Self, BadDocId> {
        u64::try_from(id.0)
            .map(collab::DocId)
            .map_err(|_| BadDocId(id.0.into()))
    }
}

impl TryFrom<collab::DocId> for DocId {
    type Error = BadDocId;

    fn try_from(id: collab::DocId) -> Result<Self, BadDocId> {
        i64::try_from(id.0)
            .map(DocId)
            .map_err(|_| BadDocId(id.0.into()))
    }
}

/// A member's role on a project. Ordered: every role can do what the ones below it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Editor,
    Owner,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Editor, Role::Owner];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Owner => "owner",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Viewer => "Viewer",
            Role::Editor => "Editor",
            Role::Owner => "Owner",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub id: UserId,
    pub name: String,
}

/// One signed-in browser of the current user, as the account page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Names the session without revealing its id (which is the cookie).
    pub handle: String,
    /// The session of the browser asking.
    pub current: bool,
    /// The browser's User-Agent at sign-in, shortened.
    pub agent: String,
    /// RFC 3339; empty for sessions from before these were recorded.
    pub signed_in_at: String,
    pub last_used_at: String,
    pub expires_at: String,
}

/// What becomes of a project whose only owner deletes their account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Leaving {
    /// The project and everything in it is deleted.
    Delete,
    /// This member becomes its owner.
    HandOver(UserId),
}

/// A project only the caller owns: deleting the account needs a decision for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoleOwned {
    pub id: ProjectId,
    pub name: String,
    /// Its other members, who may take it over.
    pub members: Vec<Member>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectSummary {
    pub id: ProjectId,
    pub name: String,
    pub owner: String,
    /// The caller's role on it.
    pub role: Role,
    pub member_count: u32,
    /// RFC 3339, UTC.
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub user: UserInfo,
    pub role: Role,
    pub joined_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteLink {
    pub id: InviteId,
    pub token: String,
    pub role: Role,
    pub created_by: String,
    pub expires_at: String,
}

/// What someone holding an invite link is told before they accept it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitePreview {
    pub project: ProjectId,
    pub project_name: String,
    pub invited_by: String,
    pub role: Role,
    pub expires_at: String,
    /// The caller's current role, if they already belong to the project.
    pub current_role: Option<Role>,
}

/// Everything the IDE shell needs about one project, loaded in one round trip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    pub project: ProjectSummary,
    pub me: UserInfo,
    pub members: Vec<Member>,
}
