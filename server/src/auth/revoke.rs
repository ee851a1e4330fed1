//! Live revocation: a socket is authorised when it opens and must stay authorised while it
//! stays open. The services that change access (roles, removal, project deletion, sign-out)
//! announce it here after their transaction commits; every open socket holds an [`AccessWatch`]
//! and ends (or narrows) itself the moment its user loses access, without polling the database.
//!
//! The announcements carry the new state, so the common case costs no query. A watch that
//! missed announcements (its queue overflowed) or whose session record reaches its expiry
//! rereads both from the database instead.
//!
//! Other processes sharing the database (the `tandem user password` command beside a running
//! server; more nodes) announce through the `access_changes` table as well: each server follows
//! it ([`Revocations::follow`]) every [`FOLLOW_EVERY`], one query per server however many
//! sockets are open.

use std::time::Duration;

use app::{
    AppError,
    projects::ssr::Projects,
    types::{ProjectId, Role, UserId},
};
use tokio::{
    sync::broadcast,
    time::{Instant, sleep_until},
};
use tower_sessions::{SessionStore, session::Id};

use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::session_store::DbSessionStore;
use crate::db::entities::access_change;
use crate::held::Held;

/// Announcements a watch may fall behind by before it rereads the database instead.
const QUEUE: usize = 1024;
/// When a reread fails (the database is down), the socket stays as it is and tries again this
/// much later, rather than cutting everyone off because of an outage.
const RETRY: Duration = Duration::from_secs(5);

/// How often a server reads the announcements of other processes.
pub const FOLLOW_EVERY: Duration = Duration::from_millis(500);
/// How long announcements stay in the table: long enough for every follower to have read them.
const KEEP_FOR_SECS: i64 = 600;

/// A change to who may do what, announced after it is committed. Plain data with serde, so a
/// message broker can carry it between nodes as it is (scale-out).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AccessChange {
    /// `user`'s role on `project` is now `role`; `None` when they are no longer a member.
    Role {
        project: ProjectId,
        user: UserId,
        role: Option<Role>,
    },
    /// The project and everything in it is gone.
    ProjectDeleted { project: ProjectId },
    /// The session was signed out (or replaced at sign-in); its id in string form (the
    /// number does not fit JSON).
    SessionEnded { session: String },
}

/// The announcement channel of one process, and its id among those sharing the database.
#[derive(Clone)]
pub struct Revocations {
    tx: broadcast::Sender<AccessChange>,
    origin: i64,
}

impl Default for Revocations {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(QUEUE).0,
            // Positive and random: unique among the processes alive at once.
            origin: i64::from(rand::random::<u32>()) << 16 | i64::from(rand::random::<u16>()),
        }
    }
}

impl Revocations {
    /// Tells this process's sockets.
    pub fn publish(&self, change: AccessChange) {
        // No receiver means no socket is open: nobody to tell.
        let _ = self.tx.send(change);
    }

    /// Tells this process's sockets at once and every other process through the table. A
    /// failed insert is logged: this process's sockets are told regardless, and the others
    /// still notice at their sessions' expiry or their next role check.
    pub async fn announce(&self, db: &DatabaseConnection, change: AccessChange) {
        self.publish(change.clone());
        let body = match serde_json::to_string(&change) {
            Ok(body) => body,
            Err(e) => {
                tracing::error!(error = %e, "cannot encode an access change");
                return;
            }
        };
        let row = access_change::ActiveModel {
            origin: Set(self.origin),
            body: Set(body),
            created_at: Set(crate::db::now()),
            ..Default::default()
        };
        if let Err(e) = access_change::Entity::insert(row).exec(db).await {
            tracing::warn!(error = %e, "could not record an access change for other processes");
        }
    }

    /// Publishes here what other processes announce, until the server stops; also drops
    /// announcements every follower has had time to read.
    pub async fn follow(self, db: DatabaseConnection) {
        let mut last = loop {
            match newest(&db).await {
                Ok(id) => break id,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read access changes; retrying");
                    tokio::time::sleep(RETRY).await;
                }
            }
        };
        let mut tick = tokio::time::interval(FOLLOW_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ticks = 0u64;
        loop {
            tick.tick().await;
            ticks += 1;
            let rows = access_change::Entity::find()
                .filter(access_change::Column::Id.gt(last))
                .order_by_asc(access_change::Column::Id)
                .limit(QUEUE as u64)
                .all(&db)
                .await;
            match rows {
                Ok(rows) => {
                    for row in rows {
                        last = row.id;
                        if row.origin == self.origin {
                            continue;
                        }
                        match serde_json::from_str::<AccessChange>(&row.body) {
                            Ok(change) => self.publish(change),
                            Err(e) => tracing::warn!(error = %e, "unreadable access change"),
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot read access changes"),
            }
            // About once a minute.
            if ticks.is_multiple_of(120) {
                let old = access_change::Entity::delete_many()
                    .filter(access_change::Column::CreatedAt.lt(crate::db::now() - KEEP_FOR_SECS))
                    .exec(&db)
                    .await;
                if let Err(e) = old {
                    tracing::debug!(error = %e, "could not prune access changes");
                }
            }
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<AccessChange> {
        self.tx.subscribe()
    }
}

async fn newest(db: &DatabaseConnection) -> Result<i64, sea_orm::DbErr> {
    Ok(access_change::Entity::find()
        .order_by_desc(access_change::Column::Id)
        .one(db)
        .await?
        .map_or(0, |row| row.id))
}

/// Why a socket loses access entirely; each maps to a close code the browser understands
/// (`app::live::events::close`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    SignedOut,
    NoAccess,
    ProjectDeleted,
}

/// What a watch reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Still a member, with a different role.
    Role(Role),
    Revoked(Revoked),
}

/// Who a socket acts for, and the access it was opened with.
#[derive(Debug, Clone)]
pub struct Grant {
    pub user: UserId,
    pub project: ProjectId,
    pub role: Role,
    /// The session the socket was opened with; `None` for a document token (which is not
    /// tied to a session: it lapses on its own and is checked against the role like a session).
    pub session: Option<String>,
}

/// One socket's view of the announcements; see the module comment. Sockets race
/// [`AccessWatch::changed`] against their output for every frame they send, so the wait is
/// [`Held`] between those races: made afresh each time, it cost two locks on the announcement
/// queue that every socket shares per delivered message (profile in BENCHMARKS.md).
pub struct AccessWatch {
    role: Role,
    wait: Held<Watcher, Verdict>,
}

async fn wait(mut watcher: Watcher) -> (Watcher, Verdict) {
    let verdict = watcher.changed().await;
    (watcher, verdict)
}

/// What one socket's held access wait takes on the heap.
#[cfg(test)]
pub(crate) fn wait_size() -> usize {
    fn output_size<A, F>(_: impl FnOnce(A) -> F) -> usize {
        std::mem::size_of::<F>()
    }
    output_size(wait)
}

impl AccessWatch {
    pub async fn new(
        grant: Grant,
        revocations: &Revocations,
        projects: std::sync::Arc<dyn Projects>,
        sessions: DbSessionStore,
    ) -> Self {
        let watcher = Watcher::new(grant, revocations, projects, sessions).await;
        Self {
            role: watcher.grant.role,
            wait: Held::new(wait(watcher)),
        }
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// Waits until this socket's access changes. Cancel-safe: the wait stays in `self`.
    pub async fn changed(&mut self) -> Verdict {
        let role = &mut self.role;
        self.wait
            .next(|watcher| {
                *role = watcher.grant.role;
                wait(watcher)
            })
            .await
    }
}

/// The state behind an [`AccessWatch`].
struct Watcher {
    grant: Grant,
    rx: broadcast::Receiver<AccessChange>,
    projects: std::sync::Arc<dyn Projects>,
    sessions: DbSessionStore,
    /// When to reread the session record (its expiry), if there is one.
    recheck_at: Option<Instant>,
    /// Reread everything before waiting again (after a lag, an expiry, or a cancelled reread).
    stale: bool,
}

impl Watcher {
    async fn new(
        grant: Grant,
        revocations: &Revocations,
        projects: std::sync::Arc<dyn Projects>,
        sessions: DbSessionStore,
    ) -> Self {
        // Subscribe first: a change committed while this runs is then either already in the
        // database the socket was authorised from, or in the queue.
        let rx = revocations.subscribe();
        let mut watch = Self {
            grant,
            rx,
            projects,
            sessions,
            recheck_at: None,
            stale: false,
        };
        watch.recheck_at = match watch.grant.session.clone() {
            Some(id) => match watch.session_expiry(&id).await {
                Ok(Some(at)) => Some(at),
                // Gone already (signed out in between): the first wait reports it.
                Ok(None) => {
                    watch.stale = true;
                    None
                }
                Err(()) => Some(Instant::now() + RETRY),
            },
            None => None,
        };
        watch
    }

    /// Waits until this socket's access changes. Cancel-safe: an announcement is taken from
    /// the queue and acted on without awaiting, and a database reread that is cancelled is
    /// started again by the next call.
    async fn changed(&mut self) -> Verdict {
        loop {
            if self.stale {
                if let Some(verdict) = self.reread().await {
                    return verdict;
                }
                continue;
            }
            let recheck_at = self.recheck_at;
            tokio::select! {
                change = self.rx.recv() => match change {
                    Ok(change) => {
                        if let Some(verdict) = apply(&mut self.grant, &change) {
                            return verdict;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => self.stale = true,
                    // The sender lives as long as the server; nothing more will come.
                    Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
                },
                () = sleep_until(recheck_at.unwrap_or_else(Instant::now)), if recheck_at.is_some() => {
                    self.stale = true;
                }
            }
        }
    }

    /// Reads the session and the role from the database. `None` when nothing changed (or the
    /// database could not answer; then it tries again after [`RETRY`]).
    async fn reread(&mut self) -> Option<Verdict> {
        if let Some(id) = self.grant.session.clone() {
            match self.session_expiry(&id).await {
                Ok(Some(at)) => self.recheck_at = Some(at),
                Ok(None) => return Some(Verdict::Revoked(Revoked::SignedOut)),
                Err(()) => return self.retry_later(),
            }
        }
        let verdict = match self
            .projects
            .role_of(self.grant.project, self.grant.user)
            .await
        {
            Ok(None) => Some(Verdict::Revoked(Revoked::NoAccess)),
            Err(AppError::NotFound(_)) => Some(Verdict::Revoked(Revoked::ProjectDeleted)),
            Ok(Some(role)) if role != self.grant.role => {
                self.grant.role = role;
                Some(Verdict::Role(role))
            }
            Ok(Some(_)) => None,
            Err(e) => {
                tracing::warn!(error = %e, "could not recheck a socket's role");
                return self.retry_later();
            }
        };
        self.stale = false;
        verdict
    }

    fn retry_later(&mut self) -> Option<Verdict> {
        self.stale = false;
        self.recheck_at = Some(Instant::now() + RETRY);
        None
    }

    /// When the stored session record expires, or `None` if it is gone (or expired).
    async fn session_expiry(&self, id: &str) -> Result<Option<Instant>, ()> {
        // An id that does not parse names no session that could still be live.
        let Ok(id) = id.parse::<Id>() else {
            return Ok(None);
        };
        match self.sessions.load(&id).await {
            Ok(Some(record)) => {
                let left = record.expiry_date - time::OffsetDateTime::now_utc();
                let left = Duration::try_from(left).unwrap_or_default();
                // A second past the expiry, so the record reads as expired when we look.
                Ok(Some(Instant::now() + left + Duration::from_secs(1)))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                tracing::warn!(error = %e, "could not recheck a socket's session");
                Err(())
            }
        }
    }
}

/// What one announcement means for a socket with `grant` (whose role it updates).
fn apply(grant: &mut Grant, change: &AccessChange) -> Option<Verdict> {
    match *change {
        AccessChange::Role {
            project,
            user,
            role,
        } if project == grant.project && user == grant.user => match role {
            None => Some(Verdict::Revoked(Revoked::NoAccess)),
            Some(role) if role != grant.role => {
                grant.role = role;
                Some(Verdict::Role(role))
            }
            Some(_) => None,
        },
        AccessChange::ProjectDeleted { project } if project == grant.project => {
            Some(Verdict::Revoked(Revoked::ProjectDeleted))
        }
        AccessChange::SessionEnded { ref session } if grant.session.as_ref() == Some(session) => {
            Some(Verdict::Revoked(Revoked::SignedOut))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant() -> Grant {
        Grant {
            user: UserId(2),
            project: ProjectId(5),
            role: Role::Editor,
            session: Some(Id(42).to_string()),
        }
    }

    /// Which announcements concern a socket, and what they mean (no database involved).
    fn verdicts(changes: &[AccessChange]) -> Vec<Option<Verdict>> {
        let mut grant = grant();
        changes.iter().map(|c| apply(&mut grant, c)).collect()
    }

    #[test]
    fn announcements_survive_a_broker() {
        let changes = [
            AccessChange::Role {
                project: ProjectId(5),
                user: UserId(2),
                role: Some(Role::Viewer),
            },
            AccessChange::ProjectDeleted {
                project: ProjectId(5),
            },
            AccessChange::SessionEnded {
                session: Id(42).to_string(),
            },
        ];
        for c in changes {
            let json = serde_json::to_string(&c).expect("encodes");
            let back: AccessChange = serde_json::from_str(&json).expect("decodes");
            assert_eq!(back, c, "{json}");
        }
    }

    #[test]
    fn only_changes_to_this_socket_count() {
        let other_user = AccessChange::Role {
            project: ProjectId(5),
            user: UserId(3),
            role: None,
        };
        let other_project = AccessChange::Role {
            project: ProjectId(6),
            user: UserId(2),
            role: None,
        };
        let same_role = AccessChange::Role {
            project: ProjectId(5),
            user: UserId(2),
            role: Some(Role::Editor),
        };
        let other_session = AccessChange::SessionEnded {
            session: Id(43).to_string(),
        };
        assert_eq!(
            verdicts(&[other_user, other_project, same_role, other_session]),
            vec![None, None, None, None]
        );
    }

    #[test]
    fn role_changes_removal_deletion_and_sign_out() {
        let demoted = AccessChange::Role {
            project: ProjectId(5),
            user: UserId(2),
            role: Some(Role::Viewer),
        };
        let removed = AccessChange::Role {
            project: ProjectId(5),
            user: UserId(2),
            role: None,
        };
        assert_eq!(
            verdicts(&[
                demoted.clone(),
                demoted,
                removed,
                AccessChange::ProjectDeleted {
                    project: ProjectId(5)
                },
                AccessChange::SessionEnded {
                    session: Id(42).to_string(),
                },
            ]),
            vec![
                Some(Verdict::Role(Role::Viewer)),
                // Already a viewer: nothing new.
                None,
                Some(Verdict::Revoked(Revoked::NoAccess)),
                Some(Verdict::Revoked(Revoked::ProjectDeleted)),
                Some(Verdict::Revoked(Revoked::SignedOut)),
            ]
        );
    }
}
