//! Opening a user's file for its content, or looking at it, without following a symlink anywhere below
//! its root, blocking, or touching a device.
//!
//! There is one such function for the whole of fandex, and it lives at the bottom of the crate graph so
//! that the watcher's content opens and the indexer's are the same: [`fandex_watcher::beneath`]. Every
//! path is resolved from its root's directory descriptor (`openat2` with `RESOLVE_NO_SYMLINKS |
//! RESOLVE_BENEATH`, or a component-wise `O_NOFOLLOW` walk where `openat2` is missing), and what is
//! opened is compared with what the walk saw ([`FileId`]): a directory swapped for a symlink, or a file
//! swapped for another, is [`OpenError::Changed`], never content of that path. The roots are opened per
//! walk or batch ([`RootSet`]) and closed afterwards, so the daemon never pins a filesystem.

pub use fandex_watcher::beneath::{FileId, OpenError, RootDir, RootSet, file_kind};
