//! The `OpsService` the binary implements; the server functions check that the caller is a
//! server admin before they call anything but [`OpsService::notice`].

use std::sync::Arc;

use async_trait::async_trait;

use super::{Console, Level, Notice, UserAction};
use crate::{
    error::AppResult,
    types::{UserId, UserInfo},
};

#[async_trait]
pub trait OpsService: Send + Sync + 'static {
    /// What every page's notice bar shows (no database read: kept in memory, followed).
    fn notice(&self) -> Notice;
    async fn console(&self) -> AppResult<Console>;
    /// `None` takes the banner down.
    async fn set_banner(&self, by: &UserInfo, text: Option<String>, level: Level) -> AppResult<()>;
    /// `None` lifts maintenance.
    async fn set_maintenance(&self, by: &UserInfo, message: Option<String>) -> AppResult<()>;
    /// Announces a restart in `secs` seconds (`None` withdraws the announcement).
    async fn announce_shutdown(&self, by: &UserInfo, secs: Option<u32>) -> AppResult<()>;
    /// Returns the new password for [`UserAction::ResetPassword`].
    async fn act_on_user(
        &self,
        by: &UserInfo,
        user: UserId,
        action: UserAction,
    ) -> AppResult<Option<String>>;
}

pub fn ops() -> AppResult<Arc<dyn OpsService>> {
    crate::services::service()
}

/// The signed-in user when they are a server admin; `Forbidden` for anyone else.
pub async fn admin() -> AppResult<UserInfo> {
    let me = crate::auth::ssr::current_user().await?;
    if !crate::auth::ssr::accounts()?.is_admin(me.id).await? {
        return Err(crate::AppError::Forbidden);
    }
    Ok(me)
}
