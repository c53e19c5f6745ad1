//! Result ids for the shell providers: a D-Bus string naming one file's exact path bytes.
//!
//! A UTF-8 path is its own id (absolute, so it starts with `/`); any other path is `x:` followed by the
//! hex of its bytes. Both decode back to the same bytes, and nothing else decodes.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

const HEX_PREFIX: &str = "x:";

/// The id of `path`.
pub fn encode(path: &Path) -> String {
    match path.to_str() {
        Some(text) if text.starts_with('/') => text.to_owned(),
        _ => {
            let mut id = String::from(HEX_PREFIX);
            for byte in path.as_os_str().as_bytes() {
                id.push_str(&format!("{byte:02x}"));
            }
            id
        }
    }
}

/// The absolute path an id names, or `None` for a string that is not an id.
pub fn decode(id: &str) -> Option<PathBuf> {
    let bytes = match id.strip_prefix(HEX_PREFIX) {
        Some(hex) => {
            if hex.len() % 2 != 0 || !hex.is_ascii() {
                return None;
            }
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok())
                .collect::<Option<Vec<u8>>>()?
        }
        None => id.as_bytes().to_vec(),
    };
    (bytes.first() == Some(&b'/') && !bytes.contains(&0))
        .then(|| PathBuf::from(OsStr::from_bytes(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_any_path_bytes() {
        for raw in [&b"/a/b c.md"[..], b"/x/\xff\xfe\n", b"/caf\xc3\xa9"] {
            let path = PathBuf::from(OsStr::from_bytes(raw));
            assert_eq!(decode(&encode(&path)).unwrap(), path);
        }
        assert_eq!(encode(Path::new("/a")), "/a");
        for bad in ["relative", "x:2", "x:zz", "x:61", "", "/a\0b"] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }
}
