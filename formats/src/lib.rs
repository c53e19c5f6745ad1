//! fandex-formats: turns complex documents into text, metadata and parts, for the indexer.
//!
//! A pure library meant to run inside sandboxed worker processes: no threads, no global state, no network
//! (PDFs may be read by poppler's `pdftotext`, a child process: see [`Limits::pdftotext`]);
//! the input is an already-open [`std::fs::File`] read through its descriptor (never a path reopened) plus
//! its name (bytes, for detection only). Everything is capped by [`Limits`]; caps reached become notes.
//!
//! ```no_run
//! # use fandex_formats::*;
//! # struct P; impl Plain for P { fn text(&self, b: &[u8]) -> String { String::from_utf8_lossy(b).into() }
//! #   fn html(&self, b: &[u8]) -> String { String::from_utf8_lossy(b).into() } }
//! let file = std::fs::File::open("report")?;
//! let kind = detect_file(&file, b"report")?;
//! let doc = extract(&file, b"report", kind, &Limits::default(), &P)?;
//! println!("{} {:?} {}", doc.mime, doc.meta(MetaField::Title), doc.text);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Formats: PDF (poppler's `pdftotext` as a child process, else [`pdf_oxide`]), OOXML and ODF (`zip` + `quick-xml`), EPUB, RTF, e-mail and mbox
//! (`mail-parser`), zip/tar archives and gzip/bzip2/xz/zstd compression, audio tags (`lofty`) and EXIF
//! (`kamadak-exif`). Plain text and HTML are converted by the caller's [`Plain`].

mod archive;
mod compressed;
mod context;
mod document;
mod epub;
mod error;
mod extract;
mod kind;
mod mail;
mod media;
mod odf;
mod ooxml;
mod pdf;
mod program;
mod rtf;
mod xmltext;
mod zipfile;

pub use document::{Document, Limits, MetaField, NO_EXIF, NO_TAGS, Part, Plain};
pub use error::FormatError;
pub use extract::{detect_file, extract};
pub use kind::{HEAD_LEN, Kind, detect};
pub use pdf::helper_paths;
pub use program::find_program;
