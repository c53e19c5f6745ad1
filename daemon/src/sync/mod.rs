//! `sync`: return once every change made before the call is searchable. This module owns sync cookies end
//! to end: placing them (one per present root, see [`cookie`]), recognising their events as they enter the
//! queue, the watermark rule that settles them after a commit, waiting for them, and removing leftovers
//! at start.
//!
//! A cookie is a file created in each root; its events travel through the same kernel queues as every
//! other change. The intake numbers changes as they enter the coalescer and notes the numbers of a
//! cookie's `Created` (namespace source) and close-write (content source): fanotify content and inotify
//! names come from different kernel queues, so only once both have arrived has every earlier change
//! arrived. Each batch carries a watermark (every change numbered below it is in that batch or an earlier
//! one); after a committed batch, a cookie whose two events are below the watermark is settled, and so is
//! one covered by a committed rescan that started after the cookie existed. A postponed rescan in the
//! cookie's root, or files put off for want of resources, hold it back.

mod cookie;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use fandex_indexer::IndexDir;
use fandex_watcher::Change;

use crate::error::DaemonError;
use crate::lifecycle::Lifecycle;
use crate::lock::lock;
use crate::roots::RootWatch;
use cookie::CookieKey;

/// A sync cookie waiting for its commit.
#[derive(Debug, Clone, Copy)]
struct Cookie {
    /// Registered before the file was created: a rescan of a batch taken after this covers every change
    /// made before the sync started.
    registered: Instant,
    /// The generation that made everything before it searchable, once committed.
    done: Option<u64>,
    /// The number of its `Created` change (from the namespace source), once it arrived.
    created: Option<u64>,
    /// The number of its close-write (`Modified`, from the content source), once it arrived. With content
    /// and names from different kernel queues (fanotify + inotify) either may come first; only once both
    /// have arrived has every change made before the cookie arrived from both queues.
    written: Option<u64>,
}

impl Cookie {
    /// Whether both of its events are in batches taken up to `watermark`.
    fn seen_by(&self, watermark: u64) -> bool {
        matches!((self.created, self.written), (Some(c), Some(w)) if c.max(w) < watermark)
    }
}

/// A change to one of our waiting cookies, seen by the intake: the batch is handed on at once.
pub(crate) struct Sighting {
    path: PathBuf,
    /// Its `Created` (true) or its close-write (false); `None` for any other change to it.
    created: Option<bool>,
}

/// The sync cookies waiting for their commit, and the generation committed last.
pub(crate) struct Syncer {
    cookies: Mutex<HashMap<PathBuf, Cookie>>,
    /// Signalled when cookies are settled, and when the daemon stops or fails.
    done: Condvar,
    /// Makes and recognizes this daemon's cookie names.
    key: CookieKey,
    /// The generation of the last commit.
    generation: AtomicU64,
}

impl Syncer {
    /// Loads (or makes) the key of this index's cookie names and removes the cookies a killed daemon
    /// left in `roots`.
    pub(crate) fn open(
        dir: &IndexDir,
        roots: &[PathBuf],
        generation: u64,
    ) -> Result<Self, fandex_indexer::Error> {
        let key = CookieKey::load_or_create(dir).map_err(|e| {
            fandex_indexer::Error::io(
                format!("cannot set up sync cookies in {}", dir.path().display()),
                e,
            )
        })?;
        cookie::remove_stale(roots, &key);
        Ok(Self {
            cookies: Mutex::new(HashMap::new()),
            done: Condvar::new(),
            key,
            generation: AtomicU64::new(generation),
        })
    }

    /// The name prefix the watcher treats as a barrier (see `fandex_watcher::WatchConfig::barrier_prefix`).
    pub(crate) fn barrier_prefix() -> OsString {
        cookie::SYNC_COOKIE_PREFIX.into()
    }

    /// Whether `change` touches one of our waiting cookies (only ours hurry a batch along: anyone may
    /// create files with a cookie-like name).
    pub(crate) fn sighting(&self, change: &Change) -> Option<Sighting> {
        let path = change.path();
        if !cookie::is_cookie(path) || !lock(&self.cookies).contains_key(path) {
            return None;
        }
        let created = match change {
            Change::Created { is_dir: false, .. } => Some(true),
            Change::Modified { .. } => Some(false),
            _ => None,
        };
        Some(Sighting {
            path: path.to_owned(),
            created,
        })
    }

    /// Notes the number `seq` the sighted change got in the queue. Call under the queue's lock, so that no
    /// batch can be taken between the push and this.
    pub(crate) fn record(&self, sighting: Sighting, seq: u64) {
        let Some(created) = sighting.created else {
            return;
        };
        if let Some(cookie) = lock(&self.cookies).get_mut(&sighting.path) {
            let slot = if created {
                &mut cookie.created
            } else {
                &mut cookie.written
            };
            slot.get_or_insert(seq);
        }
    }

    /// Records the generation of the commit just made.
    pub(crate) fn committed(&self, generation: u64) {
        self.generation.store(generation, Ordering::Relaxed);
    }

    /// After a committed batch taken at `taken` with `watermark`, whose rescans walked `scanned`: settles
    /// the cookies it covers, except those `held_back` (a postponed rescan may still miss events there).
    /// Every batch re-checks the waiting cookies: one held back is settled by the batch in which that
    /// rescan finally runs.
    pub(crate) fn settle(
        &self,
        watermark: u64,
        taken: Instant,
        scanned: &[PathBuf],
        held_back: impl Fn(&Path) -> bool,
    ) {
        let generation = self.generation.load(Ordering::Relaxed);
        let mut cookies = lock(&self.cookies);
        for (path, cookie) in cookies.iter_mut() {
            // Its own events settle a cookie once every change that arrived before them has been applied.
            // A rescan settles it only if the cookie existed before the batch was taken (the walk sees
            // changes made before it starts).
            let seen = cookie.seen_by(watermark);
            let walked = cookie.registered < taken && scanned.iter().any(|s| path.starts_with(s));
            if cookie.done.is_none() && !held_back(path) && (seen || walked) {
                cookie.done = Some(generation);
            }
        }
        drop(cookies);
        self.done.notify_all();
    }

    /// Wakes the waiting syncs (the daemon stops or failed).
    pub(crate) fn wake_all(&self) {
        self.done.notify_all();
    }

    /// Waits until every change made before the call is searchable; returns the generation that made it
    /// so.
    pub(crate) fn request(
        &self,
        roots: &RootWatch,
        life: &Lifecycle,
        timeout: Duration,
    ) -> Result<u64, DaemonError> {
        if life.is_stopping() {
            return Err(DaemonError::Stopping);
        }
        // The roots as they are now (a filesystem mounted a moment ago is watched before the cookie).
        roots.refresh();
        // Offline roots are not watched: a cookie there would never be seen (and nothing there changes).
        let roots = roots.present();
        if roots.is_empty() {
            return Ok(self.generation.load(Ordering::Relaxed));
        }
        let mut placed = Vec::new();
        let mut errors = Vec::new();
        for root in &roots {
            let register = |path: &Path| {
                lock(&self.cookies).insert(
                    path.to_owned(),
                    Cookie {
                        registered: Instant::now(),
                        done: None,
                        created: None,
                        written: None,
                    },
                );
            };
            let unregister = |path: &Path| {
                lock(&self.cookies).remove(path);
            };
            match cookie::place(root, &self.key, register, unregister) {
                Ok(cookie) => placed.push(cookie),
                Err(err) => errors.push(format!("{}: {err}", root.display())),
            }
        }
        if placed.is_empty() {
            return Err(DaemonError::Sync(format!(
                "cannot place a sync cookie in any root ({})",
                errors.join("; ")
            )));
        }
        // A timeout too long to represent is no deadline at all.
        let deadline = Instant::now().checked_add(timeout);
        let mut cookies = lock(&self.cookies);
        let result = loop {
            let done: Option<u64> = placed
                .iter()
                .map(|p| cookies.get(&p.path).and_then(|c| c.done))
                .try_fold(0u64, |acc, g| g.map(|g| acc.max(g)));
            if let Some(generation) = done {
                break Ok(generation);
            }
            let now = Instant::now();
            let expired = deadline.is_some_and(|d| now >= d);
            if expired || life.is_stopping() {
                break Err(if expired {
                    DaemonError::SyncTimeout(timeout)
                } else if let Some(failure) = life.failure() {
                    DaemonError::IndexLost(failure)
                } else {
                    DaemonError::Stopping
                });
            }
            // Without a deadline, wake now and then anyway to notice a stop.
            let wait = deadline.map_or(Duration::from_secs(1), |d| d - now);
            cookies = self
                .done
                .wait_timeout(cookies, wait)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        };
        for p in &placed {
            cookies.remove(&p.path);
        }
        drop(cookies);
        for p in placed {
            p.remove();
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_needs_both_of_its_events() {
        let mut cookie = Cookie {
            registered: Instant::now(),
            done: None,
            created: Some(3),
            written: None,
        };
        assert!(!cookie.seen_by(100));
        cookie.written = Some(7);
        assert!(!cookie.seen_by(7));
        assert!(cookie.seen_by(8));
    }
}
