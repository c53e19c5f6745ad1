//! Complex documents in the extract stage: which files go to the [`DocumentParser`] (decided from their
//! first bytes and name), hashing them, parsing them, and flattening a parsed document with its nested
//! parts into the [`Piece`]s the apply stage indexes.

use std::fs::File;
use std::io::{Read, Seek};
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use fandex_formats::{Document, Kind, MetaField, Part};
use fandex_schema::{DocMeta, PART_SEPARATOR, mime};
use tracing::debug;

use super::job::{Piece, same_content};
use super::summary::Progress;
use crate::catalog::{FileRecord, Status};
use crate::extract::{DocumentParser, Limits};

/// How files are read: the extraction caps, the parser of complex documents and the cap on parts.
#[derive(Debug, Clone)]
pub(super) struct Reading {
    pub(super) limits: Limits,
    pub(super) parser: Option<Arc<dyn DocumentParser>>,
    /// Most parts indexed per file (`index.max_parts_per_file`).
    pub(super) max_parts: usize,
}

/// Bytes read at a time while hashing.
const HASH_CHUNK: usize = 64 * 1024;

/// The first bytes of `file` (at most [`fandex_formats::HEAD_LEN`]), read with `pread` so the file
/// offset is untouched.
pub(super) fn read_head(file: &File) -> std::io::Result<Vec<u8>> {
    let mut head = vec![0u8; fandex_formats::HEAD_LEN];
    let mut filled = 0;
    while filled < head.len() {
        match file.read_at(&mut head[filled..], filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(filled);
    Ok(head)
}

/// Whether a file of `kind` whose first bytes are `head` is a document for the parser (`parser`: whether
/// there is one). Text, HTML and anything unknown (binary) take the indexer's own path, and so does gzip
/// unless it holds a tar archive (a `.gz` of text is decompressed there, as it always was). Without a
/// parser, kinds that path reads as it always did (mail, RTF and flat ODF as text, images and audio as
/// binary) stay on it; the others (PDF above all: never decoded as text) are recorded as unsupported.
pub fn is_document(kind: Kind, head: &[u8], parser: bool) -> bool {
    match kind {
        Kind::Text | Kind::Html | Kind::Unknown => false,
        Kind::Gzip => gzip_holds_tar(head),
        Kind::Mail | Kind::Mbox | Kind::Rtf | Kind::FlatOdf | Kind::Image | Kind::Audio => parser,
        _ => true,
    }
}

/// Whether the gzip stream starting with `head` decompresses to a tar archive (`ustar` at offset 257).
fn gzip_holds_tar(head: &[u8]) -> bool {
    let mut start = [0u8; 262];
    let mut decoder = flate2::read::GzDecoder::new(head);
    let mut filled = 0;
    while filled < start.len() {
        match decoder.read(&mut start[filled..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => filled += n,
        }
    }
    filled == start.len() && &start[257..262] == b"ustar"
}

/// Reads the document open as `file` (named `name`, detected as `kind`): hashes its bytes into `record`,
/// then parses it, unless its content is what `old` recorded (no documents then: the stored ones stay).
/// Without a parser, for a kind no parser reads, or when parsing fails, the file is indexed by name and
/// `record.error` says why (status failed). A parsed document whose notes say something is missing (a
/// scanned PDF without text, an encrypted member, a cap reached) is indexed with `record.error` holding
/// those notes ([`reason_of`]), status indexed.
pub(super) fn read_document(
    file: &File,
    name: &[u8],
    kind: Kind,
    old: Option<&FileRecord>,
    record: &mut FileRecord,
    reading: &Reading,
    progress: &Progress,
) -> Vec<Piece> {
    let mime = mime::refine(kind.mime(), name);
    let bare = || vec![Piece::file(mime, String::new())];
    match hash_file(file, reading.limits.max_read_bytes) {
        Ok((hash, read)) => {
            progress.bytes.fetch_add(read, Ordering::Relaxed);
            record.hash = Some(hash);
        }
        Err(err) => {
            record.error = Some(format!("read failed: {err}"));
            return bare();
        }
    }
    if let Some(old) = old
        && same_content(old, record)
    {
        record.status = old.status;
        record.truncated = old.truncated;
        record.error.clone_from(&old.error);
        return Vec::new();
    }
    let parser = match (&reading.parser, kind) {
        (_, Kind::LegacyOffice) => {
            record.error = Some(
                "unsupported format: legacy binary office document (.doc/.xls/.ppt)".to_owned(),
            );
            return bare();
        }
        (None, _) => {
            record.error = Some(format!("unsupported format: no document parser ({mime})"));
            return bare();
        }
        (Some(parser), _) => parser,
    };
    let mut input = file;
    if let Err(err) = input.rewind() {
        record.error = Some(format!("read failed: {err}"));
        return bare();
    }
    match parser.parse(file, name, kind) {
        Ok(doc) => {
            record.status = Status::Indexed;
            record.error = reason_of(&doc);
            let (pieces, truncated) = flatten(doc, name, reading.max_parts);
            record.truncated = truncated;
            pieces
        }
        Err(err) => {
            debug!(error = %err, "document parser failed");
            record.error = Some(err.0);
            bare()
        }
    }
}

/// blake3 of the first `max` bytes of `file` (read with `pread`), and how many bytes that was.
fn hash_file(file: &File, max: u64) -> std::io::Result<([u8; 32], u64)> {
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; HASH_CHUNK];
    let mut at = 0u64;
    while at < max {
        let want = usize::try_from((max - at).min(HASH_CHUNK as u64)).unwrap_or(HASH_CHUNK);
        match file.read_at(&mut buf[..want], at) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                at += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((*hasher.finalize().as_bytes(), at))
}

/// The file's document, then every part depth first (a part before its own parts), names of nested parts
/// joined by [`PART_SEPARATOR`], at most `max_parts` parts. Returns whether anything was cut (a cap of the
/// parser, noted on a document, or `max_parts`).
pub(super) fn flatten(doc: Document, name: &[u8], max_parts: usize) -> (Vec<Piece>, bool) {
    let mut truncated = is_cut(&doc);
    let mut pieces = Vec::new();
    let (mut first, parts) = piece_of(doc, String::new(), 0);
    first.meta.mime = mime::refine(&first.meta.mime, name).to_owned();
    pieces.push(first);
    let mut stack: Vec<(String, std::vec::IntoIter<Part>)> =
        vec![(String::new(), parts.into_iter())];
    while let Some((prefix, iter)) = stack.last_mut() {
        let Some(part) = iter.next() else {
            stack.pop();
            continue;
        };
        if pieces.len() > max_parts {
            truncated = true;
            break;
        }
        truncated |= is_cut(&part.document);
        let full = if prefix.is_empty() {
            part.name.clone()
        } else {
            format!("{prefix}{PART_SEPARATOR}{}", part.name)
        };
        let ord = pieces.len() as u64;
        let (mut piece, nested) = piece_of(part.document, full.clone(), ord);
        piece.meta.mime = mime::refine(&piece.meta.mime, part.name.as_bytes()).to_owned();
        pieces.push(piece);
        if !nested.is_empty() {
            stack.push((full, nested.into_iter()));
        }
    }
    (pieces, truncated)
}

/// Most notes a reason names one by one; the others are counted.
const REASON_NOTES: usize = 3;
/// Longest reason kept, in bytes (cut at a character boundary).
const MAX_REASON_BYTES: usize = 600;

/// What the notes of a parsed document and its parts say is missing ([`Document::is_loss`]), as the
/// file's status reason: a part's notes prefixed with its name (`docs/x.pdf: encrypted: needs a
/// password`), depth first, the first [`REASON_NOTES`] joined by `; `, then how many more. `None` when
/// nothing is missing.
pub(super) fn reason_of(doc: &Document) -> Option<String> {
    let mut named = Vec::new();
    let mut count = 0usize;
    let mut stack: Vec<(String, &Document)> = vec![(String::new(), doc)];
    while let Some((name, doc)) = stack.pop() {
        for note in doc.notes.iter().filter(|note| Document::is_loss(note)) {
            count += 1;
            if named.len() < REASON_NOTES {
                named.push(if name.is_empty() {
                    note.clone()
                } else {
                    format!("{name}: {note}")
                });
            }
        }
        for part in doc.parts.iter().rev() {
            let full = if name.is_empty() {
                part.name.clone()
            } else {
                format!("{name}{PART_SEPARATOR}{}", part.name)
            };
            stack.push((full, &part.document));
        }
    }
    if count == 0 {
        return None;
    }
    let mut reason = named.join("; ");
    if count > named.len() {
        reason.push_str(&format!("; and {} more", count - named.len()));
    }
    if reason.len() > MAX_REASON_BYTES {
        let mut end = MAX_REASON_BYTES;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
        reason.push('…');
    }
    Some(reason)
}

fn is_cut(doc: &Document) -> bool {
    doc.notes.iter().any(|n| n.starts_with("cap reached"))
}

/// The piece of one document (its own text and metadata) and its parts.
fn piece_of(doc: Document, part: String, part_ord: u64) -> (Piece, Vec<Part>) {
    let mut meta = DocMeta {
        part,
        part_ord,
        mime: doc.mime.to_owned(),
        ..DocMeta::default()
    };
    for (field, value) in doc.meta {
        let into = match field {
            MetaField::Title => &mut meta.title,
            MetaField::Author | MetaField::From | MetaField::Artist => &mut meta.author,
            MetaField::Subject => &mut meta.subject,
            _ => &mut meta.meta,
        };
        into.push(value);
    }
    (
        Piece {
            meta,
            text: doc.text,
        },
        doc.parts,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(mime: &'static str, text: &str, parts: Vec<Part>) -> Document {
        Document {
            text: text.into(),
            parts,
            ..Document::new(mime)
        }
    }

    fn part(name: &str, document: Document) -> Part {
        Part {
            name: name.into(),
            document,
        }
    }

    #[test]
    fn nested_parts_are_flattened_depth_first() {
        let inner = doc("application/pdf", "pdf text", Vec::new());
        let mail = doc("message/rfc822", "body", vec![part("a.pdf", inner)]);
        let top = doc(
            "application/mbox",
            "",
            vec![
                part("message 1: Hi", mail),
                part("message 2", doc("message/rfc822", "two", Vec::new())),
            ],
        );
        let (pieces, cut) = flatten(top, b"box.mbox", 100);
        assert!(!cut);
        let names: Vec<(&str, u64)> = pieces
            .iter()
            .map(|p| (p.meta.part.as_str(), p.meta.part_ord))
            .collect();
        assert_eq!(
            names,
            [
                ("", 0),
                ("message 1: Hi", 1),
                ("message 1: Hi » a.pdf", 2),
                ("message 2", 3)
            ]
        );
        assert_eq!(pieces[2].text, "pdf text");
        let (pieces, cut) = flatten(pieces_doc(5), b"x.zip", 3);
        assert!(cut);
        assert_eq!(pieces.len(), 4, "the file and 3 parts");
    }

    fn pieces_doc(n: usize) -> Document {
        let parts = (0..n)
            .map(|i| part(&format!("m{i}"), doc("text/plain", "t", Vec::new())))
            .collect();
        doc("application/zip", "", parts)
    }

    fn noted(mime: &'static str, notes: &[&str], parts: Vec<Part>) -> Document {
        Document {
            notes: notes.iter().map(|n| n.to_string()).collect(),
            ..doc(mime, "", parts)
        }
    }

    #[test]
    fn notes_of_a_document_and_its_parts_are_its_reason() {
        assert_eq!(reason_of(&doc("application/pdf", "text", Vec::new())), None);
        let scanned = noted("application/pdf", &["scanned: no text layer"], Vec::new());
        assert_eq!(
            reason_of(&scanned).as_deref(),
            Some("scanned: no text layer")
        );
        // Informational notes are no reason.
        let song = noted("audio/mpeg", &[fandex_formats::NO_TAGS], Vec::new());
        assert_eq!(reason_of(&song), None);
        let inner = noted(
            "application/zip",
            &[],
            vec![part(
                "secret.pdf",
                noted(
                    "application/pdf",
                    &["encrypted: needs a password"],
                    Vec::new(),
                ),
            )],
        );
        let zip = noted(
            "application/zip",
            &["cap reached: parts (2)"],
            vec![
                part(
                    "a.jpg",
                    noted("image/jpeg", &[fandex_formats::NO_EXIF], Vec::new()),
                ),
                part("inner.zip", inner),
                part(
                    "b.pdf",
                    noted("application/pdf", &["1 of 3 pages unreadable"], Vec::new()),
                ),
                part(
                    "c.pdf",
                    noted("application/pdf", &["scanned: no text layer"], Vec::new()),
                ),
            ],
        );
        assert_eq!(
            reason_of(&zip).as_deref(),
            Some(
                "cap reached: parts (2); inner.zip » secret.pdf: encrypted: needs a password; \
                 b.pdf: 1 of 3 pages unreadable; and 1 more"
            )
        );
        let long = noted("application/pdf", &[&"x".repeat(5000)], Vec::new());
        assert!(reason_of(&long).unwrap().len() <= MAX_REASON_BYTES + '…'.len_utf8());
    }

    #[test]
    fn gzip_of_tar_is_told_from_gzip_of_text() {
        use std::io::Write;
        let gz = |bytes: &[u8]| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(bytes).unwrap();
            e.finish().unwrap()
        };
        let mut tar = vec![0u8; 1024];
        tar[257..262].copy_from_slice(b"ustar");
        assert!(is_document(Kind::Gzip, &gz(&tar), true));
        assert!(!is_document(
            Kind::Gzip,
            &gz(&b"plain text ".repeat(100)),
            true
        ));
        assert!(is_document(Kind::Pdf, b"%PDF-1.4", false));
        for kind in [
            Kind::Pdf,
            Kind::Docx,
            Kind::Mbox,
            Kind::Zip,
            Kind::Xz,
            Kind::LegacyOffice,
        ] {
            assert!(is_document(kind, b"", true), "{kind:?}");
        }
        for kind in [Kind::Text, Kind::Html, Kind::Unknown] {
            assert!(!is_document(kind, b"", true), "{kind:?}");
        }
        assert!(!is_document(Kind::Text, b"hello", true));
        assert!(!is_document(
            Kind::Mail,
            b"From: a@b\nSubject: x\n\nhi",
            false
        ));
        assert!(is_document(
            Kind::Mail,
            b"From: a@b\nSubject: x\n\nhi",
            true
        ));
    }
}
