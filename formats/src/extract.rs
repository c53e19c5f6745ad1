//! The entry point: runs the parser for a [`Kind`] on an open file, and on members of containers (which
//! come back here through [`Cx::nested`], detected from their own bytes and name).

use std::fs::File;
use std::io::{Cursor, Read};

use crate::context::{Cx, Input};
use crate::document::{Document, Limits, Plain};
use crate::error::FormatError;
use crate::kind::{HEAD_LEN, Kind, detect};
use crate::{archive, compressed, epub, mail, media, odf, ooxml, pdf, rtf};

/// Extracts text, metadata and parts from `file`, read through the open descriptor from its start (the
/// path is never reopened; the file offset is moved). `name` is the file name, used for detection of
/// members only; `kind` is usually [`detect_file`]'s answer. Caps reached are recorded in
/// [`Document::notes`]; the document as a whole fails only when nothing could be read.
pub fn extract(
    file: &File,
    name: &[u8],
    kind: Kind,
    limits: &Limits,
    plain: &dyn Plain,
) -> Result<Document, FormatError> {
    let mut cx = Cx::new(limits, plain, nested);
    let mut input = file;
    run(&mut input, Some(file), name, kind, &mut cx)
}

/// Detects the kind of `file` from its first [`HEAD_LEN`] bytes (read through the descriptor from its start)
/// and its `name`.
pub fn detect_file(file: &File, name: &[u8]) -> std::io::Result<Kind> {
    let mut input = file;
    std::io::Seek::rewind(&mut input)?;
    let mut head = Vec::with_capacity(HEAD_LEN);
    input.take(HEAD_LEN as u64).read_to_end(&mut head)?;
    Ok(detect(&head, name))
}

/// A member of a container: detected from its own bytes and name, then extracted. Its bytes were taken
/// from the budget when the container read them; they are given back first because formats read whole
/// (`whole`) take them again, so each decoded byte counts once.
fn nested(bytes: &[u8], name: &[u8], cx: &mut Cx) -> Result<Document, FormatError> {
    cx.budget = (cx.budget + bytes.len() as u64).min(cx.limits.max_total_bytes);
    let kind = detect(&bytes[..bytes.len().min(HEAD_LEN)], name);
    run(&mut Cursor::new(bytes), None, name, kind, cx)
}

/// Extracts `input` of `kind`; `file` is the open file `input` reads, at the top level (a child process
/// can read its descriptor), `None` for a member in memory.
fn run(
    input: &mut dyn Input,
    file: Option<&File>,
    name: &[u8],
    kind: Kind,
    cx: &mut Cx,
) -> Result<Document, FormatError> {
    let mut doc = match kind {
        Kind::Pdf => pdf::extract(input, file, cx)?,
        Kind::Docx | Kind::Xlsx | Kind::Pptx => ooxml::extract(input, kind, cx)?,
        Kind::Odt | Kind::Ods | Kind::Odp => odf::extract_zip(input, kind, cx)?,
        Kind::FlatOdf => odf::extract_flat(&whole(input, cx)?)?,
        Kind::Epub => epub::extract(input, cx)?,
        Kind::Rtf => rtf::extract(&whole(input, cx)?)?,
        Kind::Mail => mail::extract_message(&whole(input, cx)?, cx)?,
        Kind::Mbox => mail::extract_mbox(input, cx)?,
        Kind::Zip => archive::extract_zip(input, cx)?,
        Kind::Tar => archive::extract_tar(input, cx)?,
        Kind::Gzip | Kind::Bzip2 | Kind::Xz | Kind::Zstd => {
            compressed::extract(input, kind, name, cx)?
        }
        Kind::Audio => media::extract_audio(input)?,
        Kind::Image => media::extract_image(input)?,
        Kind::Html => Document {
            text: cx.plain.html(&whole(input, cx)?),
            ..Document::new(kind.mime())
        },
        Kind::Text => Document {
            text: cx.plain.text(&whole(input, cx)?),
            ..Document::new(kind.mime())
        },
        Kind::LegacyOffice => {
            return Err(FormatError::Unsupported(
                "legacy binary office document (.doc/.xls/.ppt)".into(),
            ));
        }
        Kind::Unknown => return Err(FormatError::Unsupported("unknown type".into())),
    };
    cx.cap_text(&mut doc);
    Ok(doc)
}

/// The whole input in memory, within the limits.
fn whole(input: &mut dyn Input, cx: &mut Cx) -> Result<Vec<u8>, FormatError> {
    input.rewind()?;
    cx.read_all(input, "input")
}
