//! Archives: zip and tar members become parts named by their path, their content extracted recursively
//! (depth, part count and decompressed bytes bounded by the limits; a member too big is listed by name).

use std::io::Read;

use crate::context::{Cx, Input};
use crate::document::{Document, Part};
use crate::error::FormatError;
use crate::kind::Kind;
use crate::zipfile;

/// Extracts the members of a zip read through `input`.
pub(crate) fn extract_zip(input: &mut dyn Input, cx: &mut Cx) -> Result<Document, FormatError> {
    let mut zip = zipfile::open(input, "zip")?;
    let mut doc = Document::new(Kind::Zip.mime());
    for index in 0..zip.len() {
        if !cx.room_for_part(&mut doc) {
            break;
        }
        let mut member = match zip.by_index(index) {
            Ok(member) => member,
            Err(e) => {
                doc.notes.push(format!(
                    "member {}: {}",
                    index + 1,
                    zipfile::error("zip", e)
                ));
                continue;
            }
        };
        if member.is_dir() {
            continue;
        }
        let name = String::from_utf8_lossy(member.name_raw()).into_owned();
        let document = if member.encrypted() {
            Document::failed("encrypted: needs a password")
        } else {
            member_document(&mut member, &name, cx)
        };
        doc.parts.push(Part { name, document });
    }
    Ok(doc)
}

/// Extracts the regular-file members of a tar read through `input`.
pub(crate) fn extract_tar(input: &mut dyn Input, cx: &mut Cx) -> Result<Document, FormatError> {
    input.rewind()?;
    let mut doc = Document::new(Kind::Tar.mime());
    let mut archive = tar::Archive::new(input);
    let entries = archive
        .entries()
        .map_err(|e| FormatError::malformed("tar", e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| FormatError::malformed("tar", e))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        if !cx.room_for_part(&mut doc) {
            break;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let document = member_document(&mut entry, &name, cx);
        doc.parts.push(Part { name, document });
    }
    Ok(doc)
}

/// One member's document; a member over the caps or failing to parse keeps only the reason.
fn member_document(member: &mut dyn Read, name: &str, cx: &mut Cx) -> Document {
    let result = cx
        .read_all(member, name)
        .and_then(|bytes| cx.nested(&bytes, name.as_bytes()));
    result.unwrap_or_else(|e| Document::failed(&e.to_string()))
}
