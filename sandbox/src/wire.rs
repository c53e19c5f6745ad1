//! The messages between the pool and a worker, and what a worker reports about its lock-down.
//!
//! Every message is a 9-byte header (a kind byte, then the body length as a little-endian u64) and its body.
//! At start the parent sends [`Kind::Settings`] (the [`crate::WorkerLimits`] as JSON) and the worker answers
//! [`Kind::Lockdown`] (a [`Lockdown`] as JSON). Then each request is [`Kind::Request`] with the file's
//! descriptor attached (`SCM_RIGHTS`), answered by [`Kind::Response`] or [`Kind::Panicked`].

use std::fmt;

use serde::{Deserialize, Serialize};

/// Length of a message header.
pub(crate) const HEADER_LEN: usize = 9;

/// Largest body a worker accepts from its parent (settings and requests are small; this only bounds a bug).
pub(crate) const MAX_REQUEST_BYTES: u64 = 1 << 30;

/// Largest lock-down report the parent accepts.
pub(crate) const MAX_LOCKDOWN_BYTES: u64 = 64 << 10;

/// What a message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    /// Parent to worker, once: the limits to apply.
    Settings = 1,
    /// Worker to parent, once: what the lock-down enforced.
    Lockdown = 2,
    /// Parent to worker: a request, with the file's descriptor attached.
    Request = 3,
    /// Worker to parent: the handler's answer.
    Response = 4,
    /// Worker to parent: the handler panicked; the body is the message.
    Panicked = 5,
}

impl Kind {
    /// The kind a header byte names, if any.
    pub(crate) fn from_byte(byte: u8) -> Option<Kind> {
        [
            Kind::Settings,
            Kind::Lockdown,
            Kind::Request,
            Kind::Response,
            Kind::Panicked,
        ]
        .into_iter()
        .find(|kind| *kind as u8 == byte)
    }
}

/// The header of a message of `kind` with a body of `len` bytes.
pub(crate) fn header(kind: Kind, len: usize) -> [u8; HEADER_LEN] {
    let mut bytes = [0; HEADER_LEN];
    bytes[0] = kind as u8;
    bytes[1..].copy_from_slice(&(len as u64).to_le_bytes());
    bytes
}

/// The kind byte and body length of a header (the kind is checked by the caller).
pub(crate) fn parse_header(bytes: &[u8; HEADER_LEN]) -> (u8, u64) {
    let mut len = [0; 8];
    len.copy_from_slice(&bytes[1..]);
    (bytes[0], u64::from_le_bytes(len))
}

/// Whether one lock-down measure is in force in a worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Enforcement {
    /// Fully in force.
    Enforced,
    /// In force for part of what was asked (an older kernel knows fewer rights).
    Partial,
    /// Not in force; the worker runs without it.
    NotEnforced {
        /// Why (the kernel lacks the facility, or the call failed).
        reason: String,
    },
}

impl fmt::Display for Enforcement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Enforcement::Enforced => f.write_str("enforced"),
            Enforcement::Partial => f.write_str("partly enforced"),
            Enforcement::NotEnforced { reason } => write!(f, "not enforced ({reason})"),
        }
    }
}

/// What a worker's lock-down put in force, as the worker reported it after applying it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lockdown {
    /// `RLIMIT_AS`, `RLIMIT_NOFILE`, `RLIMIT_FSIZE` 0, `RLIMIT_CORE` 0 and `RLIMIT_NPROC` 0 (the last is not
    /// enforced by the kernel for root).
    pub rlimits: Enforcement,
    /// `PR_SET_NO_NEW_PRIVS`: no privilege gain through exec.
    pub no_new_privs: Enforcement,
    /// Landlock filesystem rules: no filesystem access at all (reads only through the passed descriptor).
    pub landlock_filesystem: Enforcement,
    /// Landlock network rules (ABI 4): no TCP bind or connect.
    pub landlock_network: Enforcement,
    /// Landlock scopes (ABI 6): no abstract Unix socket connections or signals out of the sandbox.
    pub landlock_scopes: Enforcement,
    /// The seccomp filter: `socket`, `socketpair` and `io_uring_setup` fail, and the passed file's owner,
    /// mode, times and extended attributes cannot be changed.
    pub seccomp: Enforcement,
}

impl fmt::Display for Lockdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rlimits {}, no_new_privs {}, landlock filesystem {}, landlock network {}, landlock scopes {}, \
             seccomp {}",
            self.rlimits,
            self.no_new_privs,
            self.landlock_filesystem,
            self.landlock_network,
            self.landlock_scopes,
            self.seccomp
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() {
        let bytes = header(Kind::Response, 123_456_789);
        assert_eq!(parse_header(&bytes), (Kind::Response as u8, 123_456_789));
        assert_eq!(Kind::from_byte(bytes[0]), Some(Kind::Response));
        assert_eq!(Kind::from_byte(0), None);
        assert_eq!(Kind::from_byte(6), None);
    }
}
