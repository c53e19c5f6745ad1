//! The normalized change events shared by every backend.

use std::fmt;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;

/// An open, read-only file descriptor on the content of a changed file, as delivered by a fanotify event.
///
/// The indexer reads content through it instead of reopening the path, so it sees the exact file that was
/// written even if the name has since moved. Dropping it closes the descriptor.
pub struct ContentFd(OwnedFd);

impl ContentFd {
    /// Wraps a descriptor the caller owns.
    pub fn new(fd: OwnedFd) -> Self {
        Self(fd)
    }

    /// Gives the descriptor back, for example to turn it into a [`std::fs::File`].
    pub fn into_owned_fd(self) -> OwnedFd {
        self.0
    }
}

impl AsFd for ContentFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl fmt::Debug for ContentFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use std::os::fd::AsRawFd;
        write!(f, "ContentFd({})", self.0.as_raw_fd())
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
    /// A watch or mark could not be placed (for example the inotify watch limit was reached).
    WatchFailed(String),
    /// A directory appeared (created or moved in) and its contents may predate its watch.
    NewDirectory,
    /// A watched root itself was moved or deleted.
    RootChanged,
}

impl fmt::Display for RescanReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::QueueOverflow => f.write_str("queue overflow"),
            Self::EventFdUnavailable => f.write_str("event fd unavailable"),
            Self::WatchFailed(why) => write!(f, "watch failed: {why}"),
            Self::NewDirectory => f.write_str("new directory"),
            Self::RootChanged => f.write_str("root moved or deleted"),
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
    pub fn path(&self) -> &std::path::Path {
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
