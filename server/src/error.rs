//! The server crate's error type. Everything internal (database, I/O, hashing) becomes
//! `AppError::Internal` for the client in one `From` impl, which logs the cause.

use app::AppError;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("password hashing: {0}")]
    Hash(String),
    #[error("background task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error("{0}")]
    Usage(String),
}

pub type Result<T, E = ServerError> = std::result::Result<T, E>;

impl From<ServerError> for AppError {
    fn from(e: ServerError) -> Self {
        tracing::error!(error = %e, "internal error");
        AppError::Internal
    }
}

/// `Internal` for a state that would be a bug (a row gone between two statements of one
/// operation), with what happened in the log: no `Internal` reaches a user unexplained.
pub(crate) fn bug(what: &'static str) -> AppError {
    tracing::error!(what, "internal error: an invariant did not hold");
    AppError::Internal
}

/// Lets service code use `?` on sea-orm calls inside functions returning `AppResult`.
pub(crate) trait Internal<T> {
    fn internal(self) -> Result<T, AppError>;
}

impl<T, E: Into<ServerError>> Internal<T> for std::result::Result<T, E> {
    fn internal(self) -> Result<T, AppError> {
        self.map_err(|e| AppError::from(e.into()))
    }
}
