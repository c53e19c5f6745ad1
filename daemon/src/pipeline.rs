//! The pipeline: owns the `Engine`, takes batches from the queue (when full, or when the coalescer's pace
//! says: see `fandex_indexer::coalesce`), applies and commits each, then settles the sync cookies the
//! commit covers, tells the coalescer what the commit cost (the pace of the next batches) and counts each
//! change's time per stage (`crate::latency`). A failed batch is followed by a root rescan; rescans go
//! through the backoff, and yield to a pause, the battery policy or a stop (`crate::walks`).

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fandex_indexer::Engine;
use fandex_indexer::coalesce::{RescanKind, Work};
use fandex_indexer::engine::Progress;
use fandex_indexer::malloc::{self, Profile};
use tracing::{error, info, info_span, warn};

use crate::activity::{CommitInfo, CurrentWork, Shared, WorkKind, now_rfc3339};
use crate::backoff::RescanLimiter;
use crate::events::Events;
use crate::latency;
use crate::lifecycle::Lifecycle;
use crate::lock::lock;
use crate::options::Settings;
use crate::pause;
use crate::queue::WorkQueue;
use crate::recent;
use crate::roots::{RootWatch, under_any};
use crate::sync::Syncer;

/// How long the pipeline waits with nothing to do before it returns freed memory to the system.
const IDLE_TRIM_AFTER: Duration = Duration::from_secs(2);

/// What the pipeline thread works with.
pub(crate) struct Pipeline {
    pub(crate) queue: Arc<WorkQueue>,
    pub(crate) sync: Arc<Syncer>,
    pub(crate) roots: Arc<RootWatch>,
    pub(crate) board: Arc<Mutex<Shared>>,
    pub(crate) life: Arc<Lifecycle>,
    pub(crate) settings: Arc<Settings>,
    pub(crate) events: Events,
}

/// The allocator profile for a batch: walks are bulk work; changes alone commit small batches one after
/// the other, whose large buffers are best kept in the heap (`fandex_indexer::malloc`).
fn allocator_profile(work: &[Work]) -> Profile {
    if work.iter().any(|item| matches!(item, Work::Rescan { .. })) {
        Profile::Bulk
    } else {
        Profile::Live
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
    /// When the watcher's changes taken with this batch were received (a bounded sample).
    arrivals: Vec<Instant>,
}

/// Waits for the next batch. With `idle_after`, gives up once nothing has been pending for that long and
/// returns an empty batch (the daemon went idle).
///
/// While the user's pause holds, nothing is taken (changes keep being recorded); on battery, walks are
/// held back by the pause state ([`crate::pause`]) and the rest of the batch goes on.
fn next_batch(
    queue: &WorkQueue,
    limiter: &mut RescanLimiter,
    idle_after: Option<Duration>,
    events: &Events,
) -> Batch {
    let work_queue = queue;
    let mut queue = work_queue.lock();
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
                arrivals: queue.arrivals_below(watermark),
            };
        }
        if queue.pause.expire(now) {
            info!("the pause is over: applying the changes recorded meanwhile");
            events.status_changed();
        }
        if let Some(until) = queue.pause.user_hold() {
            let wait = until.map(|at| at.saturating_duration_since(now));
            queue = work_queue.wait(queue, wait);
            continue;
        }
        let due = limiter.take_due(now);
        // Walks the battery policy held back and now lets go: not filtered again (a throttled one
        // would be held once more, for ever).
        let released = queue.pause.release(now);
        if !due.is_empty() || !released.is_empty() || queue.urgent || queue.coalescer.is_ready(now)
        {
            queue.urgent = false;
            let (mut work, watermark) = queue.take();
            work.extend(due);
            let mut work = queue.pause.filter_bulk(work, now);
            work.extend(released);
            return Batch {
                work,
                last: false,
                taken: now,
                watermark,
                arrivals: queue.arrivals_below(watermark),
            };
        }
        let wake_at = [
            queue.coalescer.deadline(),
            limiter.next_due(),
            queue.pause.next_release(),
        ]
        .into_iter()
        .flatten()
        .min();
        queue = match wake_at {
            Some(at) => work_queue.wait(queue, Some(at.saturating_duration_since(now))),
            None => match idle_after {
                Some(wait) => {
                    let left = (idle_since + wait).saturating_duration_since(now);
                    if left.is_zero() {
                        return Batch {
                            work: Vec::new(),
                            last: false,
                            taken: now,
                            watermark: 0,
                            arrivals: Vec::new(),
                        };
                    }
                    work_queue.wait(queue, Some(left))
                }
                None => work_queue.wait(queue, None),
            },
        };
    }
}

/// Schedules another read of files the engine could not open for want of a system resource (descriptors,
/// memory) or whose path changed while it was read (see `fandex_watcher::beneath`). They go through the rescan limiter like any rescan, so a lasting shortage backs off.
pub(crate) fn retry_deferred(p: &Pipeline, summary: &fandex_indexer::engine::Summary) {
    warn!(
        files = summary.deferred,
        "files could not be opened (a system resource short, or the path changed during the walk); retrying them"
    );
    let scopes = if summary.retry_list_truncated() {
        lock(&p.board).roots.clone()
    } else {
        summary.retry.clone()
    };
    p.queue.rescan(scopes, RescanKind::ResourceShortage);
}

/// Whether `item` touches one of the `offline` roots.
fn touches(item: &Work, offline: &[PathBuf]) -> bool {
    match item {
        Work::Refresh { path, .. } | Work::Remove { path } => under_any(path, offline),
        Work::Move { from, to } => under_any(from, offline) || under_any(to, offline),
        Work::Rescan { scope, .. } => under_any(scope, offline),
    }
}

impl Pipeline {
    /// Applies batches until the daemon stops, then closes the engine. Fails if the index could not be
    /// closed (its last commit may be missing).
    pub(crate) fn run(&self, mut engine: Engine) -> Result<(), fandex_indexer::Error> {
        self.first_walk(&mut engine);
        let mut limiter = RescanLimiter::default();
        // Whether memory freed since the last batch was handed back to the system.
        let mut trimmed = true;
        // The allocator profile last set (`None`: not by this pipeline).
        let mut profile = None;
        loop {
            let batch = next_batch(
                &self.queue,
                &mut limiter,
                (!trimmed).then_some(IDLE_TRIM_AFTER),
                &self.events,
            );
            if self.life.failure().is_some() {
                // The index is gone: nothing more can be committed, and closing would wait on a writer
                // whose files and lock are gone.
                drop(engine);
                return Ok(());
            }
            let last = batch.last;
            if !batch.work.is_empty() {
                if trimmed {
                    // Indexing again after being idle.
                    self.events.status_changed();
                }
                let wanted = allocator_profile(&batch.work);
                if profile != Some(wanted) {
                    malloc::use_profile(wanted);
                    profile = Some(wanted);
                }
                self.apply(&mut engine, batch, &mut limiter);
                trimmed = false;
            } else if !last && !trimmed {
                // Idle: the batch's buffers are free but glibc keeps them; give them back once, and
                // let go of the segments merges replaced (their pages read by the merge count as ours).
                if let Err(err) = engine.text_index().release_merged() {
                    warn!("reloading the index reader: {err}");
                }
                malloc::release_free_memory();
                trimmed = true;
                self.events.status_changed();
            }
            if last {
                break;
            }
        }
        engine.close().inspect_err(|err| {
            error!(error_kind = "close", "closing the index: {err}");
            lock(&self.board).last_error = Some(format!("closing the index: {err}"));
        })
    }

    fn apply(&self, engine: &mut Engine, batch: Batch, limiter: &mut RescanLimiter) {
        let Batch {
            work,
            taken,
            watermark,
            arrivals,
            ..
        } = batch;
        let now = Instant::now();
        // Nothing touches an offline root: a walk of its empty mount point would delete all its records.
        let offline = self.roots.refresh();
        let work: Vec<Work> = if offline.is_empty() {
            work
        } else {
            work.into_iter()
                .filter(|item| !touches(item, &offline))
                .collect()
        };
        let work = {
            let mut shared = lock(&self.board);
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
        let exclusions = self.settings.exclusions();
        let config = self.settings.config();
        engine.set_idle_bulk(config.daemon.idle_priority);
        engine.set_config(config);
        let items = work.len();
        let _span = info_span!("batch", items).entered();
        let noted = recent::before(&work, engine.catalog(), &Syncer::barrier_prefix());
        let progress = Arc::new(Progress::default());
        lock(&self.board).work = Some(CurrentWork {
            kind: if scanned.is_empty() {
                WorkKind::Changes
            } else {
                WorkKind::Rescan
            },
            started: Instant::now(),
            progress: progress.clone(),
            items: (items - scanned.len()) as u64,
        });
        // Walks in this batch (all rescans: the engine walks them together) yield like the start-up
        // walk when bulk work may not run; live changes alone are never interrupted.
        let walks: Vec<(PathBuf, RescanKind, bool)> = work
            .iter()
            .filter_map(|item| match item {
                Work::Rescan { scope, reason } => {
                    Some((scope.clone(), *reason, pause::is_bulk(item)))
                }
                _ => None,
            })
            .collect();
        let yields = walks.iter().any(|(_, _, bulk)| *bulk);
        let started = Instant::now();
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            if yields {
                self.interrupted_when_held(&progress, || {
                    engine.apply_work(work, &exclusions, &progress)
                })
            } else {
                engine.apply_work(work, &exclusions, &progress)
            }
        }));
        lock(&self.board).work = None;
        let mut deferred = false;
        let mut interrupted = false;
        let failure = match result {
            // The live changes are committed (before the walks); what the walks read is committed too.
            Ok(Err(fandex_indexer::Error::Interrupted)) => {
                interrupted = true;
                None
            }
            Ok(Ok(summary)) => {
                let stages = summary.stages;
                // The next batch waits until this commit is as far in the past as it took.
                self.queue
                    .lock()
                    .coalescer
                    .committed(Instant::now(), stages.commit + stages.reload);
                let changes = recent::after(noted, engine.catalog());
                {
                    let mut shared = lock(&self.board);
                    latency::record(&mut shared.latency, &arrivals, taken, started, &stages);
                    let totals = &mut shared.totals;
                    totals.batches += 1;
                    totals.indexed += summary.indexed;
                    totals.moved += summary.moved;
                    totals.removed += summary.removed;
                    totals.failed += summary.failed;
                    totals.deferred += summary.deferred;
                    shared.note_walk_errors(&summary);
                    shared.note_changes(changes);
                }
                if summary.deferred > 0 {
                    deferred = true;
                    retry_deferred(self, &summary);
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
        self.sync.committed(generation);
        self.events.committed(generation);
        {
            let mut shared = lock(&self.board);
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
            if !self.life.check_index() {
                return;
            }
            // The batch may be half applied: restart the writer (a killed writer would fail every later
            // batch), then converge by walking the roots again (rate limited).
            error!(
                error_kind = "batch",
                "batch failed: {err}; rescanning the roots to converge"
            );
            let recovered = std::panic::catch_unwind(AssertUnwindSafe(|| engine.recover()));
            if !matches!(recovered, Ok(Ok(()))) {
                error!("the index writer could not be restarted; later batches may fail too");
            }
            let roots = lock(&self.board).roots.clone();
            self.queue.rescan(roots, RescanKind::BatchFailed);
            return;
        }
        if interrupted {
            self.walk_later(walks, watermark, taken, limiter);
            return;
        }
        self.roots.note_walked(&scanned);
        if deferred {
            // Files from before a cookie may be among those to retry: cookies wait for the retry's batch.
            return;
        }
        // A postponed or held rescan covering a cookie means events may still be missing.
        let held = self.queue.lock().pause.held_scopes();
        self.sync.settle(watermark, taken, &scanned, |cookie| {
            limiter.blocks(cookie) || pause::blocks(&held, cookie)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_alone_are_live_work_and_a_walk_makes_the_batch_bulk() {
        let change = Work::Remove {
            path: PathBuf::from("/r/a"),
        };
        let walk = Work::Rescan {
            scope: PathBuf::from("/r"),
            reason: RescanKind::QueueOverflow,
        };
        assert_eq!(
            allocator_profile(std::slice::from_ref(&change)),
            Profile::Live
        );
        assert_eq!(allocator_profile(&[change, walk]), Profile::Bulk);
    }
}
