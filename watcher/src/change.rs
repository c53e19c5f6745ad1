//! The normalized change events shared by every backend.

use std::fmt;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// An open, read-only file descriptor on the content of a changed file, as delivered by a fanotify event.
///
/// The indexer reads content through it instead of reopening the path, so it sees the exact file that was
/// written even if the name has since moved. Dropping it closes the descriptor. Descriptors made by the
/// watcher count against its budget until they are dropped (or turned into an [`OwnedFd`]).
pub struct ContentFd {
    fd: OwnedFd,
    _permit: Option<Permit>,
}

impl ContentFd {
    /// Wraps a descriptor the caller owns (not counted against any budget).
    pub fn new(fd: OwnedFd) -> Self {
        Self { fd, _permit: None }
    }

    /// Gives the descriptor back, for example to turn it into a [`std::fs::File`]; it no longer counts
    /// against the watcher's budget.
    pub fn into_owned_fd(self) -> OwnedFd {
        self.fd
    }
}

/// Counts the content descriptors alive anywhere (held by the watcher, queued, or in a consumer's hands)
/// against a cap, so a burst of events cannot fill the process's descriptor table: beyond the cap, files
/// are reported without a descriptor and read by path instead.
#[derive(Debug)]
pub(crate) struct FdBudget {
    held: AtomicUsize,
    cap: usize,
}

impl FdBudget {
    /// A budget of `cap` descriptors.
    pub(crate) fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            held: AtomicUsize::new(0),
            cap,
        })
    }

    /// A budget for this process: a quarter of the soft descriptor limit, between 16 and 4096.
    pub(crate) fn for_process() -> Arc<Self> {
        let limit = crate::sys::nofile_soft_limit().unwrap_or(1024);
        Self::new(usize::try_from(limit / 4).unwrap_or(4096).clamp(16, 4096))
    }

    /// How many more descriptors may be made now.
    pub(crate) fn room(&self) -> usize {
        self.cap.saturating_sub(self.held.load(Ordering::Relaxed))
    }

    /// Runs `open` only if there is room, and counts what it opened. Without room the file is to be
    /// read by path instead.
    pub(crate) fn open_within(
        self: &Arc<Self>,
        open: impl FnOnce() -> Option<OwnedFd>,
    ) -> Option<ContentFd> {
        if self.room() == 0 {
            return None;
        }
        open().map(|fd| self.wrap(fd))
    }

    /// Counts `fd` (made whether or not there was room: the kernel already installed it).
    pub(crate) fn wrap(self: &Arc<Self>, fd: OwnedFd) -> ContentFd {
        self.held.fetch_add(1, Ordering::Relaxed);
        ContentFd {
            fd,
            _permit: Some(Permit(self.clone())),
        }
    }
}

/// One counted descriptor; released when dropped.
struct Permit(Arc<FdBudget>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.held.fetch_sub(1, Ordering::Relaxed);
    }
}

impl AsFd for ContentFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl fmt::Debug for ContentFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use std::os::fd::AsRawFd;
        write!(f, "ContentFd({})", self.fd.as_raw_fd())
    }
}

/// Why a part of the tree must be walked again because events for it were, or may have been, lost.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RescanReason {
    /// The kernel queue overflowed (`FAN_Q_OVERFLOW` or `IN_Q_OVERFLOW`): anything may have changed.
    QueueOverflow,
    /// An event arrived but its file descriptor could not be opened (for example `EMFILE`).
    EventFdUnavailable,
    /// A watch could not be placed on a directory; the error says why.
    WatchFailed(String),
    /// The inotify watch limit (`fs.inotify.max_user_watches`) was reached: the subtree is unwatched and
    /// walked again periodically.
    WatchLimit,
    /// A directory handle in the fanotify FID log could not be resolved to a path.
    UnresolvedHandle,
    /// A kernel event source failed or ended (an error reading it, its thread gone): what it would have
    /// reported since is unknown.
    SourceFailed(String),
    /// A directory appeared (created or moved in) and its contents may predate its watch.
    NewDirectory,
    /// A watched root itself was moved or deleted.
    RootChanged,
    /// A root that was offline (unmounted or missing) is back: it may have changed meanwhile.
    RootOnline,
}

impl fmt::Display for RescanReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::QueueOverflow => f.write_str("queue overflow"),
            Self::EventFdUnavailable => f.write_str("event fd unavailable"),
            Self::WatchFailed(why) => write!(f, "watch failed: {why}"),
            Self::WatchLimit => f.write_str("inotify watch limit reached"),
            Self::UnresolvedHandle => f.write_str("unresolvable directory handle"),
            Self::SourceFailed(why) => write!(f, "event source failed: {why}"),
            Self::NewDirectory => f.write_str("new directory"),
            Self::RootChanged => f.write_str("root moved or deleted"),
            Self::RootOnline => f.write_str("root back online"),
        }
    }
}

/// One normalized change to the watched tree.
///
/// Events say "this may have changed", never "this changed exactly once": the kernel merges repeated
/// events, so consumers re-check the file's state instead of counting events.
#[derive(Debug)]
pub enum Change {
    /// A file's content may have changed (written and closed, truncated, or modified in place).
    /// `content` is an open descriptor on it when the backend has one (fanotify fd mode).
    Modified {
        /// The file's path when the event was read.
        path: PathBuf,
        /// The descriptor the event carried, if any.
        content: Option<ContentFd>,
    },
    /// A name appeared: a new file or directory, or a hard link.
    Created {
        /// The new name.
        path: PathBuf,
        /// Whether it is a directory.
        is_dir: bool,
    },
    /// A name disappeared. For a directory, everything below it is gone too.
    Removed {
        /// The removed name.
        path: PathBuf,
        /// Whether it was a directory.
        is_dir: bool,
    },
    /// A name moved within the watched roots. Anything previously at `to` is replaced.
    Renamed {
        /// The old name.
        from: PathBuf,
        /// The new name.
        to: PathBuf,
        /// Whether it is a directory (then everything below moved too).
        is_dir: bool,
    },
    /// Metadata changed (mode, owner, link count, timestamps) but not necessarily content.
    Attrib {
        /// The affected name.
        path: PathBuf,
    },
    /// Events below `scope` were or may have been lost: walk it again and reconcile.
    Rescan {
        /// The directory to walk again (a root for a global overflow).
        scope: PathBuf,
        /// Why.
        reason: RescanReason,
    },
}

impl Change {
    /// The path the change is about (the destination for a rename).
    pub fn path(&self) -> &Path {
        match self {
            Self::Modified { path, .. }
            | Self::Created { path, .. }
            | Self::Removed { path, .. }
            | Self::Attrib { path }
            | Self::Rescan { scope: path, .. } => path,
            Self::Renamed { to, .. } => to,
        }
    }
}

/// Where `path` is after a rename of `from` to `to`: `path` with the prefix `from` replaced by `to`
/// (`None` when `path` is not `from` or below it). The one rewrite of a path under a renamed directory,
/// used by the watcher and the indexer alike.
pub fn rebase(path: &Path, from: &Path, to: &Path) -> Option<PathBuf> {
    let rest = path.strip_prefix(from).ok()?;
    Some(if rest.as_os_str().is_empty() {
        to.to_owned()
    } else {
        to.join(rest)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_counts_live_descriptors() {
        let budget = FdBudget::new(2);
        let open = || OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        let a = budget.wrap(open());
        let b = budget.wrap(open());
        assert_eq!(budget.room(), 0);
        // Over the cap still counts (the kernel made it), and room never underflows.
        let c = budget.wrap(open());
        assert_eq!(budget.room(), 0);
        drop(c);
        drop(a);
        assert_eq!(budget.room(), 1);
        let owned = b.into_owned_fd();
        assert_eq!(budget.room(), 2);
        drop(owned);
        // Uncounted descriptors do not touch it.
        let _d = ContentFd::new(open());
        assert_eq!(budget.room(), 2);
    }

    #[test]
    fn rebase_moves_the_name_and_everything_below_it() {
        let (from, to) = (Path::new("/r/a"), Path::new("/r/b"));
        assert_eq!(
            rebase(Path::new("/r/a"), from, to),
            Some(PathBuf::from("/r/b"))
        );
        assert_eq!(
            rebase(Path::new("/r/a/x/y"), from, to),
            Some(PathBuf::from("/r/b/x/y"))
        );
        // Component-wise: a sibling sharing the prefix's bytes is not below it.
        assert_eq!(rebase(Path::new("/r/ab"), from, to), None);
        assert_eq!(rebase(Path::new("/q"), from, to), None);
    }
}
