//! The seam between the indexer and the parsers of complex documents (PDF, office, e-mail, archives, media):
//! [`DocumentParser`]. The daemon and the command line supply one that runs `fandex-formats` in sandboxed
//! worker processes, so a hostile document never runs parser code in their process; [`InProcessParser`] runs
//! it in the calling process, for tests and for embedders that accept that risk.

use std::fs::File;
use std::io::Cursor;
use std::path::Path;

use fandex_formats::{Document, Kind, Limits as FormatLimits, Plain};

use super::Limits;

/// Why a document could not be parsed, as one line naming the cause, e.g. `extractor crashed (SIGSEGV)`,
/// `timed out after 30 s`, `malformed pdf: ...`, `encrypted: needs a password`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// Parses complex documents into text, metadata and parts.
pub trait DocumentParser: Send + Sync + std::fmt::Debug {
    /// Parses the document open as `file` (read through the descriptor; the path is never reopened; the
    /// file offset may be moved). `name` is the file name, for detection of members only; `kind` was
    /// detected from the file's first bytes and name by [`fandex_formats::detect`].
    fn parse(&self, file: &File, name: &[u8], kind: Kind) -> Result<Document, ParseError>;
}

/// Runs the parsers in the calling process. A malformed document can make a parser loop, abort or
/// allocate without bound, so a daemon must use a sandboxed parser instead.
#[derive(Debug, Clone, Default)]
pub struct InProcessParser {
    /// Caps on each document.
    pub limits: FormatLimits,
}

impl DocumentParser for InProcessParser {
    fn parse(&self, file: &File, name: &[u8], kind: Kind) -> Result<Document, ParseError> {
        fandex_formats::extract(file, name, kind, &self.limits, &PlainConverter::default())
            .map_err(|err| ParseError(err.to_string()))
    }
}

/// The indexer's own plain-text decoding (encoding detection) and HTML converter, for text and HTML found
/// inside documents (archive members, mail bodies, EPUB chapters).
#[derive(Debug, Clone, Default)]
pub struct PlainConverter {
    /// Caps on each piece of text converted.
    pub limits: Limits,
}

impl PlainConverter {
    fn convert(&self, bytes: &[u8], name: &str) -> String {
        super::extract(&mut Cursor::new(bytes), Path::new(name), &self.limits)
            .map(|extracted| extracted.text)
            .unwrap_or_default()
    }
}

impl Plain for PlainConverter {
    fn text(&self, bytes: &[u8]) -> String {
        self.convert(bytes, "member.txt")
    }

    fn html(&self, bytes: &[u8]) -> String {
        self.convert(bytes, "member.html")
    }
}
