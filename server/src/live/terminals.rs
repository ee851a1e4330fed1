//! What the tab socket does with terminal events. The terminals feature sits above `live` (it
//! publishes on the hub and uses the runs' sandbox), so the socket reaches it through this
//! trait, which `terminals::Terminals` implements, rather than by importing it.
//!
//! A terminal may run on another node: then these calls go there (`live::ask`) and wait for
//! its answer, so one tab's keystrokes arrive in the order they were typed.

use std::sync::Arc;

use app::types::{ProjectId, Role, TermId, UserId};
use async_trait::async_trait;

use super::TabId;

#[async_trait]
pub trait TerminalPort: Send + Sync + 'static {
    /// Keystrokes from `user` (with `role` as the socket knows it now); the error is the
    /// reason the tab is told.
    async fn input(
        &self,
        project: ProjectId,
        user: UserId,
        role: Role,
        term: TermId,
        data: String,
    ) -> Result<(), String>;
    /// The tab shows the terminal in a view of `cols` × `rows`.
    async fn attach(&self, project: ProjectId, tab: TabId, term: TermId, cols: u16, rows: u16);
    async fn detach(&self, project: ProjectId, tab: TabId, term: TermId);
    /// The tab is gone (called from a `Drop`: whatever it must tell other nodes is sent in
    /// the background).
    fn detach_tab(&self, project: ProjectId, tab: TabId);
}

/// The terminals behind the tab socket (a handle `AppState` can hand out).
#[derive(Clone)]
pub struct TerminalHandle(pub Arc<dyn TerminalPort>);
