//! The intake: moves the watcher's events into the queue, numbered, as fast as they come. It never waits
//! for the engine; if too much piles up, the coalescer collapses into rescans of the roots, so memory
//! stays bounded and nothing is lost.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use crossbeam_channel::Receiver;
use fandex_indexer::coalesce::RescanKind;
use fandex_watcher::Change;
use tracing::warn;

use crate::activity::Shared;
use crate::lock::lock;
use crate::queue::{MAX_PENDING, WorkQueue};
use crate::sync::Syncer;

/// What the intake thread works with.
pub(crate) struct Intake {
    pub(crate) queue: Arc<WorkQueue>,
    pub(crate) sync: Arc<Syncer>,
    pub(crate) board: Arc<Mutex<Shared>>,
}

impl Intake {
    /// Moves watcher events into the coalescer until the watcher stops.
    pub(crate) fn run(&self, events: Receiver<Change>) {
        for change in events.iter() {
            let sighting = self.sync.sighting(&change);
            let mut queue = self.queue.lock();
            // A change to one of our sync cookies hands the batch on now instead of after the window.
            queue.urgent |= sighting.is_some();
            let seq = queue.push(change, Instant::now());
            if let Some(sighting) = sighting {
                // Numbered under the queue lock: no batch can be taken between the push and this.
                self.sync.record(sighting, seq);
            }
            if queue.coalescer.len() > MAX_PENDING {
                let roots = lock(&self.board).roots.clone();
                warn!(
                    pending = queue.coalescer.len(),
                    "too many pending changes; rescanning the roots instead"
                );
                queue
                    .coalescer
                    .collapse(&roots, RescanKind::QueueCollapsed, Instant::now());
                lock(&self.board).totals.queue_collapses += 1;
            }
            drop(queue);
            self.queue.notify();
        }
    }
}
