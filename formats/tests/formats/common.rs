//! Test helpers: a tiny [`Plain`] (UTF-8 text, tags stripped from HTML) and fixture extraction.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use fandex_formats::{Document, FormatError, Limits, Plain, detect, detect_file, extract};

/// UTF-8 (lossy) for text; for HTML, the text between tags with `<head>` dropped.
pub struct TestPlain;

impl Plain for TestPlain {
    fn text(&self, bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    fn html(&self, bytes: &[u8]) -> String {
        let html = String::from_utf8_lossy(bytes);
        let body = match (html.find("<head"), html.find("</head>")) {
            (Some(start), Some(end)) if start < end => {
                format!("{}{}", &html[..start], &html[end + 7..])
            }
            _ => html.into_owned(),
        };
        let mut out = String::new();
        let mut in_tag = false;
        for c in body.chars() {
            match c {
                '<' => in_tag = true,
                '>' => {
                    in_tag = false;
                    out.push(' ');
                }
                c if !in_tag => out.push(c),
                _ => {}
            }
        }
        out
    }
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Detects and extracts fixture `name` with `limits`, through an open file as the worker will.
pub fn extract_with(name: &str, limits: &Limits) -> Result<Document, FormatError> {
    let file = File::open(fixture(name)).expect("fixture exists");
    let kind = detect_file(&file, name.as_bytes()).expect("head readable");
    extract(&file, name.as_bytes(), kind, limits, &TestPlain)
}

/// Extracts fixture `name` with default limits; panics with the error if it fails.
pub fn extract_ok(name: &str) -> Document {
    extract_with(name, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Text with runs of whitespace made single spaces, for assertions that ignore layout.
pub fn squeezed(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Detects and extracts `bytes` as a file named `name`, through an open (temporary) file as the worker
/// will, with default limits and a 64 MiB budget.
pub fn extract_bytes(bytes: &[u8], name: &str) -> Result<Document, FormatError> {
    let limits = Limits {
        max_total_bytes: 64 << 20,
        ..Limits::default()
    };
    extract_bytes_with(bytes, name, &limits)
}

/// [`extract_bytes`] with `limits`.
pub fn extract_bytes_with(
    bytes: &[u8],
    name: &str,
    limits: &Limits,
) -> Result<Document, FormatError> {
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(bytes).unwrap();
    let kind = detect(
        &bytes[..bytes.len().min(fandex_formats::HEAD_LEN)],
        name.as_bytes(),
    );
    extract(&file, name.as_bytes(), kind, limits, &TestPlain)
}
