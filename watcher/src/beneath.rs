//! The one way fandex opens or inspects a user's path: relative to its root's directory descriptor,
//! without following a symlink anywhere below the root.
//!
//! A root daemon must never read a file through a path whose directory was swapped for a symlink: the
//! kernel would follow it to another user's file and fandex would file that text under the attacker's
//! path. So every path below a root is resolved from the root's descriptor with `openat2` and
//! `RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`, or, where the kernel has no `openat2`
//! (`ENOSYS`, before Linux 5.6), by a component-wise `openat` walk that refuses every symlink. The root
//! path itself is configured by the administrator and may be followed.
//!
//! - [`RootDir::open_for_content`] is how every file is opened for its content: through the event's
//!   descriptor while that is still the file at the path, else beneath the root with the checks below.
//! - [`RootDir::open_regular`] opens a file for its content: never blocks (`O_NONBLOCK`; a FIFO is
//!   refused at once), never opens a device (a no-symlink `lstat` comes first), checks the descriptor
//!   with `fstat`, and avoids updating the access time (`O_NOATIME`, retried without on `EPERM`).
//! - [`RootDir::lstat`] is `lstat` beneath the root: the metadata of the last component itself;
//!   [`RootDir::volume`] is `statfs` the same way, and [`RootSet::volume_key`] turns a file's `st_dev`
//!   into the key of its filesystem that survives remounts ([`Volume`]).
//! - [`RootDir::open_identified`] also compares `(dev, ino)` of what it opened with what the walk or the
//!   event saw ([`FileId`]); a mismatch, or a symlink in the path, is [`OpenError::Changed`]: the path
//!   changed during the walk and must be looked at again, never read as this path's content.
//!
//! A [`RootDir`] is opened for one walk, batch or call and then dropped: a descriptor held for the
//! daemon's lifetime would keep the root's filesystem from being unmounted.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::{File, FileType, Metadata};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, OpenHow, ResolveFlag, fcntl};
use nix::sys::stat::Mode;

use crate::volume::{Volume, volume_of_fd};

/// Why a path could not be opened or inspected.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The path names something other than a regular file; `kind` is a name from [`file_kind`].
    #[error("not a regular file: {kind}")]
    NotRegular {
        /// What the path is instead ("fifo", "socket", "character device", "block device", "symlink",
        /// "directory").
        kind: &'static str,
    },
    /// The path (or one of its directories) does not exist.
    #[error("file not found")]
    NotFound,
    /// The file or one of its directories may not be read by this process.
    #[error("permission denied")]
    PermissionDenied,
    /// The path changed while it was being looked at: a directory in it is (now) a symlink, it leads out
    /// of its root, or it names another file than the one the walk or event saw. Look again; never take
    /// what was opened as this path's content.
    #[error("changed during the walk")]
    Changed,
    /// The path is not below the root it was resolved against.
    #[error("outside the indexed roots")]
    Outside,
    /// The system is short of a resource (descriptors, memory) or the file is briefly locked: nothing is
    /// wrong with the file, so it should be read again later rather than recorded as unreadable.
    #[error("temporarily unavailable: {0}")]
    Transient(#[source] io::Error),
    /// Any other I/O failure.
    #[error("I/O error: {0}")]
    Io(#[source] io::Error),
}

/// A file's identity: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    /// The device number.
    pub dev: u64,
    /// The inode number.
    pub ino: u64,
}

impl FileId {
    /// The identity described by `meta`.
    pub fn of(meta: &Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// A short human name for a file type: "regular file", "directory", "symlink", "fifo", "socket",
/// "character device", "block device", or "unknown".
pub fn file_kind(ft: &FileType) -> &'static str {
    if ft.is_file() {
        "regular file"
    } else if ft.is_dir() {
        "directory"
    } else if ft.is_symlink() {
        "symlink"
    } else if ft.is_fifo() {
        "fifo"
    } else if ft.is_socket() {
        "socket"
    } else if ft.is_char_device() {
        "character device"
    } else if ft.is_block_device() {
        "block device"
    } else {
        "unknown"
    }
}

/// Set once the kernel answered `openat2` with `ENOSYS`: every later resolution walks components.
static OPENAT2_MISSING: AtomicBool = AtomicBool::new(false);

/// How paths below a root are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resolver {
    /// `openat2`, falling back to the walk when the kernel lacks it.
    Openat2,
    /// The component-wise `O_NOFOLLOW` walk only.
    Walk,
}

/// A root directory, opened for one walk, batch or call (drop it afterwards: see the module doc).
#[derive(Debug)]
pub struct RootDir {
    path: PathBuf,
    fd: OwnedFd,
    resolver: Resolver,
}

impl RootDir {
    /// Opens the root directory `path` (absolute; followed if it is a symlink: it is configured, not
    /// chosen by a user).
    pub fn open(path: &Path) -> Result<RootDir, OpenError> {
        let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let fd = nix::fcntl::open(path, flags, Mode::empty()).map_err(open_errno)?;
        Ok(RootDir {
            path: path.to_owned(),
            fd,
            resolver: Resolver::Openat2,
        })
    }

    /// [`RootDir::open`], resolving paths by the component-wise walk even where `openat2` exists (the
    /// fallback for old kernels, forced so that it can be tested).
    #[doc(hidden)]
    pub fn open_without_openat2(path: &Path) -> Result<RootDir, OpenError> {
        Ok(RootDir {
            resolver: Resolver::Walk,
            ..RootDir::open(path)?
        })
    }

    /// Opens the root among `roots` that `path` lies in (the deepest, should roots nest), for one call.
    pub fn open_root_of(roots: &[PathBuf], path: &Path) -> Result<RootDir, OpenError> {
        let root = roots
            .iter()
            .filter(|r| path.starts_with(r))
            .max_by_key(|r| r.as_os_str().len())
            .ok_or(OpenError::Outside)?;
        RootDir::open(root)
    }

    /// The root's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `path` relative to the root, refusing a path outside it or one with `..` in it.
    fn relative<'a>(&self, path: &'a Path) -> Result<&'a Path, OpenError> {
        let rel = path
            .strip_prefix(&self.path)
            .map_err(|_| OpenError::Outside)?;
        if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(OpenError::Outside);
        }
        Ok(rel)
    }

    /// `lstat` of `path` (the root or a path below it) without following any symlink: the metadata of
    /// the last component itself. A symlink in a directory of the path is [`OpenError::Changed`].
    pub fn lstat(&self, path: &Path) -> Result<Metadata, OpenError> {
        let rel = self.relative(path)?;
        let fd = self
            .resolve(rel, OFlag::O_PATH | OFlag::O_NOFOLLOW)
            .map_err(|e| match e {
                // With O_PATH | O_NOFOLLOW a trailing symlink opens: ELOOP means one in the middle.
                Errno::ELOOP => OpenError::Changed,
                e => open_errno(e),
            })?;
        File::from(fd).metadata().map_err(OpenError::Io)
    }

    /// The device number and [`Volume`] of the filesystem holding `path` (the root or a path below it),
    /// from `fstat` and `fstatfs` of an `O_PATH` descriptor opened like [`RootDir::lstat`]'s.
    pub fn volume(&self, path: &Path) -> Result<(u64, Volume), OpenError> {
        let rel = self.relative(path)?;
        let fd = self
            .resolve(rel, OFlag::O_PATH | OFlag::O_NOFOLLOW)
            .map_err(|e| match e {
                Errno::ELOOP => OpenError::Changed,
                e => open_errno(e),
            })?;
        volume_of_fd(fd.as_fd()).map_err(OpenError::Io)
    }

    /// Opens `path` (below the root) for reading its content, refusing anything that is not a regular
    /// file and any path with a symlink in it.
    ///
    /// Never blocks (a FIFO without a writer is refused at once), never opens a device, and does not
    /// update the access time when the process may avoid it (`O_NOATIME` needs ownership or
    /// `CAP_FOWNER`; without them the open is retried without it). The returned file is in blocking
    /// mode again, and the metadata comes from `fstat` on it, so it describes exactly the file opened.
    pub fn open_regular(&self, path: &Path) -> Result<(File, Metadata), OpenError> {
        let before = self.lstat(path)?;
        if !before.file_type().is_file() {
            return Err(OpenError::NotRegular {
                kind: file_kind(&before.file_type()),
            });
        }
        let file = self.open_nonblocking(path)?;
        let meta = check_regular(&file)?;
        restore_blocking(&file)?;
        Ok((file, meta))
    }

    /// [`RootDir::open_regular`], and the file opened must be `expected` (what the walk or the event
    /// saw at this path): anything else is [`OpenError::Changed`].
    pub fn open_identified(
        &self,
        path: &Path,
        expected: FileId,
    ) -> Result<(File, Metadata), OpenError> {
        let (file, meta) = self.open_regular(path)?;
        if FileId::of(&meta) != expected {
            return Err(OpenError::Changed);
        }
        Ok((file, meta))
    }

    /// Opens `path` for its content: the one function through which fandex reads a file.
    ///
    /// `event_fd` is the descriptor a fanotify event carried, if any: it is read when it is still the
    /// regular file at `path` now (the same identity as a no-symlink `lstat`), so the exact file written is
    /// read. Otherwise `path` is opened beneath the root: with `expected` (what the walk or the event saw),
    /// it must be that file ([`RootDir::open_identified`]), without it any regular file will do
    /// ([`RootDir::open_regular`]).
    pub fn open_for_content(
        &self,
        path: &Path,
        expected: Option<FileId>,
        event_fd: Option<OwnedFd>,
    ) -> Result<(File, Metadata), OpenError> {
        let through_fd = event_fd.and_then(|fd| {
            let file = File::from(fd);
            let meta = file.metadata().ok()?;
            let current = self.lstat(path).ok()?;
            (FileId::of(&meta) == FileId::of(&current) && meta.is_file()).then_some((file, meta))
        });
        match (through_fd, expected) {
            (Some(opened), _) => Ok(opened),
            (None, Some(expected)) => self.open_identified(path, expected),
            (None, None) => self.open_regular(path),
        }
    }

    /// Opens without the `lstat` pre-check: `O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC`, plus `O_NOATIME`
    /// when permitted. Separate so tests can exercise the race guard.
    fn open_nonblocking(&self, path: &Path) -> Result<File, OpenError> {
        let rel = self.relative(path)?;
        let base = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK;
        let fd = match self.resolve(rel, base | OFlag::O_NOATIME) {
            Err(Errno::EPERM) => {
                tracing::trace!(path = ?path, "O_NOATIME not permitted, opening without it");
                self.resolve(rel, base)
            }
            other => other,
        };
        match fd {
            Ok(fd) => Ok(File::from(fd)),
            Err(e @ (Errno::ELOOP | Errno::ENXIO | Errno::EISDIR)) => {
                // Name what the path is when that is why it failed (ELOOP: a symlink; ENXIO: a socket).
                match self.lstat(path) {
                    Ok(m) if !m.file_type().is_file() => Err(OpenError::NotRegular {
                        kind: file_kind(&m.file_type()),
                    }),
                    Err(OpenError::Changed) => Err(OpenError::Changed),
                    _ if e == Errno::ELOOP => Err(OpenError::Changed),
                    _ => Err(OpenError::Io(io::Error::from(e))),
                }
            }
            Err(e) => Err(open_errno(e)),
        }
    }

    /// Opens `rel` (relative, only normal components; empty for the root itself) with `flags` plus
    /// `O_CLOEXEC`, following no symlink and never leaving the root.
    fn resolve(&self, rel: &Path, flags: OFlag) -> nix::Result<OwnedFd> {
        let flags = flags | OFlag::O_CLOEXEC;
        let rel = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        if self.resolver == Resolver::Openat2 && !OPENAT2_MISSING.load(Ordering::Relaxed) {
            let how = OpenHow::new().flags(flags).resolve(
                ResolveFlag::RESOLVE_NO_SYMLINKS
                    | ResolveFlag::RESOLVE_BENEATH
                    | ResolveFlag::RESOLVE_NO_MAGICLINKS,
            );
            match nix::fcntl::openat2(self.fd.as_fd(), rel, how) {
                // RESOLVE_BENEATH: the path tried to leave the root (an absolute symlink, `..`).
                Err(Errno::EXDEV) => return Err(Errno::ELOOP),
                Err(Errno::ENOSYS) => {
                    tracing::debug!("openat2 is missing: resolving paths component by component");
                    OPENAT2_MISSING.store(true, Ordering::Relaxed);
                }
                other => return other,
            }
        }
        self.walk(rel, flags)
    }

    /// The fallback of [`RootDir::resolve`]: each directory opened with `O_PATH | O_NOFOLLOW` from the
    /// previous one and checked to be a directory (a symlink is `ELOOP`), the last component opened
    /// with `flags` (which hold `O_NOFOLLOW`).
    fn walk(&self, rel: &Path, flags: OFlag) -> nix::Result<OwnedFd> {
        let names: Vec<&OsStr> = rel
            .components()
            .map(|c| match c {
                Component::Normal(name) => Ok(name),
                Component::CurDir => Ok(OsStr::new(".")),
                _ => Err(Errno::ELOOP),
            })
            .collect::<nix::Result<_>>()?;
        let Some((last, dirs)) = names.split_last() else {
            return Err(Errno::ENOENT);
        };
        let mut dir: Option<OwnedFd> = None;
        for name in dirs {
            let at = dir.as_ref().map_or(self.fd.as_fd(), |d| d.as_fd());
            let next = nix::fcntl::openat(
                at,
                *name,
                OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?;
            let stat = nix::sys::stat::fstat(&next)?;
            match stat.st_mode & libc::S_IFMT {
                libc::S_IFDIR => dir = Some(next),
                libc::S_IFLNK => return Err(Errno::ELOOP),
                _ => return Err(Errno::ENOTDIR),
            }
        }
        let at = dir.as_ref().map_or(self.fd.as_fd(), |d| d.as_fd());
        nix::fcntl::openat(at, *last, flags, Mode::empty())
    }
}

/// The roots of one walk or batch, each opened once (a root that cannot be opened, unmounted or gone,
/// makes every path below it [`OpenError::NotFound`]).
#[derive(Debug, Default)]
pub struct RootSet {
    roots: Vec<(PathBuf, Option<RootDir>)>,
    /// The volume key of each device number seen so far (for this walk or batch only: a device number
    /// may belong to another filesystem after the next mount).
    volumes: Mutex<HashMap<u64, u64>>,
}

impl RootSet {
    /// Opens each root.
    pub fn open(roots: &[PathBuf]) -> RootSet {
        RootSet::open_with(roots, RootDir::open)
    }

    /// [`RootSet::open`] with the component-wise resolver (see [`RootDir::open_without_openat2`]).
    #[doc(hidden)]
    pub fn open_without_openat2(roots: &[PathBuf]) -> RootSet {
        RootSet::open_with(roots, RootDir::open_without_openat2)
    }

    fn open_with(roots: &[PathBuf], open: impl Fn(&Path) -> Result<RootDir, OpenError>) -> RootSet {
        let roots = roots
            .iter()
            .map(|r| {
                let dir = open(r)
                    .inspect_err(|e| tracing::debug!(root = ?r, error = %e, "root not opened"))
                    .ok();
                (r.clone(), dir)
            })
            .collect();
        RootSet {
            roots,
            volumes: Mutex::default(),
        }
    }

    /// The root `path` lies in (the deepest, should roots nest).
    pub fn root_of(&self, path: &Path) -> Result<&RootDir, OpenError> {
        let (_, dir) = self
            .roots
            .iter()
            .filter(|(r, _)| path.starts_with(r))
            .max_by_key(|(r, _)| r.as_os_str().len())
            .ok_or(OpenError::Outside)?;
        dir.as_ref().ok_or(OpenError::NotFound)
    }

    /// [`RootDir::lstat`] in the root of `path`.
    pub fn lstat(&self, path: &Path) -> Result<Metadata, OpenError> {
        self.root_of(path)?.lstat(path)
    }

    /// The volume key (see [`Volume`]) of the filesystem of `meta`, the no-symlink `lstat` of `path`:
    /// what catalog records store instead of `st_dev`, so that a remount on another device number
    /// changes nothing. Known device numbers are answered from this set's cache; a new one is asked of
    /// `path`'s filesystem. When that fails (the file went away), the key of the device number alone
    /// (not cached: the next file asks again).
    pub fn volume_key(&self, path: &Path, meta: &Metadata) -> u64 {
        let dev = meta.dev();
        let cache = |volumes: &Mutex<HashMap<u64, u64>>| {
            volumes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(&dev)
                .copied()
        };
        if let Some(key) = cache(&self.volumes) {
            return key;
        }
        match self.root_of(path).and_then(|root| root.volume(path)) {
            Ok((seen, volume)) if seen == dev => {
                tracing::debug!(dev, identity = %volume.identity, "volume identified");
                self.volumes
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .insert(dev, volume.key);
                volume.key
            }
            _ => Volume::of_dev(dev).key,
        }
    }

    /// [`RootDir::open_regular`] in the root of `path`.
    pub fn open_regular(&self, path: &Path) -> Result<(File, Metadata), OpenError> {
        self.root_of(path)?.open_regular(path)
    }

    /// [`RootDir::open_for_content`] in the root of `path`.
    pub fn open_for_content(
        &self,
        path: &Path,
        expected: Option<FileId>,
        event_fd: Option<OwnedFd>,
    ) -> Result<(File, Metadata), OpenError> {
        self.root_of(path)?
            .open_for_content(path, expected, event_fd)
    }
}

/// `fstat`s an opened file and refuses anything but a regular file.
fn check_regular(file: &File) -> Result<Metadata, OpenError> {
    let meta = file.metadata().map_err(OpenError::Io)?;
    let ft = meta.file_type();
    if ft.is_file() {
        Ok(meta)
    } else {
        Err(OpenError::NotRegular {
            kind: file_kind(&ft),
        })
    }
}

/// Clears `O_NONBLOCK` once the file is known to be regular, so reads behave normally on every
/// filesystem (some network and FUSE filesystems honour the flag on regular files).
fn restore_blocking(file: &File) -> Result<(), OpenError> {
    let to_io = |e: Errno| OpenError::Io(io::Error::from(e));
    let flags = OFlag::from_bits_retain(fcntl(file, FcntlArg::F_GETFL).map_err(to_io)?);
    if flags.contains(OFlag::O_NONBLOCK) {
        fcntl(file, FcntlArg::F_SETFL(flags - OFlag::O_NONBLOCK)).map_err(to_io)?;
    }
    Ok(())
}

/// Maps an `open` error to an [`OpenError`] (`ELOOP` is handled by the callers, who know whether the
/// last component may be a symlink).
/// Opens a root's directory (`O_PATH`) without following a symbolic link anywhere in its path: stricter
/// than [`RootDir::open`], which follows a configured root that is a link. For the files the daemon
/// itself creates in a root (sync cookies).
pub fn open_root_no_symlinks(root: &Path) -> std::io::Result<OwnedFd> {
    let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let relative = root.strip_prefix("/").map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "root is not absolute")
    })?;
    let slash = nix::fcntl::open("/", flags, Mode::empty())?;
    let target = if relative.as_os_str().is_empty() {
        Path::new(".")
    } else {
        relative
    };
    let how = OpenHow::new()
        .flags(flags | OFlag::O_NOFOLLOW)
        .resolve(ResolveFlag::RESOLVE_NO_SYMLINKS | ResolveFlag::RESOLVE_BENEATH);
    match nix::fcntl::openat2(slash.as_fd(), target, how) {
        Ok(fd) => Ok(fd),
        // Kernels before 5.6: the root path is canonical; refuse at least a link at its end.
        Err(Errno::ENOSYS) => Ok(nix::fcntl::open(
            root,
            flags | OFlag::O_NOFOLLOW,
            Mode::empty(),
        )?),
        Err(errno) => Err(errno.into()),
    }
}

fn open_errno(e: Errno) -> OpenError {
    match e {
        Errno::ENOENT | Errno::ENOTDIR => OpenError::NotFound,
        Errno::EACCES | Errno::EPERM => OpenError::PermissionDenied,
        Errno::ELOOP | Errno::EXDEV => OpenError::Changed,
        // EAGAIN: O_NONBLOCK and a conflicting lease.
        Errno::EMFILE | Errno::ENFILE | Errno::ENOMEM | Errno::ENOBUFS | Errno::EAGAIN => {
            OpenError::Transient(io::Error::from(e))
        }
        e => OpenError::Io(io::Error::from(e)),
    }
}

#[cfg(test)]
mod tests;
