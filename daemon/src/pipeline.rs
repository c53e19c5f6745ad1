//! The daemon's two working threads: intake (watcher events into the coalescer) and the pipeline (batches
//! into the engine), with rescan backoff so lost events never turn into a recrawl storm.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use fandex_indexer::Engine;
use fandex_indexer::coalesce::{RescanKind, Work};
use fandex_indexer::config::SYNC_COOKIE_PREFIX;
use fandex_indexer::engine::Progress;
use fandex_watcher::Change;
use tracing::{error, info, info_span, warn};

use super::status::{CommitInfo, Totals, now_rfc3339};
use super::{Inner, MAX_PENDING, lock};

/// Shortest wait before the same scope is rescanned again.
const MIN_BACKOFF: Duration = Duration::from_secs(1);
/// How long the pipeline waits with nothing to do before it returns freed memory to the system.
const IDLE_TRIM_AFTER: Duration = Duration::from_secs(2);
/// Longest wait between rescans of one scope during a storm.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Moves watcher events into the coalescer until the watcher stops.
pub(crate) fn intake(inner: &Inner, events: Receiver<Change>) {
    for change in events.iter() {
        // Only our own cookies hurry a batch along: anyone may create files with a cookie-like name.
        let urgent = is_cookie(change.path()) && lock(&inner.cookies).contains_key(change.path());
        let sighting = match &change {
            Change::Created {
                path,
                is_dir: false,
            } if urgent => Some((path.clone(), true)),
            Change::Modified { path, .. } if urgent => Some((path.clone(), false)),
            _ => None,
        };
        let mut queue = lock(&inner.queue);
        queue.urgent |= urgent;
        let seq = queue.push(change, Instant::now());
        if let Some((path, created)) = sighting
            && let Some(cookie) = lock(&inner.cookies).get_mut(&path)
        {
            // Numbered under the queue lock: no batch can be taken between the push and this.
            let slot = if created {
                &mut cookie.created
            } else {
                &mut cookie.written
            };
            slot.get_or_insert(seq);
        }
        if queue.coalescer.len() > MAX_PENDING {
            let roots = lock(&inner.shared).roots.clone();
            warn!(
                pending = queue.coalescer.len(),
                "too many pending changes; rescanning the roots instead"
            );
            queue
                .coalescer
                .collapse(&roots, RescanKind::QueueCollapsed, Instant::now());
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
    deferred: Vec<(PathBuf, RescanKind, Instant)>,
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
                        self.deferred.push((scope.clone(), *reason, last + backoff));
                    }
                    totals.rescans_deferred += 1;
                    continue;
                }
                let backoff = match self.recent.get(scope) {
                    Some(&(last, b)) if now < last + b * 4 => (b * 2).min(MAX_BACKOFF),
                    _ => MIN_BACKOFF,
                };
                self.recent.insert(scope.clone(), (now, backoff));
                *totals
                    .rescans
                    .entry(reason.as_str().to_owned())
                    .or_default() += 1;
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

/// The next batch of work and what the pipeline needs to know about it.
struct Batch {
    work: Vec<Work>,
    /// The daemon is stopping: this is the last batch.
    last: bool,
    /// When the batch was taken: rescans in it see every change made before then.
    taken: Instant,
    /// Every change numbered below this is in this batch or an earlier one.
    watermark: u64,
}

/// Waits for the next batch. With `idle_after`, gives up once nothing has been pending for that long and
/// returns an empty batch (the daemon went idle).
fn next_batch(inner: &Inner, limiter: &mut RescanLimiter, idle_after: Option<Duration>) -> Batch {
    let mut queue = lock(&inner.queue);
    let idle_since = Instant::now();
    loop {
        let now = Instant::now();
        if queue.stopping {
            let (work, watermark) = queue.take();
            return Batch {
                work,
                last: true,
                taken: now,
                watermark,
            };
        }
        let due = limiter.take_due(now);
        if !due.is_empty() || queue.urgent || queue.coalescer.is_ready(now) {
            queue.urgent = false;
            let (mut work, watermark) = queue.take();
            work.extend(due);
            return Batch {
                work,
                last: false,
                taken: now,
                watermark,
            };
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
            None => match idle_after {
                Some(wait) => {
                    let left = (idle_since + wait).saturating_duration_since(now);
                    if left.is_zero() {
                        return Batch {
                            work: Vec::new(),
                            last: false,
                            taken: now,
                            watermark: 0,
                        };
                    }
                    inner
                        .wake
                        .wait_timeout(queue, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
                None => inner.wake.wait(queue).unwrap_or_else(|p| p.into_inner()),
            },
        };
    }
}

/// Schedules another read of files the engine could not open for want of a system resource (descriptors,
/// memory) or whose path changed while it was read (see `fandex_watcher::beneath`). They go through the rescan limiter like any rescan, so a lasting shortage backs off.
fn retry_deferred(inner: &Inner, summary: &fandex_indexer::engine::Summary) {
    warn!(
        files = summary.deferred,
        "files could not be opened (a system resource short, or the path changed during the walk); retrying them"
    );
    let scopes = if summary.retry_list_truncated() {
        lock(&inner.shared).roots.clone()
    } else {
        summary.retry.clone()
    };
    let now = Instant::now();
    let mut queue = lock(&inner.queue);
    for scope in scopes {
        queue.push_rescan(scope, RescanKind::ResourceShortage, now);
    }
    drop(queue);
    inner.wake.notify_all();
}

/// Whether `item` touches one of the `offline` roots.
fn touches(item: &Work, offline: &[PathBuf]) -> bool {
    use super::roots::under_any;
    match item {
        Work::Refresh { path, .. } | Work::Remove { path } => under_any(path, offline),
        Work::Move { from, to } => under_any(from, offline) || under_any(to, offline),
        Work::Rescan { scope, .. } => under_any(scope, offline),
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
    // Whether memory freed since the last batch was handed back to the system.
    let mut trimmed = true;
    loop {
        let batch = next_batch(inner, &mut limiter, (!trimmed).then_some(IDLE_TRIM_AFTER));
        if inner.failure().is_some() {
            // The index is gone: nothing more can be committed, and closing would wait on a writer
            // whose files and lock are gone.
            drop(engine);
            return;
        }
        let last = batch.last;
        if !batch.work.is_empty() {
            apply(inner, &mut engine, batch, &progress, &mut limiter);
            trimmed = false;
        } else if !last && !trimmed {
            // Idle: the batch's buffers are free but glibc keeps them; give them back once.
            super::release_free_memory();
            trimmed = true;
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
    batch: Batch,
    progress: &Progress,
    limiter: &mut RescanLimiter,
) {
    let Batch {
        work,
        taken,
        watermark,
        ..
    } = batch;
    let now = Instant::now();
    // Nothing touches an offline root: a walk of its empty mount point would delete all its records.
    let offline = super::roots::refresh(inner);
    let work: Vec<Work> = if offline.is_empty() {
        work
    } else {
        work.into_iter()
            .filter(|item| !touches(item, &offline))
            .collect()
    };
    let work = {
        let mut shared = lock(&inner.shared);
        limiter.filter(work, now, &mut shared.totals)
    };
    if work.is_empty() {
        return;
    }
    // Rescans in this batch settle the sync cookies they cover.
    let scanned: Vec<PathBuf> = work
        .iter()
        .filter_map(|item| match item {
            Work::Rescan { scope, .. } => Some(scope.clone()),
            _ => None,
        })
        .collect();
    let exclusions = lock(&inner.exclusions).clone();
    let config = lock(&inner.config).clone();
    engine.set_config(config);
    let items = work.len();
    let _span = info_span!("batch", items).entered();
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        engine.apply_work(work, &exclusions, progress)
    }));
    let mut deferred = false;
    let failure = match result {
        Ok(Ok(summary)) => {
            {
                let mut shared = lock(&inner.shared);
                let totals = &mut shared.totals;
                totals.batches += 1;
                totals.indexed += summary.indexed;
                totals.moved += summary.moved;
                totals.removed += summary.removed;
                totals.failed += summary.failed;
                totals.deferred += summary.deferred;
                shared.note_walk_errors(&summary);
            }
            if summary.deferred > 0 {
                deferred = true;
                retry_deferred(inner, &summary);
            }
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
        match &failure {
            Some(err) => shared.last_error = Some(err.clone()),
            // A batch was applied and committed: whatever failed before (a full disk) is over.
            None => {
                if let Some(old) = shared.last_error.take() {
                    info!("recovered: a batch was committed after: {old}");
                }
            }
        }
    }
    if let Some(err) = failure {
        if !inner.check_index() {
            return;
        }
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
            queue.push_rescan(root, RescanKind::BatchFailed, Instant::now());
        }
        return;
    }
    super::roots::note_walked(inner, &scanned);
    if deferred {
        // Files from before a cookie may be among those to retry: cookies wait for the retry's batch.
        return;
    }
    // Every batch re-checks the waiting cookies: one held back by a postponed rescan is settled by the
    // batch in which that rescan finally runs.
    let mut cookies = lock(&inner.cookies);
    for (path, cookie) in cookies.iter_mut() {
        // Its own events settle a cookie once every change that arrived before them has been applied.
        // A rescan settles it only if the cookie existed before the batch was taken (the walk sees
        // changes made before it starts). A postponed rescan covering the cookie means events may still
        // be missing.
        let seen = cookie.seen_by(watermark);
        let walked = cookie.registered < taken && scanned.iter().any(|s| path.starts_with(s));
        if cookie.done.is_none() && !limiter.blocks(path) && (seen || walked) {
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
            reason: RescanKind::QueueOverflow,
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

    fn modified(p: &str) -> Change {
        Change::Modified {
            path: p.into(),
            content: None,
        }
    }

    #[test]
    fn a_partial_batch_keeps_the_watermark_at_the_oldest_pending_change() {
        use fandex_indexer::coalesce::{BatchLimits, Coalescer};
        let limits = BatchLimits {
            max_items: 2,
            max_delay: Duration::from_millis(10),
            settle: Duration::from_millis(10),
            max_fds: 0,
        };
        let mut queue = crate::Queue::new(Coalescer::new(limits));
        let now = Instant::now();
        for p in ["/r/a", "/r/b", "/r/c"] {
            queue.push(modified(p), now);
        }
        let cookie = queue.push(modified("/r/.fandex-sync-1"), now);
        // Two refreshes fit: the rest (and any rescan) is still pending, so nothing from the first change
        // on is known to be applied.
        let (work, watermark) = queue.take();
        assert_eq!(work.len(), 2);
        assert_eq!(watermark, 0);
        let (work, watermark) = queue.take();
        assert_eq!(work.len(), 2);
        assert!(cookie < watermark);
        assert_eq!(watermark, 4);
        // Nothing pending: the next change starts a new window.
        let next = queue.push(modified("/r/d"), now);
        assert_eq!(queue.take().1, next + 1);
    }

    #[test]
    fn a_cookie_needs_both_of_its_events() {
        let mut cookie = crate::Cookie {
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
