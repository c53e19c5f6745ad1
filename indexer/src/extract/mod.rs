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
mod entry;
mod gzip;
mod html;
mod parser;
mod reader;
mod sink;
mod sniff;
mod types;

pub use entry::extract;
pub use parser::{DocumentParser, InProcessParser, ParseError, PlainConverter};
pub use types::{ExtractError, Extracted, Format, Limits};

#[cfg(test)]
mod tests;
