//! The worker's blocking end of the socket: messages in (with passed descriptors) and out.

use std::io::{self, IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};

use crate::sys;
use crate::wire::{self, HEADER_LEN, Kind, MAX_REQUEST_BYTES};

/// A received message: its kind, body and any descriptors that came with it.
pub(super) type Message = (Kind, Vec<u8>, Vec<OwnedFd>);

/// Receives one message; `None` at end of file before a message starts.
pub(super) fn receive(socket: &UnixStream) -> io::Result<Option<Message>> {
    let mut header = [0u8; HEADER_LEN];
    let mut files = Vec::new();
    let mut got = 0;
    while got < HEADER_LEN {
        let mut space = nix::cmsg_space!([RawFd; 4]);
        let mut iov = [IoSliceMut::new(&mut header[got..])];
        let message = match recvmsg::<()>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Ok(message) => message,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(errno) => return Err(errno.into()),
        };
        for control in message.cmsgs()? {
            if let ControlMessageOwned::ScmRights(fds) = control {
                files.extend(sys::own_received(fds));
            }
        }
        if message.bytes == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        got += message.bytes;
    }
    let (byte, len) = wire::parse_header(&header);
    let kind = Kind::from_byte(byte)
        .ok_or_else(|| io::Error::other(format!("unknown message kind {byte}")))?;
    if len > MAX_REQUEST_BYTES {
        return Err(io::Error::other(format!("message of {len} bytes")));
    }
    let mut body = vec![0; len as usize];
    (&mut &*socket).read_exact(&mut body)?;
    Ok(Some((kind, body, files)))
}

/// Sends one message.
pub(super) fn send(socket: &UnixStream, kind: Kind, body: &[u8]) -> io::Result<()> {
    let mut writer = socket;
    writer.write_all(&wire::header(kind, body.len()))?;
    writer.write_all(body)
}
