//! Opening a file for its content without ever blocking, following a symlink or touching a device.
//!
//! [`open_regular`] first `lstat`s the path and refuses anything that is not a regular file, so devices
//! (a tape that rewinds on open, `/dev/watchdog`) are never opened at all. It then opens with
//! `O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOATIME` and checks the opened descriptor with
//! `fstat`, which closes the race where the path is swapped for a FIFO or a symlink in between: the FIFO
//! opens instantly thanks to `O_NONBLOCK` and is refused, the symlink fails with `ELOOP`.

use std::fs::{File, FileType, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use nix::fcntl::{FcntlArg, OFlag, fcntl};

/// Why a file could not be opened for reading its content.
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
    /// The system is short of a resource (descriptors, memory) or the file is briefly locked: nothing is
    /// wrong with the file, so it should be read again later rather than recorded as unreadable.
    #[error("temporarily unavailable: {0}")]
    Transient(#[source] io::Error),
    /// Any other I/O failure.
    #[error("I/O error: {0}")]
    Io(#[source] io::Error),
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

/// Opens `path` for reading its content, refusing anything that is not a regular file.
///
/// Never blocks (a FIFO without a writer is refused at once), never follows a symlink in the last
/// component, never opens a device, and does not update the access time when the process may avoid
/// it (`O_NOATIME` needs ownership or `CAP_FOWNER`; without them the open is retried without it).
/// The returned file is in blocking mode again, and the metadata comes from `fstat` on it, so it
/// describes exactly the file that was opened.
pub fn open_regular(path: &Path) -> Result<(File, Metadata), OpenError> {
    let before = std::fs::symlink_metadata(path).map_err(|e| classify_error(path, e))?;
    if !before.file_type().is_file() {
        return Err(OpenError::NotRegular {
            kind: file_kind(&before.file_type()),
        });
    }
    let file = open_nonblocking(path)?;
    let meta = check_regular(&file)?;
    restore_blocking(&file)?;
    Ok((file, meta))
}

/// Opens without the `lstat` pre-check: `O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC`, plus `O_NOATIME`
/// when permitted. Used by [`open_regular`]; separate so tests can exercise the race guard.
fn open_nonblocking(path: &Path) -> Result<File, OpenError> {
    let base = libc::O_NOFOLLOW | libc::O_NONBLOCK;
    // std always adds O_CLOEXEC, and read(true) alone is O_RDONLY.
    let open = |flags: i32| OpenOptions::new().read(true).custom_flags(flags).open(path);
    match open(base | libc::O_NOATIME) {
        Ok(file) => Ok(file),
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            tracing::trace!(path = ?path, "O_NOATIME not permitted, opening without it");
            open(base).map_err(|e| classify_error(path, e))
        }
        Err(e) => Err(classify_error(path, e)),
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
    let to_io = |e: nix::errno::Errno| OpenError::Io(io::Error::from(e));
    let flags = OFlag::from_bits_retain(fcntl(file, FcntlArg::F_GETFL).map_err(to_io)?);
    if flags.contains(OFlag::O_NONBLOCK) {
        fcntl(file, FcntlArg::F_SETFL(flags - OFlag::O_NONBLOCK)).map_err(to_io)?;
    }
    Ok(())
}

/// Maps an `open`/`lstat` error to an [`OpenError`], naming what the path is when the error means
/// "not a regular file" (`ELOOP`: a symlink under `O_NOFOLLOW`; `ENXIO`: a socket).
fn classify_error(path: &Path, e: io::Error) -> OpenError {
    match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ENOTDIR) => OpenError::NotFound,
        Some(libc::EACCES) | Some(libc::EPERM) => OpenError::PermissionDenied,
        // EAGAIN: O_NONBLOCK and a conflicting lease.
        Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM | libc::ENOBUFS | libc::EAGAIN) => {
            OpenError::Transient(e)
        }
        Some(libc::ELOOP) | Some(libc::ENXIO) | Some(libc::EISDIR) => {
            match std::fs::symlink_metadata(path) {
                Ok(m) if !m.file_type().is_file() => OpenError::NotRegular {
                    kind: file_kind(&m.file_type()),
                },
                _ => OpenError::Io(e),
            }
        }
        _ => OpenError::Io(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::net::UnixListener;
    use std::time::{Duration, Instant};

    #[test]
    fn resource_shortages_are_transient_not_the_files_fault() {
        let p = Path::new("/nonexistent/fandex-test");
        for code in [libc::EMFILE, libc::ENFILE, libc::ENOMEM, libc::EAGAIN] {
            assert!(
                matches!(
                    classify_error(p, io::Error::from_raw_os_error(code)),
                    OpenError::Transient(_)
                ),
                "errno {code}"
            );
        }
        assert!(matches!(
            classify_error(p, io::Error::from_raw_os_error(libc::EIO)),
            OpenError::Io(_)
        ));
    }

    /// Open-file flags as the kernel reports them in `/proc/self/fdinfo`.
    fn fd_flags(file: &File) -> i32 {
        let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", file.as_raw_fd()))
            .expect("read fdinfo");
        let line = info
            .lines()
            .find_map(|l| l.strip_prefix("flags:"))
            .expect("flags line");
        i32::from_str_radix(line.trim(), 8).expect("octal flags")
    }

    fn assert_not_regular(r: Result<(File, Metadata), OpenError>, want: &str) {
        match r {
            Err(OpenError::NotRegular { kind }) => assert_eq!(kind, want),
            other => panic!("expected NotRegular({want}), got {other:?}"),
        }
    }

    #[test]
    fn normal_file_opens_readable_blocking_noatime_cloexec() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        std::fs::write(&p, b"hello").unwrap();
        let (mut f, meta) = open_regular(&p).unwrap();
        assert!(meta.is_file());
        assert_eq!(meta.len(), 5);
        let mut s = String::new();
        f.read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello");
        let flags = fd_flags(&f);
        assert_eq!(flags & libc::O_ACCMODE, libc::O_RDONLY);
        assert_ne!(flags & libc::O_NOATIME, 0, "O_NOATIME expected: {flags:o}");
        assert_ne!(flags & libc::O_CLOEXEC, 0, "O_CLOEXEC expected: {flags:o}");
        assert_eq!(
            flags & libc::O_NONBLOCK,
            0,
            "O_NONBLOCK must be cleared: {flags:o}"
        );
    }

    #[test]
    fn fifo_without_writer_is_refused_instantly() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fifo");
        nix::unistd::mkfifo(&p, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let t = Instant::now();
        assert_not_regular(open_regular(&p), "fifo");
        // The race guard alone (no lstat pre-check) must not block either.
        let f = open_nonblocking(&p).expect("O_NONBLOCK open of a fifo succeeds");
        match check_regular(&f) {
            Err(OpenError::NotRegular { kind }) => assert_eq!(kind, "fifo"),
            other => panic!("expected fifo refusal, got {other:?}"),
        }
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "{:?}",
            t.elapsed()
        );
    }

    #[test]
    fn symlink_is_refused_even_without_precheck() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, b"x").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_not_regular(open_regular(&link), "symlink");
        match open_nonblocking(&link) {
            Err(OpenError::NotRegular { kind }) => assert_eq!(kind, "symlink"),
            other => panic!("expected ELOOP refusal, got {other:?}"),
        }
    }

    #[test]
    fn devices_directories_and_sockets_are_refused() {
        assert_not_regular(open_regular(Path::new("/dev/null")), "character device");
        let dir = tempfile::tempdir().unwrap();
        assert_not_regular(open_regular(dir.path()), "directory");
        let sock = dir.path().join("sock");
        let _listener = UnixListener::bind(&sock).unwrap();
        assert_not_regular(open_regular(&sock), "socket");
        match open_nonblocking(&sock) {
            Err(OpenError::NotRegular { kind }) => assert_eq!(kind, "socket"),
            other => panic!("expected ENXIO refusal, got {other:?}"),
        }
        let f = open_nonblocking(Path::new("/dev/null")).unwrap();
        assert!(matches!(
            check_regular(&f),
            Err(OpenError::NotRegular {
                kind: "character device"
            })
        ));
    }

    #[test]
    fn missing_file_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            open_regular(&dir.path().join("nope")),
            Err(OpenError::NotFound)
        ));
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        assert!(matches!(
            open_regular(&file.join("below")),
            Err(OpenError::NotFound)
        ));
    }

    #[test]
    fn file_owned_by_another_uid_opens_as_root() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("theirs");
        std::fs::write(&p, b"secret").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::chown(&p, Some(65534), Some(65534)).unwrap();
        let (mut f, meta) = open_regular(&p).unwrap();
        assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), 65534);
        let mut s = String::new();
        f.read_to_string(&mut s).unwrap();
        assert_eq!(s, "secret");
    }

    /// Without `CAP_FOWNER` and without owning the file, `O_NOATIME` fails with `EPERM`; the open must
    /// be retried without it. Runs in a forked child that drops to an unprivileged uid.
    #[test]
    fn noatime_eperm_is_retried_without_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let p = dir.path().join("readable");
        std::fs::File::create(&p)
            .unwrap()
            .write_all(b"data")
            .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::chown(&p, Some(65534), Some(65534)).unwrap();
        let unreadable = dir.path().join("unreadable");
        std::fs::write(&unreadable, b"x").unwrap();
        std::fs::set_permissions(&unreadable, std::fs::Permissions::from_mode(0o600)).unwrap();

        // SAFETY: the child only makes system calls and small allocations (glibc keeps malloc usable
        // after fork) and always leaves with _exit, never returning into the test harness.
        match unsafe { nix::unistd::fork() }.unwrap() {
            nix::unistd::ForkResult::Child => {
                let code = (|| {
                    let uid = nix::unistd::Uid::from_raw(65533);
                    let gid = nix::unistd::Gid::from_raw(65533);
                    nix::unistd::setgroups(&[]).map_err(|_| 10)?;
                    nix::unistd::setresgid(gid, gid, gid).map_err(|_| 11)?;
                    nix::unistd::setresuid(uid, uid, uid).map_err(|_| 12)?;
                    let (mut f, _) = open_regular(&p).map_err(|_| 13)?;
                    if fd_flags(&f) & libc::O_NOATIME != 0 {
                        return Err(14);
                    }
                    let mut s = String::new();
                    f.read_to_string(&mut s).map_err(|_| 15)?;
                    if s != "data" {
                        return Err(16);
                    }
                    match open_regular(&unreadable) {
                        Err(OpenError::PermissionDenied) => Ok(()),
                        _ => Err(17),
                    }
                })();
                // SAFETY: _exit is async-signal-safe and ends the child without running the parent's
                // atexit handlers or destructors.
                unsafe { libc::_exit(code.err().unwrap_or(0)) }
            }
            nix::unistd::ForkResult::Parent { child } => {
                let status = nix::sys::wait::waitpid(child, None).unwrap();
                assert_eq!(
                    status,
                    nix::sys::wait::WaitStatus::Exited(child, 0),
                    "child failed (10-12 setup, 13 open, 14 noatime kept, 15-16 read, 17 EACCES)"
                );
            }
        }
    }

    #[test]
    fn error_messages_are_single_lines() {
        let errors = [
            OpenError::NotRegular { kind: "fifo" },
            OpenError::NotFound,
            OpenError::PermissionDenied,
            OpenError::Io(io::Error::from_raw_os_error(libc::EIO)),
        ];
        for e in errors {
            let s = e.to_string();
            assert!(!s.is_empty() && !s.contains('\n'), "{s:?}");
        }
        assert_eq!(
            OpenError::NotRegular { kind: "fifo" }.to_string(),
            "not a regular file: fifo"
        );
    }
}
