//! PDF: text page by page in reading order, the Info dictionary's metadata (title, author, subject,
//! keywords, creation date) and the page count, read by poppler's `pdftotext` run as a child process
//! (`poppler`) when [`crate::Limits::pdftotext`] names it, else by `pdf_oxide` in-process (`oxide`), which
//! also reads the PDF when the program cannot start (not installed, not allowed): no PDF is lost for want
//! of poppler.
//!
//! Why poppler first (measured, BENCHMARKS.md): the same CPU time as `pdf_oxide` over the `formats`
//! corpus, a third to a half of its memory (the largest manual: 147 against 266 MiB), and its text is what
//! Recoll indexes and what the fidelity measure compares with.
//!
//! What both share lives here: encryption with an empty user password is opened, one that needs a password
//! is an error; a PDF with pages but no text layer is noted as scanned, unless the file was cut short: a PDF
//! ends with `%%EOF`, and one that does not is truncated (an error when no text could be read, else a note).

mod outcome;
mod oxide;
mod poppler;

use std::fs::File;
use std::io::{Read as _, SeekFrom};

use crate::context::{Cx, Input};
use crate::document::Document;
use crate::error::FormatError;

pub use poppler::helper_paths;

use outcome::{Failure, Read};

/// Why a PDF is called truncated: the end-of-file marker every complete PDF ends with is missing.
const TRUNCATED: &str = "truncated: no %%EOF at its end";

/// How far from the end of the file `%%EOF` is looked for (what PDF readers accept: trailing bytes after
/// the marker are common).
const EOF_WINDOW: u64 = 1024;

/// Extracts the PDF `input` (the open `file` itself at the top level, where `pdftotext` reads its
/// descriptor; a member's bytes otherwise, which are piped to it).
pub(crate) fn extract(
    input: &mut dyn Input,
    file: Option<&File>,
    cx: &mut Cx,
) -> Result<Document, FormatError> {
    let truncated = !ends_with_eof_marker(input)?;
    let max_text = cx.limits.max_text_bytes;
    let mut bytes = None;
    if let Some(program) = cx.limits.pdftotext.clone() {
        let stdin = match file {
            Some(file) => {
                let size = input.seek(SeekFrom::End(0))?;
                let cap = cx.limits.max_input_bytes;
                if size > cap {
                    return Err(FormatError::Limit(format!("input larger than {cap} bytes")));
                }
                input.rewind()?;
                poppler::Stdin::File(file)
            }
            None => poppler::Stdin::Bytes(bytes.insert(whole(input, cx)?)),
        };
        // A program that could not start falls through to pdf_oxide; so does a truncated file poppler
        // cannot open (no trailer): pdf_oxide rebuilds the index from the objects and keeps the pages
        // that are there.
        match poppler::read(&program, stdin, max_text) {
            Ok(Err(Failure::Malformed(_))) if truncated => {}
            Ok(read) => return finish(read, truncated),
            Err(_) => {}
        }
    }
    let bytes = match bytes {
        Some(bytes) => bytes,
        None => whole(input, cx)?,
    };
    finish(oxide::read(bytes, max_text), truncated)
}

/// The whole input in memory, within the limits.
fn whole(input: &mut dyn Input, cx: &mut Cx) -> Result<Vec<u8>, FormatError> {
    input.rewind()?;
    cx.read_all(input, "input")
}

/// Whether `input` ends with the `%%EOF` marker (within the last [`EOF_WINDOW`] bytes).
fn ends_with_eof_marker(input: &mut dyn Input) -> std::io::Result<bool> {
    let size = input.seek(SeekFrom::End(0))?;
    input.seek(SeekFrom::Start(size.saturating_sub(EOF_WINDOW)))?;
    let mut tail = Vec::with_capacity(EOF_WINDOW as usize);
    input.take(EOF_WINDOW).read_to_end(&mut tail)?;
    Ok(tail.windows(5).any(|w| w == b"%%EOF"))
}

/// The document a reader's result makes, judged the same way for both: scanned, truncated or failed.
fn finish(read: Result<Read, Failure>, truncated: bool) -> Result<Document, FormatError> {
    let malformed = |reason: &str| {
        if truncated {
            FormatError::malformed("pdf", format!("{TRUNCATED} ({reason})"))
        } else {
            FormatError::malformed("pdf", reason)
        }
    };
    let Read { mut doc, pages } = match read {
        Ok(read) => read,
        Err(Failure::Encrypted) => {
            return Err(FormatError::Encrypted("needs a password".to_string()));
        }
        Err(Failure::Malformed(reason)) => return Err(malformed(&reason)),
    };
    if doc.text.trim().is_empty() {
        // A cut-off file's pages lose their content streams: no text is not a scan then.
        if truncated {
            return Err(malformed("no text could be read"));
        }
        if pages > 0 {
            doc.notes.push("scanned: no text layer".to_string());
        }
    } else if truncated {
        doc.notes.push(format!("{TRUNCATED}: text may be missing"));
    }
    Ok(doc)
}
