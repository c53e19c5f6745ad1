//! PDF through `pdf_oxide`, in-process: text page by page in reading order, the Info dictionary's metadata,
//! the page count. Encryption with an empty user password is opened; one that needs a password fails.

use pdf_oxide::PdfDocument;
use pdf_oxide::object::Object;

use super::outcome::{Failure, Read};
use crate::document::{Document, MetaField};
use crate::kind::Kind;

const INFO: [(&str, MetaField); 5] = [
    ("Title", MetaField::Title),
    ("Author", MetaField::Author),
    ("Subject", MetaField::Subject),
    ("Keywords", MetaField::Keywords),
    ("CreationDate", MetaField::Created),
];

/// Reads a PDF held in memory. Text beyond `max_text_bytes` is not extracted (pages stop there).
pub(super) fn read(bytes: Vec<u8>, max_text_bytes: usize) -> Result<Read, Failure> {
    let malformed = |e: &dyn std::fmt::Display| Failure::Malformed(e.to_string());
    let pdf = PdfDocument::from_bytes(bytes).map_err(|e| malformed(&e))?;
    if pdf.is_encrypted() && !pdf.is_authenticated() {
        // Opening tried the empty user password already; try once more explicitly before giving up.
        let opened = pdf.authenticate(b"").map_err(|e| malformed(&e))?;
        if !opened {
            return Err(Failure::Encrypted);
        }
    }
    let mut doc = Document::new(Kind::Pdf.mime());
    info(&pdf, &mut doc);
    let pages = pdf.page_count().map_err(|e| malformed(&e))?;
    doc.push_meta(MetaField::Pages, &pages.to_string());
    let mut failed = 0;
    for page in 0..pages {
        if doc.text.len() > max_text_bytes {
            doc.notes.push(format!(
                "cap reached: text, stopped before page {}",
                page + 1
            ));
            break;
        }
        match pdf.extract_text(page) {
            Ok(text) => {
                doc.text.push_str(text.trim_end());
                doc.text.push('\n');
            }
            Err(_) => failed += 1,
        }
    }
    if failed > 0 {
        doc.notes
            .push(format!("{failed} of {pages} pages unreadable"));
        if failed == pages {
            return Err(malformed(&"no page could be read"));
        }
    }
    Ok(Read { doc, pages })
}

/// Title, author, subject, keywords and creation date from the trailer's `/Info` dictionary, if readable.
fn info(pdf: &PdfDocument, doc: &mut Document) {
    let Some(info) = pdf.trailer().as_dict().and_then(|t| t.get("Info")).cloned() else {
        return;
    };
    let info = match info.as_reference() {
        Some(reference) => match pdf.load_object(reference) {
            Ok(object) => object,
            Err(_) => return,
        },
        None => info,
    };
    let Some(dict) = info.as_dict() else { return };
    for (key, field) in INFO {
        let value = match dict.get(key) {
            Some(Object::Reference(r)) => pdf.load_object(*r).ok(),
            other => other.cloned(),
        };
        if let Some(bytes) = value.as_ref().and_then(Object::as_string) {
            let text = text_string(bytes);
            let text = if field == MetaField::Created {
                date(&text)
            } else {
                text
            };
            doc.push_meta(field, &text);
        }
    }
}

/// A PDF text string: UTF-16BE or UTF-8 with a byte-order mark, else PDFDocEncoding (Latin-1 for text).
fn text_string(bytes: &[u8]) -> String {
    if let Some(utf16) = bytes.strip_prefix(b"\xfe\xff") {
        let units: Vec<u16> = utf16
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(utf8) = bytes.strip_prefix(b"\xef\xbb\xbf") {
        return String::from_utf8_lossy(utf8).into_owned();
    }
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// `D:YYYYMMDDHHmmSS...` as `YYYY-MM-DDTHH:mm:SS` (as much as is given); anything else unchanged.
fn date(raw: &str) -> String {
    let digits: String = raw
        .strip_prefix("D:")
        .unwrap_or(raw)
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    if digits.len() < 4 {
        return raw.to_string();
    }
    let mut out = digits[..4].to_string();
    for (i, sep) in [(4, '-'), (6, '-'), (8, 'T'), (10, ':'), (12, ':')] {
        if digits.len() >= i + 2 {
            out.push(sep);
            out.push_str(&digits[i..i + 2]);
        }
    }
    out
}
