//! The queue between the intake and the pipeline: the coalescer under a mutex, the changes numbered as
//! they enter it, and each batch's watermark (every change numbered below it has been taken).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use fandex_indexer::Config;
use fandex_indexer::coalesce::{BatchLimits, Coalescer, RescanKind, Work};
use fandex_watcher::Change;

use crate::latency::MAX_TIMED;
use crate::lock::lock;
use crate::pause::PauseState;

/// Events buffered between the watcher and the intake.
pub(crate) const EVENT_CHANNEL: usize = 4096;
/// Pending items beyond which the coalescer collapses into rescans.
pub(crate) const MAX_PENDING: usize = 200_000;
/// Event descriptors held while pending.
const MAX_PENDING_FDS: usize = 256;

/// The batching limits a configuration asks for.
pub(crate) fn batch_limits(config: &Config) -> BatchLimits {
    BatchLimits {
        max_items: config.daemon.batch_docs.max(1),
        max_delay: Duration::from_millis(config.daemon.batch_ms),
        min_delay: Duration::from_millis(config.daemon.batch_min_ms),
        settle: Duration::from_millis(config.daemon.settle_ms),
        max_fds: MAX_PENDING_FDS,
    }
}

/// The queue shared by the intake (which pushes), the pipeline (which takes batches) and whoever schedules
/// rescans; `wake` tells the pipeline something changed.
pub(crate) struct WorkQueue {
    queue: Mutex<Queue>,
    wake: Condvar,
}

impl WorkQueue {
    pub(crate) fn new(config: &Config) -> Self {
        Self {
            queue: Mutex::new(Queue {
                pause: PauseState::new(
                    config.daemon.on_battery,
                    Duration::from_secs(config.daemon.throttle_gap_secs),
                ),
                ..Queue::new(Coalescer::new(batch_limits(config)))
            }),
            wake: Condvar::new(),
        }
    }

    /// The queue, locked.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Queue> {
        lock(&self.queue)
    }

    /// Wakes the pipeline (call after a push, with the lock released).
    pub(crate) fn notify(&self) {
        self.wake.notify_all();
    }

    /// Waits for a notification, at most `timeout` (forever without one).
    pub(crate) fn wait<'a>(
        &self,
        queue: MutexGuard<'a, Queue>,
        timeout: Option<Duration>,
    ) -> MutexGuard<'a, Queue> {
        match timeout {
            Some(t) => {
                self.wake
                    .wait_timeout(queue, t)
                    .unwrap_or_else(|p| p.into_inner())
                    .0
            }
            None => self.wake.wait(queue).unwrap_or_else(|p| p.into_inner()),
        }
    }

    /// Schedules a walk of each of `scopes` and wakes the pipeline.
    pub(crate) fn rescan(&self, scopes: impl IntoIterator<Item = PathBuf>, reason: RescanKind) {
        let now = Instant::now();
        let mut queue = self.lock();
        for scope in scopes {
            queue.push_rescan(scope, reason, now);
        }
        drop(queue);
        self.notify();
    }

    /// Tells the pipeline to take its last batch.
    pub(crate) fn stop(&self) {
        self.lock().stopping = true;
        self.notify();
    }
}

/// The coalescer and the numbering of the changes pushed into it.
pub(crate) struct Queue {
    pub coalescer: Coalescer,
    pub stopping: bool,
    /// A sync cookie arrived: hand the batch on now instead of waiting for the batch window.
    pub urgent: bool,
    /// What is paused (`fandex pause`, walks on battery).
    pub pause: PauseState,
    /// The number the next change pushed gets (changes are numbered in arrival order).
    next_seq: u64,
    /// The number of the first change pushed since the coalescer was last empty.
    oldest_pending: Option<u64>,
    /// When pending changes were received, by number, oldest first (at most [`MAX_TIMED`]).
    arrivals: VecDeque<(u64, Instant)>,
}

impl Queue {
    pub(crate) fn new(coalescer: Coalescer) -> Self {
        Self {
            coalescer,
            stopping: false,
            urgent: false,
            pause: PauseState::new(
                Default::default(),
                Duration::from_secs(fandex_indexer::config::THROTTLE_GAP_SECS),
            ),
            next_seq: 0,
            oldest_pending: None,
            arrivals: VecDeque::new(),
        }
    }

    /// Adds a change received `now` to the coalescer; returns its number.
    pub fn push(&mut self, change: Change, now: Instant) -> u64 {
        self.coalescer.push(change, now);
        let seq = self.number();
        if self.arrivals.len() < MAX_TIMED {
            self.arrivals.push_back((seq, now));
        }
        seq
    }

    /// When the changes numbered below `watermark` (a batch's) were received, forgotten here.
    pub fn arrivals_below(&mut self, watermark: u64) -> Vec<Instant> {
        let taken = self.arrivals.partition_point(|(seq, _)| *seq < watermark);
        self.arrivals.drain(..taken).map(|(_, at)| at).collect()
    }

    /// Numbers the change just added to the coalescer.
    fn number(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.oldest_pending.get_or_insert(seq);
        seq
    }

    /// Schedules a walk of `scope` (see [`Coalescer::push_rescan`]); returns its number.
    pub fn push_rescan(&mut self, scope: PathBuf, reason: RescanKind, now: Instant) -> u64 {
        self.coalescer.push_rescan(scope, reason, now);
        self.number()
    }

    /// Takes the next batch, with its watermark: every change numbered below it is in this batch or an
    /// earlier one. (A partial batch leaves the rest pending: its watermark stays at the oldest change
    /// still possibly pending.)
    pub fn take(&mut self) -> (Vec<Work>, u64) {
        let work = self.coalescer.take();
        let watermark = if self.coalescer.is_empty() {
            self.oldest_pending = None;
            self.next_seq
        } else {
            self.oldest_pending.unwrap_or(self.next_seq)
        };
        (work, watermark)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn modified(p: &str) -> Change {
        Change::Modified {
            path: p.into(),
            content: None,
        }
    }

    #[test]
    fn a_partial_batch_keeps_the_watermark_at_the_oldest_pending_change() {
        let limits = BatchLimits {
            max_items: 2,
            max_delay: Duration::from_millis(10),
            min_delay: Duration::ZERO,
            settle: Duration::from_millis(10),
            max_fds: 0,
        };
        let mut queue = Queue::new(Coalescer::new(limits));
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
}
