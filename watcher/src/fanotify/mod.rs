//! The fanotify backend: an fd-mode group for content and a FID-mode group for the namespace.
//!
//! The FID group's queue is the ordered log (create, delete, rename, modify, close-write). Its directory
//! handles are resolved to paths with `open_by_handle_at` on a mount fd of that filesystem; because that gives
//! the path *now*, not at event time, each drained batch is resolved backwards: later directory renames and
//! deletions of the batch are undone on the resolved paths, so every event gets the path it had when it
//! happened. The fd group only supplies open descriptors, joined to the log by file handle.

pub(crate) mod sys;

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use sys::{Handle, RawEvent};

use crate::RescanReason;
use crate::change::{ContentFd, FdBudget};
use crate::engine::{NsEvent, Raw};
use crate::mounts::MountRef;

/// Flags of the event descriptors the fd group installs.
pub(crate) const EVENT_FD_FLAGS: libc::c_uint =
    (libc::O_RDONLY | libc::O_LARGEFILE | libc::O_CLOEXEC | libc::O_NOATIME) as libc::c_uint;

/// `FAN_REPORT_FD_ERROR` (Linux 6.13): a failed event fd is reported as a negative errno in the event.
const FAN_REPORT_FD_ERROR: libc::c_uint = 0x0000_2000;

/// Events the FID group subscribes to.
pub(crate) const FID_MASK: u64 = libc::FAN_CREATE
    | libc::FAN_DELETE
    | libc::FAN_RENAME
    | libc::FAN_MOVED_FROM
    | libc::FAN_MOVED_TO
    | libc::FAN_ATTRIB
    | libc::FAN_DELETE_SELF
    | libc::FAN_MODIFY
    | libc::FAN_CLOSE_WRITE
    | libc::FAN_ONDIR;

/// Most events drained from the FID group into one batch.
const MAX_BATCH: usize = 65_536;
/// How long the fd thread keeps an fd that no FID event claimed.
const CONTENT_TTL: Duration = Duration::from_secs(2);
/// How far before an inotify modification an own write recorded by the fd group still explains it.
const OWN_WINDOW: Duration = Duration::from_millis(500);
/// How long a FID close-write waits for the fd group's descriptor of the same file.
const JOIN_WAIT: Duration = Duration::from_millis(30);

/// Creates the fd-mode content group (no marks yet).
pub(crate) fn init_content_group() -> std::io::Result<OwnedFd> {
    let base = libc::FAN_CLASS_NOTIF | libc::FAN_CLOEXEC | libc::FAN_NONBLOCK;
    match sys::fanotify_init(base | FAN_REPORT_FD_ERROR, EVENT_FD_FLAGS) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            sys::fanotify_init(base, EVENT_FD_FLAGS)
        }
        other => other,
    }
}

/// Creates the FID-mode namespace group (no marks yet).
pub(crate) fn init_fid_group() -> std::io::Result<OwnedFd> {
    sys::fanotify_init(
        libc::FAN_CLASS_NOTIF
            | libc::FAN_CLOEXEC
            | libc::FAN_NONBLOCK
            | libc::FAN_REPORT_DFID_NAME_TARGET,
        (libc::O_RDONLY | libc::O_CLOEXEC) as libc::c_uint,
    )
}

/// Adds a filesystem mark for `mask` on the filesystem holding `path`.
pub(crate) fn mark_filesystem(group: &OwnedFd, mask: u64, path: &Path) -> std::io::Result<()> {
    sys::fanotify_mark(
        group.as_fd(),
        libc::FAN_MARK_ADD | libc::FAN_MARK_FILESYSTEM,
        mask,
        path,
    )
}

/// A filesystem known to the fanotify backend.
#[derive(Clone)]
pub(crate) struct FsInfo {
    /// `st_dev`.
    pub dev: u64,
    /// `statfs.f_fsid`.
    pub fsid: [i32; 2],
    /// How to open a mount fd for `open_by_handle_at` (only while resolving: a held one pins the mount).
    pub mount: Arc<MountRef>,
    /// The roots on it (scopes of a rescan).
    pub roots: Vec<PathBuf>,
    /// Whether the FID group covers its namespace (else inotify does).
    pub fid: bool,
}

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
    pub(crate) fn take(&self, handle: &Handle, wait: Duration) -> Option<ContentFd> {
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

    /// Closes every stored descriptor older than the time-to-live.
    pub(crate) fn expire(&self) {
        if let Ok(mut map) = self.map.lock() {
            let now = Instant::now();
            map.retain(|_, (_, t)| now.duration_since(*t) < CONTENT_TTL);
        }
    }
}

/// How long the FID thread waits after a wake-up before draining, so related events land in one batch.
pub(crate) const BATCH_DELAY: Duration = Duration::from_millis(3);

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
    stats: Arc<crate::engine::Stats>,
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
        let (events, truncated) = sys::parse_events(&buf[..n]);
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
    stats: &crate::engine::Stats,
    fd_error_episode: &mut bool,
) -> bool {
    let fd = sys::adopt_event_fd(ev.fd).map(|fd| store.fds().wrap(fd));
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
        if let Ok(handle) = sys::handle_of_fd(fd.as_fd(), fs.fsid) {
            store.insert(handle, fd);
        }
        return true;
    }
    // Namespace from inotify: resolve the path through our own mount of a root, not the writer's mount. A
    // filesystem without file handles (overlayfs without nfs_export) gives the descriptor's own path.
    let path = match sys::handle_of_fd(fd.as_fd(), fs.fsid) {
        Ok(handle) => {
            // The filesystem is no longer at a root (unmounted): the event is outside the roots.
            let Ok(Some(mount_fd)) = fs.mount.open() else {
                stats.add_dropped_outside(1);
                return true;
            };
            match sys::open_by_handle(mount_fd.as_fd(), &handle, libc::O_PATH | libc::O_CLOEXEC)
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

/// One FID event, its records sorted out.
struct FidEvent {
    mask: u64,
    dir: Option<(Handle, Vec<u8>)>,
    old: Option<(Handle, Vec<u8>)>,
    new: Option<(Handle, Vec<u8>)>,
    obj: Option<Handle>,
}

impl FidEvent {
    fn from_raw(ev: RawEvent) -> Self {
        let mut out = FidEvent {
            mask: ev.mask,
            dir: None,
            old: None,
            new: None,
            obj: None,
        };
        for r in ev.records {
            match r.info_type {
                libc::FAN_EVENT_INFO_TYPE_DFID_NAME => {
                    out.dir = Some((r.handle, r.name.unwrap_or_default()))
                }
                libc::FAN_EVENT_INFO_TYPE_DFID => out.dir = Some((r.handle, b".".to_vec())),
                libc::FAN_EVENT_INFO_TYPE_OLD_DFID_NAME => {
                    out.old = Some((r.handle, r.name.unwrap_or_default()))
                }
                libc::FAN_EVENT_INFO_TYPE_NEW_DFID_NAME => {
                    out.new = Some((r.handle, r.name.unwrap_or_default()))
                }
                libc::FAN_EVENT_INFO_TYPE_FID => out.obj = Some(r.handle),
                _ => {}
            }
        }
        out
    }

    fn is_dir(&self) -> bool {
        self.mask & libc::FAN_ONDIR != 0
    }

    /// Whether this event changes where directories are (so cached directory paths may be stale).
    fn moves_directories(&self) -> bool {
        self.is_dir()
            && self.mask
                & (libc::FAN_RENAME
                    | libc::FAN_MOVED_FROM
                    | libc::FAN_DELETE
                    | libc::FAN_DELETE_SELF)
                != 0
    }
}

/// Maps `p` back through the inverse renames `inv` (newest first): each `(after, before)` rewrites the
/// prefix `after` into `before`.
pub(crate) fn translate(p: &Path, inv: &[(PathBuf, PathBuf)]) -> PathBuf {
    let mut p = p.to_path_buf();
    for (after, before) in inv {
        if let Ok(rest) = p.strip_prefix(after) {
            p = if rest.as_os_str().is_empty() {
                before.clone()
            } else {
                before.join(rest)
            };
        }
    }
    p
}

/// Resolves directory handles to current paths, with a cache invalidated whenever directories move.
pub(crate) struct Resolver {
    mounts: HashMap<[i32; 2], Arc<MountRef>>,
    cache: HashMap<Handle, PathBuf>,
}

/// The mount fds opened while resolving one batch (closed with it, so no root stays pinned); `None` for a
/// filesystem no longer at any of its roots.
type BatchMounts = HashMap<[i32; 2], std::io::Result<Option<OwnedFd>>>;

/// The outcome of resolving one directory handle now.
#[derive(Clone)]
enum Now {
    Path(PathBuf),
    /// The directory no longer exists (ESTALE, or unlinked): events in it are moot unless a later event of
    /// the batch tells where it was.
    Gone,
    /// Some other failure: the event's path is unknown, so its filesystem must be rescanned.
    Failed,
}

impl Resolver {
    pub(crate) fn new(mounts: HashMap<[i32; 2], Arc<MountRef>>) -> Self {
        Self {
            mounts,
            cache: HashMap::new(),
        }
    }

    fn now(
        &mut self,
        h: &Handle,
        batch: &mut HashMap<Handle, Now>,
        batch_mounts: &mut BatchMounts,
    ) -> Now {
        if let Some(n) = batch.get(h) {
            return n.clone();
        }
        let r = if let Some(p) = self.cache.get(h) {
            Now::Path(p.clone())
        } else {
            let mount = batch_mounts
                .entry(h.fsid)
                .or_insert_with(|| self.mounts.get(&h.fsid).map_or(Ok(None), |m| m.open()));
            match mount {
                Err(e) => {
                    tracing::warn!(error = %e, "cannot open a root to resolve a directory handle");
                    Now::Failed
                }
                // Unknown, or unmounted since: nothing of it is under the roots now.
                Ok(None) => Now::Gone,
                Ok(Some(m)) => {
                    match sys::open_by_handle(m.as_fd(), h, libc::O_PATH | libc::O_CLOEXEC) {
                        Ok(fd) => match sys::fd_stat(fd.as_fd()) {
                            Ok((_, _, 0, _)) => Now::Gone,
                            Ok(_) => match sys::fd_path(fd.as_fd()) {
                                Ok(p) => {
                                    if self.cache.len() > 16_384 {
                                        self.cache.clear();
                                    }
                                    self.cache.insert(h.clone(), p.clone());
                                    Now::Path(p)
                                }
                                Err(_) => Now::Gone,
                            },
                            Err(_) => Now::Gone,
                        },
                        Err(e)
                            if matches!(
                                e.raw_os_error(),
                                Some(libc::ESTALE) | Some(libc::ENOENT)
                            ) =>
                        {
                            Now::Gone
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "open_by_handle_at failed on a directory handle");
                            Now::Failed
                        }
                    }
                }
            }
        };
        batch.insert(h.clone(), r.clone());
        r
    }

    /// Turns a drained batch into normalized namespace events with event-time paths.
    fn resolve(
        &mut self,
        raw: Vec<RawEvent>,
        own_pid: i32,
        stats: &crate::engine::Stats,
    ) -> Vec<NsEvent> {
        let mut events = Vec::with_capacity(raw.len());
        let mut overflow = false;
        for ev in raw {
            if ev.mask & libc::FAN_Q_OVERFLOW != 0 {
                overflow = true;
                continue;
            }
            if ev.pid == own_pid {
                stats.add_dropped_own(1);
                continue;
            }
            events.push(FidEvent::from_raw(ev));
        }
        if events.iter().any(FidEvent::moves_directories) {
            self.cache.clear();
        }
        let mut batch_now: HashMap<Handle, Now> = HashMap::new();
        let mut batch_mounts = BatchMounts::new();
        let mut inv: Vec<(PathBuf, PathBuf)> = Vec::new();
        let mut learned: HashMap<Handle, (PathBuf, usize)> = HashMap::new();
        let mut out: Vec<NsEvent> = Vec::with_capacity(events.len());

        // Where directory `h` was at the time of the event being processed.
        enum Dir {
            At(PathBuf),
            Gone,
            Failed,
        }
        let mut dir_at = |this: &mut Self,
                          h: &Handle,
                          inv: &[(PathBuf, PathBuf)],
                          learned: &HashMap<Handle, (PathBuf, usize)>| {
            if let Some((p, i)) = learned.get(h) {
                return Dir::At(translate(p, inv.get(*i..).unwrap_or(&[])));
            }
            match this.now(h, &mut batch_now, &mut batch_mounts) {
                Now::Path(p) => Dir::At(translate(&p, inv)),
                Now::Gone => Dir::Gone,
                Now::Failed => Dir::Failed,
            }
        };

        for ev in events.iter().rev() {
            let is_dir = ev.is_dir();
            if ev.mask & libc::FAN_RENAME != 0 {
                let (Some((oh, on)), Some((nh, nn))) = (&ev.old, &ev.new) else {
                    continue;
                };
                let from = dir_at(self, oh, &inv, &learned);
                let to = dir_at(self, nh, &inv, &learned);
                match (from, to) {
                    (Dir::At(f), Dir::At(t)) => {
                        let from = sys::join_name(&f, on);
                        let to = sys::join_name(&t, nn);
                        if is_dir {
                            inv.push((to.clone(), from.clone()));
                            if let Some(o) = &ev.obj {
                                learned.insert(o.clone(), (from.clone(), inv.len()));
                            }
                        }
                        out.push(NsEvent::Renamed { from, to, is_dir });
                    }
                    (Dir::Failed, _) | (_, Dir::Failed) => out.push(NsEvent::Unresolved),
                    // A side that no longer exists: the rename happened in a directory deleted since.
                    (Dir::At(f), Dir::Gone) => out.push(NsEvent::Removed {
                        path: sys::join_name(&f, on),
                        is_dir,
                    }),
                    (Dir::Gone, Dir::At(t)) => out.push(NsEvent::CreatedMaybe {
                        path: sys::join_name(&t, nn),
                        is_dir,
                    }),
                    (Dir::Gone, Dir::Gone) => {}
                }
                continue;
            }
            if ev.mask & (libc::FAN_MOVED_FROM | libc::FAN_MOVED_TO) != 0
                && ev.mask
                    & (libc::FAN_CREATE
                        | libc::FAN_DELETE
                        | libc::FAN_MODIFY
                        | libc::FAN_CLOSE_WRITE
                        | libc::FAN_ATTRIB)
                    == 0
            {
                // Redundant with FAN_RENAME, which carries both sides.
                continue;
            }
            let Some((dh, name)) = &ev.dir else { continue };
            let path = match dir_at(self, dh, &inv, &learned) {
                Dir::At(d) => sys::join_name(&d, name),
                Dir::Gone => continue,
                Dir::Failed => {
                    out.push(NsEvent::Unresolved);
                    continue;
                }
            };
            let created = ev.mask & libc::FAN_CREATE != 0;
            let deleted = ev.mask & libc::FAN_DELETE != 0;
            if deleted
                && is_dir
                && let Some(o) = &ev.obj
            {
                learned.insert(o.clone(), (path.clone(), inv.len()));
            }
            let content = ev.mask & (libc::FAN_MODIFY | libc::FAN_CLOSE_WRITE) != 0 && !is_dir;
            let final_ = ev.mask & libc::FAN_CLOSE_WRITE != 0;
            // Pushed in reverse; reversed again below.
            if created && deleted {
                out.push(NsEvent::CreatedMaybe { path, is_dir });
            } else if deleted {
                out.push(NsEvent::Removed { path, is_dir });
            } else {
                if content {
                    if let Some(h) = &ev.obj {
                        out.push(NsEvent::Content {
                            path: path.clone(),
                            final_,
                            handle: h.clone(),
                        });
                    }
                } else if ev.mask & libc::FAN_ATTRIB != 0
                    && ev.mask & libc::FAN_DELETE_SELF == 0
                    && !created
                {
                    out.push(NsEvent::Attrib { path: path.clone() });
                }
                if created {
                    out.push(NsEvent::Created { path, is_dir });
                }
            }
        }
        out.reverse();
        if overflow {
            out.push(NsEvent::Overflow);
        }
        out
    }
}

/// The FID group's thread: drains the queue in batches, resolves them and sends them on, until `stop`.
pub(crate) fn run_fid(
    group: OwnedFd,
    stop: Arc<OwnedFd>,
    mut resolver: Resolver,
    tx: Sender<Raw>,
    stats: Arc<crate::engine::Stats>,
) {
    let own_pid = std::process::id() as i32;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match sys::poll_readable(&[group.as_fd(), stop.as_fd()], -1) {
            Ok(ready) if ready.get(1).copied().unwrap_or(false) => return,
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "poll on the fanotify FID group failed; stopping it");
                let _ = tx.send(Raw::Fid(vec![NsEvent::Unresolved], Instant::now()));
                return;
            }
        }
        std::thread::sleep(BATCH_DELAY);
        let mut raw = Vec::new();
        loop {
            match sys::read_nonblocking(group.as_fd(), &mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let (mut evs, truncated) = sys::parse_events(&buf[..n]);
                    if truncated {
                        tracing::warn!("malformed fanotify FID buffer");
                    }
                    raw.append(&mut evs);
                    if raw.len() >= MAX_BATCH {
                        break;
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "read on the fanotify FID group failed");
                    raw.push(RawEvent {
                        mask: libc::FAN_Q_OVERFLOW,
                        fd: -1,
                        pid: 0,
                        records: Vec::new(),
                    });
                    break;
                }
            }
        }
        if raw.is_empty() {
            continue;
        }
        let read_at = Instant::now();
        let events = resolver.resolve(raw, own_pid, &stats);
        if !events.is_empty() && tx.send(Raw::Fid(events, read_at)).is_err() {
            return;
        }
    }
}

/// Wait budget for joining a FID close-write with its fd-group descriptor.
pub(crate) fn join_wait() -> Duration {
    JOIN_WAIT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translate_undoes_renames_newest_first() {
        // Events: mv /r/a /r/b ; mv /r/b/c /r/d  (newest first in `inv`).
        let inv = vec![
            (PathBuf::from("/r/d"), PathBuf::from("/r/b/c")),
            (PathBuf::from("/r/b"), PathBuf::from("/r/a")),
        ];
        assert_eq!(
            translate(Path::new("/r/d/x"), &inv),
            PathBuf::from("/r/a/c/x")
        );
        assert_eq!(translate(Path::new("/r/b"), &inv), PathBuf::from("/r/a"));
        assert_eq!(translate(Path::new("/r/bb"), &inv), PathBuf::from("/r/bb"));
        assert_eq!(translate(Path::new("/q"), &inv), PathBuf::from("/q"));
    }
}
