//! Whether the daemon runs, is stopping, or failed by itself because its index directory was removed or
//! replaced; and the guard thread that notices such a loss.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use fandex_indexer::layout::IndexGuard;
use tracing::error;

use crate::lock::lock;

/// How often the index directory is checked for removal.
const GUARD_INTERVAL: Duration = Duration::from_millis(500);

/// What the rest of the daemon does when it fails: given the message, it marks the status, stops the
/// pipeline and wakes the waiting syncs (set once, at start).
pub(crate) type OnFail = Box<dyn Fn(&str) + Send + Sync>;

/// The daemon's life: stopping, or failed (and why).
pub(crate) struct Lifecycle {
    stopping: AtomicBool,
    /// Why the daemon failed (the index was lost), once it did: it stops.
    failure: Mutex<Option<String>>,
    /// Signalled when `failure` is set and when the daemon stops.
    changed: Condvar,
    /// Tells whether the index directory is still the one opened.
    guard: IndexGuard,
    on_fail: OnFail,
}

impl Lifecycle {
    pub(crate) fn new(guard: IndexGuard, on_fail: OnFail) -> Self {
        Self {
            stopping: AtomicBool::new(false),
            failure: Mutex::new(None),
            changed: Condvar::new(),
            guard,
            on_fail,
        }
    }

    /// Whether the daemon is stopping (asked to, or failed).
    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// Marks the daemon as stopping and wakes [`FailureWatch::wait`].
    pub(crate) fn stop(&self) {
        let _failure = lock(&self.failure);
        self.stopping.store(true, Ordering::Relaxed);
        self.changed.notify_all();
    }

    /// Stops the daemon for good because the index is gone: nothing more is applied (the writer's files
    /// are unreachable and its lock is gone), waiting syncs fail, and [`FailureWatch::wait`] returns.
    pub(crate) fn fail(&self, why: &str) {
        let message =
            format!("{why} while the daemon ran: stopping (start it again to rebuild the index)");
        {
            let mut failure = lock(&self.failure);
            if failure.is_some() {
                return;
            }
            error!("{message}");
            *failure = Some(message.clone());
            self.stopping.store(true, Ordering::Relaxed);
            self.changed.notify_all();
        }
        (self.on_fail)(&message);
    }

    /// Why the daemon failed, if it did.
    pub(crate) fn failure(&self) -> Option<String> {
        lock(&self.failure).clone()
    }

    /// Checks the index directory; a lost one makes the daemon fail. Returns whether it is intact.
    pub(crate) fn check_index(&self) -> bool {
        match self.guard.check() {
            Ok(()) => true,
            Err(lost) => {
                self.fail(&lost);
                false
            }
        }
    }
}

/// Waits for a daemon to fail by itself (see `Daemon::failure_watch`).
#[derive(Clone)]
pub struct FailureWatch {
    pub(crate) life: Arc<Lifecycle>,
}

impl FailureWatch {
    /// Blocks until the daemon fails (returns why: the index was lost) or stops (returns `None`).
    pub fn wait(&self) -> Option<String> {
        let mut failure = lock(&self.life.failure);
        loop {
            if let Some(why) = failure.as_ref() {
                return Some(why.clone());
            }
            if self.life.is_stopping() {
                return None;
            }
            failure = self
                .life
                .changed
                .wait(failure)
                .unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Checks the index directory every [`GUARD_INTERVAL`] until `stop` closes or the index is lost.
pub(crate) fn guard_loop(life: &Lifecycle, stop: &crossbeam_channel::Receiver<()>) {
    while let Err(crossbeam_channel::RecvTimeoutError::Timeout) = stop.recv_timeout(GUARD_INTERVAL)
    {
        if !life.check_index() {
            return;
        }
    }
}
