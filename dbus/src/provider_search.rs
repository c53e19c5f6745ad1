//! The search both shell providers run: the typed terms, a bounded number of hits, under the provider
//! deadline, remembered in the provider's [`HitCache`]; and the snippets of the hits a shell shows.
//!
//! Snippets are most of a broad query's time, and a shell shows a few of the results it gets: GNOME
//! Shell asks for all the ids first ([`Snippets::Later`]) and for the metas (names, snippets) of the
//! ones it shows afterwards ([`ProviderSearch::shown`]); KRunner takes a subtext with each match, so
//! its search makes the snippets at once, for the [`KRUNNER_LIMIT`] matches it returns
//! ([`Snippets::Now`]). Either way a hit's snippet is the same text a search with snippets gives it.
//! The later snippets are made from what the search compiled when the backend keeps it
//! ([`fandex_query::LaterSnippets`], kept for the last few searches): one search per query, however
//! few its hits.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fandex_query::{Hit, SearchRequest};

use crate::backend::{Backend, BackendError};
use crate::deadline::{Outcome, Runner};
use crate::hit_cache::{Cached, HitCache, Pending};
use crate::result_id;

/// The most results the GNOME provider returns for one query (the shell shows a few of them).
pub const PROVIDER_LIMIT: usize = 50;

/// The most matches KRunner gets for one query line: each carries its snippet, made at once. KRunner's
/// results model has no limit of its own by default (`ResultsModel::limit` 0), so this is the bound:
/// about two screens of its list.
pub const KRUNNER_LIMIT: usize = 20;

/// When a search's hits get their snippets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Snippets {
    /// With the hits.
    Now,
    /// When the shell asks for a hit's metas ([`ProviderSearch::shown`]).
    Later,
}

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
    /// At most `limit` hits for `query`, best first, with their ids; empty when the query has nothing
    /// to search, fails, or the backend does not answer before the deadline (what is ready is nothing).
    pub async fn hits(
        &self,
        query: Option<String>,
        limit: usize,
        snippets: Snippets,
    ) -> Vec<(String, Hit)> {
        let Some(query) = query else {
            return Vec::new();
        };
        let request = Arc::new(SearchRequest {
            query,
            limit,
            cwd: PathBuf::from("/"),
            snippets: snippets == Snippets::Now,
            home: None,
            ..SearchRequest::default()
        });
        let backend = self.backend.clone();
        let asked = request.clone();
        let later = snippets == Snippets::Later;
        let answer = self
            .runner
            .run(self.deadline, move || match later {
                true => backend.search_later(&asked),
                false => backend.search(&asked).map(|results| (results, None)),
            })
            .await;
        let Some((results, kept)) = done(answer, "search") else {
            return Vec::new();
        };
        let pending = later.then_some(request);
        if let (Some(search), Some(kept)) = (&pending, kept) {
            self.cache.keep(search.clone(), kept);
        }
        results
            .hits
            .into_iter()
            .enumerate()
            .map(|(rank, hit)| {
                let id = result_id::encode(&hit.path, hit.part.as_deref());
                let pending = pending.clone().map(|search| Pending { search, rank });
                self.cache.insert(id.clone(), hit.clone(), pending);
                (id, hit)
            })
            .collect()
    }

    /// The remembered hits of `ids` (`None` for an id no search returned lately), with their snippets:
    /// those still to be made are made now, in one call per search that returned them (from what the
    /// search compiled while it is kept, else by the backend), under the deadline (one for all). When
    /// that fails or is late the hits come without them (asked again next time).
    pub async fn shown(&self, ids: &[String]) -> Vec<Option<Hit>> {
        let started = Instant::now();
        let cached: Vec<Option<Cached>> = ids.iter().map(|id| self.cache.get(id)).collect();
        // The hits lacking their snippet (their place in `ids` and in their search's hits), grouped
        // by the search that returned them.
        let mut groups: Vec<Group> = Vec::new();
        for (i, entry) in cached.iter().enumerate() {
            let Some(Pending { search, rank }) = entry.as_ref().and_then(|c| c.pending.clone())
            else {
                continue;
            };
            match groups.iter_mut().find(|(s, _)| Arc::ptr_eq(s, &search)) {
                Some((_, members)) => members.push((i, rank)),
                None => groups.push((search, vec![(i, rank)])),
            }
        }
        let mut hits: Vec<Option<Hit>> = cached.into_iter().map(|c| c.map(|c| c.hit)).collect();
        for (search, members) in groups {
            let left = self.deadline.saturating_sub(started.elapsed());
            if left.is_zero() {
                break;
            }
            let answer = match self.cache.kept(&search) {
                Some(kept) => {
                    let ranks: Vec<usize> = members.iter().map(|&(_, rank)| rank).collect();
                    let make = move || Ok(kept.snippets(&ranks)?);
                    self.runner.run(left, make).await
                }
                None => {
                    let wanted: Vec<Hit> = members
                        .iter()
                        .filter_map(|&(i, _)| hits[i].clone())
                        .collect();
                    let backend = self.backend.clone();
                    let asked = search.clone();
                    let make = move || backend.snippets(&asked, &wanted);
                    self.runner.run(left, make).await
                }
            };
            let Some(snippets) = done(answer, "snippets") else {
                continue;
            };
            for (&(i, _), snippet) in members.iter().zip(snippets) {
                self.cache.set_snippet(&ids[i], &search, snippet.clone());
                if let Some(hit) = hits[i].as_mut() {
                    hit.snippet = snippet;
                }
            }
        }
        hits
    }
}

/// A search and the hits lacking their snippet it returned: (place in the ids asked, place in its hits).
type Group = (Arc<SearchRequest>, Vec<(usize, usize)>);

/// The answer of a backend call that finished in time and did not fail; the rest is logged.
fn done<T>(answer: Outcome<Result<T, BackendError>>, what: &str) -> Option<T> {
    match answer {
        Outcome::Done(Ok(answer)) => Some(answer),
        Outcome::Done(Err(e)) => {
            tracing::debug!(error = %e, what, "provider call failed");
            None
        }
        Outcome::Late => {
            tracing::warn!(what, "provider call missed its deadline");
            None
        }
        Outcome::Busy => {
            tracing::warn!(what, "provider call refused: earlier calls still running");
            None
        }
    }
}
