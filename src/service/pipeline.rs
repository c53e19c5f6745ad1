//! The daemon's two working threads: intake (watcher events into the coalescer) and the pipeline (batches
//! into the engine), with rescan backoff so lost events never turn into a recrawl storm.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use fandex_indexer::Engine;
use fandex_indexer::coalesce::Work;
use fandex_indexer::config::SYNC_COOKIE_PREFIX;
use fandex_indexer::engine::Progress;
use fandex_watcher::Change;
use tracing::{error, info_span, warn};

use super::status::{CommitInfo, Totals, now_rfc3339};
use super::{Inner, MAX_PENDING, lock};

/// Shortest wait before the same scope is rescanned again.
const MIN_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait between rescans of one scope during a storm.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Moves watcher events into the coalescer until the watcher stops.
pub(crate) fn intake(inner: &Inner, events: Receiver<Change>) {
    for change in events.iter() {
        let urgent = is_cookie(change.path());
        let mut queue = lock(&inner.queue);
        queue.urgent |= urgent;
        queue.coalescer.push(change, Instant::now());
        if queue.coalescer.len() > MAX_PENDING {
            let roots = lock(&inner.shared).roots.clone();
            warn!(
                pending = queue.coalescer.len(),
                "too many pending changes; rescanning the roots instead"
            );
            queue
                .coalescer
                .collapse(&roots, "too many pending changes", Instant::now());
            lock(&inner.shared).totals.queue_collapses += 1;
        }
        drop(queue);
        inner.wake.notify_all();
    }
}

/// Rate limits rescans per scope with exponential backoff.
#[derive(Default)]
struct RescanLimiter {
    /// Last rescan of each scope and the backoff in force for it.
    recent: HashMap<PathBuf, (Instant, Duration)>,
    /// Postponed rescans and when they are due.
    deferred: Vec<(PathBuf, String, Instant)>,
}

impl RescanLimiter {
    /// Lets through rescans whose scope is not cooling down; postpones the others.
    fn filter(&mut self, work: Vec<Work>, now: Instant, totals: &mut Totals) -> Vec<Work> {
        let mut out = Vec::with_capacity(work.len());
        for item in work {
            if let Work::Rescan { scope, reason } = &item {
                if let Some(&(last, backoff)) = self.recent.get(scope)
                    && now < last + backoff
                {
                    if !self.deferred.iter().any(|(s, _, _)| scope.starts_with(s)) {
                        self.deferred
                            .push((scope.clone(), reason.clone(), last + backoff));
                    }
                    totals.rescans_deferred += 1;
                    continue;
                }
                let backoff = match self.recent.get(scope) {
                    Some(&(last, b)) if now < last + b * 4 => (b * 2).min(MAX_BACKOFF),
                    _ => MIN_BACKOFF,
                };
                self.recent.insert(scope.clone(), (now, backoff));
                *totals.rescans.entry(reason.clone()).or_default() += 1;
            }
            out.push(item);
        }
        if self.recent.len() > 10_000 {
            self.recent
                .retain(|_, (last, _)| now.duration_since(*last) < Duration::from_secs(600));
        }
        out
    }

    /// Postponed rescans that are due now.
    fn take_due(&mut self, now: Instant) -> Vec<Work> {
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.deferred)
            .into_iter()
            .partition(|(_, _, at)| *at <= now);
        self.deferred = later;
        due.into_iter()
            .map(|(scope, reason, _)| Work::Rescan { scope, reason })
            .collect()
    }

    /// Whether a postponed rescan blocks the sync cookie at `cookie`: any postponed rescan in the cookie's
    /// root (its parent directory) means events from before the cookie may still be missing there, so the
    /// cookie is settled only once that rescan has run.
    fn blocks(&self, cookie: &std::path::Path) -> bool {
        let root = cookie.parent().unwrap_or(cookie);
        self.deferred
            .iter()
            .any(|(s, _, _)| s.starts_with(root) || root.starts_with(s))
    }

    fn next_due(&self) -> Option<Instant> {
        self.deferred.iter().map(|(_, _, at)| *at).min()
    }
}

/// Waits for the next batch; the flag says the daemon is stopping (this is the last batch). The
/// instant is when the batch was taken: rescans in it see every change made before then.
fn next_batch(inner: &Inner, limiter: &mut RescanLimiter) -> (Vec<Work>, bool, Instant) {
    let mut queue = lock(&inner.queue);
    loop {
        let now = Instant::now();
        if queue.stopping {
            return (queue.coalescer.take(), true, now);
        }
        let due = limiter.take_due(now);
        if !due.is_empty() || queue.urgent || queue.coalescer.is_ready(now) {
            queue.urgent = false;
            let mut work = queue.coalescer.take();
            work.extend(due);
            return (work, false, now);
        }
        let wake_at = match (queue.coalescer.deadline(), limiter.next_due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        queue = match wake_at {
            Some(at) => {
                inner
                    .wake
                    .wait_timeout(queue, at.saturating_duration_since(now))
                    .unwrap_or_else(|p| p.into_inner())
                    .0
            }
            None => inner.wake.wait(queue).unwrap_or_else(|p| p.into_inner()),
        };
    }
}

fn is_cookie(path: &std::path::Path) -> bool {
    path.file_name().is_some_and(|n| {
        n.as_encoded_bytes()
            .starts_with(SYNC_COOKIE_PREFIX.as_bytes())
    })
}

/// Applies batches until the daemon stops, then closes the engine.
pub(crate) fn run(inner: &Inner, mut engine: Engine) {
    let mut limiter = RescanLimiter::default();
    let progress = Progress::default();
    loop {
        let (work, last, taken) = next_batch(inner, &mut limiter);
        if !work.is_empty() {
            apply(inner, &mut engine, work, taken, &progress, &mut limiter);
        }
        if last {
            break;
        }
    }
    if let Err(err) = engine.close() {
        error!("closing the index: {err}");
        lock(&inner.shared).last_error = Some(format!("closing the index: {err}"));
    }
}

fn apply(
    inner: &Inner,
    engine: &mut Engine,
    work: Vec<Work>,
    taken: Instant,
    progress: &Progress,
    limiter: &mut RescanLimiter,
) {
    let now = Instant::now();
    let work = {
        let mut shared = lock(&inner.shared);
        limiter.filter(work, now, &mut shared.totals)
    };
    if work.is_empty() {
        return;
    }
    // Which sync cookies this batch settles: their own events, or a rescan that covers them.
    let mut cookie_paths = Vec::new();
    let mut scanned = Vec::new();
    for item in &work {
        match item {
            Work::Refresh { path, .. } | Work::Remove { path } if is_cookie(path) => {
                cookie_paths.push(path.clone())
            }
            Work::Move { from, to } => {
                cookie_paths.extend([from, to].into_iter().filter(|p| is_cookie(p)).cloned());
            }
            Work::Rescan { scope, .. } => scanned.push(scope.clone()),
            _ => {}
        }
    }
    let exclusions = lock(&inner.exclusions).clone();
    let config = lock(&inner.config).clone();
    engine.set_config(config);
    let items = work.len();
    let _span = info_span!("batch", items).entered();
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        engine.apply_work(work, &exclusions, progress)
    }));
    let failure = match result {
        Ok(Ok(summary)) => {
            let mut shared = lock(&inner.shared);
            let totals = &mut shared.totals;
            totals.batches += 1;
            totals.indexed += summary.indexed;
            totals.moved += summary.moved;
            totals.removed += summary.removed;
            totals.failed += summary.failed;
            None
        }
        Ok(Err(err)) => Some(err.to_string()),
        Err(panic) => Some(format!(
            "internal error: {}",
            panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("panic")
        )),
    };
    let generation = engine.generation();
    inner.generation.store(generation, Ordering::Relaxed);
    {
        let mut shared = lock(&inner.shared);
        shared.last_commit = Some(CommitInfo {
            generation,
            at: now_rfc3339(),
            items,
            millis: u64::try_from(now.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
        if let Some(err) = &failure {
            shared.last_error = Some(err.clone());
        }
    }
    if let Some(err) = failure {
        // The batch may be half applied: restart the writer (a killed writer would fail every later
        // batch), then converge by walking the roots again (rate limited).
        error!("batch failed: {err}; rescanning the roots to converge");
        let recovered = std::panic::catch_unwind(AssertUnwindSafe(|| engine.recover()));
        if !matches!(recovered, Ok(Ok(()))) {
            error!("the index writer could not be restarted; later batches may fail too");
        }
        let roots = lock(&inner.shared).roots.clone();
        let mut queue = lock(&inner.queue);
        for root in roots {
            queue.coalescer.push(
                Change::Rescan {
                    scope: root,
                    reason: fandex_watcher::RescanReason::WatchFailed(format!(
                        "recovering from: {err}"
                    )),
                },
                Instant::now(),
            );
        }
        return;
    }
    // Every batch re-checks the waiting cookies: one held back by a postponed rescan is settled by the
    // batch in which that rescan finally runs.
    let mut cookies = lock(&inner.cookies);
    for (path, cookie) in cookies.iter_mut() {
        // Its own event settles a cookie: every change before it was queued before it. A rescan settles
        // it only if the cookie existed before the batch was taken (the walk sees changes made before it
        // starts). A postponed rescan covering the cookie means events may still be missing.
        cookie.seen |= cookie_paths.contains(path);
        let walked = cookie.registered < taken && scanned.iter().any(|s| path.starts_with(s));
        if cookie.done.is_none() && !limiter.blocks(path) && (cookie.seen || walked) {
            cookie.done = Some(generation);
        }
    }
    drop(cookies);
    inner.cookie_done.notify_all();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rescan(p: &str) -> Work {
        Work::Rescan {
            scope: p.into(),
            reason: "queue overflow".into(),
        }
    }

    #[test]
    fn storms_back_off_exponentially() {
        let mut limiter = RescanLimiter::default();
        let mut totals = Totals::default();
        let t0 = Instant::now();
        assert_eq!(limiter.filter(vec![rescan("/r")], t0, &mut totals).len(), 1);
        // Again within the backoff: postponed, once.
        for i in 1..10 {
            let kept = limiter.filter(
                vec![rescan("/r")],
                t0 + Duration::from_millis(i * 10),
                &mut totals,
            );
            assert!(kept.is_empty());
        }
        assert_eq!(totals.rescans_deferred, 9);
        assert_eq!(limiter.deferred.len(), 1);
        assert!(limiter.take_due(t0 + Duration::from_millis(500)).is_empty());
        let due = limiter.take_due(t0 + MIN_BACKOFF);
        assert_eq!(due.len(), 1);
        // It runs, and the next backoff is longer.
        let t1 = t0 + MIN_BACKOFF;
        assert_eq!(limiter.filter(due, t1, &mut totals).len(), 1);
        assert_eq!(limiter.recent[&PathBuf::from("/r")].1, MIN_BACKOFF * 2);
        // Other scopes are independent.
        assert_eq!(limiter.filter(vec![rescan("/s")], t1, &mut totals).len(), 1);
        assert_eq!(totals.rescans["queue overflow"], 3);
    }
}
