//! The one error type every server function returns. It crosses the wire, so it carries only what
//! the user may see; internal causes are logged on the server where they are converted.

use serde::{Deserialize, Serialize};
use server_fn::{
    ServerFnError,
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Please log in.")]
    NotSignedIn,
    #[error("Your session expired. Please log in again.")]
    SessionExpired,
    #[error("You don't have access to this.")]
    Forbidden,
    #[error("{0} not found.")]
    NotFound(String),
    /// A form field failed validation; `field` names the input so the form can point at it.
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("Too many attempts. Try again in {retry_after_secs} seconds.")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    Conflict(String),
    /// A per-user limit is reached (open connections, projects); the message names it.
    #[error("{0}")]
    TooMany(String),
    /// A feature the server is not set up for (no AI provider configured); says how to set
    /// it up.
    #[error("{0}")]
    Unavailable(String),
    /// Something broke on the server; the details are in the server log, never in the response.
    #[error("Something went wrong on the server. Please try again.")]
    Internal,
    /// The request never reached a server function (network down, bad payload).
    #[error("Could not reach the server: {0}")]
    Transport(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// The HTTP status this error maps to; used for server-fn responses and SSR pages alike.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotSignedIn | Self::SessionExpired => 401,
            Self::Forbidden => 403,
            Self::NotFound(_) => 404,
            Self::Invalid { .. } => 422,
            Self::RateLimited { .. } => 429,
            Self::Conflict(_) => 409,
            Self::TooMany(_) => 429,
            Self::Unavailable(_) => 503,
            Self::Internal => 500,
            Self::Transport(_) => 502,
        }
    }

    /// The same validation error, pointed at another form field (a check shared by two forms
    /// whose inputs are named differently).
    pub fn for_field(self, name: &str) -> Self {
        match self {
            Self::Invalid { message, .. } => Self::invalid(name, message),
            other => other,
        }
    }

    /// The message for one form field, if this error is about that field.
    pub fn field_message(&self, name: &str) -> Option<String> {
        match self {
            Self::Invalid { field, message } if field == name => Some(message.clone()),
            _ => None,
        }
    }

    pub fn needs_login(&self) -> bool {
        matches!(self, Self::NotSignedIn | Self::SessionExpired)
    }
}

/// The one way a plain HTTP or websocket route answers an error: its status and the message the
/// user may see (server functions answer through `FromServerFnError` below).
#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for AppError {
    fn into_response(self) -> axum::response::Response {
        let status = axum::http::StatusCode::from_u16(self.status())
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        (status, self.to_string()).into_response()
    }
}

/// Database errors become `Internal` with their cause in the log, so server code answers with
/// `?` (the other server-side causes go through `server::error::ServerError`).
#[cfg(feature = "ssr")]
impl From<sea_orm::DbErr> for AppError {
    fn from(e: sea_orm::DbErr) -> Self {
        tracing::error!(error = %e, "database error");
        Self::Internal
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(e) | ServerFnErrorErr::Response(e) => Self::Transport(e),
            ServerFnErrorErr::Args(e) | ServerFnErrorErr::Deserialization(e) => {
                Self::invalid("", format!("Malformed request: {e}"))
            }
            other => {
                #[cfg(feature = "ssr")]
                tracing::error!(error = %other, "server function failed outside its body");
                let _ = other;
                Self::Internal
            }
        }
    }
}

impl From<ServerFnError> for AppError {
    fn from(value: ServerFnError) -> Self {
        #[cfg(feature = "ssr")]
        tracing::error!(error = %value, "server function plumbing failed");
        let _ = value;
        Self::Internal
    }
}

/// Sets the HTTP status of a server-rendered page that shows this error. Server-function
/// responses get theirs from the server's error-status middleware.
pub fn set_page_status(error: &AppError) {
    #[cfg(feature = "ssr")]
    if let Some(options) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
        && let Ok(status) = axum::http::StatusCode::from_u16(error.status())
    {
        options.set_status(status);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = error;
}
