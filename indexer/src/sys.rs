//! The indexer's own system calls: the CPU and I/O priority of the calling thread, for bulk work
//! (walks and their extraction) that should take only what nothing else wants. Linux keeps both per
//! thread, and threads started by a thread inherit them.

use std::io;
use std::sync::Once;

/// `ioprio_set`'s `which` for one thread (a tid; 0 is the calling thread).
const IOPRIO_WHO_PROCESS: libc::c_int = 1;
/// The idle I/O class: served only when no other class has I/O pending (schedulers that have classes).
pub const IOPRIO_CLASS_IDLE: libc::c_int = 3;
/// Bits of the priority data below the class.
const IOPRIO_CLASS_SHIFT: libc::c_int = 13;

/// Puts the calling thread at `SCHED_IDLE` (it runs when a CPU has nothing else to run) and in the idle
/// I/O class. An unprivileged thread cannot come back from either: call it on threads that do only
/// bulk work.
pub fn enter_idle_priority() -> io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: sched_setscheduler reads the sched_param we pass (a valid, initialized struct on our
    // stack) and changes only the calling thread's policy (pid 0).
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: ioprio_set takes three integers (which, who = 0: the calling thread, the priority) and
    // touches no memory of ours.
    let set = unsafe {
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            0,
            IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT,
        )
    };
    if set != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// [`enter_idle_priority`], logging (once per process) when the system refuses it: the work then runs
/// at the priority it had.
pub fn enter_idle_priority_or_warn() {
    static WARNED: Once = Once::new();
    if let Err(err) = enter_idle_priority() {
        WARNED.call_once(|| {
            tracing::warn!(
                "cannot lower the priority of bulk work ({err}): it runs at normal priority"
            );
        });
    }
}

/// The scheduling policy of thread `tid` of this process (0: the calling thread), e.g.
/// `libc::SCHED_IDLE`.
pub fn scheduling_policy(tid: libc::pid_t) -> io::Result<libc::c_int> {
    // SAFETY: sched_getscheduler takes a thread id and returns an integer; it touches no memory.
    let policy = unsafe { libc::sched_getscheduler(tid) };
    if policy < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(policy)
}

/// The I/O priority class of thread `tid` (0: the calling thread), e.g. [`IOPRIO_CLASS_IDLE`].
pub fn io_priority_class(tid: libc::pid_t) -> io::Result<libc::c_int> {
    // SAFETY: ioprio_get takes two integers and returns the priority; it touches no memory.
    let prio = unsafe { libc::syscall(libc::SYS_ioprio_get, IOPRIO_WHO_PROCESS, tid) };
    if prio < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((prio >> IOPRIO_CLASS_SHIFT) as libc::c_int)
}
