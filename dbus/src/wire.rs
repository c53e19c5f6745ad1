//! `org.fandex.Fandex1`'s types on the bus: search options in, hits and the status report out.
//!
//! The options and hit fields are the socket protocol's ([`fandex_query::protocol`]), paths as byte
//! arrays (`ay`, exact bytes):
//!
//! | option | type | default |
//! |---|---|---|
//! | `limit` | any integer type | 20 |
//! | `snippets` | `b` | true |
//! | `cwd` | `ay` | `/` (relative `path:` filters) |
//! | `home` | `ay` | the serving process's `$HOME` (`path:~`) |
//!
//! A hit is an `a{sv}`: `path` (`ay`), `score` (`d`), `size` (`t`), `mtime_ns` (`x`), `snippet` (`s`),
//! `highlights` (`a(uu)`, byte ranges of the snippet) and, when the caller may have it, `file_id` (`t`).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use fandex_query::{Hit, SearchRequest};
use zbus::{OwnedVariant, Variant, fdo};

/// Hits returned when the options give no `limit`.
pub const DEFAULT_LIMIT: usize = 20;

/// A dictionary of named values (`a{sv}`).
pub type Dict = HashMap<String, OwnedVariant>;

/// The request for `query` with `options`; an unknown option or a value of the wrong type is refused.
pub fn request(query: String, options: &Dict) -> fdo::Result<SearchRequest> {
    let mut request = SearchRequest {
        query,
        limit: DEFAULT_LIMIT,
        cwd: PathBuf::from("/"),
        snippets: true,
        home: None,
        ..SearchRequest::default()
    };
    for (name, value) in options {
        match name.as_str() {
            "limit" => request.limit = integer(name, value)?,
            "snippets" => {
                request.snippets = bool::try_from(value).map_err(|_| wrong_type(name, "b"))?
            }
            "cwd" => request.cwd = path(name, value)?,
            "home" => request.home = Some(path(name, value)?),
            other => {
                return Err(fdo::Error::InvalidArgs(format!(
                    "unknown search option {other:?} (known: limit, snippets, cwd, home)"
                )));
            }
        }
    }
    Ok(request)
}

fn wrong_type(name: &str, expected: &str) -> fdo::Error {
    fdo::Error::InvalidArgs(format!("search option {name:?} must be of type {expected}"))
}

fn integer(name: &str, value: &OwnedVariant) -> fdo::Result<usize> {
    let number: Option<u64> = u64::try_from(value)
        .ok()
        .or_else(|| u32::try_from(value).ok().map(u64::from))
        .or_else(|| u16::try_from(value).ok().map(u64::from))
        .or_else(|| u8::try_from(value).ok().map(u64::from))
        .or_else(|| {
            i64::try_from(value)
                .ok()
                .and_then(|n| u64::try_from(n).ok())
        })
        .or_else(|| {
            i32::try_from(value)
                .ok()
                .and_then(|n| u64::try_from(n).ok())
        })
        .or_else(|| {
            i16::try_from(value)
                .ok()
                .and_then(|n| u64::try_from(n).ok())
        });
    number
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| wrong_type(name, "a non-negative integer"))
}

fn path(name: &str, value: &OwnedVariant) -> fdo::Result<PathBuf> {
    let bytes = Vec::<u8>::try_from(
        value
            .try_clone()
            .map_err(|e| fdo::Error::Failed(e.to_string()))?,
    )
    .map_err(|_| wrong_type(name, "ay"))?;
    Ok(PathBuf::from(OsStr::from_bytes(&bytes)))
}

fn owned(value: Variant<'_>) -> Option<OwnedVariant> {
    OwnedVariant::try_from(value).ok()
}

/// One hit as a dictionary; `share_ids` false leaves the file id out.
pub fn hit(hit: &Hit, share_ids: bool) -> Dict {
    let highlights: Vec<(u32, u32)> = hit
        .snippet
        .highlights
        .iter()
        .map(|r| (clamp(r.start), clamp(r.end)))
        .collect();
    let mut entries = vec![
        (
            "path",
            Variant::from(hit.path.as_os_str().as_bytes().to_vec()),
        ),
        ("score", Variant::from(f64::from(hit.score))),
        ("size", Variant::from(hit.size)),
        ("mtime_ns", Variant::from(hit.mtime_ns)),
        ("snippet", Variant::from(hit.snippet.text.clone())),
        ("highlights", Variant::from(highlights)),
    ];
    if let (Some(id), true) = (hit.file_id, share_ids) {
        entries.push(("file_id", Variant::from(id)));
    }
    entries
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_owned(), owned(v)?)))
        .collect()
}

fn clamp(offset: usize) -> u32 {
    u32::try_from(offset).unwrap_or(u32::MAX)
}

/// A JSON status report as a dictionary: objects become `a{sv}`, arrays `av`, numbers `t`, `x` or `d`,
/// strings `s`, booleans `b`; nulls are left out.
pub fn status(report: &serde_json::Value) -> Dict {
    match report {
        serde_json::Value::Object(map) => map
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), owned(json_variant(v)?)?)))
            .collect(),
        other => json_variant(other)
            .and_then(owned)
            .map(|v| HashMap::from([("value".to_owned(), v)]))
            .unwrap_or_default(),
    }
}

fn json_variant(value: &serde_json::Value) -> Option<Variant<'static>> {
    use serde_json::Value as J;
    Some(match value {
        J::Null => return None,
        J::Bool(b) => Variant::from(*b),
        J::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Variant::from(u),
            (None, Some(i)) => Variant::from(i),
            _ => Variant::from(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Variant::from(s.clone()),
        J::Array(items) => {
            let items: Vec<Variant<'static>> = items
                .iter()
                .filter_map(json_variant)
                .map(|v| Variant::Variant(Box::new(v)))
                .collect();
            Variant::from(items)
        }
        J::Object(_) => Variant::from(status(value)),
    })
}
