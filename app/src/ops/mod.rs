//! Server operations: the admins' console (`/admin`: health, users, alerts, broadcast,
//! maintenance, restart notice) and the notice bar every page shows (broadcast, maintenance,
//! restart countdown). The bar learns of changes from the project socket and the dashboard's
//! stream at once, and on any page by asking every [`banner::POLL_SECS`].

use leptos::prelude::*;
use server_fn::codec::Json;

pub mod banner;
pub mod model;
mod page;
#[cfg(feature = "ssr")]
pub mod ssr;

pub use banner::NoticeBar;
pub use model::*;
pub use page::OpsConsole;

use crate::{error::AppError, types::UserId};

/// What the notice bar shows now; anyone may ask (the login page shows maintenance too).
#[server(endpoint = "ops/notice", input = Json)]
pub async fn current_notice() -> Result<Notice, AppError> {
    Ok(ssr::ops()?.notice())
}

/// The console: status, users, alerts, the notice. Admins only.
#[server(endpoint = "ops/console", input = Json)]
pub async fn load_console() -> Result<Console, AppError> {
    ssr::admin().await?;
    ssr::ops()?.console().await
}

/// Shows `text` to everyone signed in (empty text takes the banner down). Admins only.
#[server(endpoint = "ops/banner", input = Json)]
pub async fn set_banner(text: String, level: Level) -> Result<(), AppError> {
    let me = ssr::admin().await?;
    let text = if text.trim().is_empty() {
        None
    } else {
        Some(message(&text)?)
    };
    ssr::ops()?.set_banner(&me, text, level).await
}

/// Starts maintenance with `message` (`on` false lifts it). Admins only.
#[server(endpoint = "ops/maintenance", input = Json)]
pub async fn set_maintenance(on: bool, message: String) -> Result<(), AppError> {
    let me = ssr::admin().await?;
    let message = if on {
        Some(if message.trim().is_empty() {
            "Tandem is in maintenance: files are read-only for a few minutes.".to_owned()
        } else {
            model::message(&message)?
        })
    } else {
        None
    };
    ssr::ops()?.set_maintenance(&me, message).await
}

/// Announces a restart in `secs` seconds (0 withdraws it). Admins only.
#[server(endpoint = "ops/shutdown", input = Json)]
pub async fn announce_shutdown(secs: u32) -> Result<(), AppError> {
    let me = ssr::admin().await?;
    if secs > SHUTDOWN_MAX_SECS {
        return Err(AppError::invalid(
            "secs",
            format!("At most {SHUTDOWN_MAX_SECS} seconds."),
        ));
    }
    ssr::ops()?
        .announce_shutdown(&me, (secs > 0).then_some(secs))
        .await
}

/// Disables, enables, signs out or resets the password of `user`; the new password when reset.
/// Admins only, and never on themselves (an admin cannot lock themselves out here).
#[server(endpoint = "ops/user", input = Json)]
pub async fn act_on_user(user: UserId, action: UserAction) -> Result<Option<String>, AppError> {
    let me = ssr::admin().await?;
    if user == me.id {
        return Err(AppError::invalid(
            "user",
            "Use your account page for your own account.",
        ));
    }
    ssr::ops()?.act_on_user(&me, user, action).await
}
