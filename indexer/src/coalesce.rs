//! The coalescer: turns the watcher's stream of [`Change`]s into batches of per-path [`Work`].
//!
//! Changes are keyed per file: a file written a thousand times while a batch is open is refreshed once.
//! Namespace changes (removes, renames, rescans) are *barriers*: they keep their order, and pending
//! refreshes are rewritten through them (a pending refresh of `a` followed by a rename `a -> b` becomes a
//! refresh of `b`), so a batch is always "barriers in order, then refreshes of final names".
//!
//! Rescans (of new directories, or after lost events) are a set: nested scopes merge, they follow renames
//! and die with removes like refreshes do, and they come last in a batch, so the engine walks all of them in
//! one pass.
//!
//! A batch is ready when it holds `batch_docs` items, or by the *pace* of commits: the batching adapts
//! to the arrival rate. After a commit that took `c`, the next batch is handed on once that commit is
//! `c` in the past (an average of the last commits' cost), so commits take at most about half of the
//! pipeline's time whatever the rate: a lone change after a quiet moment is committed at once, and under
//! load each batch holds what arrived while the last one was applied, growing with the rate so
//! throughput holds. Bounds: never later than `batch_ms` after the batch's first change, never sooner
//! than `batch_min_ms` after it (default 0); and ready `settle_ms` after the last change (a save burst
//! is over) once that floor has passed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fandex_watcher::{Change, ContentFd, RescanReason, rebase};

/// Why a scope is walked again, by kind: a small fixed set, so counters keyed by it stay bounded (the
/// details, such as an error message, go to the log where they arise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RescanKind {
    /// The kernel's event queue overflowed.
    QueueOverflow,
    /// An event's descriptor could not be opened.
    EventFdUnavailable,
    /// A watch or mark could not be placed, or the watcher lost track.
    WatchFailed,
    /// A directory appeared: its contents may predate its watch.
    NewDirectory,
    /// A watched root was moved or deleted.
    RootChanged,
    /// A root's filesystem came back (mounted again): what changed while it was away is picked up.
    RootOnline,
    /// The configuration was reloaded: exclusions may have changed.
    ConfigReloaded,
    /// A batch failed: walking again converges whatever it left half done.
    BatchFailed,
    /// Files could not be opened for want of a system resource and are read again.
    ResourceShortage,
    /// Too many changes were pending: they were replaced by rescans of the roots.
    QueueCollapsed,
    /// The periodic walk of a root on a network or FUSE filesystem (`watch.poll_interval`), whose
    /// changes made elsewhere are not notified.
    Poll,
    /// The start-up walk (picking up what changed while no daemon ran), when it was put off (on battery).
    Startup,
}

impl RescanKind {
    /// Every kind.
    pub const ALL: [Self; 12] = [
        Self::QueueOverflow,
        Self::EventFdUnavailable,
        Self::WatchFailed,
        Self::NewDirectory,
        Self::RootChanged,
        Self::RootOnline,
        Self::ConfigReloaded,
        Self::BatchFailed,
        Self::ResourceShortage,
        Self::QueueCollapsed,
        Self::Poll,
        Self::Startup,
    ];

    /// Its name in `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::QueueOverflow => "queue overflow",
            Self::EventFdUnavailable => "event fd unavailable",
            Self::WatchFailed => "watch failed",
            Self::NewDirectory => "new directory",
            Self::RootChanged => "root moved or deleted",
            Self::RootOnline => "root back online",
            Self::ConfigReloaded => "configuration reloaded",
            Self::BatchFailed => "recovery after a failed batch",
            Self::ResourceShortage => "retry after a resource shortage",
            Self::QueueCollapsed => "too many pending changes",
            Self::Poll => "poll of a network or FUSE filesystem",
            Self::Startup => "start-up walk",
        }
    }
}

impl std::fmt::Display for RescanKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&RescanReason> for RescanKind {
    fn from(reason: &RescanReason) -> Self {
        match reason {
            RescanReason::QueueOverflow => Self::QueueOverflow,
            RescanReason::EventFdUnavailable => Self::EventFdUnavailable,
            RescanReason::WatchFailed(_)
            | RescanReason::WatchLimit
            | RescanReason::UnresolvedHandle
            | RescanReason::SourceFailed(_) => Self::WatchFailed,
            RescanReason::RootOnline => Self::RootOnline,
            RescanReason::NewDirectory => Self::NewDirectory,
            RescanReason::RootChanged => Self::RootChanged,
        }
    }
}

/// One unit of work for the engine.
#[derive(Debug)]
pub enum Work {
    /// Check the file at `path` and index it if it is new or its content may have changed.
    Refresh {
        /// The file.
        path: PathBuf,
        /// The descriptor the newest content event carried, if any (read through it, not the path).
        content: Option<ContentFd>,
        /// Only metadata changed (mode, owner, links): content is re-read only if size or mtime differ.
        metadata_only: bool,
    },
    /// `path` (a file, or a directory and everything below it) is gone.
    Remove {
        /// The removed name.
        path: PathBuf,
    },
    /// `from` (a file, or a directory and everything below it) is now at `to`.
    Move {
        /// Old name.
        from: PathBuf,
        /// New name.
        to: PathBuf,
    },
    /// Walk `scope` again and reconcile it.
    Rescan {
        /// The directory (or file) to walk.
        scope: PathBuf,
        /// Why, for status and logs.
        reason: RescanKind,
    },
}

/// Batching limits.
#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    /// A batch is ready once it holds this many items.
    pub max_items: usize,
    /// ...or at the latest this long after its first change (sooner at the pace of commits).
    pub max_delay: Duration,
    /// ...never before its first change is this old.
    pub min_delay: Duration,
    /// ...or when no change has arrived for this long (past `min_delay`).
    pub settle: Duration,
    /// At most this many event descriptors are held while pending; beyond it, descriptors are closed and
    /// the file is read by path instead.
    pub max_fds: usize,
}

/// The pace of commits (see the module documentation).
#[derive(Debug, Clone, Copy, Default)]
struct Pace {
    /// No batch is handed on before this (unless full), if set.
    not_before: Option<Instant>,
    /// The average cost of a commit (the newest weighing a quarter).
    cost: Option<Duration>,
}

/// Accumulates changes into the next batch.
pub struct Coalescer {
    limits: BatchLimits,
    pace: Pace,
    barriers: Vec<Work>,
    refreshes: HashMap<PathBuf, (Option<ContentFd>, bool)>,
    /// Scopes to walk again, none inside another.
    scans: Vec<(PathBuf, RescanKind)>,
    /// Paths in arrival order of their first refresh (so batches are deterministic).
    order: Vec<PathBuf>,
    first: Option<Instant>,
    last: Option<Instant>,
    /// Descriptors currently held in `refreshes`.
    fds: usize,
}

impl Coalescer {
    /// An empty coalescer.
    pub fn new(limits: BatchLimits) -> Self {
        Self {
            limits,
            pace: Pace::default(),
            barriers: Vec::new(),
            refreshes: HashMap::new(),
            scans: Vec::new(),
            order: Vec::new(),
            first: None,
            last: None,
            fds: 0,
        }
    }

    /// Number of event descriptors held.
    pub fn fds_held(&self) -> usize {
        self.fds
    }

    /// Number of pending items.
    pub fn len(&self) -> usize {
        self.barriers.len() + self.refreshes.len() + self.scans.len()
    }

    /// Replaces the batching limits (configuration reload).
    pub fn set_limits(&mut self, limits: BatchLimits) {
        self.limits = limits;
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds one change.
    pub fn push(&mut self, change: Change, now: Instant) {
        self.first.get_or_insert(now);
        self.last = Some(now);
        match change {
            Change::Modified { path, content } => self.refresh(path, content, false),
            Change::Attrib { path } => self.refresh(path, None, true),
            Change::Created {
                path,
                is_dir: false,
            } => self.refresh(path, None, false),
            Change::Created { path, is_dir: true } => {
                // Its contents may predate any event (moved in from outside, or created before a watch).
                self.scan(path, RescanKind::NewDirectory);
            }
            Change::Removed { path, .. } => {
                self.drop_under(&path);
                self.barriers.push(Work::Remove { path });
            }
            Change::Renamed { from, to, .. } => {
                self.drop_under(&to);
                self.rewrite(&from, &to);
                self.barriers.push(Work::Move { from, to });
            }
            Change::Rescan { scope, reason } => self.scan(scope, RescanKind::from(&reason)),
        }
    }

    /// Schedules a walk of `scope` (a directory, or a single file), like a rescan from the watcher: used to
    /// retry files that could not be read for want of a system resource.
    pub fn push_rescan(&mut self, scope: PathBuf, reason: RescanKind, now: Instant) {
        self.first.get_or_insert(now);
        self.last = Some(now);
        self.scan(scope, reason);
    }

    fn scan(&mut self, scope: PathBuf, reason: RescanKind) {
        if self.scans.iter().any(|(s, _)| scope.starts_with(s)) {
            return;
        }
        self.drop_under(&scope);
        self.scans.retain(|(s, _)| !s.starts_with(&scope));
        self.scans.push((scope, reason));
    }

    fn refresh(&mut self, path: PathBuf, content: Option<ContentFd>, metadata_only: bool) {
        match self.refreshes.get_mut(&path) {
            Some(entry) => {
                // The newest descriptor replaces an older one (closed here); a path that had none gets
                // one only within the budget, like a new path.
                if content.is_some() && (entry.0.is_some() || self.fds < self.limits.max_fds) {
                    if entry.0.is_none() {
                        self.fds += 1;
                    }
                    entry.0 = content;
                }
                entry.1 &= metadata_only;
            }
            None => {
                // Over the budget the descriptor is closed now and the file is read by path later.
                let content = content.filter(|_| self.fds < self.limits.max_fds);
                self.fds += usize::from(content.is_some());
                self.order.push(path.clone());
                self.refreshes.insert(path, (content, metadata_only));
            }
        }
    }

    fn drop_under(&mut self, dir: &Path) {
        let mut dropped = 0;
        self.refreshes.retain(|p, (fd, _)| {
            let keep = !p.starts_with(dir);
            if !keep && fd.is_some() {
                dropped += 1;
            }
            keep
        });
        self.fds -= dropped;
        self.scans.retain(|(s, _)| !s.starts_with(dir));
    }

    fn rewrite(&mut self, from: &Path, to: &Path) {
        let moved: Vec<PathBuf> = self
            .refreshes
            .keys()
            .filter(|p| p.starts_with(from))
            .cloned()
            .collect();
        for old in moved {
            if let (Some(entry), Some(new)) = (self.refreshes.remove(&old), rebase(&old, from, to))
            {
                self.order.push(new.clone());
                self.refreshes.insert(new, entry);
            }
        }
        for (scope, _) in &mut self.scans {
            if let Some(new) = rebase(scope, from, to) {
                *scope = new;
            }
        }
    }

    /// Replaces everything pending with a rescan of each scope: used when too much is pending to keep in
    /// memory, so memory stays bounded and nothing is lost.
    pub fn collapse(&mut self, scopes: &[PathBuf], reason: RescanKind, now: Instant) {
        self.barriers.clear();
        self.refreshes.clear();
        self.order.clear();
        self.scans.clear();
        self.fds = 0;
        self.first.get_or_insert(now);
        self.last = Some(now);
        for scope in scopes {
            self.scan(scope.clone(), reason);
        }
    }

    /// Notes that a batch was committed at `at` and that the commit (with the reload that makes it
    /// searchable) took `cost`: the next batch is handed on once the average cost has passed since.
    pub fn committed(&mut self, at: Instant, cost: Duration) {
        let cost = match self.pace.cost {
            Some(average) => (average * 3 + cost) / 4,
            None => cost,
        };
        self.pace.cost = Some(cost);
        self.pace.not_before = Some(at + cost.min(self.limits.max_delay));
    }

    /// When the pending batch becomes ready (`None` when nothing is pending).
    pub fn deadline(&self) -> Option<Instant> {
        let (first, last) = (self.first?, self.last?);
        let floor = first + self.limits.min_delay;
        let paced = self.pace.not_before.map_or(floor, |at| at.max(floor));
        let settled = (last + self.limits.settle).max(floor);
        Some((first + self.limits.max_delay).min(paced).min(settled))
    }

    /// Whether the pending batch should be handed on now.
    pub fn is_ready(&self, now: Instant) -> bool {
        !self.is_empty()
            && (self.len() >= self.limits.max_items || self.deadline().is_some_and(|d| now >= d))
    }

    /// Takes the pending batch: barriers in arrival order, then refreshes of final names, then rescans.
    pub fn take(&mut self) -> Vec<Work> {
        let mut out = std::mem::take(&mut self.barriers);
        // At most `max_items` refreshes per batch: a burst of 100,000 files becomes many bounded batches
        // (each committed), not one that holds everything. The rest stay pending, ready at once.
        let mut taken = 0;
        let mut rest = Vec::new();
        for path in std::mem::take(&mut self.order) {
            if taken >= self.limits.max_items {
                rest.push(path);
                continue;
            }
            if let Some((content, metadata_only)) = self.refreshes.remove(&path) {
                self.fds -= usize::from(content.is_some());
                taken += 1;
                out.push(Work::Refresh {
                    path,
                    content,
                    metadata_only,
                });
            }
        }
        rest.retain(|p| self.refreshes.contains_key(p));
        if !rest.is_empty() {
            // Rescans come after every refresh: they wait for the last part.
            self.order = rest;
            return out;
        }
        self.refreshes.clear();
        for (scope, reason) in std::mem::take(&mut self.scans) {
            out.push(Work::Rescan { scope, reason });
        }
        self.fds = 0;
        self.first = None;
        self.last = None;
        out
    }
}

#[cfg(test)]
mod tests;
