//! Result ids for the shell providers: a D-Bus string naming one hit, a file's exact path bytes and, for
//! a part of a file (an archive member, a message of a mailbox), the part's name.
//!
//! A file with a UTF-8 path is its own id (absolute, so it starts with `/`); any other path is `x:`
//! followed by the hex of its bytes. A part is `p:`, the hex of the path's bytes, `:` and the part's name,
//! so two parts of one archive have ids of their own. All decode back to the same path bytes and part,
//! and nothing else decodes.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

const HEX_PREFIX: &str = "x:";
const PART_PREFIX: &str = "p:";

/// What an id names: a file, or one part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultId {
    /// The file on disk.
    pub path: PathBuf,
    /// The part of the file (nested parts joined by ` » `); `None` for the file itself.
    pub part: Option<String>,
}

/// The id of the file `path`, or of its part `part`.
pub fn encode(path: &Path, part: Option<&str>) -> String {
    match (part, path.to_str()) {
        (Some(part), _) => format!("{PART_PREFIX}{}:{part}", hex(path)),
        (None, Some(text)) if text.starts_with('/') => text.to_owned(),
        (None, _) => format!("{HEX_PREFIX}{}", hex(path)),
    }
}

fn hex(path: &Path) -> String {
    path.as_os_str()
        .as_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn unhex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || !hex.is_ascii() {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
        .collect()
}

/// The file (and part) an id names, or `None` for a string that is not an id.
pub fn decode(id: &str) -> Option<ResultId> {
    let (bytes, part) = if let Some(rest) = id.strip_prefix(PART_PREFIX) {
        let (hex, part) = rest.split_once(':')?;
        (unhex(hex)?, Some(part.to_owned()))
    } else if let Some(hex) = id.strip_prefix(HEX_PREFIX) {
        (unhex(hex)?, None)
    } else {
        (id.as_bytes().to_vec(), None)
    };
    (bytes.first() == Some(&b'/') && !bytes.contains(&0)).then(|| ResultId {
        path: PathBuf::from(OsStr::from_bytes(&bytes)),
        part,
    })
}

/// The path `id` names (the file, or the container of the part), or `None` for a string that is not an id.
pub fn decode_path(id: &str) -> Option<PathBuf> {
    decode(id).map(|id| id.path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_any_path_bytes_and_parts() {
        for raw in [&b"/a/b c.md"[..], b"/x/\xff\xfe\n", b"/caf\xc3\xa9"] {
            let path = PathBuf::from(OsStr::from_bytes(raw));
            for part in [None, Some("docs/x.pdf"), Some("a.zip » b: c.txt"), Some("")] {
                let id = encode(&path, part);
                let back = decode(&id).unwrap();
                assert_eq!(back.path, path, "{id}");
                assert_eq!(back.part.as_deref(), part, "{id}");
            }
        }
        assert_eq!(encode(Path::new("/a"), None), "/a");
        assert_ne!(
            encode(Path::new("/a.zip"), Some("x.txt")),
            encode(Path::new("/a.zip"), Some("y.txt")),
            "two parts of one file have ids of their own"
        );
        for bad in [
            "relative", "x:2", "x:zz", "x:61", "", "/a\0b", "p:2f61", "p:zz:x", "p:61:x",
        ] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }
}
