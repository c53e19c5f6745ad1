//! fandex's change source.
//!
//! The watcher turns kernel notifications (fanotify or inotify) into one ordered stream of normalized
//! [`Change`]s that the indexer consumes, so the indexer never knows which kernel interface ran.
//!
//! - **fanotify** (privileged): an fd-mode group with `FAN_MARK_FILESYSTEM` supplies open descriptors on
//!   written files; a FID-mode group (`FAN_REPORT_DFID_NAME_TARGET`) is the ordered log of the namespace
//!   (create, delete, rename, modify, close-write). Descriptors are joined to the log by file handle.
//! - **inotify** (fallback, or per filesystem where FID marks are refused): one watch per directory through
//!   `notify`, renames paired by cookie, new directories listed after their watch is in place.
//!
//! Nothing is lost silently: a queue overflow, an event fd that could not be opened or a watch that could not
//! be placed becomes a [`Change::Rescan`]. Events caused by this process (fanotify) and events inside the
//! excluded subtrees are dropped.
//!
//! One change travels top-down: a reader thread (`fanotify/fid.rs`, `fanotify/content.rs`) sends the
//! backend-neutral messages of `event.rs` to the processing thread (`engine.rs`), which also receives
//! `notify`'s events for `inotify.rs`; both feed `normalize.rs`, which hands each [`Change`] to the sink.
//! `select.rs` and `fanotify/group.rs` set the sources up; `sys.rs` and `fanotify/sys.rs` hold the system
//! calls; [`beneath`] is the one safe open of a user's path.
//!
//! Paths are bytes: a [`PathBuf`](std::path::PathBuf) on Unix holds any byte string, including invalid UTF-8 and newlines, and
//! every event carries the exact bytes the kernel reported.

pub mod beneath;
mod change;
mod config;
mod display;
mod engine;
mod event;
mod fanotify;
mod filter;
mod inotify;
mod mounts;
mod normalize;
mod select;
mod sys;
mod volume;
mod walk;

use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded};

pub use change::{Change, ContentFd, RescanReason, rebase};
pub use config::{
    Backend, Counters, FilesystemStatus, RenameSource, Source, WatchConfig, WatchError, WatchStatus,
};
pub use display::escape_path;
pub use mounts::{FsIdentity, MountTableWatch};
pub use volume::Volume;

use engine::Engine;
use event::Stats;
use fanotify::content::ContentStore;
use normalize::Normalizer;

/// Capacity of the channel from the kernel readers to the engine.
const RAW_CAPACITY: usize = 256;
/// Capacity of the channel from `notify`'s thread to the engine; when full, events are dropped and a
/// rescan is reported (the notify thread must never block: the engine calls into it to add watches).
const NOTIFY_CAPACITY: usize = 16_384;

/// A running watcher. Dropping it stops it too.
pub struct Watcher {
    stop_fd: Arc<OwnedFd>,
    stop_tx: Option<Sender<()>>,
    threads: Vec<JoinHandle<()>>,
    notify_alive: Option<Receiver<()>>,
    stats: Arc<Stats>,
    filesystems: Vec<FilesystemStatus>,
}

impl Watcher {
    /// Starts watching; events go to `sink` (a bounded channel: a full sink blocks the watcher, the kernel
    /// queue then fills and overflows into a [`Change::Rescan`], never silent loss).
    ///
    /// When this returns, every mark and watch is in place: changes made from then on are reported.
    pub fn start(config: WatchConfig, sink: Sender<Change>) -> Result<Watcher, WatchError> {
        if config.roots.is_empty() {
            return Err(WatchError::NoRoots);
        }
        match sys::raise_nofile_limit() {
            Ok(n) => tracing::debug!(nofile = n, "raised the soft descriptor limit"),
            Err(e) => tracing::warn!(error = %e, "could not raise RLIMIT_NOFILE"),
        }
        let sel = select::select(&config)?;
        let stats = Arc::new(Stats::default());
        let stop_fd = Arc::new(sys::eventfd().map_err(|e| WatchError::Io {
            what: "eventfd".into(),
            source: e,
        })?);
        let (stop_tx, stop_rx) = bounded::<()>(0);
        let (raw_tx, raw_rx) = bounded(RAW_CAPACITY);
        let store = Arc::new(ContentStore::new(change::FdBudget::for_process()));
        let mounts = select::mounts(&sel.filesystems);
        let fid_roots: Vec<_> = sel
            .filesystems
            .iter()
            .filter(|f| f.fid)
            .flat_map(|f| f.roots.clone())
            .collect();

        let filter = filter::Filter::new(
            config.roots.clone(),
            config.excluded.clone(),
            config.barrier_prefix.clone(),
        );
        let norm = Normalizer::new(
            filter,
            sink,
            stop_rx.clone(),
            stats.clone(),
            store.clone(),
            mounts.clone(),
            sel.content_group.is_some(),
            fid_roots,
        );

        let mut notify_alive = None;
        let mut inotify = None;
        let (notify_tx, notify_rx) = bounded(NOTIFY_CAPACITY);
        if !sel.inotify_roots.is_empty() {
            let (alive_tx, alive_rx) = bounded::<()>(0);
            let flag = stats.clone();
            let handler = move |ev: notify::Result<notify::Event>| {
                let _alive = &alive_tx;
                if notify_tx.try_send(ev).is_err() {
                    flag.notify_overflow
                        .store(true, std::sync::atomic::Ordering::SeqCst);
                }
            };
            // Not IN_OPEN (nor IN_CLOSE_NOWRITE): every read of a file or listing of a directory in the
            // tree, ours included, would queue an event, and a walk of a large tree overflows the queue.
            let kinds = notify::EventKindMask::CORE | notify::EventKindMask::ACCESS_CLOSE;
            let w = <notify::INotifyWatcher as notify::Watcher>::new(
                handler,
                notify::Config::default().with_event_kinds(kinds),
            )
            .map_err(|e| WatchError::Inotify(e.to_string()))?;
            inotify = Some(inotify::InotifyState::new(
                w,
                sel.inotify_roots.clone(),
                sel.fd_content_roots.clone(),
            ));
            notify_alive = Some(alive_rx);
        }
        let mut engine = Engine::new(norm, inotify, stop_rx);
        // Watches are in place before start() returns. A failure here is reported as a rescan.
        if engine.inotify_start().is_err() {
            return Err(WatchError::Inotify("stopped during setup".into()));
        }

        let mut threads = Vec::new();
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.into())
                .spawn(f)
                .map_err(|e| WatchError::Io {
                    what: format!("spawn {name}"),
                    source: e,
                })
        };
        if let Some(g) = sel.content_group {
            let (stop, fs, store, tx, st) = (
                stop_fd.clone(),
                sel.filesystems.clone(),
                store.clone(),
                raw_tx.clone(),
                stats.clone(),
            );
            threads.push(spawn(
                "fandex-fan-content",
                Box::new(move || fanotify::content::run_content(g, stop, fs, store, tx, st)),
            )?);
        }
        if let Some(g) = sel.fid_group {
            let resolver = fanotify::fid::Resolver::new(mounts);
            let (stop, tx, st) = (stop_fd.clone(), raw_tx.clone(), stats.clone());
            threads.push(spawn(
                "fandex-fan-fid",
                Box::new(move || fanotify::fid::run_fid(g, stop, resolver, tx, st)),
            )?);
        }
        drop(raw_tx);
        threads.push(spawn(
            "fandex-watch",
            Box::new(move || engine.run(raw_rx, notify_rx)),
        )?);

        Ok(Watcher {
            stop_fd,
            stop_tx: Some(stop_tx),
            threads,
            notify_alive,
            stats,
            filesystems: sel.status,
        })
    }

    /// What was chosen per filesystem and why, and counters (events, rescans by reason, dropped own events).
    pub fn status(&self) -> WatchStatus {
        self.stats.snapshot(&self.filesystems)
    }

    /// Stops the threads, closes all descriptors, and returns once everything is released.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Err(e) = sys::eventfd_signal(self.stop_fd.as_fd()) {
            tracing::warn!(error = %e, "could not signal the watcher threads");
        }
        self.stop_tx.take();
        for t in self.threads.drain(..) {
            if t.join().is_err() {
                tracing::error!("a watcher thread panicked");
            }
        }
        // The engine dropped the notify watcher; wait until notify's thread has closed the inotify fd.
        if let Some(alive) = self.notify_alive.take() {
            let _ = alive.recv_timeout(Duration::from_secs(5));
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.shutdown();
    }
}
