//! What the daemon announces as it works (a commit, a change of state), for whoever listens: the D-Bus
//! service turns them into `IndexUpdated` and `StatusChanged` signals ([`crate::bus`]). Announcing never
//! blocks: with no listener, or a listener behind, an event is dropped (the next one carries the news).

use crossbeam_channel::{Receiver, Sender};

/// Events buffered for the listener.
const EVENTS: usize = 256;

/// One announcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    /// A commit made changes searchable, as of this generation.
    Committed(u64),
    /// The status changed (paused, resumed, on battery, indexing, idle).
    StatusChanged,
    /// The daemon stops: the listener ends.
    Stop,
}

/// The sending side, cloned into each part that announces.
#[derive(Debug, Clone)]
pub(crate) struct Events {
    tx: Sender<Event>,
}

impl Events {
    /// A sender and the receiver for the listener (dropping it: nobody listens).
    pub(crate) fn channel() -> (Self, Receiver<Event>) {
        let (tx, rx) = crossbeam_channel::bounded(EVENTS);
        (Self { tx }, rx)
    }

    /// A commit made changes searchable.
    pub(crate) fn committed(&self, generation: u64) {
        let _ = self.tx.try_send(Event::Committed(generation));
    }

    /// The status changed.
    pub(crate) fn status_changed(&self) {
        let _ = self.tx.try_send(Event::StatusChanged);
    }

    /// Tells the listener to end (waits for room: the listener keeps reading until then).
    pub(crate) fn stop(&self) {
        let _ = self
            .tx
            .send_timeout(Event::Stop, std::time::Duration::from_secs(1));
    }
}
