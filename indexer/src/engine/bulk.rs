//! Where bulk work runs: the walk's threads, the classifier and the extraction of a walk (at start, for
//! rescans, for a rebuild) can be put at idle CPU and I/O priority (see [`crate::sys`]), so they take
//! only what nothing else wants, while single live changes are extracted on rayon's global pool at the
//! caller's priority. An unprivileged thread cannot raise its priority again, so idle work gets threads
//! of its own: the walk's threads end with it, and extraction has its own rayon pool.

use std::sync::{Arc, OnceLock};

use rayon::ThreadPool;

use crate::sys;

/// Whether bulk work runs at idle priority, and the idle extraction pool (made on first use).
#[derive(Debug, Clone, Default)]
pub(super) struct Bulk {
    idle: bool,
    pool: Arc<OnceLock<Option<ThreadPool>>>,
}

impl Bulk {
    /// Bulk work from now on runs at idle priority (`true`) or at the caller's.
    pub(super) fn set_idle(&mut self, idle: bool) {
        self.idle = idle;
    }

    /// Called first on a thread that does only bulk work: lowers its priority when bulk work is idle.
    pub(super) fn enter(&self) {
        if self.idle {
            sys::enter_idle_priority_or_warn();
        }
    }

    /// Runs `f`, which extracts with rayon's parallel iterators, on the idle extraction pool when bulk
    /// work is idle (on the global pool otherwise, or when no thread could be started for it).
    pub(super) fn install<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        if !self.idle {
            return f();
        }
        let pool = self.pool.get_or_init(|| {
            rayon::ThreadPoolBuilder::new()
                .thread_name(|i| format!("fandex-bulk-{i}"))
                .start_handler(|_| sys::enter_idle_priority_or_warn())
                .build()
                .map_err(|err| {
                    tracing::warn!("cannot start the idle extraction threads ({err}): extracting on the shared pool");
                })
                .ok()
        });
        match pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }
}
