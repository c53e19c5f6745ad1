//! The inotify backend, through `notify` (one non-recursive watch per directory, managed here).
//!
//! Managing the watches ourselves (instead of `notify`'s recursive mode) lets us keep excluded subtrees
//! unwatched, add the watch of a new directory *before* listing it (so nothing created in it is lost), and
//! pair renames by cookie with a timeout.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use notify::event::{
    AccessKind, AccessMode, CreateKind, EventKind, ModifyKind, RemoveKind, RenameMode,
};
use notify::{RecursiveMode, Watcher as _};

use crate::change::RescanReason;
use crate::engine::{Engine, Stopped};

/// How long a `MOVED_FROM` waits for its `MOVED_TO` before it counts as a removal.
const RENAME_WAIT: Duration = Duration::from_millis(50);
/// How often unwatched directories (watch limit reached) are retried and rescanned.
const DEGRADED_RETRY: Duration = Duration::from_secs(60);

/// inotify bookkeeping owned by the engine thread.
pub(crate) struct InotifyState {
    watcher: notify::INotifyWatcher,
    /// Roots watched through inotify.
    pub(crate) roots: Vec<PathBuf>,
    /// Roots whose content events come from the fanotify fd group instead.
    fd_content_roots: Vec<PathBuf>,
    watched: HashSet<PathBuf>,
    /// Directories just reported removed (a removed directory yields IN_DELETE_SELF and its parent's IN_DELETE).
    gone: HashSet<PathBuf>,
    pending_from: HashMap<usize, (PathBuf, bool, Instant)>,
    failed: Vec<PathBuf>,
    next_retry: Option<Instant>,
}

impl InotifyState {
    pub(crate) fn new(
        watcher: notify::INotifyWatcher,
        roots: Vec<PathBuf>,
        fd_content_roots: Vec<PathBuf>,
    ) -> Self {
        Self {
            watcher,
            roots,
            fd_content_roots,
            watched: HashSet::new(),
            gone: HashSet::new(),
            pending_from: HashMap::new(),
            failed: Vec::new(),
            next_retry: None,
        }
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let r = self.pending_from.values().map(|(_, _, t)| *t).min();
        match (r, self.next_retry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Forgets roots that moved or vanished.
    pub(crate) fn root_gone(&mut self, roots: &[PathBuf]) {
        for r in roots {
            self.forget(r);
            let _ = self.watcher.unwatch(r);
        }
    }

    fn forget(&mut self, dir: &Path) {
        self.watched.retain(|p| !p.starts_with(dir));
    }

    fn fd_content(&self, p: &Path) -> bool {
        self.fd_content_roots.iter().any(|r| p.starts_with(r))
    }
}

/// Whether `p` is a directory now, seen from its root without following any symlink.
fn is_dir_now(filter: &crate::filter::Filter, p: &Path) -> bool {
    filter.lstat(p).is_ok_and(|m| m.is_dir())
}

impl Engine {
    /// Watches the inotify roots (called once at start, on the engine thread).
    pub(crate) fn inotify_start(&mut self) -> Result<(), Stopped> {
        let roots = self
            .inotify
            .as_ref()
            .map(|i| i.roots.clone())
            .unwrap_or_default();
        for r in roots {
            self.watch_tree(&r, false)?;
        }
        Ok(())
    }

    /// Adds a watch on `dir` and every directory below it, each before it is listed. With `emit_created`,
    /// reports everything found as created (a new or moved-in directory).
    fn watch_tree(&mut self, dir: &Path, emit_created: bool) -> Result<(), Stopped> {
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            // A directory reached only through a symlink (one swapped in) is neither watched nor listed.
            if self.filter.is_excluded(&d) || !is_dir_now(&self.filter, &d) {
                continue;
            }
            let Some(ino) = self.inotify.as_mut() else {
                return Ok(());
            };
            match ino.watcher.watch(&d, RecursiveMode::NonRecursive) {
                Ok(()) => {
                    ino.watched.insert(d.clone());
                }
                Err(e) => {
                    match e.kind {
                        notify::ErrorKind::MaxFilesWatch => self.degrade(d)?,
                        notify::ErrorKind::PathNotFound => {}
                        notify::ErrorKind::Io(ref io)
                            if io.kind() == std::io::ErrorKind::NotFound => {}
                        _ => self.rescan(&[d], RescanReason::WatchFailed(e.to_string()))?,
                    }
                    continue;
                }
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
                if emit_created {
                    self.emit(crate::Change::Created {
                        path: p.clone(),
                        is_dir,
                    })?;
                }
                if is_dir {
                    stack.push(p);
                }
            }
        }
        if let Some(ino) = self.inotify.as_ref() {
            self.stats.set_watches(ino.watched.len());
        }
        Ok(())
    }

    fn degrade(&mut self, dir: PathBuf) -> Result<(), Stopped> {
        let Some(ino) = self.inotify.as_mut() else {
            return Ok(());
        };
        if ino.failed.iter().any(|f| dir.starts_with(f)) {
            return Ok(());
        }
        ino.failed.push(dir.clone());
        ino.next_retry
            .get_or_insert(Instant::now() + DEGRADED_RETRY);
        let why = format!(
            "inotify watch limit reached (fs.inotify.max_user_watches): {} subtree(s) unwatched, rescanned every {} s",
            ino.failed.len(),
            DEGRADED_RETRY.as_secs()
        );
        self.stats.set_degraded(Some(why));
        self.rescan(
            &[dir],
            RescanReason::WatchFailed("inotify watch limit reached".into()),
        )
    }

    /// Expires unpaired renames and retries unwatched subtrees.
    pub(crate) fn inotify_tick(&mut self, now: Instant) -> Result<(), Stopped> {
        let Some(ino) = self.inotify.as_mut() else {
            return Ok(());
        };
        let expired: Vec<usize> = ino
            .pending_from
            .iter()
            .filter(|(_, (_, _, t))| *t <= now)
            .map(|(c, _)| *c)
            .collect();
        if !expired.is_empty() {
            self.flush_moves(Some(&expired))?;
        }
        let Some(ino) = self.inotify.as_mut() else {
            return Ok(());
        };
        if ino.next_retry.is_some_and(|t| t <= now) {
            let failed = std::mem::take(&mut ino.failed);
            ino.next_retry = None;
            self.stats.set_degraded(None);
            for d in failed {
                // Re-adding fails again (and re-degrades) while the limit still holds; either way the subtree
                // may have changed while unwatched.
                self.watch_tree(&d, false)?;
                self.rescan(
                    &[d],
                    RescanReason::WatchFailed("inotify watch limit reached".into()),
                )?;
            }
        }
        Ok(())
    }

    /// Reports pending `MOVED_FROM`s (all, or those listed) as removals: they left the watched tree.
    fn flush_moves(&mut self, which: Option<&[usize]>) -> Result<(), Stopped> {
        let Some(ino) = self.inotify.as_mut() else {
            return Ok(());
        };
        let mut moves: Vec<(usize, PathBuf, bool, Instant)> = Vec::new();
        let keys: Vec<usize> = match which {
            Some(w) => w.to_vec(),
            None => ino.pending_from.keys().copied().collect(),
        };
        for k in keys {
            if let Some((p, d, t)) = ino.pending_from.remove(&k) {
                moves.push((k, p, d, t));
            }
        }
        moves.sort_by_key(|m| m.3);
        for (_, path, is_dir, _) in moves {
            if is_dir && let Some(ino) = self.inotify.as_mut() {
                ino.forget(&path);
            }
            self.on_removed(path, is_dir)?;
        }
        Ok(())
    }

    /// Handles one event from `notify`.
    pub(crate) fn handle_notify(
        &mut self,
        ev: notify::Result<notify::Event>,
    ) -> Result<(), Stopped> {
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                let paths = e.paths.clone();
                return match e.kind {
                    notify::ErrorKind::MaxFilesWatch => {
                        let d = paths.into_iter().next().or_else(|| {
                            self.inotify.as_ref().and_then(|i| i.roots.first().cloned())
                        });
                        match d {
                            Some(d) => self.degrade(d),
                            None => Ok(()),
                        }
                    }
                    _ => {
                        let roots = self
                            .inotify
                            .as_ref()
                            .map(|i| i.roots.clone())
                            .unwrap_or_default();
                        self.rescan(&roots, RescanReason::WatchFailed(e.to_string()))
                    }
                };
            }
        };
        let Some(ino) = self.inotify.as_ref() else {
            return Ok(());
        };
        if ev.need_rescan() {
            let roots = ino.roots.clone();
            self.flush_moves(None)?;
            return self.rescan(&roots, RescanReason::QueueOverflow);
        }
        let Some(path) = ev.paths.first().cloned() else {
            return Ok(());
        };
        let is_to = matches!(ev.kind, EventKind::Modify(ModifyKind::Name(RenameMode::To)));
        let is_noise = matches!(
            ev.kind,
            EventKind::Access(AccessKind::Open(_))
                | EventKind::Access(AccessKind::Close(AccessMode::Read))
                | EventKind::Modify(ModifyKind::Name(RenameMode::Both))
        );
        if is_noise {
            return Ok(());
        }
        // A MOVED_TO directly follows its MOVED_FROM in the queue; anything else in between means the
        // pending ones left the tree. Flushing now keeps the order of events.
        if !is_to
            && !matches!(
                ev.kind,
                EventKind::Modify(ModifyKind::Name(RenameMode::From))
            )
        {
            self.flush_moves(None)?;
        }
        if self.filter.is_excluded(&path) {
            self.stats.add_dropped_outside(1);
            return Ok(());
        }
        let fd_content = self.inotify.as_ref().is_some_and(|i| i.fd_content(&path));
        match ev.kind {
            EventKind::Create(kind) => {
                let is_dir = match kind {
                    CreateKind::Folder => true,
                    CreateKind::File => false,
                    _ => is_dir_now(&self.filter, &path),
                };
                if let Some(ino) = self.inotify.as_mut() {
                    ino.gone.remove(&path);
                }
                self.on_created(path.clone(), is_dir, false)?;
                if is_dir {
                    self.watch_tree(&path, true)?;
                }
            }
            EventKind::Remove(kind) => {
                let Some(ino) = self.inotify.as_mut() else {
                    return Ok(());
                };
                if ino.roots.contains(&path) {
                    ino.forget(&path);
                    return self.on_removed(path, true);
                }
                if ino.watched.contains(&path) {
                    ino.forget(&path);
                    if ino.gone.len() > 4096 {
                        ino.gone.clear();
                    }
                    ino.gone.insert(path.clone());
                    self.stats.set_watches(ino.watched.len());
                    return self.on_removed(path, true);
                }
                if kind == RemoveKind::Folder && ino.gone.remove(&path) {
                    return Ok(());
                }
                self.on_removed(path, kind == RemoveKind::Folder)?;
            }
            EventKind::Modify(ModifyKind::Name(RenameMode::From)) => {
                let Some(ino) = self.inotify.as_mut() else {
                    return Ok(());
                };
                match ev.attrs.tracker() {
                    Some(cookie) => {
                        let is_dir = ino.watched.contains(&path);
                        ino.pending_from
                            .insert(cookie, (path, is_dir, Instant::now() + RENAME_WAIT));
                    }
                    // IN_MOVE_SELF: only a root's own move matters (others come with their parent's events).
                    None => {
                        if ino.roots.contains(&path) {
                            self.flush_moves(None)?;
                            return self.on_removed(path, true);
                        }
                    }
                }
            }
            EventKind::Modify(ModifyKind::Name(RenameMode::To)) => {
                let from = ev.attrs.tracker().and_then(|c| {
                    self.inotify
                        .as_mut()
                        .and_then(|i| i.pending_from.remove(&c))
                });
                self.flush_moves(None)?;
                match from {
                    Some((from, is_dir, _)) => {
                        if is_dir && let Some(ino) = self.inotify.as_mut() {
                            ino.forget(&from);
                        }
                        let to_in = self.filter.in_scope(&path);
                        self.on_renamed(from, path.clone(), is_dir, false)?;
                        if is_dir && to_in {
                            // notify dropped the moved subtree's watches; re-add them. Changes made inside it
                            // before that are not seen, so ask for a walk of it.
                            self.watch_tree(&path, false)?;
                            self.rescan(&[path], RescanReason::NewDirectory)?;
                        }
                    }
                    None => {
                        let is_dir = is_dir_now(&self.filter, &path);
                        self.on_created(path.clone(), is_dir, false)?;
                        if is_dir {
                            self.watch_tree(&path, true)?;
                        }
                    }
                }
            }
            EventKind::Modify(ModifyKind::Data(_)) | EventKind::Modify(ModifyKind::Any) => {
                // Even where the fd group supplies content, a truncate by path reaches only inotify.
                self.on_content_checked(path, false, None, None, fd_content)?;
            }
            // Where the fd group supplies content, its close-write (with a pid) is the one reported.
            EventKind::Access(AccessKind::Close(AccessMode::Write)) if !fd_content => {
                self.on_content(path, true, None, None)?;
            }
            EventKind::Modify(ModifyKind::Metadata(_)) => self.on_attrib(path)?,
            _ => {}
        }
        Ok(())
    }
}
