//! The project AI settings service the settings page calls: the owners' switches, and what
//! the project's AI use came to.

use app::{
    AppError, AppResult,
    projects::ai::{AiOverview, AiSwitches, USAGE_DAYS, ssr::AiService},
    types::{ProjectId, UserId},
};
use async_trait::async_trait;

use super::switches::Switches;
use crate::chat::ai::usage::Usage;

#[derive(Clone)]
pub struct AiSettings {
    pub switches: Switches,
    pub usage: Usage,
    /// The server has an AI provider.
    pub provider: bool,
    /// `--ai-completions`.
    pub server_completions: bool,
}

#[async_trait]
impl AiService for AiSettings {
    async fn overview(&self, project: ProjectId, owner: bool) -> AppResult<AiOverview> {
        let usage = if owner {
            Some(self.usage.read(project, USAGE_DAYS).await?)
        } else {
            None
        };
        Ok(AiOverview {
            switches: self.switches.get(project).await?,
            provider: self.provider,
            server_completions: self.server_completions,
            usage,
        })
    }

    async fn set_switches(
        &self,
        project: ProjectId,
        by: UserId,
        switches: AiSwitches,
    ) -> AppResult<()> {
        self.switches.set(project, by, switches).await
    }

    async fn assistant_on(&self, project: ProjectId) -> AppResult<()> {
        if self.switches.get(project).await?.assistant {
            Ok(())
        } else {
            Err(AppError::Unavailable(
                "The project's owners turned the assistant off (project settings → AI).".into(),
            ))
        }
    }
}
