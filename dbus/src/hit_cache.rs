//! The hits a provider recently returned, by result id, so the metas the shell asks for next carry the
//! snippet without searching again. Bounded: the oldest entries go first.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use fandex_query::Hit;

/// How many hits a cache keeps.
pub const CACHE_CAPACITY: usize = 2_000;

/// Recent hits by id.
#[derive(Debug, Default)]
pub struct HitCache {
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    hits: HashMap<String, Hit>,
    order: VecDeque<String>,
}

impl HitCache {
    /// Remembers `hit` under `id`, forgetting the oldest entry beyond [`CACHE_CAPACITY`].
    pub fn insert(&self, id: String, hit: Hit) {
        let mut entries = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if entries.hits.insert(id.clone(), hit).is_none() {
            entries.order.push_back(id);
        }
        while entries.order.len() > CACHE_CAPACITY {
            if let Some(old) = entries.order.pop_front() {
                entries.hits.remove(&old);
            }
        }
    }

    /// The hit remembered under `id`.
    pub fn get(&self, id: &str) -> Option<Hit> {
        let entries = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        entries.hits.get(id).cloned()
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
            cache.insert(format!("/{i}"), hit(&format!("/{i}")));
        }
        assert!(cache.get("/0").is_none());
        assert_eq!(cache.get("/1").unwrap().path, std::path::Path::new("/1"));
        cache.insert("/1".into(), hit("/1"));
        assert!(cache.get(&format!("/{CACHE_CAPACITY}")).is_some());
    }
}
