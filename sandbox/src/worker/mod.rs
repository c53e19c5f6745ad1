//! The worker side: lock the process down, then answer requests with the caller's handler until the parent
//! closes the socket.
//!
//! The worker program (fandex's hidden `extract-worker` subcommand, or a test binary) calls [`serve`] from
//! its main thread before starting any other thread. Its stdin is the socket to the pool, its stdout is
//! `/dev/null`, its stderr goes to the pool (bounded) so an allocation failure can be told from a crash.

mod lockdown;
mod seccomp;
mod socket;

use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

use crate::config::WorkerLimits;
use crate::wire::Kind;

/// How long a worker waits for its next request before it gives the memory freed so far back to the
/// kernel. Not after every request: the next document would fault the pages in again (measured: trimming
/// after each of the `formats` corpus's 1,008 documents cost the workers 20% more CPU).
const IDLE_BEFORE_RELEASE: Duration = Duration::from_secs(1);

/// Waits up to [`IDLE_BEFORE_RELEASE`] for a request on `socket`; when none comes, hands the heap's free
/// memory back (the receive that follows then waits as long as it takes).
fn release_memory_when_idle(socket: &UnixStream) {
    let timeout =
        PollTimeout::try_from(IDLE_BEFORE_RELEASE.as_millis() as i32).unwrap_or(PollTimeout::MAX);
    let mut fds = [PollFd::new(socket.as_fd(), PollFlags::POLLIN)];
    if let Ok(0) = poll(&mut fds, timeout) {
        crate::sys::release_free_heap();
    }
}

/// Longest panic message sent back.
const MAX_PANIC_MESSAGE: usize = 1000;

/// Locks this process down and serves requests on stdin's socket until the parent closes it.
///
/// `handler` gets each request's file (the descriptor the parent passed, never reopened by path) and
/// payload, and returns the response payload. A panic in it is caught and answered as
/// [`crate::WorkerFailure::Panicked`]; the worker keeps serving. Once idle for a second, the memory it freed goes
/// back to the kernel, so an idle worker does not hold its largest request's memory. Returns `Ok` at end of file, an error when
/// the socket breaks or the parent sends something unexpected.
pub fn serve(mut handler: impl FnMut(File, &[u8]) -> Vec<u8>) -> io::Result<()> {
    let socket = UnixStream::from(io::stdin().as_fd().try_clone_to_owned()?);
    let limits: WorkerLimits = match socket::receive(&socket)? {
        Some((Kind::Settings, body, _)) => {
            serde_json::from_slice(&body).map_err(io::Error::other)?
        }
        _ => return Err(io::Error::other("the pool sent no settings")),
    };
    let lockdown = lockdown::apply(&limits);
    socket::send(
        &socket,
        Kind::Lockdown,
        &serde_json::to_vec(&lockdown).map_err(io::Error::other)?,
    )?;
    loop {
        release_memory_when_idle(&socket);
        let (body, file) = match socket::receive(&socket)? {
            None => return Ok(()),
            Some((Kind::Request, body, mut files)) if files.len() == 1 => {
                (body, File::from(files.remove(0)))
            }
            Some((kind, _, files)) => {
                return Err(io::Error::other(format!(
                    "unexpected {kind:?} with {} descriptors",
                    files.len()
                )));
            }
        };
        // If re-arming fails the previous allowance stays (the pool's wall-clock timeout bounds it anyway).
        let _ = lockdown::arm_cpu_limit(limits.cpu_seconds_per_request);
        match catch_unwind(AssertUnwindSafe(|| handler(file, &body))) {
            Ok(response) => socket::send(&socket, Kind::Response, &response)?,
            Err(payload) => socket::send(
                &socket,
                Kind::Panicked,
                panic_message(payload.as_ref()).as_bytes(),
            )?,
        }
    }
}

/// The first line of a panic's message, bounded.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.as_str()
    } else {
        "(no message)"
    };
    text.lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(MAX_PANIC_MESSAGE)
        .collect()
}
