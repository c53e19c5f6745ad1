//! Creating the two fanotify groups and marking filesystems; what is known of each marked filesystem.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::sys;
use crate::mounts::MountRef;

/// Flags of the event descriptors the fd group installs.
pub(crate) const EVENT_FD_FLAGS: libc::c_uint =
    (libc::O_RDONLY | libc::O_LARGEFILE | libc::O_CLOEXEC | libc::O_NOATIME) as libc::c_uint;

/// `FAN_REPORT_FD_ERROR` (Linux 6.13): a failed event fd is reported as a negative errno in the event.
const FAN_REPORT_FD_ERROR: libc::c_uint = 0x0000_2000;

/// Events the FID group subscribes to.
pub(crate) const FID_MASK: u64 = libc::FAN_CREATE
    | libc::FAN_DELETE
    | libc::FAN_RENAME
    | libc::FAN_MOVED_FROM
    | libc::FAN_MOVED_TO
    | libc::FAN_ATTRIB
    | libc::FAN_DELETE_SELF
    | libc::FAN_MODIFY
    | libc::FAN_CLOSE_WRITE
    | libc::FAN_ONDIR;

/// Creates the fd-mode content group (no marks yet).
pub(crate) fn init_content_group() -> std::io::Result<OwnedFd> {
    let base = libc::FAN_CLASS_NOTIF | libc::FAN_CLOEXEC | libc::FAN_NONBLOCK;
    match sys::fanotify_init(base | FAN_REPORT_FD_ERROR, EVENT_FD_FLAGS) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            sys::fanotify_init(base, EVENT_FD_FLAGS)
        }
        other => other,
    }
}

/// Creates the FID-mode namespace group (no marks yet).
pub(crate) fn init_fid_group() -> std::io::Result<OwnedFd> {
    sys::fanotify_init(
        libc::FAN_CLASS_NOTIF
            | libc::FAN_CLOEXEC
            | libc::FAN_NONBLOCK
            | libc::FAN_REPORT_DFID_NAME_TARGET,
        (libc::O_RDONLY | libc::O_CLOEXEC) as libc::c_uint,
    )
}

/// Adds a filesystem mark for `mask` on the filesystem holding `path`.
pub(crate) fn mark_filesystem(group: &OwnedFd, mask: u64, path: &Path) -> std::io::Result<()> {
    sys::fanotify_mark(
        group.as_fd(),
        libc::FAN_MARK_ADD | libc::FAN_MARK_FILESYSTEM,
        mask,
        path,
    )
}

/// A filesystem known to the fanotify backend.
#[derive(Clone)]
pub(crate) struct FsInfo {
    /// `st_dev`.
    pub dev: u64,
    /// `statfs.f_fsid`.
    pub fsid: [i32; 2],
    /// How to open a mount fd for `open_by_handle_at` (only while resolving: a held one pins the mount).
    pub mount: Arc<MountRef>,
    /// The roots on it (scopes of a rescan).
    pub roots: Vec<PathBuf>,
    /// Whether the FID group covers its namespace (else inotify does).
    pub fid: bool,
}
