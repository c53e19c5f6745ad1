//! Text extraction: turns a file's bytes into the text that is indexed.
//!
//! [`extract`] reads through a capped, counting, hashing reader; detects gzip (and decompresses it
//! with a cap on the output); classifies the content as empty, binary, HTML or text; decodes it from
//! its encoding (BOM, HTML `<meta charset>`, UTF-8, or a legacy encoding picked by chardetng); and
//! for HTML converts it to text with a streaming converter. Memory stays bounded by the caps in [`Limits`]: text
//! is decoded and converted in pieces, and reading stops once the text cap is reached.
//!
//! Modules: `reader` (capped hashing reader), `sniff` (classification), `decode` (encodings),
//! `gzip`, `chunk` (cutting HTML into pieces), `html` (HTML to text) and `entity` (character
//! references).

mod chunk;
mod decode;
mod entity;
mod gzip;
mod html;
mod reader;
mod sniff;

use std::io::Read;
use std::path::Path;

use decode::TextDecoder;
use html::HtmlSink;
use reader::{read_retrying, read_up_to};

/// Bytes read first to classify content and choose its encoding.
const HEAD_LEN: usize = 64 * 1024;

/// Bytes read at a time after the head.
const READ_CHUNK: usize = 64 * 1024;

/// Caps applied to one extraction.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Text beyond this many bytes is cut (at a char boundary) and `truncated` is set. Default 10 MiB.
    pub max_text_bytes: usize,
    /// Never read more raw bytes than this from a file (one more is read to learn whether the file
    /// was longer). Default 64 MiB.
    pub max_read_bytes: u64,
    /// Cap on gzip output, against decompression bombs. Default 64 MiB.
    pub max_decompressed_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_text_bytes: 10 << 20,
            max_read_bytes: 64 << 20,
            max_decompressed_bytes: 64 << 20,
        }
    }
}

/// What the (decompressed) content is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// No bytes at all.
    Empty,
    /// Text in some encoding.
    Text,
    /// HTML, converted to its visible text.
    Html,
    /// Anything with a NUL byte in its first 8 KiB (and no BOM); no text is extracted.
    Binary,
}

/// The result of an extraction.
#[derive(Debug, Clone)]
pub struct Extracted {
    /// The text to index (empty for binary and empty content).
    pub text: String,
    /// What the (decompressed) content is.
    pub format: Format,
    /// Whether the content was gzip-compressed.
    pub gzip: bool,
    /// The encoding the text was decoded from, e.g. "UTF-8", "UTF-16LE", "windows-1252"; `None` for
    /// binary and empty content.
    pub encoding: Option<&'static str>,
    /// Whether the text or the raw or decompressed input was cut by a limit.
    pub truncated: bool,
    /// Raw bytes read from the reader (at most `max_read_bytes`). Reading stops early once the text
    /// cap is reached, and after the first bytes of binary content, so this may be less than the
    /// file size even when `truncated` is false.
    pub bytes_read: u64,
    /// blake3 of exactly the first `bytes_read` raw bytes (streamed, never mmapped).
    pub hash: [u8; 32],
}

/// Why an extraction failed. Malformed encodings never fail: they decode to U+FFFD.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// Reading the input failed.
    #[error("read failed: {0}")]
    Io(#[from] std::io::Error),
    /// The content could not be interpreted: a corrupt gzip stream ("gzip: ...") or HTML the
    /// converter rejected or panicked on ("html: ...").
    #[error("{0}")]
    Malformed(String),
}

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

/// Extracted content before the raw-input facts are added.
struct Content {
    text: String,
    format: Format,
    encoding: Option<&'static str>,
    truncated: bool,
}

/// Extracts content whose first bytes are `head` (up to [`HEAD_LEN`], fewer only at the end of input)
/// and whose remaining bytes come from `rest`.
fn content_of(
    head: Vec<u8>,
    rest: &mut dyn Read,
    name: &Path,
    limits: &Limits,
) -> Result<Content, ExtractError> {
    let format = sniff::classify(&head, name);
    let (text, encoding, truncated) = match format {
        Format::Empty | Format::Binary => {
            return Ok(Content {
                text: String::new(),
                format,
                encoding: None,
                truncated: false,
            });
        }
        Format::Text => {
            let decoder = TextDecoder::new(&head, None);
            stream(head, rest, decoder, TextSink::new(limits.max_text_bytes))?
        }
        Format::Html => {
            let declared = html::meta_charset(&head);
            let decoder = TextDecoder::new(&head, declared);
            stream(head, rest, decoder, HtmlSink::new(limits.max_text_bytes))?
        }
    };
    Ok(Content {
        text,
        format,
        encoding: Some(encoding),
        truncated,
    })
}

/// Where decoded text goes.
trait Sink {
    /// Takes the next decoded text.
    fn push(&mut self, text: &str) -> Result<(), ExtractError>;
    /// Whether enough text was collected: reading stops.
    fn is_full(&self) -> bool;
    /// The text, cut to the cap, and whether it was cut.
    fn finish(self) -> Result<(String, bool), ExtractError>;
}

/// Decodes `head` then the rest of the input into `sink` until the sink is full or input ends;
/// returns the text, the encoding name and whether the text was cut.
fn stream(
    head: Vec<u8>,
    rest: &mut dyn Read,
    mut decoder: TextDecoder,
    mut sink: impl Sink,
) -> Result<(String, &'static str, bool), ExtractError> {
    let mut decoded = String::new();
    decoder.decode(&head, false, &mut decoded);
    sink.push(&decoded)?;
    drop(head);
    let mut buf = vec![0u8; READ_CHUNK];
    while !sink.is_full() {
        decoded.clear();
        let n = read_retrying(rest, &mut buf)?;
        decoder.decode(&buf[..n], n == 0, &mut decoded);
        sink.push(&decoded)?;
        if n == 0 {
            break;
        }
    }
    let encoding = decoder.encoding_name();
    let (text, cut) = sink.finish()?;
    Ok((text, encoding, cut))
}

/// Collects plain text up to the cap.
struct TextSink {
    out: String,
    max_text: usize,
}

impl TextSink {
    fn new(max_text: usize) -> Self {
        TextSink {
            out: String::new(),
            max_text,
        }
    }
}

impl Sink for TextSink {
    fn push(&mut self, text: &str) -> Result<(), ExtractError> {
        self.out.push_str(text);
        Ok(())
    }

    fn is_full(&self) -> bool {
        self.out.len() > self.max_text
    }

    fn finish(mut self) -> Result<(String, bool), ExtractError> {
        let cut = cut_at_char_boundary(&mut self.out, self.max_text);
        Ok((self.out, cut))
    }
}

/// Cuts `s` to at most `max` bytes at a char boundary; returns whether anything was cut.
fn cut_at_char_boundary(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    let end = s.floor_char_boundary(max);
    s.truncate(end);
    s.shrink_to_fit();
    true
}

#[cfg(test)]
mod tests;
