//! Walks that yield: the start-up walk and the pipeline's rescans run under
//! [`Pipeline::interrupted_when_held`], so a `fandex pause`, the battery policy or a stop interrupts them
//! (what they read is committed); an interrupted walk goes on once walks may run, reading only what was
//! not committed.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fandex_indexer::Engine;
use fandex_indexer::coalesce::RescanKind;
use fandex_indexer::engine::{Progress, UpdateRequest};
use tracing::{error, info, info_span};

use crate::activity::{CurrentWork, State, WorkKind};
use crate::backoff::RescanLimiter;
use crate::lock::lock;
use crate::pause;
use crate::pipeline::{Pipeline, retry_deferred};
use crate::queue::WorkQueue;

/// How an attempt at the start-up walk ended.
enum Walked {
    /// Walked to the end, failed (a rescan follows), or there was nothing to walk or the daemon stops.
    Done,
    /// Interrupted by a pause or the battery policy: to be walked again once walks may run.
    Interrupted,
}

impl Pipeline {
    /// The walk a start begins with: the reconcile of the roots with the catalog (state `reconciling`),
    /// or the refill of an index found in another format (state `rebuilding`). The daemon already
    /// serves meanwhile: searches see each of its commits, and changes wait in the queue, so a sync
    /// cookie is settled only by a batch after this walk. A failed walk is followed by a root rescan
    /// (a failed rebuild also leaves its marker: the next start walks again, reading only what is
    /// missing).
    pub(crate) fn first_walk(&self, engine: &mut Engine) {
        loop {
            match self.first_walk_once(engine) {
                Walked::Done => return,
                // Paused (or on battery): wait until walks may run again, then walk again (what was
                // committed is found unchanged).
                Walked::Interrupted => {
                    info!("the start-up walk is paused; it goes on when walks may run")
                }
            }
        }
    }

    /// One attempt at [`Pipeline::first_walk`]'s walk.
    fn first_walk_once(&self, engine: &mut Engine) -> Walked {
        let (rebuild, progress) = {
            let shared = lock(&self.board);
            match (&shared.rebuild, shared.state) {
                (Some((rebuild, progress)), _) => (Some(*rebuild), progress.clone()),
                (None, State::Reconciling) => (None, Arc::new(Progress::default())),
                _ => return Walked::Done,
            }
        };
        if !self.wait_for_bulk() {
            return Walked::Done;
        }
        let (what, kind) = match rebuild {
            Some(_) => ("rebuilding the index", WorkKind::Rebuild),
            None => ("reconciling the roots", WorkKind::Rescan),
        };
        let _span = match rebuild {
            Some(rebuild) => info_span!("rebuild", from = rebuild.from, to = rebuild.to).entered(),
            None => info_span!("reconcile").entered(),
        };
        let started = Instant::now();
        lock(&self.board).work = Some(CurrentWork {
            kind,
            started,
            progress: progress.clone(),
            items: 0,
        });
        let result = self.interrupted_when_held(&progress, || {
            engine.update(&UpdateRequest::default(), &progress)
        });
        let generation = engine.generation();
        self.sync.committed(generation);
        self.events.committed(generation);
        if matches!(result, Err(fandex_indexer::Error::Interrupted)) {
            let mut shared = lock(&self.board);
            shared.work = None;
            // The next attempt counts afresh (the counters only grow).
            if let Some((_, progress)) = &mut shared.rebuild {
                *progress = Arc::new(Progress::default());
            }
            drop(shared);
            self.events.status_changed();
            return if self.queue.lock().stopping {
                Walked::Done
            } else {
                Walked::Interrupted
            };
        }
        let outcome = {
            let mut shared = lock(&self.board);
            shared.rebuild = None;
            shared.work = None;
            if matches!(shared.state, State::Rebuilding | State::Reconciling) {
                shared.state = State::Watching;
            }
            match result {
                Ok(summary) => {
                    info!(
                        "{}: {summary}",
                        if rebuild.is_some() {
                            "index rebuilt"
                        } else {
                            "reconciled"
                        }
                    );
                    shared.reconcile_seconds = Some(started.elapsed().as_secs_f64());
                    shared.note_walk_errors(&summary);
                    // Files that could not be opened are read again by a rescan of their own.
                    let retry = (summary.deferred > 0).then(|| summary.clone());
                    shared.reconcile = Some(summary);
                    Ok(retry)
                }
                Err(err) => {
                    error!(error_kind = "walk", "{what}: {err}");
                    shared.last_error = Some(format!("{what}: {err}"));
                    Err(shared.roots.clone())
                }
            }
        };
        self.events.status_changed();
        match outcome {
            Ok(Some(summary)) => retry_deferred(self, &summary),
            Ok(None) => {}
            Err(roots) => {
                if let Err(err) = engine.recover() {
                    error!("restarting the index writer: {err}");
                }
                self.queue.rescan(roots, RescanKind::BatchFailed);
            }
        }
        Walked::Done
    }

    /// Runs `walk` (bulk work reporting to `progress`) and interrupts it through `progress` as soon as
    /// walks may not run: the daemon stops, the user pauses, or the battery policy holds walks. A walk
    /// of a million files takes many minutes; a stop or a pause must not wait for it.
    pub(crate) fn interrupted_when_held<R>(
        &self,
        progress: &Progress,
        walk: impl FnOnce() -> R,
    ) -> R {
        /// Ends the watch when the walk returns or panics (a panic must not leave the scope waiting).
        struct Finished<'a>(&'a AtomicBool, &'a WorkQueue);
        impl Drop for Finished<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
                self.1.notify();
            }
        }
        let done = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut queue = self.queue.lock();
                while !done.load(Ordering::Relaxed) {
                    queue.pause.expire(Instant::now());
                    if queue.stopping
                        || queue.pause.user_hold().is_some()
                        || queue.pause.holds_bulk()
                    {
                        progress.interrupt.store(true, Ordering::Relaxed);
                        return;
                    }
                    queue = self.queue.wait(queue, Some(Duration::from_millis(250)));
                }
            });
            let _finished = Finished(&done, &self.queue);
            walk()
        })
    }

    /// Waits while walks may not run (paused, or on battery); false when the daemon stops meanwhile.
    fn wait_for_bulk(&self) -> bool {
        let mut queue = self.queue.lock();
        loop {
            if queue.stopping {
                return false;
            }
            queue.pause.expire(Instant::now());
            if queue.pause.user_hold().is_none() && !queue.pause.holds_bulk() {
                return true;
            }
            queue = self.queue.wait(queue, Some(Duration::from_secs(1)));
        }
    }

    /// After a batch whose walks were interrupted (a pause, the battery policy or a stop): the walks are
    /// held by the pause state until walks may run (a new directory's walk, live work, is queued again),
    /// and only the sync cookies no walk of the batch covers are settled. Nothing is reported as failed;
    /// the walk run again reads only what was not committed.
    pub(crate) fn walk_later(
        &self,
        walks: Vec<(PathBuf, RescanKind, bool)>,
        watermark: u64,
        taken: Instant,
        limiter: &RescanLimiter,
    ) {
        info!(
            walks = walks.len(),
            "rescan interrupted (paused, on battery or stopping); it goes on when walks may run"
        );
        let mut waiting = Vec::with_capacity(walks.len());
        let mut queue = self.queue.lock();
        for (scope, reason, bulk) in walks {
            waiting.push(scope.clone());
            if bulk {
                queue.pause.hold(scope, reason);
            } else {
                queue.push_rescan(scope, reason, Instant::now());
            }
        }
        waiting.extend(queue.pause.held_scopes());
        drop(queue);
        self.queue.notify();
        self.events.status_changed();
        self.sync.settle(watermark, taken, &[], |cookie| {
            limiter.blocks(cookie) || pause::blocks(&waiting, cookie)
        });
    }
}
