//! Line and JSON renderings of [`Change`], for `fandex watch` and logs.

use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use base64::Engine as _;

use crate::change::Change;

/// Escapes a path so it fits on one line: control characters, backslash and invalid UTF-8 are escaped
/// (`\n`, `\t`, `\\`, `\x1b`, `\xff`); everything else is printed as is.
pub fn escape_path(path: &Path) -> String {
    let bytes = path.as_os_str().as_bytes();
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("\\x{b:02x}"));
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Modified { path, .. } => write!(f, "MODIFIED {}", escape_path(path)),
            Change::Created { path, is_dir } => {
                write!(
                    f,
                    "CREATED{} {}",
                    if *is_dir { ",DIR" } else { "" },
                    escape_path(path)
                )
            }
            Change::Removed { path, is_dir } => {
                write!(
                    f,
                    "REMOVED{} {}",
                    if *is_dir { ",DIR" } else { "" },
                    escape_path(path)
                )
            }
            Change::Renamed { from, to, is_dir } => write!(
                f,
                "RENAMED{} {} -> {}",
                if *is_dir { ",DIR" } else { "" },
                escape_path(from),
                escape_path(to)
            ),
            Change::Attrib { path } => write!(f, "ATTRIB {}", escape_path(path)),
            Change::Rescan { scope, reason } => {
                write!(f, "RESCAN {} ({reason})", escape_path(scope))
            }
        }
    }
}

fn put_path(obj: &mut serde_json::Map<String, serde_json::Value>, field: &str, path: &Path) {
    let bytes = path.as_os_str().as_bytes();
    match std::str::from_utf8(bytes) {
        Ok(s) => {
            obj.insert(field.to_string(), s.into());
        }
        Err(_) => {
            obj.insert(
                field.to_string(),
                path.to_string_lossy().into_owned().into(),
            );
            obj.insert(
                format!("{field}_b64"),
                base64::engine::general_purpose::STANDARD
                    .encode(bytes)
                    .into(),
            );
        }
    }
}

impl Change {
    /// A JSON object: `{"event":"renamed","from":..,"to":..,"is_dir":..}`. A path that is not valid UTF-8 is
    /// given lossily and also as `<field>_b64` with its exact bytes (standard base64).
    pub fn to_json(&self) -> serde_json::Value {
        let mut o = serde_json::Map::new();
        let event = match self {
            Change::Modified { path, content } => {
                put_path(&mut o, "path", path);
                o.insert("has_content_fd".into(), content.is_some().into());
                "modified"
            }
            Change::Created { path, is_dir } => {
                put_path(&mut o, "path", path);
                o.insert("is_dir".into(), (*is_dir).into());
                "created"
            }
            Change::Removed { path, is_dir } => {
                put_path(&mut o, "path", path);
                o.insert("is_dir".into(), (*is_dir).into());
                "removed"
            }
            Change::Renamed { from, to, is_dir } => {
                put_path(&mut o, "from", from);
                put_path(&mut o, "to", to);
                o.insert("is_dir".into(), (*is_dir).into());
                "renamed"
            }
            Change::Attrib { path } => {
                put_path(&mut o, "path", path);
                "attrib"
            }
            Change::Rescan { scope, reason } => {
                put_path(&mut o, "scope", scope);
                o.insert("reason".into(), reason.to_string().into());
                "rescan"
            }
        };
        o.insert("event".into(), event.into());
        serde_json::Value::Object(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RescanReason;
    use std::ffi::OsStr;
    use std::path::PathBuf;

    fn p(b: &[u8]) -> PathBuf {
        PathBuf::from(OsStr::from_bytes(b))
    }

    #[test]
    fn one_event_is_one_line() {
        let c = Change::Renamed {
            from: p(b"/r/a\nb"),
            to: p(b"/r/\xff\x1b\\"),
            is_dir: false,
        };
        assert_eq!(c.to_string(), "RENAMED /r/a\\nb -> /r/\\xff\\x1b\\\\");
        let c = Change::Rescan {
            scope: p(b"/r"),
            reason: RescanReason::QueueOverflow,
        };
        assert_eq!(c.to_string(), "RESCAN /r (queue overflow)");
        let c = Change::Modified {
            path: p("/r/é".as_bytes()),
            content: None,
        };
        assert_eq!(c.to_string(), "MODIFIED /r/é");
    }

    #[test]
    fn json_keeps_exact_bytes() {
        let c = Change::Renamed {
            from: p(b"/r/a"),
            to: p(b"/r/\xffz"),
            is_dir: true,
        };
        let j = c.to_json();
        assert_eq!(j["event"], "renamed");
        assert_eq!(j["from"], "/r/a");
        assert!(j.get("from_b64").is_none());
        assert_eq!(j["is_dir"], true);
        let b = base64::engine::general_purpose::STANDARD
            .decode(j["to_b64"].as_str().unwrap_or(""))
            .unwrap();
        assert_eq!(b, b"/r/\xffz");
    }
}
