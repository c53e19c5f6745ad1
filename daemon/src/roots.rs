//! Roots whose filesystem went away: unmounted (plainly or lazily), or the directory itself vanished, while
//! the daemon runs or before it started (the engine finds those from the volume each root's last walk
//! recorded: `fandex_indexer::engine::OfflineRoot`; they start offline here).
//!
//! Each root's filesystem identity ([`FsIdentity`]: `st_dev`, `statfs.f_fsid` and the volume, the
//! identity that survives a remount: see `fandex_watcher::Volume`) is recorded at start. A root whose
//! path is gone, or now sits on another filesystem (another volume), is *offline*: its records stay in
//! the index (hide, never delete: a walk of the empty mount point would delete them all), searches
//! neither return nor count its files, no walk or rescan touches it, and `status` says since when. When
//! the recorded volume is at the path again, even on another device number (an image on another loop
//! device, a disk on another port), the watcher is restarted to cover it and a walk reconciles its
//! records (files are known by volume and inode, so nothing unchanged is read); its files are
//! searchable again once that walk has committed. Any other filesystem mounted at the path keeps the
//! root offline: the check is strict because walking the wrong filesystem would delete the root's
//! records (a volume known only by its device number or `f_fsid` includes them and the filesystem type:
//! overlayfs may report its upper filesystem's `f_fsid`, and `f_fsid` is 0 on some FUSE filesystems).
//!
//! Changes are noticed through the mount table (`/proc/self/mountinfo` reports every mount and unmount),
//! a check every second (a directory that vanished changes no mount), and a check before every batch.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::Sender;
use fandex_indexer::coalesce::RescanKind;
use fandex_query::QueryEngine;
use fandex_watcher::{
    Change, FsIdentity, MountTableWatch, RescanReason, Volume, WatchConfig, WatchStatus, Watcher,
};
use tracing::{debug, info, warn};

use crate::activity::Shared;
use crate::lifecycle::Lifecycle;
use crate::lock::lock;
use crate::options::Settings;
use crate::poll::Poller;
use crate::queue::WorkQueue;

/// How often the roots are checked when the mount table did not change.
const CHECK_EVERY: Duration = Duration::from_secs(1);

pub use fandex_query::protocol::status::OfflineRoot;

/// Where a root stands.
#[derive(Debug, Clone)]
enum RootState {
    /// Its filesystem is there: watched, walked, searchable.
    Online,
    /// Its filesystem is not there: hidden, never walked.
    Offline { since: SystemTime, reason: String },
    /// Back, and its reconcile walk is scheduled: walked, still hidden until that walk commits.
    Returning { since: SystemTime, reason: String },
}

#[derive(Debug)]
struct Root {
    path: PathBuf,
    /// The filesystem the root belongs on: as found when it was last there, or, for a root offline
    /// since the start, the volume its last walk recorded (`None` when none was: then whatever
    /// directory appears at the path is taken).
    identity: Option<FsIdentity>,
    state: RootState,
}

/// The roots' filesystems and whether each is there.
#[derive(Debug)]
pub(crate) struct Roots {
    roots: Vec<Root>,
    /// The watcher must be restarted (a transition happened, or the last restart failed).
    watcher_stale: bool,
}

impl Roots {
    /// Records the identity of each present root's filesystem now (they exist: the watcher checked
    /// them); the roots found offline at the start (see `fandex_indexer::engine::OfflineRoot`) wait for
    /// the volume their last walk recorded.
    pub(crate) fn new(
        present: &[PathBuf],
        offline: &[fandex_indexer::engine::OfflineRoot],
    ) -> std::io::Result<Self> {
        let mut roots = present
            .iter()
            .map(|path| {
                Ok(Root {
                    path: path.clone(),
                    identity: Some(FsIdentity::of(path)?),
                    state: RootState::Online,
                })
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        let now = SystemTime::now();
        for root in offline {
            let mut reason = root.reason.clone();
            if let Some(walked) = root.last_walked() {
                reason.push_str(&format!(
                    "; last indexed {}",
                    humantime::format_rfc3339_seconds(walked)
                ));
            }
            roots.push(Root {
                path: root.path.clone(),
                identity: root.volume.as_ref().map(|identity| FsIdentity {
                    dev: 0,
                    fsid: [0, 0],
                    volume: Volume::from_identity(identity.clone()),
                }),
                state: RootState::Offline { since: now, reason },
            });
        }
        roots.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Self {
            roots,
            watcher_stale: false,
        })
    }

    /// Checks every root's filesystem; returns the roots that came back.
    fn check(&mut self) -> Vec<PathBuf> {
        let mut back = Vec::new();
        for root in &mut self.roots {
            let (problem, now) = match FsIdentity::of(&root.path) {
                Ok(now)
                    if root
                        .identity
                        .as_ref()
                        .is_none_or(|id| now.same_filesystem(id)) =>
                {
                    (None, Some(now))
                }
                Ok(_) => (
                    Some("unmounted: the path is now on another filesystem".to_string()),
                    None,
                ),
                Err(e) => (Some(format!("the directory is gone: {e}")), None),
            };
            if let Some(now) = now
                && root.identity.as_ref() != Some(&now)
            {
                let returning = match &root.state {
                    RootState::Online => {
                        Some((SystemTime::now(), "remounted on another device".to_string()))
                    }
                    RootState::Returning { since, reason } => Some((*since, reason.clone())),
                    // Back from offline: the transition below schedules it.
                    RootState::Offline { .. } => None,
                };
                if returning.is_some() {
                    // The same filesystem on another device number (remounted between two checks): the
                    // watcher's marks were on the old mount, so it is watched and reconciled again.
                    info!(root = %root.path.display(), volume = %now.volume.identity, "root remounted on another device");
                }
                root.identity = Some(now);
                self.watcher_stale = true;
                if let Some((since, reason)) = returning {
                    root.state = RootState::Returning { since, reason };
                    back.push(root.path.clone());
                }
            }
            match (&root.state, problem) {
                (RootState::Online | RootState::Returning { .. }, Some(reason)) => {
                    warn!(root = %root.path.display(), %reason, "root offline: its files are hidden until it returns");
                    root.state = RootState::Offline {
                        since: SystemTime::now(),
                        reason,
                    };
                    self.watcher_stale = true;
                }
                (RootState::Offline { since, reason }, None) => {
                    info!(root = %root.path.display(), "root back online: reconciling it");
                    root.state = RootState::Returning {
                        since: *since,
                        reason: reason.clone(),
                    };
                    back.push(root.path.clone());
                    self.watcher_stale = true;
                }
                _ => {}
            }
        }
        back
    }

    /// The roots whose filesystem is not there (nothing may walk them).
    fn offline(&self) -> Vec<PathBuf> {
        self.roots
            .iter()
            .filter(|r| matches!(r.state, RootState::Offline { .. }))
            .map(|r| r.path.clone())
            .collect()
    }

    /// The roots searches must not show (offline, or back but not reconciled yet).
    fn hidden(&self) -> Vec<PathBuf> {
        self.roots
            .iter()
            .filter(|r| !matches!(r.state, RootState::Online))
            .map(|r| r.path.clone())
            .collect()
    }

    /// The roots whose filesystem is there (to watch, and to place sync cookies in).
    pub(crate) fn present(&self) -> Vec<PathBuf> {
        self.roots
            .iter()
            .filter(|r| !matches!(r.state, RootState::Offline { .. }))
            .map(|r| r.path.clone())
            .collect()
    }

    /// The offline roots for `status` (a returning root shows until its reconcile walk committed).
    pub(crate) fn report(&self) -> Vec<OfflineRoot> {
        self.roots
            .iter()
            .filter_map(|r| match &r.state {
                RootState::Online => None,
                RootState::Offline { since, reason } => Some((r, since, reason.clone())),
                RootState::Returning { since, reason } => {
                    Some((r, since, format!("{reason}; back now, being reconciled")))
                }
            })
            .map(|(r, since, reason)| OfflineRoot {
                root: r.path.display().to_string(),
                since: humantime::format_rfc3339_seconds(*since).to_string(),
                reason,
            })
            .collect()
    }

    /// Marks returning roots covered by a committed walk of `scanned` as online; returns whether any was.
    fn reconciled(&mut self, scanned: &[PathBuf]) -> bool {
        let mut any = false;
        for root in &mut self.roots {
            if matches!(root.state, RootState::Returning { .. })
                && scanned.iter().any(|s| root.path.starts_with(s))
            {
                info!(root = %root.path.display(), "root reconciled: its files are searchable again");
                root.state = RootState::Online;
                any = true;
            }
        }
        any
    }
}

/// Whether `path` is in one of `dirs`.
pub(crate) fn under_any(path: &Path, dirs: &[PathBuf]) -> bool {
    dirs.iter().any(|d| path.starts_with(d))
}

/// The roots, the watcher on those that are there, and what acting on a change of them touches: the
/// searcher (which hides offline roots) and the queue (which gets the reconcile walks).
pub(crate) struct RootWatch {
    roots: Mutex<Roots>,
    watcher: Mutex<Option<Watcher>>,
    /// How the watcher was configured (a restart after a root's filesystem changed uses it again).
    watch_config: WatchConfig,
    /// The watcher's sink, for a restarted watcher; taken at shutdown so the intake ends.
    events_tx: Mutex<Option<Sender<Change>>>,
    searcher: QueryEngine,
    board: Arc<Mutex<Shared>>,
    queue: Arc<WorkQueue>,
}

impl RootWatch {
    /// Follows `roots` with `watcher` on those that are there (`None`: none is); offline roots are hidden
    /// from `searcher` from now on.
    pub(crate) fn new(
        roots: Roots,
        watcher: Option<Watcher>,
        watch_config: WatchConfig,
        events_tx: Sender<Change>,
        searcher: QueryEngine,
        board: Arc<Mutex<Shared>>,
        queue: Arc<WorkQueue>,
    ) -> Self {
        let hidden = roots.hidden();
        if !hidden.is_empty() {
            searcher.set_hidden_subtrees(hidden);
        }
        Self {
            roots: Mutex::new(roots),
            watcher: Mutex::new(watcher),
            watch_config,
            events_tx: Mutex::new(Some(events_tx)),
            searcher,
            board,
            queue,
        }
    }

    /// The roots whose filesystem is there (to watch, and to place sync cookies in).
    pub(crate) fn present(&self) -> Vec<PathBuf> {
        lock(&self.roots).present()
    }

    /// The offline roots for `status`.
    pub(crate) fn report(&self) -> Vec<OfflineRoot> {
        lock(&self.roots).report()
    }

    /// The roots on network or FUSE filesystems (walked every `watch.poll_interval`) that are there.
    pub(crate) fn polled(&self) -> Vec<PathBuf> {
        let Some(status) = self.watcher_status() else {
            return Vec::new();
        };
        status
            .filesystems
            .into_iter()
            .filter(|fs| fs.polled.is_some())
            .flat_map(|fs| fs.roots)
            .collect()
    }

    /// The watcher's status, while one runs.
    pub(crate) fn watcher_status(&self) -> Option<WatchStatus> {
        lock(&self.watcher).as_ref().map(Watcher::status)
    }

    /// Checks the roots now and acts on what changed: hides offline roots from searches, restarts the
    /// watcher on the roots that are there, schedules the reconcile walk of roots that came back. Returns
    /// the offline roots (no work may touch them).
    pub(crate) fn refresh(&self) -> Vec<PathBuf> {
        let mut roots = lock(&self.roots);
        let back = roots.check();
        if roots.watcher_stale {
            // Hidden first: from this moment no search returns an offline root's files.
            self.searcher.set_hidden_subtrees(roots.hidden());
            roots.watcher_stale = !self.restart_watcher(roots.present());
        }
        if !back.is_empty() {
            let now = Instant::now();
            let mut queue = self.queue.lock();
            for root in back {
                queue.push(
                    Change::Rescan {
                        scope: root,
                        reason: RescanReason::RootOnline,
                    },
                    now,
                );
            }
            drop(queue);
            self.queue.notify();
        }
        roots.offline()
    }

    /// After a committed batch that walked `scanned`: returning roots it covered become searchable again.
    pub(crate) fn note_walked(&self, scanned: &[PathBuf]) {
        let mut roots = lock(&self.roots);
        if roots.reconciled(scanned) {
            self.searcher.set_hidden_subtrees(roots.hidden());
        }
    }

    /// Replaces the watcher by one on `present` (none when no root is there). The new one starts before
    /// the old one stops, so no change falls between them. Returns false when it could not start
    /// (retried at the next check).
    fn restart_watcher(&self, present: Vec<PathBuf>) -> bool {
        let Some(tx) = lock(&self.events_tx).clone() else {
            // Stopping.
            return true;
        };
        let new = if present.is_empty() {
            None
        } else {
            match Watcher::start(
                WatchConfig {
                    roots: present,
                    ..self.watch_config.clone()
                },
                tx,
            ) {
                Ok(w) => Some(w),
                Err(e) => {
                    warn!(error = %e, "cannot restart the watcher after a root's filesystem changed; retrying");
                    lock(&self.board).last_error = Some(format!("restarting the watcher: {e}"));
                    return false;
                }
            }
        };
        let old = std::mem::replace(&mut *lock(&self.watcher), new);
        if let Some(old) = old {
            old.stop();
        }
        true
    }

    /// Stops watching for good: no watcher is started again, the running one stops and its threads drop
    /// their sender (so the intake ends).
    pub(crate) fn stop_watching(&self) {
        lock(&self.events_tx).take();
        if let Some(watcher) = lock(&self.watcher).take() {
            watcher.stop();
        }
    }
}

/// The monitor thread: checks the roots whenever the mount table changes, and every second; queues the
/// periodic walks of roots on network and FUSE filesystems (see [`crate::poll`]).
pub(crate) fn monitor(
    roots: &RootWatch,
    life: &Lifecycle,
    mounts: Option<Arc<MountTableWatch>>,
    settings: &Settings,
) {
    let mut poller = Poller::default();
    while !life.is_stopping() {
        match &mounts {
            Some(m) => {
                if let Err(e) = m.wait(CHECK_EVERY) {
                    warn!(error = %e, "cannot watch the mount table; checking roots every second");
                    std::thread::sleep(CHECK_EVERY);
                }
            }
            None => std::thread::sleep(CHECK_EVERY),
        }
        if life.is_stopping() {
            break;
        }
        roots.refresh();
        let interval = settings.config().watch.poll_interval;
        let due = poller.due(&roots.polled(), interval, Instant::now());
        if !due.is_empty() {
            debug!(roots = ?due, "polling roots on network or FUSE filesystems");
            roots.queue.rescan(due, RescanKind::Poll);
        }
    }
}
