use fandex_formats::{Kind, Limits};

use crate::common::{extract_ok, extract_with, squeezed};

fn part<'a>(doc: &'a fandex_formats::Document, name: &str) -> &'a fandex_formats::Document {
    let names: Vec<&str> = doc.parts.iter().map(|p| p.name.as_str()).collect();
    &doc.parts
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no part {name} in {names:?}"))
        .document
}

#[test]
fn zip_members_are_parts_extracted_recursively() {
    let doc = extract_ok("archive.zip");
    assert_eq!(doc.mime, Kind::Zip.mime());
    assert_eq!(
        part(&doc, "readme.txt").text,
        "Readme of the archive: comet\n"
    );
    assert!(part(&doc, "docs/cp1251.rtf").text.contains("Привет мир"));
    assert_eq!(
        part(part(&doc, "inner.zip"), "deep.txt").text,
        "deep member text: nebula\n"
    );
    let mail = part(&doc, "mail/sample.eml");
    assert_eq!(mail.parts.len(), 2);
    assert!(
        !doc.parts.iter().any(|p| p.name == "docs/"),
        "directories are not parts"
    );
}

#[test]
fn tar_and_compressed_tars_list_members() {
    for name in [
        "archive.tar",
        "archive.tar.gz",
        "archive.tar.bz2",
        "archive.tar.xz",
        "archive.tar.zst",
    ] {
        let doc = extract_ok(name);
        assert_eq!(doc.mime, Kind::Tar.mime(), "{name}");
        assert_eq!(
            part(&doc, "dir/readme.txt").text,
            "Readme inside the tar: galaxy\n",
            "{name}"
        );
        assert!(
            part(&doc, "dir/notes.rtf").text.contains("Привет"),
            "{name}"
        );
    }
}

#[test]
fn single_compressed_files_are_decompressed() {
    for name in [
        "notes.txt.gz",
        "notes.txt.bz2",
        "notes.txt.xz",
        "notes.txt.zst",
    ] {
        let doc = extract_ok(name);
        assert_eq!(doc.text, "Notes in a compressed file: quasar.\n", "{name}");
        assert_eq!(doc.mime, Kind::Text.mime(), "{name}");
    }
}

#[test]
fn deep_nesting_stops_at_the_depth_cap() {
    let limits = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    let doc = extract_with("nested.zip", &limits).unwrap();
    let mut level = &doc;
    let mut depth = 0;
    while let Some(part) = level.parts.first() {
        level = &part.document;
        depth += 1;
    }
    assert_eq!(
        depth, 4,
        "three containers entered below the file, the fourth refused"
    );
    assert!(
        level.notes.iter().any(|n| n == "limit reached: depth 3"),
        "{:?}",
        level.notes
    );
    assert!(!squeezed(&format!("{doc:?}")).contains("pulsar"));
}

#[test]
fn zip_bomb_is_bounded_by_the_byte_budget() {
    let limits = Limits {
        max_total_bytes: 30 << 20,
        ..Limits::default()
    };
    let doc = extract_with("bomb.zip", &limits).unwrap();
    assert_eq!(doc.parts.len(), 3);
    let first = &doc.parts[0].document;
    let fits = ["cap reached: text cut at 16777216 bytes".to_string()];
    assert_eq!(
        first.notes, fits,
        "the first member fits the budget, only its text is cut"
    );
    let capped = &doc.parts[1].document.notes;
    assert!(
        capped.iter().any(|n| n.starts_with("limit reached:")),
        "{capped:?}"
    );
}

#[test]
fn parts_per_container_are_capped() {
    let limits = Limits {
        max_parts: 2,
        ..Limits::default()
    };
    let doc = extract_with("archive.zip", &limits).unwrap();
    assert_eq!(doc.parts.len(), 2);
    assert!(
        doc.notes.contains(&"cap reached: parts (2)".to_string()),
        "{:?}",
        doc.notes
    );
}
