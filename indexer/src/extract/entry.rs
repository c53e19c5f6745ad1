//! The entry point of text extraction, [`extract`]: one file's bytes to the text that is indexed.

use std::io::Read;
use std::path::Path;

use super::content::{HEAD_LEN, content_of};
use super::gzip;
use super::reader::{self, read_up_to};
use super::sniff;
use super::types::{ExtractError, Extracted, Limits};

/// Extracts the text of one file.
///
/// `reader` is read sequentially and never more than `limits.max_read_bytes` bytes (plus one byte to
/// learn whether there was more); `name` is the file name or path and only serves as an extension
/// hint (`.gz`, `.html`, `x.html.gz`).
pub fn extract(
    reader: &mut dyn Read,
    name: &Path,
    limits: &Limits,
) -> Result<Extracted, ExtractError> {
    let mut raw = reader::raw_reader(reader, limits.max_read_bytes);
    let head = read_up_to(&mut raw, HEAD_LEN)?;
    let gzip = !head.is_empty() && sniff::is_gzip(&head, name);
    let content = if gzip {
        gzip::extract(head, &mut raw, name, limits)?
    } else {
        content_of(head, &mut raw, name, limits)?
    };
    Ok(Extracted {
        text: content.text,
        format: content.format,
        gzip,
        encoding: content.encoding,
        truncated: content.truncated || raw.get_ref().truncated(),
        bytes_read: raw.count(),
        hash: raw.hash(),
    })
}
