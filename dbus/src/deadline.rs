//! Runs blocking backend calls off the bus thread: a bounded number at a time, each under a deadline,
//! so a slow or hung backend never holds up the bus (the shell gets an answer in time either way).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// What became of a call.
#[derive(Debug)]
pub enum Outcome<T> {
    /// It finished in time with this answer.
    Done(T),
    /// The deadline passed first; the call goes on in the background and its answer is dropped.
    Late,
    /// Too many earlier calls are still running (late ones included): this one was not started.
    Busy,
}

/// Starts backend calls on worker threads, at most `max_in_flight` at once.
#[derive(Debug, Clone)]
pub struct Runner {
    in_flight: Arc<AtomicUsize>,
    max_in_flight: usize,
}

/// One running call's place in the count, given back when the call ends (not when its waiter gives up).
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Runner {
    /// A runner allowing `max_in_flight` calls at once (at least one).
    pub fn new(max_in_flight: usize) -> Self {
        Self {
            in_flight: Arc::new(AtomicUsize::new(0)),
            max_in_flight: max_in_flight.max(1),
        }
    }

    /// Runs `work` on a worker thread and waits for it, asynchronously, at most `deadline`.
    pub async fn run<T, W>(&self, deadline: Duration, work: W) -> Outcome<T>
    where
        T: Send + 'static,
        W: FnOnce() -> T + Send + 'static,
    {
        if self.in_flight.fetch_add(1, Ordering::AcqRel) >= self.max_in_flight {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            return Outcome::Busy;
        }
        let slot = Slot(self.in_flight.clone());
        let call = zruntime::unblock(move || {
            let _slot = slot;
            work()
        });
        let runtime = match zruntime::SharedRuntime::current() {
            Ok(runtime) => runtime,
            // Not on a runtime thread (cannot happen inside a served method): wait without a deadline.
            Err(_) => return Outcome::Done(call.await),
        };
        match runtime.timeout(deadline, call).await {
            Ok(answer) => Outcome::Done(answer),
            Err(_) => Outcome::Late,
        }
    }
}
