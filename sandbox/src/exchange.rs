//! Talking to one worker under a deadline: non-blocking sends and reads on its socket, while its stderr is
//! drained into a bounded tail so a chatty worker never blocks on a full pipe.

use std::fs::File;
use std::io::{ErrorKind, IoSlice, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::time::Instant;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{ControlMessage, MsgFlags, UnixAddr, send, sendmsg};

use crate::tail::{Drained, Tail};
use crate::wire::{self, HEADER_LEN, Kind};

/// Why an exchange with a worker stopped.
#[derive(Debug)]
pub(crate) enum LinkError {
    /// The deadline passed.
    TimedOut,
    /// The worker closed its end (it exited or is exiting).
    Closed,
    /// The worker announced a body longer than allowed.
    TooLarge,
    /// The worker sent something that is not a message, or a system call failed.
    Protocol(String),
}

/// A worker's socket and stderr, bounded by a deadline.
pub(crate) struct Link<'a> {
    pub(crate) socket: &'a UnixStream,
    pub(crate) stderr: &'a File,
    pub(crate) stderr_open: &'a mut bool,
    pub(crate) tail: &'a mut Tail,
    pub(crate) deadline: Instant,
}

impl Link<'_> {
    /// Sends one message, with `file` attached when given.
    pub(crate) fn send(
        &mut self,
        kind: Kind,
        body: &[u8],
        file: Option<BorrowedFd<'_>>,
    ) -> Result<(), LinkError> {
        let header = wire::header(kind, body.len());
        let total = HEADER_LEN + body.len();
        let socket = self.socket.as_raw_fd();
        let mut sent = loop {
            let iov = [IoSlice::new(&header), IoSlice::new(body)];
            let fds = file.map(|fd| [fd.as_raw_fd()]);
            let cmsgs: Vec<ControlMessage> = fds
                .iter()
                .map(|fds| ControlMessage::ScmRights(fds))
                .collect();
            match sendmsg::<UnixAddr>(socket, &iov, &cmsgs, MsgFlags::MSG_NOSIGNAL, None) {
                Ok(n) => break n,
                Err(Errno::EAGAIN) => self.wait(PollFlags::POLLOUT)?,
                Err(Errno::EINTR) => {}
                Err(errno) => return Err(send_error(errno)),
            }
        };
        while sent < total {
            let rest = if sent < HEADER_LEN {
                &header[sent..]
            } else {
                &body[sent - HEADER_LEN..]
            };
            match send(socket, rest, MsgFlags::MSG_NOSIGNAL) {
                Ok(n) => sent += n,
                Err(Errno::EAGAIN) => self.wait(PollFlags::POLLOUT)?,
                Err(Errno::EINTR) => {}
                Err(errno) => return Err(send_error(errno)),
            }
        }
        Ok(())
    }

    /// Receives one message whose body is at most `max_body` bytes.
    pub(crate) fn receive(&mut self, max_body: u64) -> Result<(Kind, Vec<u8>), LinkError> {
        let mut header = [0u8; HEADER_LEN];
        self.read_exact(&mut header)?;
        let (byte, len) = wire::parse_header(&header);
        let kind = Kind::from_byte(byte)
            .ok_or_else(|| LinkError::Protocol(format!("unknown message kind {byte}")))?;
        if len > max_body {
            return Err(LinkError::TooLarge);
        }
        let len = len as usize;
        let mut body = Vec::new();
        while body.len() < len {
            let start = body.len();
            let step = (len - start).min(1 << 20);
            body.resize(start + step, 0);
            self.read_exact(&mut body[start..])?;
        }
        Ok((kind, body))
    }

    fn read_exact(&mut self, mut buffer: &mut [u8]) -> Result<(), LinkError> {
        while !buffer.is_empty() {
            match (&mut &*self.socket).read(buffer) {
                Ok(0) => return Err(LinkError::Closed),
                Ok(n) => buffer = &mut buffer[n..],
                Err(error) if error.kind() == ErrorKind::WouldBlock => {
                    self.wait(PollFlags::POLLIN)?
                }
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) if error.kind() == ErrorKind::ConnectionReset => {
                    return Err(LinkError::Closed);
                }
                Err(error) => {
                    return Err(LinkError::Protocol(format!(
                        "reading from the worker: {error}"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Waits until the socket is ready for `interest`, draining stderr meanwhile.
    fn wait(&mut self, interest: PollFlags) -> Result<(), LinkError> {
        loop {
            let now = Instant::now();
            if now >= self.deadline {
                return Err(LinkError::TimedOut);
            }
            let millis = (self.deadline - now)
                .as_millis()
                .saturating_add(1)
                .min(i32::MAX as u128);
            let timeout = PollTimeout::try_from(millis as i32).unwrap_or(PollTimeout::MAX);
            let mut fds = vec![PollFd::new(self.socket.as_fd(), interest)];
            if *self.stderr_open {
                fds.push(PollFd::new(self.stderr.as_fd(), PollFlags::POLLIN));
            }
            match poll(&mut fds, timeout) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(errno) => return Err(LinkError::Protocol(format!("poll: {errno}"))),
            }
            let socket_ready = fds[0].any().unwrap_or(false);
            let stderr_ready = fds.get(1).and_then(PollFd::any).unwrap_or(false);
            if stderr_ready {
                drain_stderr(self.stderr, self.stderr_open, self.tail);
            }
            if socket_ready {
                return Ok(());
            }
        }
    }
}

/// Reads what the worker's stderr holds now; notes when it is closed.
pub(crate) fn drain_stderr(stderr: &File, open: &mut bool, tail: &mut Tail) {
    if *open && tail.drain(stderr) == Drained::Closed {
        *open = false;
    }
}

fn send_error(errno: Errno) -> LinkError {
    match errno {
        Errno::EPIPE | Errno::ECONNRESET => LinkError::Closed,
        other => LinkError::Protocol(format!("sending to the worker: {other}")),
    }
}
