//! Test helpers: a tiny [`Plain`] (UTF-8 text, tags stripped from HTML) and fixture extraction.

use std::fs::File;
use std::path::PathBuf;

use fandex_formats::{Document, FormatError, Limits, Plain, detect_file, extract};

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
