//! The pool: hands each request an idle worker (starting one when below the limit, else waiting), and
//! replaces a worker that failed.

use std::os::fd::AsFd;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::config::PoolConfig;
use crate::failure::WorkerFailure;
use crate::process::{Answer, WorkerProcess};
use crate::spawner::Spawner;
use crate::wire::Lockdown;

/// How long dropping a pool waits for idle workers to exit on their own before killing them.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// A pool of sandboxed worker processes, usable from many threads at once.
pub struct Pool {
    config: PoolConfig,
    state: Mutex<State>,
    freed: Condvar,
    spawner: Spawner,
}

#[derive(Default)]
struct State {
    idle: Vec<WorkerProcess>,
    /// Workers alive or being started, idle or busy.
    live: usize,
    lockdown: Option<Lockdown>,
}

impl Pool {
    /// A pool that will start workers as `config` says; none is started until the first request.
    pub fn new(config: PoolConfig) -> std::io::Result<Pool> {
        Ok(Pool {
            config,
            state: Mutex::new(State::default()),
            freed: Condvar::new(),
            spawner: Spawner::start()?,
        })
    }

    /// Runs one request in a worker, passing it `file`'s descriptor, and returns the worker's response.
    ///
    /// The worker shares `file`'s open file description: its reads move the shared offset, so the caller
    /// should not rely on the offset afterwards. Waits for a free worker when all are busy.
    pub fn run(&self, file: impl AsFd, request: &[u8]) -> Result<Vec<u8>, WorkerFailure> {
        self.run_within(file, request, self.config.timeout)
    }

    /// [`Pool::run`] with a timeout of this request's own instead of the pool's (e.g. one that grows with
    /// the file's size): the worker is killed once the request has taken `timeout`. The time to start a
    /// worker is bounded by the pool's timeout, and the worker's CPU allowance
    /// ([`crate::WorkerLimits::cpu_seconds_per_request`]) still applies.
    pub fn run_within(
        &self,
        file: impl AsFd,
        request: &[u8],
        timeout: Duration,
    ) -> Result<Vec<u8>, WorkerFailure> {
        let mut worker = self.acquire()?;
        let deadline = Instant::now() + timeout;
        match worker.request(
            file.as_fd(),
            request,
            deadline,
            self.config.max_response_bytes,
        ) {
            Ok(answer) => {
                self.release(worker);
                match answer {
                    Answer::Response(response) => Ok(response),
                    Answer::Panicked(message) => Err(WorkerFailure::Panicked { message }),
                }
            }
            Err(error) => {
                let failure = worker.fail(error, &self.config, timeout);
                tracing::warn!(%failure, "extraction worker replaced");
                self.retire();
                Err(failure)
            }
        }
    }

    /// What the most recently started worker reported about its lock-down (`None` before the first start).
    pub fn lockdown(&self) -> Option<Lockdown> {
        self.lock().lockdown.clone()
    }

    /// The pool's configuration.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An idle worker, a newly started one, or (when all are busy) the next one freed.
    fn acquire(&self) -> Result<WorkerProcess, WorkerFailure> {
        let mut state = self.lock();
        loop {
            while let Some(mut worker) = state.idle.pop() {
                if !worker.has_exited() {
                    return Ok(worker);
                }
                state.live -= 1;
                drop(worker);
            }
            if state.live < self.config.workers.max(1) {
                state.live += 1;
                drop(state);
                return self.start();
            }
            state = self
                .freed
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    fn start(&self) -> Result<WorkerProcess, WorkerFailure> {
        match WorkerProcess::start(&self.config, &self.spawner) {
            Ok((worker, lockdown)) => {
                let mut state = self.lock();
                if state.lockdown.as_ref() != Some(&lockdown) {
                    tracing::info!(%lockdown, "extraction worker locked down");
                    state.lockdown = Some(lockdown);
                }
                Ok(worker)
            }
            Err(failure) => {
                self.retire();
                Err(failure)
            }
        }
    }

    fn release(&self, worker: WorkerProcess) {
        self.lock().idle.push(worker);
        self.freed.notify_one();
    }

    /// Frees the slot of a worker that ended.
    fn retire(&self) {
        self.lock().live -= 1;
        self.freed.notify_one();
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let idle = std::mem::take(&mut self.lock().idle);
        for worker in &idle {
            worker.close();
        }
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        for worker in idle {
            worker.finish_by(deadline);
        }
    }
}
