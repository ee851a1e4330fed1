//! Server operations: the notice every page shows (an admin's broadcast, maintenance, a
//! restart countdown), kept in one database row that every node follows, and the console's
//! data (status, alerts, users). Maintenance freezes the document engine (every client's write
//! is refused) and `Editor::writable` refuses new runs, terminals and file changes.

pub mod alerts;
pub mod args;
mod service;
pub mod status;
pub mod users;

use std::{sync::Arc, time::Duration};

use app::{
    AppError, AppResult,
    ops::{Banner, Level, Maintenance, Notice, Shutdown},
    types::UserInfo,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
    sea_query::OnConflict,
};
use tokio::sync::watch;

pub use args::Args;
pub use service::OpsConsole;

use crate::{db::entities::ops_state, lock::lock};

/// How often a node reads the notice row for changes made on another node.
const FOLLOW_EVERY: Duration = Duration::from_secs(1);
/// The notice's row.
const ROW: i64 = 1;

/// The refusal for writes during maintenance.
pub fn in_maintenance() -> AppError {
    AppError::Unavailable(
        "Tandem is in maintenance: files are read-only and new runs wait until it ends.".to_owned(),
    )
}

/// The notice as the database has it, and this node's own restart notice while it stops.
#[derive(Default)]
struct Held {
    version: i64,
    shared: Notice,
    stopping: Option<Shutdown>,
}

#[derive(Clone)]
pub struct Ops(Arc<Inner>);

struct Inner {
    db: DatabaseConnection,
    engine: collab::engine::Engine,
    held: std::sync::Mutex<Held>,
    tx: watch::Sender<Notice>,
}

impl Ops {
    /// Reads the notice (a server restarted in maintenance stays in it).
    pub async fn new(db: DatabaseConnection, engine: collab::engine::Engine) -> AppResult<Self> {
        let ops = Self(Arc::new(Inner {
            db,
            engine,
            held: std::sync::Mutex::default(),
            tx: watch::channel(Notice::default()).0,
        }));
        ops.reload().await?;
        Ok(ops)
    }

    pub fn notice(&self) -> Notice {
        self.0.tx.borrow().clone()
    }

    /// Changes of the notice, for the live channels.
    pub fn subscribe(&self) -> watch::Receiver<Notice> {
        self.0.tx.subscribe()
    }

    pub async fn set_banner(
        &self,
        by: &UserInfo,
        text: Option<String>,
        level: Level,
    ) -> AppResult<()> {
        let banner = text.map(|text| Banner {
            text,
            level,
            by: by.name.clone(),
            at_ms: crate::db::now_ms(),
        });
        tracing::info!(admin = %by.name, banner = ?banner.as_ref().map(|b| &b.text), "broadcast banner changed");
        self.change(move |n| n.banner = banner.clone()).await
    }

    pub async fn set_maintenance(&self, by: &UserInfo, message: Option<String>) -> AppResult<()> {
        let by = by.name.clone();
        tracing::warn!(admin = %by, on = message.is_some(), "maintenance mode changed");
        self.change(move |n| {
            n.maintenance = match (message.clone(), n.maintenance.take()) {
                // Already on: a new message keeps the start time.
                (Some(message), Some(m)) => Some(Maintenance { message, ..m }),
                (Some(message), None) => Some(Maintenance {
                    message,
                    by: by.clone(),
                    since_ms: crate::db::now_ms(),
                }),
                (None, _) => None,
            };
        })
        .await
    }

    pub async fn announce_shutdown(&self, by: &UserInfo, secs: Option<u32>) -> AppResult<()> {
        let shutdown = secs.map(|s| Shutdown {
            at_ms: crate::db::now_ms() + i64::from(s) * 1000,
            message: format!(
                "{} announced a restart; your work is saved as you type.",
                by.name
            ),
        });
        tracing::warn!(admin = %by.name, ?secs, "restart announced");
        self.change(move |n| n.shutdown = shutdown.clone()).await
    }

    /// This node is stopping: its pages count down the grace period (not stored: the other
    /// nodes keep serving).
    pub fn stopping(&self, grace: Duration) {
        let at_ms = crate::db::now_ms() + i64::try_from(grace.as_millis()).unwrap_or(0);
        lock(&self.0.held).stopping = Some(Shutdown {
            at_ms,
            message:
                "The server is restarting; your work is saved and the page reconnects by itself."
                    .to_owned(),
        });
        self.publish();
    }

    /// Reads the row, changes it with `edit`, writes it back unless another node changed it
    /// meanwhile (then again, on the newer one), and applies it here.
    async fn change(&self, edit: impl Fn(&mut Notice) + Send) -> AppResult<()> {
        for _ in 0..5 {
            let row = ops_state::Entity::find_by_id(ROW).one(&self.0.db).await?;
            let (version, mut notice) = match &row {
                Some(r) => (r.version, decode(&r.body)),
                None => (0, Notice::default()),
            };
            edit(&mut notice);
            let body = serde_json::to_string(&notice).map_err(|_| AppError::Internal)?;
            let now = crate::db::now();
            let written = match row {
                None => {
                    let row = ops_state::ActiveModel {
                        id: Set(ROW),
                        body: Set(body),
                        version: Set(1),
                        updated_at: Set(now),
                    };
                    // A node that inserted first wins; read again.
                    ops_state::Entity::insert(row)
                        .on_conflict(
                            OnConflict::column(ops_state::Column::Id)
                                .do_nothing()
                                .to_owned(),
                        )
                        .exec_without_returning(&self.0.db)
                        .await?
                        > 0
                }
                Some(_) => {
                    ops_state::Entity::update_many()
                        .col_expr(ops_state::Column::Body, body.into())
                        .col_expr(ops_state::Column::Version, (version + 1).into())
                        .col_expr(ops_state::Column::UpdatedAt, now.into())
                        .filter(ops_state::Column::Id.eq(ROW))
                        .filter(ops_state::Column::Version.eq(version))
                        .exec(&self.0.db)
                        .await?
                        .rows_affected
                        > 0
                }
            };
            if written {
                self.apply(version + 1, notice);
                return Ok(());
            }
        }
        Err(AppError::Conflict(
            "The notice is being changed by someone else; try again.".to_owned(),
        ))
    }

    /// Applies the row if it is newer than what this node has: its version is read every
    /// second, its body only when the version moved.
    async fn reload(&self) -> AppResult<()> {
        let version: Option<i64> = ops_state::Entity::find_by_id(ROW)
            .select_only()
            .column(ops_state::Column::Version)
            .into_tuple()
            .one(&self.0.db)
            .await?;
        if version.is_none_or(|v| v <= lock(&self.0.held).version) {
            return Ok(());
        }
        if let Some(row) = ops_state::Entity::find_by_id(ROW).one(&self.0.db).await? {
            self.apply(row.version, decode(&row.body));
        }
        Ok(())
    }

    fn apply(&self, version: i64, notice: Notice) {
        {
            let mut held = lock(&self.0.held);
            if version <= held.version {
                return;
            }
            held.version = version;
            held.shared = notice;
        }
        self.publish();
    }

    /// Freezes or thaws the engine and tells the live channels (only when something changed).
    fn publish(&self) {
        let notice = {
            let held = lock(&self.0.held);
            let mut notice = held.shared.clone();
            if let Some(stopping) = &held.stopping {
                notice.shutdown = Some(stopping.clone());
            }
            notice
        };
        self.0.engine.set_frozen(notice.maintenance.is_some());
        self.0.tx.send_if_modified(|now| {
            let changed = *now != notice;
            *now = notice;
            changed
        });
    }

    /// Follows changes made on other nodes (or by `tandem` commands) until aborted.
    pub async fn follow(self) {
        let mut tick = tokio::time::interval(FOLLOW_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.reload().await {
                tracing::debug!(error = %e, "cannot read the server notice");
            }
        }
    }
}

/// A stored notice; an unreadable one (a newer server's format) reads as none.
fn decode(body: &str) -> Notice {
    serde_json::from_str(body).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "unreadable server notice; showing none");
        Notice::default()
    })
}
