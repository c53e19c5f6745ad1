//! One worker process seen from the parent: starting it with its socket and stderr pipe, the lock-down
//! handshake, one request, and ending it with the reason it failed.

use std::fs::File;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::signal::Signal;

use crate::config::PoolConfig;
use crate::exchange::{Link, LinkError, drain_stderr};
use crate::failure::WorkerFailure;
use crate::spawner::Spawner;
use crate::sys;
use crate::tail::Tail;
use crate::wire::{Kind, Lockdown, MAX_LOCKDOWN_BYTES};

/// How long a worker whose socket closed may take to exit before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(1);

/// A running worker.
pub(crate) struct WorkerProcess {
    child: Child,
    socket: UnixStream,
    stderr: File,
    stderr_open: bool,
    tail: Tail,
}

/// What a worker answered to a request.
pub(crate) enum Answer {
    /// The handler's response.
    Response(Vec<u8>),
    /// The handler panicked with this message; the worker is still usable.
    Panicked(String),
}

impl WorkerProcess {
    /// Starts a worker and waits (up to the pool's timeout) for its lock-down report.
    pub(crate) fn start(
        config: &PoolConfig,
        spawner: &Spawner,
    ) -> Result<(WorkerProcess, Lockdown), WorkerFailure> {
        let start_failure = |reason: String| WorkerFailure::Start { reason };
        let (socket, theirs) =
            UnixStream::pair().map_err(|error| start_failure(format!("socketpair: {error}")))?;
        let mut command = Command::new(&config.program);
        command
            .args(&config.args)
            .envs(config.env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            // A group of its own: what the worker starts (a helper program) is killed with it.
            .process_group(0);
        if let Some(credentials) = config.run_as {
            command.uid(credentials.uid).gid(credentials.gid);
        }
        // After the switch of user above (std runs hooks after it): a change of credentials clears the
        // parent-death signal.
        sys::die_with_parent(&mut command);
        let mut child = spawner
            .spawn(command)
            .map_err(|error| start_failure(format!("{}: {error}", config.program.display())))?;
        let stderr = File::from(OwnedFd::from(child.stderr.take().expect("stderr is piped")));
        let mut worker = WorkerProcess {
            child,
            socket,
            stderr,
            stderr_open: true,
            tail: Tail::default(),
        };
        let nonblocking = worker
            .socket
            .set_nonblocking(true)
            .map_err(|error| error.to_string())
            .and_then(|()| {
                fcntl(&worker.stderr, FcntlArg::F_SETFL(OFlag::O_NONBLOCK))
                    .map(drop)
                    .map_err(|errno| errno.to_string())
            });
        if let Err(reason) = nonblocking {
            return Err(start_failure(reason));
        }
        match worker.handshake(config) {
            Ok(lockdown) => Ok((worker, lockdown)),
            Err(LinkError::Closed) => {
                let status = worker.reap_after_close();
                Err(start_failure(format!(
                    "{}{}",
                    describe(status),
                    worker.tail.last_line_suffix()
                )))
            }
            Err(LinkError::TimedOut) => {
                worker.kill_and_reap();
                Err(start_failure(format!(
                    "no lock-down report within {:?}",
                    config.timeout
                )))
            }
            Err(LinkError::TooLarge) => Err(start_failure("lock-down report too large".into())),
            Err(LinkError::Protocol(reason)) => Err(start_failure(reason)),
        }
    }

    fn handshake(&mut self, config: &PoolConfig) -> Result<Lockdown, LinkError> {
        let settings = serde_json::to_vec(&config.limits)
            .map_err(|error| LinkError::Protocol(error.to_string()))?;
        let mut link = self.link(Instant::now() + config.timeout);
        link.send(Kind::Settings, &settings, None)?;
        match link.receive(MAX_LOCKDOWN_BYTES)? {
            (Kind::Lockdown, body) => serde_json::from_slice(&body)
                .map_err(|error| LinkError::Protocol(format!("bad lock-down report: {error}"))),
            (kind, _) => Err(LinkError::Protocol(format!(
                "expected a lock-down report, got {kind:?}"
            ))),
        }
    }

    fn link(&mut self, deadline: Instant) -> Link<'_> {
        Link {
            socket: &self.socket,
            stderr: &self.stderr,
            stderr_open: &mut self.stderr_open,
            tail: &mut self.tail,
            deadline,
        }
    }

    /// Sends one request with `file` attached and reads the answer, all before `deadline`.
    pub(crate) fn request(
        &mut self,
        file: BorrowedFd<'_>,
        body: &[u8],
        deadline: Instant,
        max_response: usize,
    ) -> Result<Answer, LinkError> {
        let mut link = self.link(deadline);
        link.send(Kind::Request, body, Some(file))?;
        let answer = match link.receive(max_response as u64)? {
            (Kind::Response, body) => Answer::Response(body),
            (Kind::Panicked, body) => Answer::Panicked(String::from_utf8_lossy(&body).into_owned()),
            (kind, _) => {
                return Err(LinkError::Protocol(format!(
                    "expected a response, got {kind:?}"
                )));
            }
        };
        drain_stderr(&self.stderr, &mut self.stderr_open, &mut self.tail);
        Ok(answer)
    }

    /// Whether the worker has exited (while idle, e.g. killed from outside).
    pub(crate) fn has_exited(&mut self) -> bool {
        !matches!(self.child.try_wait(), Ok(None))
    }

    /// Ends a worker whose request (given `timeout`) stopped with `error` and says why the request failed.
    pub(crate) fn fail(
        mut self,
        error: LinkError,
        config: &PoolConfig,
        timeout: Duration,
    ) -> WorkerFailure {
        match error {
            LinkError::TimedOut => match self.kill_and_reap() {
                Some(status) if status.signal() != Some(libc::SIGKILL) => {
                    self.classify(Some(status), config)
                }
                _ => WorkerFailure::TimedOut { after: timeout },
            },
            LinkError::TooLarge => {
                self.kill_and_reap();
                WorkerFailure::ResponseTooLarge {
                    limit_bytes: config.max_response_bytes,
                }
            }
            LinkError::Protocol(reason) => {
                self.kill_and_reap();
                WorkerFailure::Protocol { reason }
            }
            LinkError::Closed => {
                let status = self.reap_after_close();
                self.classify(status, config)
            }
        }
    }

    /// Why a worker that ended with `status` in the middle of a request failed.
    fn classify(&self, status: Option<ExitStatus>, config: &PoolConfig) -> WorkerFailure {
        let Some(status) = status else {
            return WorkerFailure::Protocol {
                reason: "the worker could not be reaped".into(),
            };
        };
        match (status.signal(), status.code()) {
            (Some(libc::SIGABRT), _) if self.tail.shows_allocation_failure() => {
                WorkerFailure::MemoryLimit {
                    limit_bytes: config.limits.memory_bytes.unwrap_or(u64::MAX),
                }
            }
            (Some(libc::SIGXCPU), _) => WorkerFailure::CpuLimit {
                seconds: config.limits.cpu_seconds_per_request.unwrap_or(0),
            },
            (Some(number), _) => match Signal::try_from(number) {
                Ok(signal) => WorkerFailure::Crashed { signal },
                Err(_) => WorkerFailure::Protocol {
                    reason: format!("killed by unknown signal {number}"),
                },
            },
            (None, code) => WorkerFailure::Exited {
                code: code.unwrap_or(-1),
            },
        }
    }

    /// Waits a short while for a worker whose socket closed to exit (keeping its last stderr), then kills it.
    fn reap_after_close(&mut self) -> Option<ExitStatus> {
        let grace = Instant::now() + EXIT_GRACE;
        loop {
            drain_stderr(&self.stderr, &mut self.stderr_open, &mut self.tail);
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    drain_stderr(&self.stderr, &mut self.stderr_open, &mut self.tail);
                    return Some(status);
                }
                Ok(None) if Instant::now() < grace => std::thread::sleep(Duration::from_millis(2)),
                Ok(None) | Err(_) => return self.kill_and_reap(),
            }
        }
    }

    /// Kills the worker and its process group (SIGKILL: the processes it started) unless it already
    /// exited, and reaps it.
    fn kill_and_reap(&mut self) -> Option<ExitStatus> {
        if let Ok(None) = self.child.try_wait() {
            // Not reaped yet, so the group's id (the worker's pid) cannot have been reused.
            let group = nix::unistd::Pid::from_raw(self.child.id() as i32);
            let _ = nix::sys::signal::killpg(group, Signal::SIGKILL);
            let _ = self.child.kill();
        }
        self.child.wait().ok()
    }

    /// Asks an idle worker to exit by closing its socket (it exits at end of file).
    pub(crate) fn close(&self) {
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
    }

    /// Waits until `deadline` for a closed worker to exit; kills it after that. Reaped either way.
    pub(crate) fn finish_by(mut self, deadline: Instant) {
        while let Ok(None) = self.child.try_wait() {
            if Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        self.kill_and_reap();
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill_and_reap();
    }
}

/// "exited with status N" or "killed by SIGX".
fn describe(status: Option<ExitStatus>) -> String {
    match status {
        Some(status) => match (status.code(), status.signal().map(Signal::try_from)) {
            (Some(code), _) => format!("exited with status {code}"),
            (None, Some(Ok(signal))) => format!("killed by {}", signal.as_str()),
            _ => format!("ended: {status}"),
        },
        None => "could not be reaped".into(),
    }
}
