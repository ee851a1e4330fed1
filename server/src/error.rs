//! The server crate's error type. Everything internal (I/O, hashing, a failed task) becomes
//! `AppError::Internal` for the client in one `From` impl, which logs the cause; database
//! errors convert the same way through `app`'s `From<DbErr>`, so service code uses `?`.

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
    /// A bounded resource is in use to its limit; the message says which and what to do.
    #[error("{0}")]
    Busy(String),
}

pub type Result<T, E = ServerError> = std::result::Result<T, E>;

impl From<ServerError> for AppError {
    fn from(e: ServerError) -> Self {
        if let ServerError::Busy(message) = e {
            return AppError::Unavailable(message);
        }
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

/// Runs blocking work (decoding, hashing, unpacking) off the async threads; a panic in it is
/// logged with its cause and answers `Internal`.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    Ok(tokio::task::spawn_blocking(work)
        .await
        .map_err(ServerError::from)?)
}
