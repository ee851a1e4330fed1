//! The signed-in landing page: my projects with who is in them now, what my team did (the
//! activity feed), runs in progress, mentions of me, and the ways to start a project. Live: the
//! page follows `/api/dashboard/live` and refetches what changed.

use leptos::prelude::*;

pub mod model;
mod page;
mod project_page;
#[cfg(feature = "ssr")]
pub mod ssr;
mod view;

pub use model::*;
pub use page::Dashboard;
pub use project_page::ProjectDashboard;

use server_fn::codec::Json;

use crate::{error::AppError, types::MessageId};

/// The dashboard: my projects, the feed as `filter` asks, mentions.
#[server(endpoint = "dashboard/team", input = Json)]
pub async fn load_dashboard(filter: FeedFilter) -> Result<TeamDashboard, AppError> {
    let me = crate::auth::ssr::current_user().await?;
    ssr::dashboard()?.team(me.id, filter).await
}

/// A project's own dashboard (any member).
#[server(endpoint = "dashboard/project", input = Json)]
pub async fn load_project_overview(
    project: crate::types::ProjectId,
) -> Result<ProjectOverview, AppError> {
    let me = crate::auth::ssr::current_user().await?;
    ssr::dashboard()?.project(me.id, project).await
}

/// Marks mentions of me read: one message's, or all.
#[server(endpoint = "dashboard/mentions_read", input = Json)]
pub async fn read_mentions(message: Option<MessageId>) -> Result<u64, AppError> {
    let me = crate::auth::ssr::current_user().await?;
    ssr::dashboard()?.read_mentions(me.id, message).await
}
