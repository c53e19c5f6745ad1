//! A bounded keeper of the last bytes a worker wrote to stderr (to tell an allocation failure from a crash).

use std::io::{ErrorKind, Read};

/// How many bytes of a worker's stderr are kept.
const KEPT_BYTES: usize = 8 << 10;

/// What Rust's runtime prints before it aborts on a failed allocation.
const ALLOCATION_FAILURE: &[u8] = b"memory allocation of ";

/// The last [`KEPT_BYTES`] of a stream.
#[derive(Default)]
pub(crate) struct Tail {
    kept: Vec<u8>,
}

/// What a non-blocking drain found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Drained {
    /// Nothing more to read now.
    WouldBlock,
    /// The writer closed the stream (the worker exited).
    Closed,
}

impl Tail {
    /// Reads everything `source` (non-blocking) has now, keeping the last bytes.
    pub(crate) fn drain(&mut self, mut source: impl Read) -> Drained {
        let mut buffer = [0u8; 4096];
        loop {
            match source.read(&mut buffer) {
                Ok(0) => return Drained::Closed,
                Ok(n) => self.push(&buffer[..n]),
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) if error.kind() == ErrorKind::WouldBlock => return Drained::WouldBlock,
                Err(_) => return Drained::Closed,
            }
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        self.kept.extend_from_slice(bytes);
        if self.kept.len() > KEPT_BYTES {
            let excess = self.kept.len() - KEPT_BYTES;
            self.kept.drain(..excess);
        }
    }

    /// ": LAST LINE" of the kept output (bounded to 200 bytes), or nothing when it is empty.
    pub(crate) fn last_line_suffix(&self) -> String {
        let text = String::from_utf8_lossy(&self.kept);
        match text.lines().rev().find(|line| !line.trim().is_empty()) {
            Some(line) => format!(": {}", line.chars().take(200).collect::<String>()),
            None => String::new(),
        }
    }

    /// Whether the kept output shows Rust's allocation-failure message.
    pub(crate) fn shows_allocation_failure(&self) -> bool {
        self.kept
            .windows(ALLOCATION_FAILURE.len())
            .any(|window| window == ALLOCATION_FAILURE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_last_bytes_and_finds_the_allocation_message() {
        let mut tail = Tail::default();
        let noise = vec![b'x'; 3 * KEPT_BYTES];
        assert_eq!(tail.drain(&noise[..]), Drained::Closed);
        assert_eq!(tail.kept.len(), KEPT_BYTES);
        assert!(!tail.shows_allocation_failure());
        tail.drain(&b"memory allocation of 1048576 bytes failed\n"[..]);
        assert!(tail.shows_allocation_failure());
        assert_eq!(tail.kept.len(), KEPT_BYTES);
    }
}
