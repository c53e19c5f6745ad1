//! Readers that cap, count and hash what passes through them.
//!
//! The raw input of [`super::extract`] goes through `Hashing<Capped<&mut dyn Read>>`: `Capped` hands out
//! at most `max_read_bytes` and then pulls (and discards) one probe byte to learn whether the input
//! was cut; `Hashing` counts and hashes exactly the bytes handed out, so `bytes_read <= max_read_bytes`
//! and `hash == blake3(first bytes_read bytes)` always hold. Decompressed output goes through a
//! `Capped` too.

use std::io::{self, ErrorKind, Read};

/// Hands out at most `cap` bytes of `inner`; then reads one probe byte to tell whether there was more.
pub(crate) struct Capped<R> {
    inner: R,
    remaining: u64,
    probed: bool,
    truncated: bool,
}

impl<R: Read> Capped<R> {
    /// Wraps `inner`, capping it at `cap` bytes.
    pub(crate) fn new(inner: R, cap: u64) -> Self {
        Capped {
            inner,
            remaining: cap,
            probed: false,
            truncated: false,
        }
    }

    /// Whether the cap was reached and the inner reader had at least one more byte.
    pub(crate) fn truncated(&self) -> bool {
        self.truncated
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.remaining == 0 {
            if !self.probed {
                let mut probe = [0u8; 1];
                let n = read_retrying(&mut self.inner, &mut probe)?;
                self.probed = true;
                self.truncated = n > 0;
            }
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        // A reader that claims more than it was given must not break the accounting.
        let n = self.inner.read(&mut buf[..want])?.min(want);
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Counts and blake3-hashes every byte read through it; remembers whether the inner reader failed.
pub(crate) struct Hashing<R> {
    inner: R,
    hasher: blake3::Hasher,
    count: u64,
    failed: bool,
}

impl<R: Read> Hashing<R> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: R) -> Self {
        Hashing {
            inner,
            hasher: blake3::Hasher::new(),
            count: 0,
            failed: false,
        }
    }

    /// Bytes read through this reader so far.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// blake3 of the bytes read so far.
    pub(crate) fn hash(&self) -> [u8; 32] {
        *self.hasher.finalize().as_bytes()
    }

    /// Whether the inner reader returned an error (other than `Interrupted`).
    pub(crate) fn failed(&self) -> bool {
        self.failed
    }

    /// The wrapped reader.
    pub(crate) fn get_ref(&self) -> &R {
        &self.inner
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                let got = &buf[..n.min(buf.len())];
                self.hasher.update(got);
                self.count += got.len() as u64;
                Ok(got.len())
            }
            Err(e) => {
                if e.kind() != ErrorKind::Interrupted {
                    self.failed = true;
                }
                Err(e)
            }
        }
    }
}

/// The raw input of an extraction: capped at `max_read_bytes`, counted and hashed.
pub(crate) type RawReader<'a> = Hashing<Capped<&'a mut dyn Read>>;

/// Wraps the caller's reader.
pub(crate) fn raw_reader(inner: &mut dyn Read, max_read_bytes: u64) -> RawReader<'_> {
    Hashing::new(Capped::new(inner, max_read_bytes))
}

/// One `read`, retried on `Interrupted`.
pub(crate) fn read_retrying(r: &mut (impl Read + ?Sized), buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match r.read(buf) {
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Reads until `limit` bytes or end of input.
pub(crate) fn read_up_to(r: &mut (impl Read + ?Sized), limit: usize) -> io::Result<Vec<u8>> {
    let mut out = vec![0u8; limit];
    let mut filled = 0;
    while filled < limit {
        let n = read_retrying(r, &mut out[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    out.truncate(filled);
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A reader over `data` that counts the bytes pulled from it and returns at most `step` per read.
    pub(crate) struct Pulled<'a> {
        pub(crate) data: &'a [u8],
        pub(crate) pulled: u64,
        pub(crate) step: usize,
    }

    impl Read for Pulled<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.step).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            self.pulled += n as u64;
            Ok(n)
        }
    }

    #[test]
    fn capped_hands_out_cap_and_probes_one_byte() {
        let data = b"0123456789";
        let mut src = Pulled {
            data,
            pulled: 0,
            step: 3,
        };
        let mut c = Capped::new(&mut src, 4);
        let got = read_up_to(&mut c, 100).unwrap();
        assert_eq!(got, b"0123");
        assert!(c.truncated());
        assert_eq!(src.pulled, 5, "cap plus exactly one probe byte");
    }

    #[test]
    fn capped_exact_length_is_not_truncated() {
        let mut c = Capped::new(&b"abcd"[..], 4);
        assert_eq!(read_up_to(&mut c, 100).unwrap(), b"abcd");
        assert!(!c.truncated());
        let mut c = Capped::new(&b""[..], 0);
        assert_eq!(read_up_to(&mut c, 100).unwrap(), b"");
        assert!(!c.truncated());
        let mut c = Capped::new(&b"x"[..], 0);
        assert_eq!(read_up_to(&mut c, 100).unwrap(), b"");
        assert!(c.truncated());
    }

    #[test]
    fn hashing_counts_and_hashes_what_passes() {
        let data = b"some bytes to hash, more than one read";
        let mut src: &[u8] = data;
        let mut raw = raw_reader(&mut src, 10);
        let got = read_up_to(&mut raw, 100).unwrap();
        assert_eq!(got, &data[..10]);
        assert_eq!(raw.count(), 10);
        assert_eq!(raw.hash(), *blake3::hash(&data[..10]).as_bytes());
        assert!(raw.get_ref().truncated());
        assert!(!raw.failed());
    }

    #[test]
    fn readers_overstating_their_count_do_not_break_accounting() {
        struct Liar;
        impl Read for Liar {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                buf.fill(b'z');
                Ok(buf.len() + 10)
            }
        }
        let mut liar = Liar;
        let mut raw = raw_reader(&mut liar, 100);
        let got = read_up_to(&mut raw, 1000).unwrap();
        assert_eq!(got.len(), 100);
        assert_eq!(raw.count(), 100);
        assert!(raw.get_ref().truncated());
    }

    #[test]
    fn interrupted_reads_are_retried_and_errors_remembered() {
        struct Flaky(u32);
        impl Read for Flaky {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.0 += 1;
                match self.0 {
                    1 => Err(ErrorKind::Interrupted.into()),
                    2 => {
                        buf[0] = b'x';
                        Ok(1)
                    }
                    _ => Err(io::Error::other("disk on fire")),
                }
            }
        }
        let mut f = Flaky(0);
        let mut h = Hashing::new(&mut f);
        assert!(read_up_to(&mut h, 10).is_err());
        assert!(h.failed());
        assert_eq!(h.count(), 1);
    }
}
