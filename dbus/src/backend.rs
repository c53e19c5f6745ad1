//! What the D-Bus front end needs from whoever owns the index: the [`Backend`] trait and its errors.
//!
//! The daemon implements it over its in-process searcher and pipeline; [`crate::IndexBackend`] implements
//! the search half over an index directory, for use without the daemon; [`crate::SocketBackend`]
//! forwards every call to a daemon's socket (the bridge to a system daemon).

use std::sync::Arc;
use std::time::Duration;

use fandex_query::{Hit, LaterSnippets, QueryError, SearchRequest, SearchResults, Snippet};

/// The index behind the bus objects. Calls may block (they run off the bus thread, under a deadline).
pub trait Backend: Send + Sync + 'static {
    /// Runs one search.
    fn search(&self, request: &SearchRequest) -> Result<SearchResults, BackendError>;
    /// Runs one search (without snippets) whose hits' snippets may be asked for later, with what makes
    /// them from what the search compiled, when the backend keeps that (an in-process index does; the
    /// default keeps nothing, and [`Backend::snippets`] makes them).
    fn search_later(
        &self,
        request: &SearchRequest,
    ) -> Result<(SearchResults, Option<Arc<LaterSnippets>>), BackendError> {
        Ok((self.search(request)?, None))
    }
    /// The snippets `request` (with snippets) gives `hits`, hits a search of `request` without snippets
    /// returned, in their order; an empty one for a hit that no longer matches. The providers search
    /// without snippets and ask for those of the results the shell shows.
    ///
    /// By default the search runs again with snippets and each hit takes the snippet of the same file
    /// or part; a backend that can make them for given hits alone does (the index's, the daemon's).
    fn snippets(
        &self,
        request: &SearchRequest,
        hits: &[Hit],
    ) -> Result<Vec<Snippet>, BackendError> {
        let with = SearchRequest {
            snippets: true,
            ..request.clone()
        };
        let found = self.search(&with)?.hits;
        Ok(hits
            .iter()
            .map(|hit| {
                found
                    .iter()
                    .find(|f| f.path == hit.path && f.part == hit.part)
                    .map(|f| f.snippet.clone())
                    .unwrap_or_default()
            })
            .collect())
    }
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
