//! The one unsafe call of the PDF reader: the child dies with the thread that started it.

use std::os::unix::process::CommandExt;
use std::process::Command;

/// Makes the child started by `command` receive SIGKILL when the thread that started it ends (in a worker,
/// the one thread: the worker's death), and exit at once if this process is already gone.
pub(super) fn die_with_this_thread(command: &mut Command) {
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
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}
