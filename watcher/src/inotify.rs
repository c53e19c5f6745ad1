//! The inotify backend, through `notify` (one non-recursive watch per directory, managed here): it turns
//! `notify`'s events into calls on the [`Normalizer`], on the engine thread.
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

use crate::change::{Change, RescanReason};
use crate::event::Stopped;
use crate::filter::Filter;
use crate::normalize::Normalizer;
use crate::walk::{NewTree, is_dir_now, list_new_tree};

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

    /// Watches the inotify roots (called once at start, on the engine thread).
    pub(crate) fn start(&mut self, n: &mut Normalizer) -> Result<(), Stopped> {
        for r in self.roots.clone() {
            self.watch_tree(n, &r, false)?;
        }
        Ok(())
    }

    /// Adds a watch on `dir` and every directory below it, each before it is listed. With `emit_created`,
    /// reports everything found as created (a new or moved-in directory).
    fn watch_tree(
        &mut self,
        n: &mut Normalizer,
        dir: &Path,
        emit_created: bool,
    ) -> Result<(), Stopped> {
        list_new_tree(
            dir,
            &mut Watching {
                ino: self,
                n,
                emit_created,
            },
        )?;
        n.stats.set_watches(self.watched.len());
        Ok(())
    }

    fn degrade(&mut self, n: &mut Normalizer, dir: PathBuf) -> Result<(), Stopped> {
        if self.failed.iter().any(|f| dir.starts_with(f)) {
            return Ok(());
        }
        self.failed.push(dir.clone());
        self.next_retry
            .get_or_insert(Instant::now() + DEGRADED_RETRY);
        let why = format!(
            "inotify watch limit reached (fs.inotify.max_user_watches): {} subtree(s) unwatched, rescanned every {} s",
            self.failed.len(),
            DEGRADED_RETRY.as_secs()
        );
        n.stats.set_degraded(Some(why));
        n.rescan(&[dir], RescanReason::WatchLimit)
    }

    /// Expires unpaired renames and retries unwatched subtrees.
    pub(crate) fn tick(&mut self, n: &mut Normalizer, now: Instant) -> Result<(), Stopped> {
        let expired: Vec<usize> = self
            .pending_from
            .iter()
            .filter(|(_, (_, _, t))| *t <= now)
            .map(|(c, _)| *c)
            .collect();
        if !expired.is_empty() {
            self.flush_moves(n, Some(&expired))?;
        }
        if self.next_retry.is_some_and(|t| t <= now) {
            let failed = std::mem::take(&mut self.failed);
            self.next_retry = None;
            n.stats.set_degraded(None);
            for d in failed {
                // Re-adding fails again (and re-degrades) while the limit still holds; either way the subtree
                // may have changed while unwatched.
                self.watch_tree(n, &d, false)?;
                n.rescan(&[d], RescanReason::WatchLimit)?;
            }
        }
        Ok(())
    }

    /// Reports a removal, dropping the watches of any root that went with it.
    fn removed(&mut self, n: &mut Normalizer, path: PathBuf, is_dir: bool) -> Result<(), Stopped> {
        let r = n.on_removed(path, is_dir);
        self.root_gone(&n.take_roots_gone());
        r
    }

    /// Reports a rename, dropping the watches of any root that moved with it.
    fn renamed(
        &mut self,
        n: &mut Normalizer,
        from: PathBuf,
        to: PathBuf,
        is_dir: bool,
    ) -> Result<(), Stopped> {
        let r = n.on_renamed(from, to, is_dir, false);
        self.root_gone(&n.take_roots_gone());
        r
    }

    /// Reports pending `MOVED_FROM`s (all, or those listed) as removals: they left the watched tree.
    fn flush_moves(&mut self, n: &mut Normalizer, which: Option<&[usize]>) -> Result<(), Stopped> {
        let mut moves: Vec<(usize, PathBuf, bool, Instant)> = Vec::new();
        let keys: Vec<usize> = match which {
            Some(w) => w.to_vec(),
            None => self.pending_from.keys().copied().collect(),
        };
        for k in keys {
            if let Some((p, d, t)) = self.pending_from.remove(&k) {
                moves.push((k, p, d, t));
            }
        }
        moves.sort_by_key(|m| m.3);
        for (_, path, is_dir, _) in moves {
            if is_dir {
                self.forget(&path);
            }
            self.removed(n, path, is_dir)?;
        }
        Ok(())
    }

    /// Handles one event from `notify`.
    pub(crate) fn handle(
        &mut self,
        n: &mut Normalizer,
        ev: notify::Result<notify::Event>,
    ) -> Result<(), Stopped> {
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                let paths = e.paths.clone();
                return match e.kind {
                    notify::ErrorKind::MaxFilesWatch => {
                        let d = paths
                            .into_iter()
                            .next()
                            .or_else(|| self.roots.first().cloned());
                        match d {
                            Some(d) => self.degrade(n, d),
                            None => Ok(()),
                        }
                    }
                    _ => {
                        let roots = self.roots.clone();
                        n.rescan(&roots, RescanReason::SourceFailed(e.to_string()))
                    }
                };
            }
        };
        if ev.need_rescan() {
            let roots = self.roots.clone();
            self.flush_moves(n, None)?;
            return n.rescan(&roots, RescanReason::QueueOverflow);
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
            self.flush_moves(n, None)?;
        }
        if n.filter.is_excluded(&path) {
            n.stats.add_dropped_outside(1);
            return Ok(());
        }
        let fd_content = self.fd_content(&path);
        match ev.kind {
            EventKind::Create(kind) => {
                let is_dir = match kind {
                    CreateKind::Folder => true,
                    CreateKind::File => false,
                    _ => is_dir_now(&n.filter, &path),
                };
                self.gone.remove(&path);
                n.on_created(path.clone(), is_dir, false)?;
                if is_dir {
                    self.watch_tree(n, &path, true)?;
                }
            }
            EventKind::Remove(kind) => {
                if self.roots.contains(&path) {
                    self.forget(&path);
                    return self.removed(n, path, true);
                }
                if self.watched.contains(&path) {
                    self.forget(&path);
                    if self.gone.len() > 4096 {
                        self.gone.clear();
                    }
                    self.gone.insert(path.clone());
                    n.stats.set_watches(self.watched.len());
                    return self.removed(n, path, true);
                }
                if kind == RemoveKind::Folder && self.gone.remove(&path) {
                    return Ok(());
                }
                self.removed(n, path, kind == RemoveKind::Folder)?;
            }
            EventKind::Modify(ModifyKind::Name(RenameMode::From)) => {
                match ev.attrs.tracker() {
                    Some(cookie) => {
                        let is_dir = self.watched.contains(&path);
                        self.pending_from
                            .insert(cookie, (path, is_dir, Instant::now() + RENAME_WAIT));
                    }
                    // IN_MOVE_SELF: only a root's own move matters (others come with their parent's events).
                    None => {
                        if self.roots.contains(&path) {
                            self.flush_moves(n, None)?;
                            return self.removed(n, path, true);
                        }
                    }
                }
            }
            EventKind::Modify(ModifyKind::Name(RenameMode::To)) => {
                let from = ev
                    .attrs
                    .tracker()
                    .and_then(|c| self.pending_from.remove(&c));
                self.flush_moves(n, None)?;
                match from {
                    Some((from, is_dir, _)) => {
                        if is_dir {
                            self.forget(&from);
                        }
                        let to_in = n.filter.in_scope(&path);
                        self.renamed(n, from, path.clone(), is_dir)?;
                        if is_dir && to_in {
                            // notify dropped the moved subtree's watches; re-add them. Changes made inside it
                            // before that are not seen, so ask for a walk of it.
                            self.watch_tree(n, &path, false)?;
                            n.rescan(&[path], RescanReason::NewDirectory)?;
                        }
                    }
                    None => {
                        let is_dir = is_dir_now(&n.filter, &path);
                        n.on_created(path.clone(), is_dir, false)?;
                        if is_dir {
                            self.watch_tree(n, &path, true)?;
                        }
                    }
                }
            }
            EventKind::Modify(ModifyKind::Data(_)) | EventKind::Modify(ModifyKind::Any) => {
                // Even where the fd group supplies content, a truncate by path reaches only inotify.
                n.on_content_checked(path, false, None, None, fd_content)?;
            }
            // Where the fd group supplies content, its close-write (with a pid) is the one reported.
            EventKind::Access(AccessKind::Close(AccessMode::Write)) if !fd_content => {
                n.on_content(path, true, None, None)?;
            }
            EventKind::Modify(ModifyKind::Metadata(_)) => n.on_attrib(path)?,
            _ => {}
        }
        Ok(())
    }
}

/// Listing a directory for inotify: each directory is watched before it is listed; with `emit_created`
/// every entry is reported created (a new or moved-in directory).
struct Watching<'a> {
    ino: &'a mut InotifyState,
    n: &'a mut Normalizer,
    emit_created: bool,
}

impl NewTree for Watching<'_> {
    fn filter(&self) -> &Filter {
        &self.n.filter
    }

    fn enter(&mut self, d: &Path) -> Result<bool, Stopped> {
        match self.ino.watcher.watch(d, RecursiveMode::NonRecursive) {
            Ok(()) => {
                self.ino.watched.insert(d.to_path_buf());
                Ok(true)
            }
            Err(e) => {
                match e.kind {
                    notify::ErrorKind::MaxFilesWatch => {
                        self.ino.degrade(self.n, d.to_path_buf())?
                    }
                    notify::ErrorKind::PathNotFound => {}
                    notify::ErrorKind::Io(ref io) if io.kind() == std::io::ErrorKind::NotFound => {}
                    _ => self
                        .n
                        .rescan(&[d.to_path_buf()], RescanReason::WatchFailed(e.to_string()))?,
                }
                Ok(false)
            }
        }
    }

    fn found(&mut self, path: PathBuf, is_dir: bool) -> Result<(), Stopped> {
        if self.emit_created {
            self.n.emit(Change::Created { path, is_dir })?;
        }
        Ok(())
    }
}
