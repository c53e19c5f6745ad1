//! The fanotify backend: an fd-mode group for content and a FID-mode group for the namespace.
//!
//! - [`group`] creates both groups and marks filesystems (used by `select`).
//! - [`fid`] reads the FID group, the ordered log of the namespace, and resolves each batch to event-time
//!   paths.
//! - [`content`] reads the fd group: its descriptors are joined to the log by file handle, or sent as
//!   content events where inotify supplies the namespace.
//! - [`sys`] holds fanotify's system calls and the parser of its event stream.

pub(crate) mod content;
pub(crate) mod fid;
pub(crate) mod group;
pub(crate) mod sys;
