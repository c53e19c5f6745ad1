//! The search both shell providers run: the typed terms, a bounded number of hits with snippets, under
//! the provider deadline, remembered in the provider's [`HitCache`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use fandex_query::{Hit, SearchRequest};

use crate::backend::Backend;
use crate::deadline::{Outcome, Runner};
use crate::hit_cache::HitCache;
use crate::result_id;

/// The most results a provider returns for one query.
pub const PROVIDER_LIMIT: usize = 50;

/// What a provider needs to search.
pub struct ProviderSearch {
    /// The index.
    pub backend: Arc<dyn Backend>,
    /// Where backend calls run.
    pub runner: Runner,
    /// How long the shell waits for an answer at most.
    pub deadline: Duration,
    /// The hits returned lately.
    pub cache: HitCache,
}

impl ProviderSearch {
    /// The hits for `query`, best first, with their ids; empty when the query has nothing to search,
    /// fails, or the backend does not answer before the deadline (what is ready is nothing).
    pub async fn hits(&self, query: Option<String>) -> Vec<(String, Hit)> {
        let Some(query) = query else {
            return Vec::new();
        };
        let backend = self.backend.clone();
        let request = SearchRequest {
            query,
            limit: PROVIDER_LIMIT,
            cwd: PathBuf::from("/"),
            snippets: true,
            home: None,
            ..SearchRequest::default()
        };
        let answer = self
            .runner
            .run(self.deadline, move || backend.search(&request))
            .await;
        let results = match answer {
            Outcome::Done(Ok(results)) => results,
            Outcome::Done(Err(e)) => {
                tracing::debug!(error = %e, "provider search failed");
                return Vec::new();
            }
            Outcome::Late => {
                tracing::warn!(deadline = ?self.deadline, "provider search missed its deadline");
                return Vec::new();
            }
            Outcome::Busy => {
                tracing::warn!("provider search refused: earlier searches still running");
                return Vec::new();
            }
        };
        results
            .hits
            .into_iter()
            .map(|hit| {
                let id = result_id::encode(&hit.path, hit.part.as_deref());
                self.cache.insert(id.clone(), hit.clone());
                (id, hit)
            })
            .collect()
    }
}
