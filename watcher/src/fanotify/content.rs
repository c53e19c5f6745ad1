//! The fanotify fd group: open descriptors on written files.
//!
//! On filesystems whose namespace comes from the FID group, a descriptor waits in the [`ContentStore`]
//! until the FID log's event of the same file (joined by file handle) claims it; elsewhere it becomes a
//! [`Raw::Content`] with the path resolved through the root's own mount. The store also remembers which
//! files our own process wrote, so that an inotify modification without a pid can be recognized as ours.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::group::{EVENT_FD_FLAGS, FsInfo};
use super::sys::{self as fsys, Handle, RawEvent};
use crate::change::{ContentFd, FdBudget, RescanReason};
use crate::event::{Raw, Stats};
use crate::mounts::MountRef;
use crate::sys;

/// How long the fd thread keeps an fd that no FID event claimed.
const CONTENT_TTL: Duration = Duration::from_secs(2);
/// How far before an inotify modification an own write recorded by the fd group still explains it.
const OWN_WINDOW: Duration = Duration::from_millis(500);
/// How long a FID close-write waits for the fd group's descriptor of the same file.
const JOIN_WAIT: Duration = Duration::from_millis(30);

/// Descriptors from the fd group waiting to be claimed by a FID event of the same file.
///
/// It also remembers which files our own process wrote recently (by device and inode), so that an inotify
/// modification without a pid can be recognized as ours.
pub(crate) struct ContentStore {
    map: Mutex<HashMap<Handle, (ContentFd, Instant)>>,
    cond: Condvar,
    own: Mutex<HashMap<(u64, u64), Instant>>,
    /// Every content descriptor made by the watcher counts here.
    fds: Arc<FdBudget>,
}

impl ContentStore {
    /// An empty store; its descriptors (and all others the watcher makes) count against `fds`.
    pub(crate) fn new(fds: Arc<FdBudget>) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            cond: Condvar::new(),
            own: Mutex::new(HashMap::new()),
            fds,
        }
    }

    /// The descriptor budget.
    pub(crate) fn fds(&self) -> &Arc<FdBudget> {
        &self.fds
    }

    fn note_own(&self, dev: u64, ino: u64) {
        if let Ok(mut own) = self.own.lock() {
            let now = Instant::now();
            if own.len() > 4096 {
                own.retain(|_, t| now.duration_since(*t) < CONTENT_TTL);
            }
            own.insert((dev, ino), now);
        }
    }

    /// Whether our own process wrote file `(dev, ino)` around `since` (the two queues are read by different
    /// threads, so the fd group's record may precede the inotify event by a little).
    pub(crate) fn own_write_since(&self, dev: u64, ino: u64, since: Instant) -> bool {
        let since = since.checked_sub(OWN_WINDOW).unwrap_or(since);
        self.own
            .lock()
            .ok()
            .and_then(|o| o.get(&(dev, ino)).copied())
            .is_some_and(|t| t >= since)
    }

    fn insert(&self, handle: Handle, fd: ContentFd) {
        let Ok(mut map) = self.map.lock() else { return };
        let now = Instant::now();
        map.insert(handle, (fd, now));
        if map.len() > 64 {
            map.retain(|_, (_, t)| now.duration_since(*t) < CONTENT_TTL);
        }
        self.cond.notify_all();
    }

    /// Takes the descriptor for `handle`, waiting up to `wait` for the fd thread to deliver it.
    fn take(&self, handle: &Handle, wait: Duration) -> Option<ContentFd> {
        let deadline = Instant::now() + wait;
        let mut map = self.map.lock().ok()?;
        loop {
            if let Some((fd, _)) = map.remove(handle) {
                return Some(fd);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            map = self.cond.wait_timeout(map, deadline - now).ok()?.0;
        }
    }

    /// The descriptor for a file the FID log reported written: the fd group's own when `wait` is given and
    /// it arrives within it, else one opened by `handle` through `mount` while the file still has a name.
    pub(crate) fn descriptor_for(
        &self,
        handle: &Handle,
        wait: Option<Duration>,
        mount: Option<&Arc<MountRef>>,
    ) -> Option<ContentFd> {
        if let Some(wait) = wait
            && let Some(fd) = self.take(handle, wait)
        {
            return Some(fd);
        }
        let mount = mount?;
        self.fds.open_within(|| {
            // Opened for this lookup only: a mount fd kept open would pin the root's mount.
            let mount_fd = mount.open().ok()??;
            let fd = fsys::open_by_handle(mount_fd.as_fd(), handle, EVENT_FD_FLAGS as libc::c_int)
                .ok()?;
            match sys::fd_stat(fd.as_fd()) {
                Ok((_, _, nlink, false)) if nlink > 0 => Some(fd),
                _ => None,
            }
        })
    }

    /// Closes every stored descriptor older than the time-to-live.
    pub(crate) fn expire(&self) {
        if let Ok(mut map) = self.map.lock() {
            let now = Instant::now();
            map.retain(|_, (_, t)| now.duration_since(*t) < CONTENT_TTL);
        }
    }
}

/// Wait budget for joining a FID close-write with its fd-group descriptor.
pub(crate) fn join_wait() -> Duration {
    JOIN_WAIT
}

/// Descriptors the fd thread may install before it counts open descriptors again: half of those free
/// beyond a reserve for the rest of the process (the index writer opens segment files, the socket accepts
/// clients). One read installs one fd per event, so a buffer is sized from this budget.
fn content_fd_budget() -> u64 {
    let limit = sys::nofile_soft_limit().unwrap_or(1024);
    let open = sys::open_fd_count().unwrap_or(limit / 2);
    let reserve = (limit / 8).max(256);
    limit.saturating_sub(open).saturating_sub(reserve) / 2
}

/// The read buffer for a budget: one 24-byte event per descriptor, at most 64 KiB.
fn content_buffer_len(budget: u64) -> usize {
    budget.min(65_536 / 24) as usize * 24
}

/// How long the fd thread waits when every budgeted descriptor is out.
const FULL_BUDGET_WAIT: Duration = Duration::from_millis(5);

/// How often the fd thread counts open descriptors (walking /proc/self/fd is O(open fds)).
const RECOUNT_EVERY: Duration = Duration::from_millis(250);

/// The fd group's thread: reads events until `stop` is signalled.
///
/// For filesystems whose namespace comes from the FID group the descriptor goes to `store` (joined by
/// handle); elsewhere it becomes a content event on `tx` with the path resolved through the root's mount.
pub(crate) fn run_content(
    group: OwnedFd,
    stop: Arc<OwnedFd>,
    filesystems: Vec<FsInfo>,
    store: Arc<ContentStore>,
    tx: Sender<Raw>,
    stats: Arc<Stats>,
) {
    let own_pid = std::process::id() as i32;
    let all_roots: Vec<PathBuf> = filesystems.iter().flat_map(|f| f.roots.clone()).collect();
    let mut fd_error_episode = false;
    // Counting open descriptors walks /proc/self/fd: do it at most every RECOUNT_EVERY, and between
    // counts install no more descriptors than the budget allows (the buffer's size alone did not bound
    // them: a burst of reads filled the table, and the index writer then failed with EMFILE).
    let mut budget = content_fd_budget();
    let mut sized_at = Instant::now();
    loop {
        match sys::poll_readable(&[group.as_fd(), stop.as_fd()], -1) {
            Ok(ready) if ready.get(1).copied().unwrap_or(false) => return,
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "poll on the fanotify content group failed; stopping it");
                let _ = tx.send(Raw::Rescan {
                    scopes: all_roots.clone(),
                    reason: RescanReason::WatchFailed(e.to_string()),
                });
                return;
            }
        }
        if budget == 0 || sized_at.elapsed() > RECOUNT_EVERY {
            if let Some(wait) = RECOUNT_EVERY.checked_sub(sized_at.elapsed()) {
                // Out of budget: leave the events queued in the kernel (a full queue overflows into a
                // rescan, never silent loss) until descriptors are counted again.
                std::thread::sleep(wait);
            }
            budget = content_fd_budget();
            sized_at = Instant::now();
            if budget == 0 {
                continue;
            }
        }
        // Descriptors already out (stored, queued, or being read by the indexer) count too: without room,
        // the events wait in the kernel queue.
        let room = store.fds().room() as u64;
        if room == 0 {
            std::thread::sleep(FULL_BUDGET_WAIT);
            continue;
        }
        let mut buf = vec![0u8; content_buffer_len(budget.min(room))];
        let n = match sys::read_nonblocking(group.as_fd(), &mut buf) {
            Ok(n) => n,
            Err(e) => {
                // EMFILE/ENFILE: the kernel could not install an event fd; the event is lost.
                if !fd_error_episode {
                    tracing::warn!(error = %e, "fanotify content read failed");
                }
                fd_error_episode = true;
                if tx
                    .send(Raw::Rescan {
                        scopes: all_roots.clone(),
                        reason: RescanReason::EventFdUnavailable,
                    })
                    .is_err()
                {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let (events, truncated) = fsys::parse_events(&buf[..n]);
        if truncated {
            tracing::warn!("malformed fanotify content buffer");
        }
        budget = budget.saturating_sub(events.len() as u64);
        for ev in events {
            if !handle_content_event(
                ev,
                own_pid,
                &filesystems,
                &all_roots,
                &store,
                &tx,
                &stats,
                &mut fd_error_episode,
            ) {
                return;
            }
        }
        store.expire();
    }
}

#[allow(clippy::too_many_arguments)]
fn handle_content_event(
    ev: RawEvent,
    own_pid: i32,
    filesystems: &[FsInfo],
    all_roots: &[PathBuf],
    store: &ContentStore,
    tx: &Sender<Raw>,
    stats: &Stats,
    fd_error_episode: &mut bool,
) -> bool {
    let fd = fsys::adopt_event_fd(ev.fd).map(|fd| store.fds().wrap(fd));
    if ev.mask & libc::FAN_Q_OVERFLOW != 0 {
        tracing::warn!("fanotify content queue overflowed");
        return tx
            .send(Raw::Rescan {
                scopes: all_roots.to_vec(),
                reason: RescanReason::QueueOverflow,
            })
            .is_ok();
    }
    if ev.pid == own_pid {
        stats.add_dropped_own(1);
        if let Some(Ok((dev, ino, _, _))) = fd.as_ref().map(|f| sys::fd_stat(f.as_fd())) {
            store.note_own(dev, ino);
        }
        return true;
    }
    let Some(fd) = fd else {
        if !*fd_error_episode {
            tracing::warn!(code = ev.fd, "fanotify could not open an event fd");
        }
        *fd_error_episode = true;
        return tx
            .send(Raw::Rescan {
                scopes: all_roots.to_vec(),
                reason: RescanReason::EventFdUnavailable,
            })
            .is_ok();
    };
    *fd_error_episode = false;
    let Ok((dev, _ino, nlink, is_dir)) = sys::fd_stat(fd.as_fd()) else {
        return true;
    };
    if is_dir || nlink == 0 {
        return true;
    }
    let Some(fs) = filesystems.iter().find(|f| f.dev == dev) else {
        stats.add_dropped_outside(1);
        return true;
    };
    if fs.fid {
        // Joined by handle with the FID group's event (which falls back to reading by path).
        if let Ok(handle) = fsys::handle_of_fd(fd.as_fd(), fs.fsid) {
            store.insert(handle, fd);
        }
        return true;
    }
    // Namespace from inotify: resolve the path through our own mount of a root, not the writer's mount. A
    // filesystem without file handles (overlayfs without nfs_export) gives the descriptor's own path.
    let path = match fsys::handle_of_fd(fd.as_fd(), fs.fsid) {
        Ok(handle) => {
            // The filesystem is no longer at a root (unmounted): the event is outside the roots.
            let Ok(Some(mount_fd)) = fs.mount.open() else {
                stats.add_dropped_outside(1);
                return true;
            };
            match fsys::open_by_handle(mount_fd.as_fd(), &handle, libc::O_PATH | libc::O_CLOEXEC)
                .and_then(|p| sys::fd_path(p.as_fd()))
            {
                Ok(p) => p,
                Err(_) => return true,
            }
        }
        Err(_) => match sys::fd_path(fd.as_fd()) {
            Ok(p) => p,
            Err(_) => return true,
        },
    };
    let final_ = ev.mask & libc::FAN_CLOSE_WRITE != 0;
    tx.send(Raw::Content { path, fd, final_ }).is_ok()
}
