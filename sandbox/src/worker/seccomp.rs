//! The worker's seccomp filter, built with `seccompiler` (rust-vmm's filter compiler, used by Firecracker;
//! it depends only on libc): a deny list on top of landlock.
//!
//! - `socket`, `socketpair`: no new sockets of any family (landlock only covers TCP bind/connect); the worker
//!   talks through the socket it inherited. A worker that runs helper programs may make socket pairs (a
//!   connected pair of Unix sockets, reaching nothing outside it, like a pipe): Rust's `Command::spawn`
//!   uses one to learn the child's exec error. `io_uring_setup`: io_uring can open sockets and files without
//!   these system calls.
//! - Changing owner, mode, times or extended attributes, by path or by descriptor: landlock does not cover
//!   them, and a worker running as root could otherwise change the passed file or any path.
//! - Administration a root worker could reach: mounts, modules, ptrace and other processes' memory,
//!   namespaces, keys, clocks, handles.
//!
//! Denied calls fail with EPERM. On x86_64 the same calls through the x32 ABI (number | 0x4000_0000) are
//! denied too, since the filter's architecture check does not tell them apart.

use std::collections::BTreeMap;

use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch, apply_filter_all_threads};

use crate::wire::Enforcement;

/// The denied system calls.
const DENIED: &[libc::c_long] = &[
    libc::SYS_socket,
    libc::SYS_socketpair,
    libc::SYS_io_uring_setup,
    libc::SYS_chmod,
    libc::SYS_fchmod,
    libc::SYS_fchmodat,
    libc::SYS_chown,
    libc::SYS_lchown,
    libc::SYS_fchown,
    libc::SYS_fchownat,
    libc::SYS_setxattr,
    libc::SYS_lsetxattr,
    libc::SYS_fsetxattr,
    libc::SYS_removexattr,
    libc::SYS_lremovexattr,
    libc::SYS_fremovexattr,
    libc::SYS_utime,
    libc::SYS_utimes,
    libc::SYS_futimesat,
    libc::SYS_utimensat,
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_open_tree,
    libc::SYS_move_mount,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_mount_setattr,
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_pidfd_getfd,
    libc::SYS_setns,
    libc::SYS_unshare,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_reboot,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_bpf,
    libc::SYS_perf_event_open,
    libc::SYS_userfaultfd,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_open_by_handle_at,
    libc::SYS_name_to_handle_at,
    libc::SYS_fanotify_init,
    libc::SYS_acct,
    libc::SYS_settimeofday,
    libc::SYS_clock_settime,
    libc::SYS_clock_adjtime,
    libc::SYS_adjtimex,
    libc::SYS_sethostname,
    libc::SYS_setdomainname,
    libc::SYS_quotactl,
];

/// Installs the filter on every thread of the process (normally only one exists); `socketpair` is allowed
/// with `helpers` (a worker that starts processes).
pub(super) fn install(helpers: bool) -> Enforcement {
    match build(helpers)
        .and_then(|program| apply_filter_all_threads(&program).map_err(|error| error.to_string()))
    {
        Ok(()) => Enforcement::Enforced,
        Err(reason) => Enforcement::NotEnforced { reason },
    }
}

fn build(helpers: bool) -> Result<BpfProgram, String> {
    let arch = TargetArch::try_from(std::env::consts::ARCH).map_err(|error| error.to_string())?;
    let mut rules = BTreeMap::new();
    for &number in DENIED
        .iter()
        .filter(|&&number| !(helpers && number == libc::SYS_socketpair))
    {
        rules.insert(number, Vec::new());
        if cfg!(target_arch = "x86_64") {
            rules.insert(number | X32_SYSCALL_BIT, Vec::new());
        }
    }
    let filter = SeccompFilter::new(
        rules,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(|error| error.to_string())?;
    BpfProgram::try_from(filter).map_err(|error| error.to_string())
}

/// The bit that marks an x32 system call number on x86_64.
const X32_SYSCALL_BIT: libc::c_long = 0x4000_0000;
