//! The vocabulary of extraction: the caps ([`Limits`]), what content is ([`Format`]), the result
//! ([`Extracted`]) and why it failed ([`ExtractError`]).

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
