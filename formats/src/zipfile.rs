//! Reading zip containers (office documents, EPUB, archives): opening, listing and reading members with the
//! byte budget applied to what is decompressed, whatever sizes the headers claim.

use zip::ZipArchive;
use zip::result::ZipError;

use crate::context::{Cx, Input};
use crate::error::FormatError;

/// An open zip read through the caller's input.
pub(crate) type Zip<'i> = ZipArchive<&'i mut dyn Input>;

/// Opens `input` as a zip; `kind` names the format in errors.
pub(crate) fn open<'i>(
    input: &'i mut dyn Input,
    kind: &'static str,
) -> Result<Zip<'i>, FormatError> {
    input.rewind()?;
    ZipArchive::new(input).map_err(|e| error(kind, e))
}

/// Member names in archive order.
pub(crate) fn names(zip: &Zip) -> Vec<String> {
    zip.file_names().flatten().map(|n| n.into_owned()).collect()
}

/// The decompressed bytes of member `name`, or `None` when there is no such member.
pub(crate) fn read(
    zip: &mut Zip,
    name: &str,
    kind: &'static str,
    cx: &mut Cx,
) -> Result<Option<Vec<u8>>, FormatError> {
    let mut file = match zip.by_name(name) {
        Ok(file) => file,
        Err(ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(error(kind, e)),
    };
    cx.read_all(&mut file, name).map(Some)
}

/// Maps zip's errors: encryption to [`FormatError::Encrypted`], the rest to malformed.
pub(crate) fn error(kind: &'static str, e: ZipError) -> FormatError {
    match e {
        ZipError::UnsupportedArchive(ZipError::PASSWORD_REQUIRED) | ZipError::InvalidPassword => {
            FormatError::Encrypted(format!("{kind} member needs a password"))
        }
        ZipError::Io(e) => FormatError::malformed(kind, e),
        other => FormatError::malformed(kind, other),
    }
}

/// Member names that start with `prefix` and end with `suffix`, ordered by the number in them
/// (`slide2.xml` before `slide10.xml`).
pub(crate) fn numbered(names: &[String], prefix: &str, suffix: &str) -> Vec<String> {
    let mut found: Vec<(u64, String)> = names
        .iter()
        .filter(|n| {
            n.starts_with(prefix) && n.ends_with(suffix) && !n[prefix.len()..].contains('/')
        })
        .map(|n| {
            let digits: String = n[prefix.len()..]
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            (digits.parse().unwrap_or(u64::MAX), n.clone())
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, n)| n).collect()
}
