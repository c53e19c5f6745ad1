//! The single processing thread: it receives raw, backend-specific observations, filters and normalizes them,
//! joins content descriptors, coalesces modify bursts and delivers [`Change`]s to the sink in order.

use std::collections::HashMap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, select};

use crate::change::{Change, ContentFd, RescanReason};
use crate::config::{Counters, FilesystemStatus, WatchStatus};
use crate::fanotify::sys::{self, Handle};
use crate::fanotify::{ContentStore, EVENT_FD_FLAGS};
use crate::filter::Filter;
use crate::inotify::InotifyState;
use crate::mounts::MountRef;

/// How long a modification without close-write waits for one (to report a write once, not twice).
pub(crate) const MODIFY_DELAY: Duration = Duration::from_millis(100);

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

/// Counters and state shared with [`crate::Watcher::status`].
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
    fn record(&self, change: &Change) {
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

/// Opens a file for the indexer to read, like fanotify's event descriptors: from its root's descriptor,
/// following no symlink (see [`crate::beneath`]).
fn open_content(roots: &[PathBuf], path: &Path) -> Option<OwnedFd> {
    let root = crate::beneath::RootDir::open_root_of(roots, path).ok()?;
    let (file, _) = root.open_regular(path).ok()?;
    Some(OwnedFd::from(file))
}

/// The engine was asked to stop (or the sink is gone) while delivering.
#[derive(Debug)]
pub(crate) struct Stopped;

struct Pending {
    since: Instant,
    deadline: Instant,
    handle: Option<Handle>,
    fd: Option<ContentFd>,
    /// Seen by inotify only, where the fd group also watches: drop it if the fd group saw our own write.
    check_own: bool,
}

/// The processing thread's state.
pub(crate) struct Engine {
    pub(crate) filter: Filter,
    sink: Sender<Change>,
    stop_rx: Receiver<()>,
    pub(crate) stats: Arc<Stats>,
    pending: HashMap<PathBuf, Pending>,
    store: Arc<ContentStore>,
    mounts: HashMap<[i32; 2], Arc<MountRef>>,
    /// Whether the FID log's content events carry descriptors (an fd group exists).
    content_fds: bool,
    /// Roots whose namespace comes from the FID group.
    fid_roots: Vec<PathBuf>,
    pub(crate) inotify: Option<InotifyState>,
    /// Rescan reasons already logged in the current episode.
    logged: HashMap<String, Instant>,
    /// Until when a FID close-write may wait for the fd group's descriptor: the fd group's event was queued
    /// with the FID one, so once the batch is older than the join wait, waiting longer is pointless.
    join_deadline: Instant,
}

impl Engine {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        filter: Filter,
        sink: Sender<Change>,
        stop_rx: Receiver<()>,
        stats: Arc<Stats>,
        store: Arc<ContentStore>,
        mounts: HashMap<[i32; 2], Arc<MountRef>>,
        content_fds: bool,
        fid_roots: Vec<PathBuf>,
    ) -> Self {
        Self {
            filter,
            sink,
            stop_rx,
            stats,
            pending: HashMap::new(),
            store,
            mounts,
            content_fds,
            fid_roots,
            inotify: None,
            logged: HashMap::new(),
            join_deadline: Instant::now(),
        }
    }

    /// Delivers one change, blocking while the sink is full (back-pressure) unless asked to stop.
    pub(crate) fn emit(&mut self, change: Change) -> Result<(), Stopped> {
        tracing::trace!(%change, "emit");
        self.stats.record(&change);
        select! {
            send(self.sink, change) -> r => r.map_err(|_| Stopped),
            recv(self.stop_rx) -> _ => Err(Stopped),
        }
    }

    /// Delivers a rescan of each scope, logging once per episode (per reason, at most every 10 s).
    pub(crate) fn rescan(
        &mut self,
        scopes: &[PathBuf],
        reason: RescanReason,
    ) -> Result<(), Stopped> {
        let key = reason.to_string();
        let now = Instant::now();
        let log = self
            .logged
            .get(&key)
            .is_none_or(|t| now.duration_since(*t) > Duration::from_secs(10));
        if log {
            tracing::warn!(reason = %key, scopes = ?scopes, "events lost or possibly lost; rescan requested");
        }
        self.logged.insert(key, now);
        let mut seen: Vec<&PathBuf> = Vec::new();
        for s in scopes {
            if seen.contains(&s) {
                continue;
            }
            seen.push(s);
            self.emit(Change::Rescan {
                scope: s.clone(),
                reason: reason.clone(),
            })?;
        }
        Ok(())
    }

    fn drop_pending_under(&mut self, p: &Path) {
        self.pending.retain(|k, _| !k.starts_with(p));
    }

    fn move_pending(&mut self, from: &Path, to: &Path) {
        let keys: Vec<PathBuf> = self
            .pending
            .keys()
            .filter(|k| k.starts_with(from))
            .cloned()
            .collect();
        for k in keys {
            if let Some(v) = self.pending.remove(&k) {
                let rest = k
                    .strip_prefix(from)
                    .map(Path::to_path_buf)
                    .unwrap_or_default();
                let nk = if rest.as_os_str().is_empty() {
                    to.to_path_buf()
                } else {
                    to.join(rest)
                };
                self.pending.insert(nk, v);
            }
        }
    }

    /// Reports roots that moved or vanished along with `p`. Returns true if any did.
    fn check_roots(&mut self, p: &Path) -> Result<bool, Stopped> {
        let hit = self.filter.roots_under(p);
        if hit.is_empty() {
            return Ok(false);
        }
        self.rescan(&hit, RescanReason::RootChanged)?;
        if let Some(ino) = self.inotify.as_mut() {
            ino.root_gone(&hit);
        }
        Ok(true)
    }

    pub(crate) fn on_created(
        &mut self,
        path: PathBuf,
        is_dir: bool,
        scan: bool,
    ) -> Result<(), Stopped> {
        if !self.filter.in_scope(&path) {
            self.stats.add_dropped_outside(1);
            return Ok(());
        }
        if self.filter.is_barrier(&path) {
            // Nothing observed before a barrier may be delivered after it.
            self.flush_pending(None)?;
        }
        self.emit(Change::Created {
            path: path.clone(),
            is_dir,
        })?;
        if is_dir && scan {
            self.scan_created(&path)?;
        }
        Ok(())
    }

    /// Emits `Created` for everything below `dir` (a directory that arrived with content).
    pub(crate) fn scan_created(&mut self, dir: &Path) -> Result<(), Stopped> {
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            // Not through a symlink swapped in for a directory (the indexer checks each name again).
            if !self.filter.lstat(&d).is_ok_and(|m| m.is_dir()) {
                continue;
            }
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for entry in rd.flatten() {
                let p = entry.path();
                if self.filter.is_excluded(&p) {
                    continue;
                }
                let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
                self.emit(Change::Created {
                    path: p.clone(),
                    is_dir,
                })?;
                if is_dir {
                    stack.push(p);
                }
            }
        }
        Ok(())
    }

    pub(crate) fn on_removed(&mut self, path: PathBuf, is_dir: bool) -> Result<(), Stopped> {
        if self.check_roots(&path)? {
            return Ok(());
        }
        if !self.filter.in_scope(&path) {
            self.stats.add_dropped_outside(1);
            return Ok(());
        }
        self.drop_pending_under(&path);
        self.emit(Change::Removed { path, is_dir })
    }

    /// A rename; `scan_moved_in` when a directory arriving from outside must be listed (fanotify).
    pub(crate) fn on_renamed(
        &mut self,
        from: PathBuf,
        to: PathBuf,
        is_dir: bool,
        scan_moved_in: bool,
    ) -> Result<(), Stopped> {
        if self.check_roots(&from)? {
            return Ok(());
        }
        let from_in = self.filter.in_scope(&from);
        let to_in = self.filter.in_scope(&to);
        match (from_in, to_in) {
            (true, true) => {
                self.drop_pending_under(&to);
                self.move_pending(&from, &to);
                self.emit(Change::Renamed { from, to, is_dir })
            }
            (true, false) => {
                self.drop_pending_under(&from);
                self.emit(Change::Removed { path: from, is_dir })
            }
            (false, true) => {
                self.drop_pending_under(&to);
                self.on_created(to, is_dir, scan_moved_in)
            }
            (false, false) => {
                self.stats.add_dropped_outside(1);
                Ok(())
            }
        }
    }

    pub(crate) fn on_attrib(&mut self, path: PathBuf) -> Result<(), Stopped> {
        if !self.filter.in_scope(&path) {
            self.stats.add_dropped_outside(1);
            return Ok(());
        }
        // An unlink drops the link count (ATTRIB) just before the name goes: nothing to report then.
        if self.filter.lstat(&path).is_err() {
            return Ok(());
        }
        self.emit(Change::Attrib { path })
    }

    /// A content change. `final_` (close-write) is reported at once; a bare modify waits briefly for its
    /// close-write so one write is one event, and is reported after [`MODIFY_DELAY`] otherwise (truncate by
    /// path, writers that never close).
    pub(crate) fn on_content(
        &mut self,
        path: PathBuf,
        final_: bool,
        handle: Option<Handle>,
        fd: Option<ContentFd>,
    ) -> Result<(), Stopped> {
        self.on_content_checked(path, final_, handle, fd, false)
    }

    /// [`Engine::on_content`]; `check_own` marks a pid-less inotify modification on a filesystem the fd group
    /// also watches (truncate by path reaches only inotify and the FID group, never the fd group).
    pub(crate) fn on_content_checked(
        &mut self,
        path: PathBuf,
        final_: bool,
        handle: Option<Handle>,
        fd: Option<ContentFd>,
        check_own: bool,
    ) -> Result<(), Stopped> {
        if !self.filter.in_scope(&path) {
            self.stats.add_dropped_outside(1);
            return Ok(());
        }
        if final_ {
            let old = self.pending.remove(&path);
            let fd = match fd {
                Some(fd) => Some(fd),
                None => self.content_fd(
                    handle
                        .as_ref()
                        .or(old.as_ref().and_then(|p| p.handle.as_ref())),
                    true,
                ),
            };
            return self.emit(Change::Modified { path, content: fd });
        }
        let now = Instant::now();
        let entry = self.pending.entry(path).or_insert(Pending {
            since: now,
            deadline: now + MODIFY_DELAY,
            handle: None,
            fd: None,
            check_own,
        });
        entry.check_own &= check_own;
        if handle.is_some() {
            entry.handle = handle;
        }
        if fd.is_some() {
            entry.fd = fd;
        }
        Ok(())
    }

    /// The descriptor to attach to a modification found in the FID log, when content comes from fanotify.
    fn content_fd(&self, handle: Option<&Handle>, join: bool) -> Option<ContentFd> {
        if !self.content_fds {
            return None;
        }
        let handle = handle?;
        if join {
            let wait = self.join_deadline.saturating_duration_since(Instant::now());
            if let Some(fd) = self.store.take(handle, wait) {
                return Some(fd);
            }
        }
        let mount = self.mounts.get(&handle.fsid)?;
        self.store.fds().open_within(|| {
            // Opened for this lookup only: a mount fd kept open would pin the root's mount.
            let mount_fd = mount.open().ok()??;
            let fd = sys::open_by_handle(mount_fd.as_fd(), handle, EVENT_FD_FLAGS as libc::c_int)
                .ok()?;
            match sys::fd_stat(fd.as_fd()) {
                Ok((_, _, nlink, false)) if nlink > 0 => Some(fd),
                _ => None,
            }
        })
    }

    fn own_write(&self, path: &Path, since: Instant) -> bool {
        use std::os::unix::fs::MetadataExt;
        match self.filter.lstat(path) {
            Ok(m) => self.store.own_write_since(m.dev(), m.ino(), since),
            Err(_) => false,
        }
    }

    /// Delivers the pending modifications that are due at `now` (all of them with `None`).
    fn flush_pending(&mut self, now: Option<Instant>) -> Result<(), Stopped> {
        let mut due: Vec<(Instant, PathBuf)> = self
            .pending
            .iter()
            .filter(|(_, p)| now.is_none_or(|now| p.deadline <= now))
            .map(|(k, p)| (p.since, k.clone()))
            .collect();
        // In the order they were observed.
        due.sort();
        for (_, path) in due {
            if let Some(p) = self.pending.remove(&path) {
                if p.check_own && self.own_write(&path, p.since) {
                    self.stats.add_dropped_own(1);
                    continue;
                }
                let fd = match p.fd {
                    Some(fd) => Some(fd),
                    // inotify has no descriptor: open the file ourselves (our reads are not reported).
                    None if p.check_own => {
                        let roots = self.filter.roots();
                        self.store.fds().open_within(|| open_content(roots, &path))
                    }
                    None => self.content_fd(p.handle.as_ref(), false),
                };
                self.emit(Change::Modified { path, content: fd })?;
            }
        }
        Ok(())
    }

    fn handle_fid(&mut self, events: Vec<NsEvent>) -> Result<(), Stopped> {
        for ev in events {
            match ev {
                NsEvent::Created { path, is_dir } => self.on_created(path, is_dir, false)?,
                NsEvent::CreatedMaybe { path, is_dir } => match self.filter.lstat(&path) {
                    Ok(m) => self.on_created(path, m.is_dir(), false)?,
                    Err(_) => self.on_removed(path, is_dir)?,
                },
                NsEvent::Removed { path, is_dir } => self.on_removed(path, is_dir)?,
                NsEvent::Renamed { from, to, is_dir } => self.on_renamed(from, to, is_dir, true)?,
                NsEvent::Attrib { path } => self.on_attrib(path)?,
                NsEvent::Content {
                    path,
                    final_,
                    handle,
                } => self.on_content(path, final_, Some(handle), None)?,
                NsEvent::Unresolved => {
                    let roots = self.fid_roots.clone();
                    self.rescan(
                        &roots,
                        RescanReason::WatchFailed("unresolvable directory handle".into()),
                    )?
                }
                NsEvent::Overflow => {
                    let roots = self.fid_roots.clone();
                    self.rescan(&roots, RescanReason::QueueOverflow)?
                }
            }
        }
        Ok(())
    }

    fn handle(&mut self, raw: Raw) -> Result<(), Stopped> {
        match raw {
            Raw::Fid(events, read_at) => {
                self.join_deadline = read_at + crate::fanotify::join_wait();
                self.handle_fid(events)
            }
            Raw::Content { path, fd, final_ } => self.on_content(path, final_, None, Some(fd)),
            Raw::Rescan { scopes, reason } => self.rescan(&scopes, reason),
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let p = self.pending.values().map(|p| p.deadline).min();
        let i = self.inotify.as_ref().and_then(InotifyState::next_deadline);
        match (p, i) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Reports a rescan of the inotify roots if `notify`'s channel dropped events since the last check.
    fn announce_notify_overflow(&mut self) -> Result<(), Stopped> {
        if self.stats.notify_overflow.swap(false, Ordering::SeqCst) {
            let roots = self
                .inotify
                .as_ref()
                .map(|i| i.roots.clone())
                .unwrap_or_default();
            self.rescan(&roots, RescanReason::QueueOverflow)?;
        }
        Ok(())
    }

    /// Runs until stopped or until every producer is gone.
    pub(crate) fn run(
        mut self,
        raw_rx: Receiver<Raw>,
        notify_rx: Receiver<notify::Result<notify::Event>>,
    ) {
        let _ = self.run_inner(raw_rx, notify_rx);
        tracing::debug!("watcher engine stopped");
    }

    fn run_inner(
        &mut self,
        mut raw_rx: Receiver<Raw>,
        mut notify_rx: Receiver<notify::Result<notify::Event>>,
    ) -> Result<(), Stopped> {
        let stop_rx = self.stop_rx.clone();
        loop {
            let timeout = match self.next_deadline() {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => Duration::from_secs(3600),
            };
            select! {
                recv(raw_rx) -> msg => match msg {
                    Ok(raw) => self.handle(raw)?,
                    // Every kernel reader is gone (or there never was one: inotify only).
                    Err(_) => raw_rx = crossbeam_channel::never(),
                },
                recv(notify_rx) -> msg => match msg {
                    Ok(ev) => {
                        // Events dropped before this one (the channel was full) are announced first, so
                        // nothing that came after them (a sync cookie, say) overtakes their rescan.
                        self.announce_notify_overflow()?;
                        self.handle_notify(ev)?
                    }
                    Err(_) => {
                        // The inotify thread is gone: nothing more will come from it.
                        notify_rx = crossbeam_channel::never();
                        let roots = self.inotify.as_ref().map(|i| i.roots.clone()).unwrap_or_default();
                        // Without inotify roots (fanotify only) nothing was lost: no warning, no rescan.
                        if !roots.is_empty() {
                            self.rescan(&roots, RescanReason::WatchFailed("inotify thread ended".into()))?;
                        }
                    }
                },
                recv(stop_rx) -> _ => return Err(Stopped),
                default(timeout) => {}
            }
            self.announce_notify_overflow()?;
            let now = Instant::now();
            self.flush_pending(Some(now))?;
            self.inotify_tick(now)?;
        }
    }
}
