//! The normalizer: filters the backends' observations, joins content descriptors, holds back a modify
//! until its close-write (so one write is one event), and delivers [`Change`]s to the sink in order.
//!
//! Both backends feed it: the engine hands it the FID group's batches ([`Normalizer::apply_fid`]) and the fd
//! group's content events; the inotify backend calls its `on_*` methods directly.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, select};

use crate::beneath::RootDir;
use crate::change::{Change, ContentFd, RescanReason, rebase};
use crate::event::{NsEvent, Stats, Stopped};
use crate::fanotify::content::{ContentStore, join_wait};
use crate::fanotify::sys::Handle;
use crate::filter::Filter;
use crate::mounts::MountRef;
use crate::walk::{NewTree, list_new_tree};

/// How long a modification without close-write waits for one (to report a write once, not twice).
const MODIFY_DELAY: Duration = Duration::from_millis(100);

/// Opens a file for the indexer to read, like fanotify's event descriptors: from its root's descriptor,
/// following no symlink (see [`crate::beneath`]).
fn open_content(roots: &[PathBuf], path: &Path) -> Option<OwnedFd> {
    let root = RootDir::open_root_of(roots, path).ok()?;
    let (file, _) = root.open_for_content(path, None, None).ok()?;
    Some(OwnedFd::from(file))
}

/// A modification held back until its close-write, or until [`MODIFY_DELAY`] has passed.
struct Pending {
    since: Instant,
    deadline: Instant,
    handle: Option<Handle>,
    fd: Option<ContentFd>,
    /// Seen by inotify only, where the fd group also watches: drop it if the fd group saw our own write.
    check_own: bool,
}

/// The normalizer's state, owned by the engine thread.
pub(crate) struct Normalizer {
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
    /// Rescan reasons already logged in the current episode.
    logged: HashMap<String, Instant>,
    /// Until when a FID close-write may wait for the fd group's descriptor: the fd group's event was queued
    /// with the FID one, so once the batch is older than the join wait, waiting longer is pointless.
    join_deadline: Instant,
    /// Roots found moved or deleted since the owner last asked ([`Normalizer::take_roots_gone`]).
    roots_gone: Vec<PathBuf>,
}

impl Normalizer {
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
            logged: HashMap::new(),
            join_deadline: Instant::now(),
            roots_gone: Vec::new(),
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
            if let (Some(v), Some(nk)) = (self.pending.remove(&k), rebase(&k, from, to)) {
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
        self.roots_gone.extend(hit);
        Ok(true)
    }

    /// The roots found moved or deleted since the last call (for inotify to drop their watches).
    pub(crate) fn take_roots_gone(&mut self) -> Vec<PathBuf> {
        std::mem::take(&mut self.roots_gone)
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
    fn scan_created(&mut self, dir: &Path) -> Result<(), Stopped> {
        list_new_tree(dir, self)
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

    /// [`Normalizer::on_content`]; `check_own` marks a pid-less inotify modification on a filesystem the fd group
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

    /// The descriptor to attach to a modification found in the FID log, when content comes from fanotify:
    /// with `join`, the fd group's own if it arrives before the batch's join deadline.
    fn content_fd(&self, handle: Option<&Handle>, join: bool) -> Option<ContentFd> {
        if !self.content_fds {
            return None;
        }
        let handle = handle?;
        let wait = join.then(|| self.join_deadline.saturating_duration_since(Instant::now()));
        self.store
            .descriptor_for(handle, wait, self.mounts.get(&handle.fsid))
    }

    fn own_write(&self, path: &Path, since: Instant) -> bool {
        use std::os::unix::fs::MetadataExt;
        match self.filter.lstat(path) {
            Ok(m) => self.store.own_write_since(m.dev(), m.ino(), since),
            Err(_) => false,
        }
    }

    /// Delivers the pending modifications that are due at `now` (all of them with `None`).
    pub(crate) fn flush_pending(&mut self, now: Option<Instant>) -> Result<(), Stopped> {
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

    /// When the next held-back modification is due.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.pending.values().map(|p| p.deadline).min()
    }

    /// Applies a batch of the FID log, read at `read_at`.
    pub(crate) fn apply_fid(
        &mut self,
        events: Vec<NsEvent>,
        read_at: Instant,
    ) -> Result<(), Stopped> {
        self.join_deadline = read_at + join_wait();
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
                    self.rescan(&roots, RescanReason::UnresolvedHandle)?
                }
                NsEvent::Failed(why) => {
                    let roots = self.fid_roots.clone();
                    self.rescan(&roots, RescanReason::SourceFailed(why))?
                }
                NsEvent::Overflow => {
                    let roots = self.fid_roots.clone();
                    self.rescan(&roots, RescanReason::QueueOverflow)?
                }
            }
        }
        Ok(())
    }
}

/// Listing a directory that arrived with content: every entry is reported created.
impl NewTree for Normalizer {
    fn filter(&self) -> &Filter {
        &self.filter
    }
    fn enter(&mut self, _dir: &Path) -> Result<bool, Stopped> {
        Ok(true)
    }
    fn found(&mut self, path: PathBuf, is_dir: bool) -> Result<(), Stopped> {
        self.emit(Change::Created { path, is_dir })
    }
}
