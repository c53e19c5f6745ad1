//! The backend-neutral vocabulary between the kernel readers and the engine: what the backends' threads
//! send ([`Raw`], [`NsEvent`]), the engine's stop signal ([`Stopped`]) and the counters every part
//! updates ([`Stats`]). It sits at the bottom: the backends produce into it, the engine consumes it.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use crate::change::{Change, ContentFd, RescanReason};
use crate::config::{Counters, FilesystemStatus, WatchStatus};
use crate::fanotify::sys::Handle;

/// A namespace or content observation from the FID group, with its event-time path.
#[derive(Debug)]
pub(crate) enum NsEvent {
    /// A name appeared.
    Created { path: PathBuf, is_dir: bool },
    /// A name appeared and disappeared in one merged event: report what exists now.
    CreatedMaybe { path: PathBuf, is_dir: bool },
    /// A name disappeared.
    Removed { path: PathBuf, is_dir: bool },
    /// A name moved.
    Renamed {
        from: PathBuf,
        to: PathBuf,
        is_dir: bool,
    },
    /// Metadata changed.
    Attrib { path: PathBuf },
    /// Content changed; `final_` when the writer closed the file.
    Content {
        path: PathBuf,
        final_: bool,
        handle: Handle,
    },
    /// A directory handle could not be resolved: the event's path is unknown.
    Unresolved,
    /// The FID queue overflowed.
    Overflow,
    /// Reading the FID group failed: its events from then on are lost.
    Failed(String),
}

/// What the backends' threads send to the engine.
pub(crate) enum Raw {
    /// A resolved batch from the FID group, in queue order, and when it was read.
    Fid(Vec<NsEvent>, Instant),
    /// An fd-group event on a filesystem whose namespace comes from inotify.
    Content {
        path: PathBuf,
        fd: ContentFd,
        final_: bool,
    },
    /// Something was lost.
    Rescan {
        scopes: Vec<PathBuf>,
        reason: RescanReason,
    },
}

/// The engine was asked to stop (or the sink is gone) while delivering.
#[derive(Debug)]
pub(crate) struct Stopped;

/// Counters and state shared with the watcher's status report.
#[derive(Default)]
pub(crate) struct Stats {
    counters: Mutex<Counters>,
    degraded: Mutex<Option<String>>,
    /// Set by the `notify` handler when it had to drop events because the engine was behind.
    pub(crate) notify_overflow: AtomicBool,
}

impl Stats {
    pub(crate) fn add_dropped_own(&self, n: u64) {
        if let Ok(mut c) = self.counters.lock() {
            c.dropped_own += n;
        }
    }
    pub(crate) fn add_dropped_outside(&self, n: u64) {
        if let Ok(mut c) = self.counters.lock() {
            c.dropped_outside += n;
        }
    }
    pub(crate) fn set_watches(&self, n: usize) {
        if let Ok(mut c) = self.counters.lock() {
            c.inotify_watches = n as u64;
        }
    }
    pub(crate) fn set_degraded(&self, why: Option<String>) {
        if let Ok(mut d) = self.degraded.lock() {
            *d = why;
        }
    }
    pub(crate) fn record(&self, change: &Change) {
        if let Ok(mut c) = self.counters.lock() {
            c.events += 1;
            if let Change::Rescan { reason, .. } = change {
                *c.rescans.entry(reason.to_string()).or_default() += 1;
            }
        }
    }
    pub(crate) fn snapshot(&self, filesystems: &[FilesystemStatus]) -> WatchStatus {
        let counters = self.counters.lock().map(|c| c.clone()).unwrap_or_default();
        let degraded_reason = self.degraded.lock().ok().and_then(|d| d.clone());
        WatchStatus {
            filesystems: filesystems.to_vec(),
            degraded: degraded_reason.is_some(),
            degraded_reason,
            counters,
        }
    }
}
