//! What the D-Bus front end needs from whoever owns the index: the [`Backend`] trait and its errors.
//!
//! The daemon implements it over its in-process searcher and pipeline; [`crate::IndexBackend`] implements
//! the search half over an index directory, for use without the daemon; [`crate::SocketBackend`]
//! forwards every call to a daemon's socket (the bridge to a system daemon).

use std::time::Duration;

use fandex_query::{QueryError, SearchRequest, SearchResults};

/// The index behind the bus objects. Calls may block (they run off the bus thread, under a deadline).
pub trait Backend: Send + Sync + 'static {
    /// Runs one search.
    fn search(&self, request: &SearchRequest) -> Result<SearchResults, BackendError>;
    /// The status report, the same JSON object the socket protocol's `status` answer carries.
    fn status(&self) -> Result<serde_json::Value, BackendError>;
    /// Returns once every change made before the call is searchable, with the commit generation that
    /// made them visible; fails with [`BackendError::Timeout`] after `timeout`.
    fn sync(&self, timeout: Duration) -> Result<u64, BackendError>;
    /// Stops applying changes (they keep being recorded) for `duration`, or until [`Backend::resume`]
    /// when `None`.
    fn pause(&self, duration: Option<Duration>) -> Result<(), BackendError>;
    /// Applies the changes recorded while paused and carries on.
    fn resume(&self) -> Result<(), BackendError>;
}

/// Why a backend call failed. Each kind maps to one D-Bus error name (see [`crate::errors`]).
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The query or request is wrong (bad syntax, beyond a limit).
    #[error(transparent)]
    Query(#[from] QueryError),
    /// The backend cannot do this at all (`what` names the operation).
    #[error("{what} is not supported without the daemon")]
    NotSupported {
        /// The operation, e.g. "pause".
        what: &'static str,
    },
    /// The request was refused as wrong by whoever answers it (a daemon behind a socket: bad syntax,
    /// beyond a limit); the message says why.
    #[error("{0}")]
    BadRequest(String),
    /// The caller may not do this (pausing a daemon that is not theirs).
    #[error("{0}")]
    Denied(String),
    /// The call did not finish in time.
    #[error("{0}")]
    Timeout(String),
    /// The backend is busy or stopping.
    #[error("{0}")]
    Unavailable(String),
    /// Anything else (one line for the user).
    #[error("{0}")]
    Internal(String),
}
