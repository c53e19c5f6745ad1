//! The crate's generic system calls over `libc`: descriptors (read, poll, eventfd, fstat, its path),
//! the descriptor limit, capabilities and filesystem ids. fanotify's own calls and its event parser are in
//! `fanotify/sys.rs`; together they hold all of the crate's unsafe code but `beneath`'s use of `nix`.
//!
//! Every function here either returns an owned, checked result or an `io::Error`; callers never see a raw
//! pointer.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// `path` as a NUL-terminated string for a system call (`EINVAL` if it holds a NUL byte).
pub(crate) fn cstring(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// `read(2)` into `buf`; returns the number of bytes read (0 on EAGAIN).
pub fn read_nonblocking(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is a valid writable buffer of `buf.len()` bytes for the duration of the call.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) => return Ok(0),
            _ => return Err(err),
        }
    }
}

/// Waits until one of `fds` is readable (or `timeout_ms` passes; -1 = forever). Returns which are ready.
pub fn poll_readable(fds: &[BorrowedFd<'_>], timeout_ms: i32) -> io::Result<Vec<bool>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|fd| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    loop {
        // SAFETY: `pfds` is a valid array of `pfds.len()` pollfd structures.
        let rc = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
        if rc >= 0 {
            return Ok(pfds.iter().map(|p| p.revents != 0).collect());
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    }
}

/// A non-blocking eventfd used to wake threads blocked in `poll`.
pub fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with integer arguments.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Signals an eventfd (makes it readable).
pub fn eventfd_signal(fd: BorrowedFd<'_>) -> io::Result<()> {
    let one: u64 = 1;
    // SAFETY: writes 8 bytes from a live local variable.
    let n = unsafe { libc::write(fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    if n == 8 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the new soft limit.
pub fn raise_nofile_limit() -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid out-pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: `lim` is a valid in-pointer.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(lim.rlim_cur)
}

/// The number of descriptors this process has open (counted in /proc/self/fd), or None if unknown.
pub fn open_fd_count() -> Option<u64> {
    std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| d.count() as u64)
}

/// The current soft `RLIMIT_NOFILE`.
pub fn nofile_soft_limit() -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid out-pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(lim.rlim_cur)
}

/// Whether the calling thread has CAP_SYS_ADMIN in its effective set.
pub fn has_cap_sys_admin() -> bool {
    // /proc/self/status "CapEff:" is a hex mask; CAP_SYS_ADMIN is bit 21.
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << 21) != 0)
}

/// `statfs` of `path` (symlinks followed): the filesystem's type (`f_type`) and id (`f_fsid`, as
/// fanotify reports it).
pub fn statfs_of(path: &Path) -> io::Result<(u64, [i32; 2])> {
    let c = cstring(path)?;
    // SAFETY: an all-zero statfs is a valid value for this plain C struct.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is NUL-terminated, `st` a valid out-pointer.
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(type_and_fsid(&st))
}

/// The filesystem id (`fstatfs.f_fsid`) of the filesystem holding the open descriptor `fd`.
pub fn fsid_of_fd(fd: BorrowedFd<'_>) -> io::Result<[i32; 2]> {
    Ok(statfs_of_fd(fd)?.1)
}

/// `fstatfs` of an open descriptor (`O_PATH` ones too): the filesystem's type and id.
pub fn statfs_of_fd(fd: BorrowedFd<'_>) -> io::Result<(u64, [i32; 2])> {
    // SAFETY: an all-zero statfs is a valid value for this plain C struct.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is a live descriptor, `st` a valid out-pointer.
    if unsafe { libc::fstatfs(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(type_and_fsid(&st))
}

fn type_and_fsid(st: &libc::statfs) -> (u64, [i32; 2]) {
    // SAFETY: `fsid_t` is two 32-bit integers in the kernel ABI (`__kernel_fsid_t val[2]`); reading them
    // through a same-sized array is a plain bit copy of an initialized value.
    let fsid: [i32; 2] = unsafe { std::mem::transmute::<libc::fsid_t, [i32; 2]>(st.f_fsid) };
    // `f_type` is a signed word holding a 32-bit magic number.
    (st.f_type as u64 & 0xffff_ffff, fsid)
}

/// Waits until `fd` reports an exceptional condition (`POLLPRI`/`POLLERR`: how `/proc/self/mountinfo`
/// signals a change of the mount table), `stop` becomes readable, or `timeout_ms` passes.
/// Returns `(changed, stopped)`.
pub fn poll_priority(
    fd: BorrowedFd<'_>,
    stop: BorrowedFd<'_>,
    timeout_ms: i32,
) -> io::Result<(bool, bool)> {
    let mut pfds = [
        libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLPRI,
            revents: 0,
        },
        libc::pollfd {
            fd: stop.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    loop {
        // SAFETY: `pfds` is a valid array of two pollfd structures.
        let rc = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
        if rc >= 0 {
            let changed = pfds[0].revents & (libc::POLLPRI | libc::POLLERR) != 0;
            return Ok((changed, pfds[1].revents != 0));
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    }
}

/// Opens directory `path` read-only, as the mount fd for `open_by_handle_at` (which refuses `O_PATH` fds).
pub fn open_path_dir(path: &Path) -> io::Result<OwnedFd> {
    let c = cstring(path)?;
    // SAFETY: `c` is NUL-terminated; the result is a new descriptor we own.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The path the kernel shows for an open descriptor (`readlink /proc/self/fd/N`).
pub fn fd_path(fd: BorrowedFd<'_>) -> io::Result<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// `fstat` of an open descriptor: (st_dev, st_ino, st_nlink, is_dir).
pub fn fd_stat(fd: BorrowedFd<'_>) -> io::Result<(u64, u64, u64, bool)> {
    // SAFETY: an all-zero stat is a valid value for this plain C struct.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is live, `st` is a valid out-pointer.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((
        st.st_dev,
        st.st_ino,
        st.st_nlink,
        (st.st_mode & libc::S_IFMT) == libc::S_IFDIR,
    ))
}
