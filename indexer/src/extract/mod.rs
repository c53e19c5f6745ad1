//! Text extraction: turns a file's bytes into the text that is indexed.
//!
//! [`extract`] reads through a capped, counting, hashing reader; detects gzip (and decompresses it
//! with a cap on the output); classifies the content as empty, binary, HTML or text; decodes it from
//! its encoding (BOM, HTML `<meta charset>`, UTF-8, or a legacy encoding picked by chardetng); and
//! for HTML converts it to text with a streaming converter. Memory stays bounded by the caps in [`Limits`]: text
//! is decoded and converted in pieces, and reading stops once the text cap is reached.
//!
//! Modules: `types` (limits, formats, result, error), `reader` (capped hashing reader), `sniff`
//! (classification), `content` (classify, decode and stream into a sink), `sink` (where text goes, the
//! text cap), `decode` (encodings), `gzip`, `chunk` (cutting HTML into pieces), `html` (HTML to text)
//! and `entity` (character references).

mod chunk;
mod content;
mod decode;
mod entity;
mod gzip;
mod html;
mod parser;
mod reader;
mod sink;
mod sniff;
mod types;

use std::io::Read;
use std::path::Path;

use content::{HEAD_LEN, content_of};
use reader::read_up_to;

pub use parser::{DocumentParser, InProcessParser, ParseError, PlainConverter};
pub use types::{ExtractError, Extracted, Format, Limits};

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

#[cfg(test)]
mod tests;
