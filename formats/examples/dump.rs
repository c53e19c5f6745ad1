//! Extracts every file under a directory with fandex-formats in this process and writes what it found
//! (text, metadata values, parts' texts) to `OUT/REL_PATH.txt`, with one line per file on stdout:
//! `seconds<TAB>status<TAB>path`. A development tool for measuring the parsers alone against reference
//! extractors (bench/formats/refs.py); the daemon runs them in sandboxed workers instead.
//!
//! Usage: `cargo run --example dump -- CORPUS_DIR OUT_DIR`

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Instant;

use fandex_formats::{Document, Limits, Plain};

/// Plain text as lossy UTF-8, HTML with its tags dropped: enough for measuring the parsers.
struct Crude;

impl Plain for Crude {
    fn text(&self, bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    fn html(&self, bytes: &[u8]) -> String {
        let mut out = String::new();
        let mut in_tag = false;
        for c in String::from_utf8_lossy(bytes).chars() {
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

fn flatten(doc: &Document, out: &mut String) {
    for (_, value) in &doc.meta {
        out.push_str(value);
        out.push('\n');
    }
    out.push_str(&doc.text);
    out.push('\n');
    for part in &doc.parts {
        out.push_str(&part.name);
        out.push('\n');
        flatten(&part.document, out);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [corpus, out_dir] = &args[..] else {
        return Err("usage: dump CORPUS_DIR OUT_DIR".into());
    };
    let mut stack = vec![Path::new(corpus).to_path_buf()];
    let mut files = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let stdout = std::io::stdout();
    for path in files {
        let rel = path.strip_prefix(corpus)?;
        let name = path.file_name().map_or(&[][..], |n| n.as_bytes());
        let started = Instant::now();
        let file = std::fs::File::open(&path)?;
        let result = fandex_formats::detect_file(&file, name)
            .map_err(|e| e.to_string())
            .and_then(|kind| {
                fandex_formats::extract(&file, name, kind, &Limits::default(), &Crude)
                    .map_err(|e| e.to_string())
            });
        let seconds = started.elapsed().as_secs_f64();
        let status = match &result {
            Ok(doc) if doc.notes.is_empty() => "ok".to_owned(),
            Ok(doc) => format!("ok ({})", doc.notes.join("; ")),
            Err(err) => format!("failed: {err}"),
        };
        if let Ok(doc) = result {
            let mut text = String::new();
            flatten(&doc, &mut text);
            let target = Path::new(out_dir).join(format!("{}.txt", rel.display()));
            std::fs::create_dir_all(target.parent().unwrap_or(Path::new(out_dir)))?;
            std::fs::write(&target, text)?;
        }
        writeln!(stdout.lock(), "{seconds:.3}\t{status}\t{}", rel.display())?;
    }
    Ok(())
}
