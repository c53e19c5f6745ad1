//! Starts worker processes from one long-lived thread.
//!
//! `PR_SET_PDEATHSIG` fires when the *thread* that forked a child ends, not the process. Pool callers are
//! arbitrary threads (rayon workers, short-lived test threads), so workers are forked by this thread instead,
//! which lives as long as the pool.

use std::io;
use std::process::{Child, Command};
use std::sync::{Mutex, mpsc};
use std::thread::JoinHandle;

/// A command to start and where to send the result.
type Job = (Command, mpsc::Sender<io::Result<Child>>);

/// The thread that forks workers.
pub(crate) struct Spawner {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Option<JoinHandle<()>>,
}

impl Spawner {
    /// Starts the spawning thread.
    pub(crate) fn start() -> io::Result<Spawner> {
        let (jobs, inbox) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("sandbox-spawner".into())
            .spawn(move || {
                for (mut command, reply) in inbox {
                    let _ = reply.send(command.spawn());
                }
            })?;
        Ok(Spawner {
            jobs: Mutex::new(Some(jobs)),
            thread: Some(thread),
        })
    }

    /// Starts `command` on the spawning thread.
    pub(crate) fn spawn(&self, command: Command) -> io::Result<Child> {
        let (reply, answer) = mpsc::channel();
        let gone = || io::Error::other("the spawning thread is gone");
        {
            let jobs = self
                .jobs
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            jobs.as_ref()
                .ok_or_else(gone)?
                .send((command, reply))
                .map_err(|_| gone())?;
        }
        answer.recv().map_err(|_| gone())?
    }
}

impl Drop for Spawner {
    fn drop(&mut self) {
        self.jobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
