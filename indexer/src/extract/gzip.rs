//! Gzip-compressed content: decompressed as a stream, output capped, then extracted like any file.

use std::io::{self, Chain, Cursor, ErrorKind, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::content::{Content, HEAD_LEN, content_of};
use super::reader::{Capped, RawReader, read_up_to};
use super::sniff;
use super::types::{ExtractError, Limits};

/// A corrupt gzip stream, carried through `io::Error` so it can be told apart from a read failure.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Corrupt(String);

/// The decompressed stream. A read failure of the raw input passes through as is; a stream that ends
/// early because the raw input was cut at `max_read_bytes` just ends; anything else the decoder
/// rejects is [`Corrupt`].
struct Inflate<'a, 'b> {
    decoder: MultiGzDecoder<Chain<Cursor<Vec<u8>>, &'a mut RawReader<'b>>>,
    ended: bool,
}

impl Read for Inflate<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.ended {
            return Ok(0);
        }
        match self.decoder.read(buf) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == ErrorKind::Interrupted => Err(e),
            Err(e) => {
                let raw = self.decoder.get_ref().get_ref().1;
                if raw.failed() {
                    Err(e)
                } else if raw.get_ref().truncated() {
                    tracing::debug!("gzip stream cut by max_read_bytes");
                    self.ended = true;
                    Ok(0)
                } else {
                    Err(io::Error::new(
                        ErrorKind::InvalidData,
                        Corrupt(e.to_string()),
                    ))
                }
            }
        }
    }
}

/// Extracts gzip content whose first raw bytes are `head` and the rest comes from `raw`. The inner
/// content is classified by `name` without its `.gz` and by its own first bytes.
pub(crate) fn extract(
    head: Vec<u8>,
    raw: &mut RawReader<'_>,
    name: &Path,
    limits: &Limits,
) -> Result<Content, ExtractError> {
    let inner_name = sniff::inner_name(name);
    let inflate = Inflate {
        decoder: MultiGzDecoder::new(Cursor::new(head).chain(raw)),
        ended: false,
    };
    let mut out = Capped::new(inflate, limits.max_decompressed_bytes);
    let result = read_up_to(&mut out, HEAD_LEN)
        .map_err(ExtractError::from)
        .and_then(|inner_head| content_of(inner_head, &mut out, &inner_name, limits));
    match result {
        Ok(mut content) => {
            content.truncated |= out.truncated();
            Ok(content)
        }
        Err(ExtractError::Io(e)) => match e.get_ref().and_then(|i| i.downcast_ref::<Corrupt>()) {
            Some(Corrupt(msg)) => Err(ExtractError::Malformed(format!("gzip: {msg}"))),
            None => Err(ExtractError::Io(e)),
        },
        Err(e) => Err(e),
    }
}
