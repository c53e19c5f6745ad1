//! Text extraction: turns a file's bytes into the text that is indexed.
//!
//! Minimal first version (UTF-8 text, NUL-sniffed binary, capped reads); encodings, HTML and gzip arrive
//! with the full extractor.

use std::io::Read;
use std::path::Path;

/// Caps on what extraction reads and produces.
#[derive(Debug, Clone)]
pub struct Limits {
    /// At most this many bytes of text are kept; the rest is cut and `truncated` set.
    pub max_text_bytes: usize,
    /// Never read more raw bytes than this from a file.
    pub max_read_bytes: u64,
    /// Cap on decompressed output.
    pub max_decompressed_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_text_bytes: 10 << 20,
            max_read_bytes: 64 << 20,
            max_decompressed_bytes: 64 << 20,
        }
    }
}

/// What kind of content a file held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// No bytes.
    Empty,
    /// Text.
    Text,
    /// HTML.
    Html,
    /// Binary: indexed by name only.
    Binary,
}

/// The result of extracting one file.
#[derive(Debug, Clone)]
pub struct Extracted {
    /// The text to index.
    pub text: String,
    /// The content's format.
    pub format: Format,
    /// Whether the content was gzip-compressed.
    pub gzip: bool,
    /// The detected encoding.
    pub encoding: Option<&'static str>,
    /// Whether a cap cut the input or the text.
    pub truncated: bool,
    /// Raw bytes read.
    pub bytes_read: u64,
    /// blake3 of exactly the bytes read.
    pub hash: [u8; 32],
}

/// Why extraction failed.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// Reading failed.
    #[error("read failed: {0}")]
    Io(#[from] std::io::Error),
    /// The content is malformed.
    #[error("{0}")]
    Malformed(String),
}

/// Extracts the text of one file from `reader`.
pub fn extract(
    reader: &mut dyn Read,
    _name: &Path,
    limits: &Limits,
) -> Result<Extracted, ExtractError> {
    let mut bytes = Vec::new();
    reader
        .take(limits.max_read_bytes.saturating_add(1))
        .read_to_end(&mut bytes)?;
    let mut truncated = bytes.len() as u64 > limits.max_read_bytes;
    bytes.truncate(usize::try_from(limits.max_read_bytes).unwrap_or(usize::MAX));
    let hash = *blake3::hash(&bytes).as_bytes();
    let binary = bytes.iter().take(8192).any(|b| *b == 0);
    let (format, mut text) = if bytes.is_empty() {
        (Format::Empty, String::new())
    } else if binary {
        (Format::Binary, String::new())
    } else {
        (Format::Text, String::from_utf8_lossy(&bytes).into_owned())
    };
    if text.len() > limits.max_text_bytes {
        let mut cut = limits.max_text_bytes;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        truncated = true;
    }
    Ok(Extracted {
        text,
        format,
        gzip: false,
        encoding: (format == Format::Text).then_some("UTF-8"),
        truncated,
        bytes_read: bytes.len() as u64,
        hash,
    })
}
