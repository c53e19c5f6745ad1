//! The few unsafe calls of the sandbox, each small and explained.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Makes the child started by `command` receive SIGKILL when the thread that started it ends, and exit at
/// once if the parent is already gone. The pool starts workers from one long-lived thread (see
/// `spawner`); a worker starting a helper program (poppler's `pdftotext`) has a single thread, so the
/// helper dies with the worker.
pub fn die_with_parent(command: &mut Command) {
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the hook runs between fork and exec and only makes async-signal-safe system calls (prctl,
    // getppid, _exit) on values copied into the closure; it allocates nothing and takes no locks.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before the prctl: then nobody would ever kill us.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

/// Takes ownership of descriptors received with `SCM_RIGHTS`.
pub(crate) fn own_received(fds: Vec<RawFd>) -> Vec<OwnedFd> {
    fds.into_iter()
        // SAFETY: the kernel just installed these descriptors in this process for this message; nothing else
        // knows their numbers, so each gets exactly one owner here.
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .collect()
}

/// Gives the heap's free memory back to the kernel. After a large document glibc keeps what the parser
/// freed resident (measured: 219 MiB of a 245 MiB peak still resident once a 1,221-page PDF was dropped),
/// and a pooled worker lives on: without this each worker would hold its largest document's memory. Called
/// when the worker is idle (the next document would fault the pages in again).
pub(crate) fn release_free_heap() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim has no preconditions; it takes the allocator's own locks and only returns whole
    // free pages (madvise/brk), never memory in use.
    unsafe {
        libc::malloc_trim(0);
    }
}
