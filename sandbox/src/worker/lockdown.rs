//! The worker's lock-down: resource limits, no_new_privs and landlock (the seccomp filter is its own module).
//! Each measure is applied on a best-effort basis and reported, so a kernel lacking one still runs.

use landlock::{
    ABI, Access, AccessFs, AccessNet, Ruleset, RulesetAttr, RulesetCreated, RulesetCreatedAttr,
    RulesetError, RulesetStatus, Scope, path_beneath_rules,
};
use nix::sys::resource::{Resource, UsageWho, getrlimit, getrusage, setrlimit};

use super::seccomp;
use crate::config::{HELPER_PROCESSES, WorkerLimits};
use crate::wire::{Enforcement, Lockdown};

/// Applies every measure in order (rlimits, no_new_privs, landlock layers, seccomp) and reports each.
pub(super) fn apply(limits: &WorkerLimits) -> Lockdown {
    let rlimits = apply_rlimits(limits);
    let no_new_privs = match nix::sys::prctl::set_no_new_privs() {
        Ok(()) => Enforcement::Enforced,
        Err(errno) => Enforcement::NotEnforced {
            reason: errno.to_string(),
        },
    };
    // Every handled access is denied everywhere but reading and executing beneath `exec_paths` (none by
    // default). The passed descriptor was opened by the parent, and landlock checks accesses when a file
    // is opened, so reading it still works.
    let readable: Vec<&std::path::PathBuf> = limits
        .exec_paths
        .iter()
        .filter(|path| path.exists())
        .collect();
    let landlock_filesystem = landlock_layer(|ruleset| {
        ruleset
            .handle_access(AccessFs::from_all(ABI::V5))?
            .create()?
            .add_rules(path_beneath_rules(readable, AccessFs::from_read(ABI::V5)))
    });
    let landlock_network = landlock_layer(|ruleset| {
        ruleset
            .handle_access(AccessNet::from_all(ABI::V4))?
            .create()
    });
    let landlock_scopes =
        landlock_layer(|ruleset| ruleset.scope(Scope::from_all(ABI::V6))?.create());
    let seccomp = seccomp::install(!limits.exec_paths.is_empty());
    Lockdown {
        rlimits,
        no_new_privs,
        landlock_filesystem,
        landlock_network,
        landlock_scopes,
        seccomp,
    }
}

/// Sets the fixed limits; the CPU limit is armed per request by [`arm_cpu_limit`].
fn apply_rlimits(limits: &WorkerLimits) -> Enforcement {
    let mut settings = vec![
        (Resource::RLIMIT_NOFILE, limits.max_open_files),
        (Resource::RLIMIT_FSIZE, 0),
        (Resource::RLIMIT_CORE, 0),
        // Not enforced for root (CAP_SYS_RESOURCE); for other users it also forbids threads.
        (Resource::RLIMIT_NPROC, process_allowance(limits)),
    ];
    if let Some(bytes) = limits.memory_bytes {
        settings.push((Resource::RLIMIT_AS, bytes));
    }
    let failed: Vec<String> = settings
        .into_iter()
        .filter_map(|(resource, value)| {
            setrlimit(resource, value, value)
                .err()
                .map(|errno| format!("{resource:?}: {errno}"))
        })
        .collect();
    match arm_cpu_limit(limits.cpu_seconds_per_request) {
        Ok(()) if failed.is_empty() => Enforcement::Enforced,
        Ok(()) => Enforcement::NotEnforced {
            reason: failed.join(", "),
        },
        Err(reason) => Enforcement::NotEnforced {
            reason: [failed, vec![reason]].concat().join(", "),
        },
    }
}

/// The `RLIMIT_NPROC` a worker gets: 0 (no process, no thread) unless it runs helper programs; then the
/// tasks its real user has now plus [`HELPER_PROCESSES`] (the kernel counts all of the user's tasks).
fn process_allowance(limits: &WorkerLimits) -> u64 {
    if limits.exec_paths.is_empty() {
        return 0;
    }
    tasks_of(nix::unistd::getuid().as_raw()).saturating_add(HELPER_PROCESSES)
}

/// How many tasks (threads) the processes of real user `uid` have, from `/proc` (read before landlock
/// closes it).
fn tasks_of(uid: u32) -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut tasks = 0;
    for entry in entries.flatten() {
        if !entry
            .file_name()
            .as_encoded_bytes()
            .iter()
            .all(u8::is_ascii_digit)
        {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|value| value.parse::<u64>().ok())
        };
        if field("Uid:") == Some(u64::from(uid)) {
            tasks += field("Threads:").unwrap_or(1);
        }
    }
    tasks
}

/// Sets the soft CPU limit to the CPU time used so far plus `seconds`, so the next request gets `seconds`
/// (at the soft limit the kernel sends SIGXCPU, which ends the worker). The hard limit is left as it is so
/// the soft limit can move up for the next request.
pub(super) fn arm_cpu_limit(seconds: Option<u64>) -> Result<(), String> {
    let Some(seconds) = seconds else {
        return Ok(());
    };
    let usage = getrusage(UsageWho::RUSAGE_SELF).map_err(|errno| format!("getrusage: {errno}"))?;
    let used = usage.user_time().tv_sec() + usage.system_time().tv_sec() + 1;
    let (_, hard) =
        getrlimit(Resource::RLIMIT_CPU).map_err(|errno| format!("RLIMIT_CPU: {errno}"))?;
    let soft = (used.max(0) as u64).saturating_add(seconds).min(hard);
    setrlimit(Resource::RLIMIT_CPU, soft, hard).map_err(|errno| format!("RLIMIT_CPU: {errno}"))
}

/// Builds and enforces one landlock ruleset (a layer) and says whether the kernel enforced it.
fn landlock_layer(
    build: impl FnOnce(Ruleset) -> Result<RulesetCreated, RulesetError>,
) -> Enforcement {
    let restricted = build(Ruleset::default()).and_then(RulesetCreated::restrict_self);
    match restricted {
        Ok(status) => match status.ruleset {
            RulesetStatus::FullyEnforced => Enforcement::Enforced,
            RulesetStatus::PartiallyEnforced => Enforcement::Partial,
            RulesetStatus::NotEnforced => Enforcement::NotEnforced {
                reason: format!("{:?}", status.landlock),
            },
        },
        Err(error) => Enforcement::NotEnforced {
            reason: error.to_string(),
        },
    }
}
