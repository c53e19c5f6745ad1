//! A [`Backend`] over an index directory, for use without the daemon: search only; `Sync`, `Pause` and
//! `Resume` answer "not supported without the daemon".
//!
//! It opens the index read-only (no writer lock), so it works while a daemon or `fandex index` writes
//! it; it picks up their commits at most [`RELOAD_EVERY`] late.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fandex_indexer::{Config, IndexDir};
use fandex_query::{Hit, LaterSnippets, QueryEngine, SearchRequest, SearchResults, Snippet};

use crate::backend::{Backend, BackendError};

/// How often a search reloads the index to see new commits.
pub const RELOAD_EVERY: Duration = Duration::from_millis(500);

/// Searches an index directory.
pub struct IndexBackend {
    dir: IndexDir,
    engine: QueryEngine,
    reader: tantivy::IndexReader,
    last_reload: Mutex<Instant>,
}

impl IndexBackend {
    /// Opens the index in `dir` for searching, relevance blended as `config`'s `[rank]` says (as the
    /// daemon and `fandex search` do: [`crate::searcher`]).
    pub fn open(dir: IndexDir, config: &Config) -> Result<Self, fandex_indexer::Error> {
        let (engine, reader) = crate::searcher::open_searcher(&dir, config)?;
        Ok(Self {
            dir,
            engine,
            reader,
            last_reload: Mutex::new(Instant::now()),
        })
    }

    fn reload_if_due(&self) {
        let mut last = self.last_reload.lock().unwrap_or_else(|p| p.into_inner());
        if last.elapsed() >= RELOAD_EVERY {
            if let Err(e) = self.reader.reload() {
                tracing::warn!(error = %e, dir = %self.dir.path().display(), "cannot reload the index");
            }
            *last = Instant::now();
        }
    }
}

impl Backend for IndexBackend {
    fn search(&self, request: &SearchRequest) -> Result<SearchResults, BackendError> {
        self.reload_if_due();
        Ok(self.engine.search(request)?)
    }

    fn search_later(
        &self,
        request: &SearchRequest,
    ) -> Result<(SearchResults, Option<Arc<LaterSnippets>>), BackendError> {
        self.reload_if_due();
        let (results, later) = self.engine.search_later(request)?;
        Ok((results, Some(Arc::new(later))))
    }

    fn snippets(
        &self,
        request: &SearchRequest,
        hits: &[Hit],
    ) -> Result<Vec<Snippet>, BackendError> {
        Ok(self.engine.snippets(request, hits)?)
    }

    fn status(&self) -> Result<serde_json::Value, BackendError> {
        Ok(serde_json::json!({
            "daemon": false,
            "index": self.dir.path().to_string_lossy(),
            "documents": self.engine.num_docs(),
        }))
    }

    fn sync(&self, _timeout: Duration) -> Result<u64, BackendError> {
        Err(BackendError::NotSupported { what: "sync" })
    }

    fn pause(&self, _duration: Option<Duration>) -> Result<(), BackendError> {
        Err(BackendError::NotSupported { what: "pause" })
    }

    fn resume(&self) -> Result<(), BackendError> {
        Err(BackendError::NotSupported { what: "resume" })
    }
}
