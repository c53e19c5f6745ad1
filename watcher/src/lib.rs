//! fandex's change source.
//!
//! The watcher turns kernel notifications (fanotify or inotify) into one ordered stream of normalized
//! [`Change`]s that the indexer consumes. This module defines that vocabulary; the backends live in their
//! own modules and all produce the same events, so the indexer never knows which kernel interface ran.
//!
//! Paths are bytes: a [`PathBuf`] on Unix holds any byte string, including invalid UTF-8 and newlines, and
//! every event carries the exact bytes the kernel reported.

mod change;

pub use change::{Change, ContentFd, RescanReason};
