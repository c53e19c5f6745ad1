//! The hits a provider recently returned, by result id, so the metas the shell asks for next need no
//! new search. A hit returned without its snippet keeps the search that found it, so the snippet can be
//! made when the shell asks for its metas (only the few results it shows), once: it is kept with the
//! hit. The last few such searches also keep what they compiled ([`LaterSnippets`]), so those snippets
//! cost no second search. Bounded: the oldest entries go first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use fandex_query::{Hit, LaterSnippets, SearchRequest, Snippet};

/// How many hits a cache keeps.
pub const CACHE_CAPACITY: usize = 2_000;

/// How many searches' [`LaterSnippets`] a cache keeps: each holds the index as its search saw it
/// (older generations' segments stay open while it lives). A shell asks for the metas of a search's
/// results right after it; a hit of an older search gets its snippet from a new compile
/// (`Backend::snippets`).
pub const KEPT_SEARCHES: usize = 4;

/// One remembered hit.
#[derive(Debug, Clone)]
pub struct Cached {
    /// The hit, with its snippet once made.
    pub hit: Hit,
    /// The search that returned the hit while its snippet is still to be made; `None` once the hit
    /// has it (or was returned with it).
    pub pending: Option<Pending>,
}

/// The search (without snippets) that returned a hit still lacking its snippet.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The search.
    pub search: Arc<SearchRequest>,
    /// The hit's place in the search's hits, from 0.
    pub rank: usize,
}

/// Recent hits by id.
#[derive(Debug, Default)]
pub struct HitCache {
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    hits: HashMap<String, Cached>,
    order: VecDeque<String>,
    /// The last [`KEPT_SEARCHES`] searches' compiled state, newest last.
    kept: VecDeque<(Arc<SearchRequest>, Arc<LaterSnippets>)>,
}

impl HitCache {
    /// Remembers `hit` under `id`, with the search whose snippet it still lacks (`pending`), forgetting
    /// the oldest entry beyond [`CACHE_CAPACITY`].
    pub fn insert(&self, id: String, hit: Hit, pending: Option<Pending>) {
        let mut entries = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if entries
            .hits
            .insert(id.clone(), Cached { hit, pending })
            .is_none()
        {
            entries.order.push_back(id);
        }
        while entries.order.len() > CACHE_CAPACITY {
            if let Some(old) = entries.order.pop_front() {
                entries.hits.remove(&old);
            }
        }
    }

    /// Keeps what `search` compiled, to make its hits' snippets, forgetting the oldest beyond
    /// [`KEPT_SEARCHES`].
    pub fn keep(&self, search: Arc<SearchRequest>, later: Arc<LaterSnippets>) {
        let mut entries = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        entries.kept.push_back((search, later));
        while entries.kept.len() > KEPT_SEARCHES {
            entries.kept.pop_front();
        }
    }

    /// What `search` compiled, if still kept.
    pub fn kept(&self, search: &Arc<SearchRequest>) -> Option<Arc<LaterSnippets>> {
        let entries = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .kept
            .iter()
            .find(|(s, _)| Arc::ptr_eq(s, search))
            .map(|(_, later)| later.clone())
    }

    /// The hit remembered under `id`.
    pub fn get(&self, id: &str) -> Option<Cached> {
        let entries = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        entries.hits.get(id).cloned()
    }

    /// Keeps `snippet` as the snippet of the hit under `id` if that hit is still the one made by
    /// `search` (a newer search may have returned it since, with a snippet of its own terms).
    pub fn set_snippet(&self, id: &str, search: &Arc<SearchRequest>, snippet: Snippet) {
        let mut entries = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(cached) = entries.hits.get_mut(id)
            && cached
                .pending
                .as_ref()
                .is_some_and(|p| Arc::ptr_eq(&p.search, search))
        {
            cached.hit.snippet = snippet;
            cached.pending = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(path: &str) -> Hit {
        Hit {
            file_id: None,
            path: path.into(),
            score: 0.0,
            size: 0,
            mtime_ns: 0,
            snippet: Default::default(),
            part: None,
            mime: None,
            title: None,
            author: None,
            subject: None,
        }
    }

    #[test]
    fn the_oldest_entries_go_first() {
        let cache = HitCache::default();
        for i in 0..CACHE_CAPACITY + 1 {
            cache.insert(format!("/{i}"), hit(&format!("/{i}")), None);
        }
        assert!(cache.get("/0").is_none());
        assert_eq!(
            cache.get("/1").unwrap().hit.path,
            std::path::Path::new("/1")
        );
        cache.insert("/1".into(), hit("/1"), None);
        assert!(cache.get(&format!("/{CACHE_CAPACITY}")).is_some());
    }

    #[test]
    fn a_snippet_is_kept_for_the_search_that_asked_for_it() {
        let cache = HitCache::default();
        let first = Arc::new(SearchRequest::default());
        let second = Arc::new(SearchRequest::default());
        let pending = |search: &Arc<SearchRequest>| {
            Some(Pending {
                search: search.clone(),
                rank: 0,
            })
        };
        cache.insert("/a".into(), hit("/a"), pending(&first));
        cache.insert("/a".into(), hit("/a"), pending(&second));
        let made = |text: &str| Snippet {
            text: text.to_owned(),
            highlights: Vec::new(),
        };
        cache.set_snippet("/a", &first, made("old terms"));
        assert!(
            cache.get("/a").unwrap().pending.is_some(),
            "a newer search returned it"
        );
        cache.set_snippet("/a", &second, made("new terms"));
        let cached = cache.get("/a").unwrap();
        assert!(cached.pending.is_none());
        assert_eq!(cached.hit.snippet.text, "new terms");
    }
}
