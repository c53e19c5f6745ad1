//! How `fandex extract` prints what it extracted: for people (a heading per document and part) or as one
//! JSON object per file.

use std::io::Write;
use std::path::PathBuf;

use fandex::formats::{Document, Kind, MetaField};
// Separates the names of nested parts (`mail.eml » archive.zip » notes.txt`), as search results do.
use fandex::indexer::schema::PART_SEPARATOR;
use fandex::watcher::escape_path;
use serde_json::{Map, Value, json};

/// What was extracted from one file, as printed.
pub struct Extraction {
    /// The file as given.
    pub path: PathBuf,
    /// Its detected kind.
    pub kind: Kind,
    /// The document (for plain text and HTML: the in-process extractor's text, as the index holds it).
    pub document: Document,
}

/// A document's parts, nested ones flattened in order with their names joined by [`PART_SEPARATOR`].
fn flat_parts(document: &Document) -> Vec<(String, &Document)> {
    let mut out = Vec::new();
    for part in &document.parts {
        out.push((part.name.clone(), &part.document));
        for (name, nested) in flat_parts(&part.document) {
            out.push((format!("{}{PART_SEPARATOR}{name}", part.name), nested));
        }
    }
    out
}

/// The metadata as (name, value) pairs in document order, the values of a repeated field (several
/// authors) joined with "; ".
fn meta_pairs(meta: &[(MetaField, String)]) -> Vec<(&'static str, String)> {
    let mut pairs: Vec<(&'static str, String)> = Vec::new();
    for (field, value) in meta {
        match pairs.iter_mut().find(|(name, _)| *name == field.name()) {
            Some((_, joined)) => {
                joined.push_str("; ");
                joined.push_str(value);
            }
            None => pairs.push((field.name(), value.clone())),
        }
    }
    pairs
}

/// `text` safe for a terminal: control characters other than line breaks and tabs (escape sequences a
/// hostile document could carry) are shown escaped; with `one_line`, line breaks too.
fn printable(text: &str, one_line: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\t' if !one_line => out.push(c),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// The kind's name, as in the JSON (`pdf`, `flat_odf`).
fn kind_name(kind: Kind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Prints one file for people: a heading per document and part, its metadata and notes, then its text.
pub fn print_human(out: &mut impl Write, extraction: &Extraction) -> std::io::Result<()> {
    let path = escape_path(&extraction.path);
    let doc = &extraction.document;
    writeln!(
        out,
        "== {path}: {} ({})",
        doc.mime,
        kind_name(extraction.kind)
    )?;
    print_body(out, doc)?;
    for (name, part) in flat_parts(doc) {
        writeln!(
            out,
            "== {path}{PART_SEPARATOR}{}: {}",
            printable(&name, true),
            part.mime
        )?;
        print_body(out, part)?;
    }
    Ok(())
}

fn print_body(out: &mut impl Write, doc: &Document) -> std::io::Result<()> {
    for (name, value) in meta_pairs(&doc.meta) {
        writeln!(out, "{name}: {}", printable(&value, true))?;
    }
    for note in &doc.notes {
        writeln!(out, "note: {}", printable(note, true))?;
    }
    if !doc.text.is_empty() {
        writeln!(out)?;
        let text = printable(&doc.text, false);
        writeln!(out, "{}", text.trim_end_matches('\n'))?;
    }
    writeln!(out)
}

/// The JSON fields of one document, without its parts.
fn document_json(doc: &Document) -> Map<String, Value> {
    let meta: Map<String, Value> = meta_pairs(&doc.meta)
        .into_iter()
        .map(|(name, value)| (name.to_owned(), Value::String(value)))
        .collect();
    let mut object = Map::new();
    object.insert("mime".into(), json!(doc.mime));
    object.insert("meta".into(), Value::Object(meta));
    object.insert("notes".into(), json!(doc.notes));
    object.insert("text".into(), json!(doc.text));
    object
}

/// Prints one file as one JSON line: `path`, `mime`, `kind`, `meta`, `notes`, `text`, and `parts`, each
/// with `name`, `mime`, `meta`, `text` and `notes` (nested parts flattened, names joined by " » ").
pub fn print_json(out: &mut impl Write, extraction: &Extraction) -> std::io::Result<()> {
    let doc = &extraction.document;
    let mut object = document_json(doc);
    object.insert("path".into(), json!(extraction.path.to_string_lossy()));
    object.insert("kind".into(), json!(kind_name(extraction.kind)));
    let parts: Vec<Value> = flat_parts(doc)
        .into_iter()
        .map(|(name, part)| {
            let mut part_object = document_json(part);
            part_object.insert("name".into(), json!(name));
            Value::Object(part_object)
        })
        .collect();
    object.insert("parts".into(), Value::Array(parts));
    writeln!(out, "{}", Value::Object(object))
}

#[cfg(test)]
mod tests {
    use fandex::formats::Part;

    use super::*;

    #[test]
    fn nested_parts_are_flattened_and_text_is_made_printable() {
        let mut inner = Document::new(Kind::Text.mime());
        inner.text = "deep".into();
        let mut zip = Document::new(Kind::Zip.mime());
        zip.parts.push(Part {
            name: "notes.txt".into(),
            document: inner,
        });
        let mut mail = Document::new(Kind::Mail.mime());
        mail.push_meta(MetaField::Author, "A");
        mail.push_meta(MetaField::Author, "B");
        mail.text = "hi \u{1b}[31mred\nline".into();
        mail.parts.push(Part {
            name: "a.zip".into(),
            document: zip,
        });
        let names: Vec<String> = flat_parts(&mail).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["a.zip", "a.zip » notes.txt"]);
        assert_eq!(meta_pairs(&mail.meta), [("author", "A; B".to_owned())]);
        let extraction = Extraction {
            path: "m.eml".into(),
            kind: Kind::Mail,
            document: mail,
        };
        let mut human = Vec::new();
        print_human(&mut human, &extraction).unwrap();
        let human = String::from_utf8(human).unwrap();
        assert!(human.contains("hi \\u{1b}[31mred\nline"), "{human}");
        assert!(
            human.contains("== m.eml » a.zip » notes.txt: text/plain"),
            "{human}"
        );
        let mut line = Vec::new();
        print_json(&mut line, &extraction).unwrap();
        let value: Value = serde_json::from_slice(&line).unwrap();
        assert_eq!(value["kind"], "mail");
        assert_eq!(value["meta"]["author"], "A; B");
        assert_eq!(value["parts"][1]["name"], "a.zip » notes.txt");
        assert_eq!(value["parts"][1]["text"], "deep");
    }
}
