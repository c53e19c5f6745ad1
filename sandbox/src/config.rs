//! What a [`crate::Pool`] is configured with: the worker program, how many workers, and their limits.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Resource limits each worker applies to itself before it serves (sent to it at start).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerLimits {
    /// Address-space limit (`RLIMIT_AS`) in bytes; `None` leaves it unlimited.
    pub memory_bytes: Option<u64>,
    /// CPU seconds one request may use (`RLIMIT_CPU`, re-armed before every request, since a worker is
    /// reused and the kernel counts CPU time over the process's lifetime); `None` leaves it unlimited.
    pub cpu_seconds_per_request: Option<u64>,
    /// Highest descriptor count (`RLIMIT_NOFILE`): the worker needs its socket, stdio and the passed file.
    pub max_open_files: u64,
    /// Files and directories the worker may read and execute beneath: the helper programs its handler
    /// runs (poppler's `pdftotext`) with their libraries. Empty (the default): the worker opens nothing and
    /// starts no process (`RLIMIT_NPROC` 0). Otherwise it may start a few (its user's tasks at its start
    /// plus [`HELPER_PROCESSES`]); they inherit its limits, landlock and seccomp, stay in its process group,
    /// which the pool kills with it, and should die with it (`PR_SET_PDEATHSIG`).
    #[serde(default)]
    pub exec_paths: Vec<PathBuf>,
}

/// How many processes more than its user had when it started a worker with
/// [`WorkerLimits::exec_paths`] may start (for a user of its own such as `nobody`, each worker's helper fits).
pub const HELPER_PROCESSES: u64 = 8;

impl Default for WorkerLimits {
    fn default() -> Self {
        WorkerLimits {
            memory_bytes: Some(512 << 20),
            cpu_seconds_per_request: Some(30),
            max_open_files: 16,
            exec_paths: Vec::new(),
        }
    }
}

/// A user and group to run workers as (the pool must be able to switch to them, i.e. run as root).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The user id.
    pub uid: u32,
    /// The group id (supplementary groups are dropped).
    pub gid: u32,
}

/// How a [`crate::Pool`] starts and bounds its workers.
#[derive(Clone, Debug)]
pub struct PoolConfig {
    /// The worker executable (normally the running binary, `std::env::current_exe()`).
    pub program: PathBuf,
    /// Its arguments (normally the hidden subcommand that calls [`crate::worker::serve`]).
    pub args: Vec<OsString>,
    /// Extra environment variables for the worker (it inherits the parent's environment otherwise).
    pub env: Vec<(OsString, OsString)>,
    /// Run workers as this user and group instead of the pool's own (a root daemon should: a worker then
    /// has no capabilities, and `RLIMIT_NPROC` is enforced). It reads the file through the passed
    /// descriptor, so it needs no access to the file itself; it must be able to execute `program`.
    pub run_as: Option<Credentials>,
    /// Most workers alive at once; callers beyond that wait for a free worker.
    pub workers: usize,
    /// Limits each worker applies to itself.
    pub limits: WorkerLimits,
    /// Wall-clock time one request may take (and a worker may take to start); the worker is killed after it.
    pub timeout: Duration,
    /// Largest response accepted; a larger one kills the worker and fails the request.
    pub max_response_bytes: usize,
}

impl PoolConfig {
    /// A configuration with the defaults: one worker per CPU, 512 MiB, 30 s per request, 64 MiB responses.
    pub fn new(program: impl Into<PathBuf>, args: Vec<OsString>) -> Self {
        PoolConfig {
            program: program.into(),
            args,
            env: Vec::new(),
            run_as: None,
            workers: std::thread::available_parallelism().map_or(2, usize::from),
            limits: WorkerLimits::default(),
            timeout: Duration::from_secs(30),
            max_response_bytes: 64 << 20,
        }
    }
}
