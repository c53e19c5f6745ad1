//! Pausing and resuming the daemon's work on request (`fandex pause`, `fandex resume`, the D-Bus
//! `Pause` and `Resume`): one place for the socket and the bus, which changes the queue's
//! [`crate::pause::PauseState`], wakes the pipeline and announces the change.

use std::time::{Duration, Instant};

use fandex_query::protocol::status::PauseReport;
use tracing::info;

use crate::events::Events;
use crate::queue::WorkQueue;

/// Pauses the daemon's work for `duration` (until [`resume`] when `None`); returns the pause now in
/// force.
pub(crate) fn pause(
    queue: &WorkQueue,
    events: &Events,
    duration: Option<Duration>,
) -> Option<PauseReport> {
    let report = {
        let mut q = queue.lock();
        q.pause.pause(duration, Instant::now());
        let waiting = q.coalescer.len();
        q.pause.report(waiting)
    };
    info!(
        ?duration,
        "paused: changes are recorded and applied on resume"
    );
    queue.notify();
    events.status_changed();
    report
}

/// Ends the user's pause: the changes recorded meanwhile are applied. Returns the pause still in force
/// (walks on battery), if any.
pub(crate) fn resume(queue: &WorkQueue, events: &Events) -> Option<PauseReport> {
    let (was, report) = {
        let mut q = queue.lock();
        let was = q.pause.resume();
        let waiting = q.coalescer.len();
        (was, q.pause.report(waiting))
    };
    if was {
        info!("resumed: applying the changes recorded while paused");
        queue.notify();
        events.status_changed();
    }
    report
}
