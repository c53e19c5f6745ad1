//! Roots' filesystems without pinning them: the identity of the filesystem a root is on, descriptors on a
//! root opened only for as long as one lookup needs them, and a watch on the mount table.
//!
//! Nothing here keeps a descriptor on a root open between calls, so a root's filesystem can be unmounted
//! (plainly, not only lazily) while the watcher runs.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::sys;
use crate::volume::Volume;

/// Which filesystem a directory is on: `st_dev`, `statfs.f_fsid` and the [`Volume`] (what survives a
/// remount on another device number).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FsIdentity {
    /// `st_dev` of the directory.
    pub dev: u64,
    /// `statfs.f_fsid` of its filesystem (what fanotify's file handles carry).
    pub fsid: [i32; 2],
    /// The filesystem's identity across remounts.
    pub volume: Volume,
}

impl FsIdentity {
    /// The identity of the filesystem directory `path` is on (symlinks followed, as for a root given by
    /// the user). Fails when `path` is gone or not a directory.
    pub fn of(path: &Path) -> io::Result<Self> {
        let meta = std::fs::metadata(path)?;
        if !meta.is_dir() {
            return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
        }
        let (f_type, fsid) = sys::statfs_of(path)?;
        Ok(Self {
            dev: meta.dev(),
            fsid,
            volume: Volume::identify(meta.dev(), f_type, fsid),
        })
    }

    /// Whether this is the same filesystem as `other`, possibly remounted on another device number:
    /// the same volume (which includes the device number when nothing better identifies it).
    pub fn same_filesystem(&self, other: &FsIdentity) -> bool {
        self.volume == other.volume
    }
}

/// How to get a mount fd for `open_by_handle_at` on one filesystem: open one of its roots when needed and
/// check it is still on that filesystem (after an unmount the path is the empty mount point on another).
#[derive(Debug, Clone)]
pub(crate) struct MountRef {
    /// `statfs.f_fsid` of the filesystem.
    pub fsid: [i32; 2],
    /// Its roots, tried in order.
    pub roots: Vec<PathBuf>,
    /// The topmost directory above the roots on the same filesystem (its mount point, as far as this
    /// process sees it), tried last: after a root itself was moved or deleted, handles of the directories
    /// that held it must still resolve, so the move is reported rather than lost.
    pub top: Option<PathBuf>,
}

/// The topmost ancestor of `path` (itself included) on the same device: where its filesystem is mounted.
/// `None` when `path` cannot be read.
pub(crate) fn filesystem_top(path: &Path) -> Option<PathBuf> {
    let dev = std::fs::metadata(path).ok()?.dev();
    let mut top = path;
    for ancestor in path.ancestors().skip(1) {
        match std::fs::metadata(ancestor) {
            Ok(meta) if meta.dev() == dev => top = ancestor,
            _ => break,
        }
    }
    Some(top.to_path_buf())
}

impl MountRef {
    /// A fresh descriptor on a root of this filesystem; `Ok(None)` when no root is on it any more (gone, or
    /// now the mount point of an unmounted filesystem). The caller drops it as soon as its lookups are done.
    pub(crate) fn open(&self) -> io::Result<Option<OwnedFd>> {
        for root in self.roots.iter().chain(self.top.as_ref()) {
            let fd = match sys::open_path_dir(root) {
                Ok(fd) => fd,
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
                    continue;
                }
                Err(e) => return Err(e),
            };
            if sys::fsid_of_fd(fd.as_fd())? == self.fsid {
                return Ok(Some(fd));
            }
        }
        Ok(None)
    }
}

/// A watch on this process's mount table (`/proc/self/mountinfo`): [`MountTableWatch::wait`] returns
/// when a filesystem was mounted or unmounted anywhere in the mount namespace.
#[derive(Debug)]
pub struct MountTableWatch {
    mountinfo: File,
    wake: OwnedFd,
}

impl MountTableWatch {
    /// Opens the mount table.
    pub fn open() -> io::Result<Self> {
        Ok(Self {
            mountinfo: File::open("/proc/self/mountinfo")?,
            wake: sys::eventfd()?,
        })
    }

    /// Waits until the mount table changes (`Ok(true)`), `timeout` passes or [`MountTableWatch::wake`]
    /// was called (`Ok(false)`).
    pub fn wait(&self, timeout: Duration) -> io::Result<bool> {
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        let (changed, woken) = sys::poll_priority(self.mountinfo.as_fd(), self.wake.as_fd(), ms)?;
        if woken {
            let mut buf = [0u8; 8];
            let _ = sys::read_nonblocking(self.wake.as_fd(), &mut buf);
        }
        Ok(changed)
    }

    /// Makes a [`MountTableWatch::wait`] in progress (or the next one) return at once.
    pub fn wake(&self) {
        if let Err(e) = sys::eventfd_signal(self.wake.as_fd()) {
            tracing::warn!(error = %e, "could not wake the mount table watch");
        }
    }
}
