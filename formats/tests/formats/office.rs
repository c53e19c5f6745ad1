use fandex_formats::{FormatError, Kind, MetaField};

use crate::common::{extract_ok, squeezed};

fn assert_sample_text(text: &str) {
    let text = squeezed(text);
    for needle in [
        "Chapter one",
        "The quick brown fox",
        "Grüße aus Köln, naïve café",
        "Jupiter",
        "146",
        "bernoulli",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from {text}");
    }
}

#[test]
fn docx_body_table_footnote_and_core_metadata() {
    let doc = extract_ok("sample.docx");
    assert_eq!(doc.mime, Kind::Docx.mime());
    assert_sample_text(&doc.text);
    assert!(
        doc.text.contains("Jupiter\n95"),
        "table cells on their own lines: {}",
        doc.text
    );
    assert_eq!(doc.meta(MetaField::Title), Some("Fixture Document"));
    assert_eq!(doc.meta(MetaField::Author), Some("Ada Lovelace"));
    assert_eq!(doc.meta(MetaField::Subject), Some("Analytical engines"));
    assert_eq!(doc.meta(MetaField::Keywords), Some("engines, notes"));
}

#[test]
fn odt_body_table_footnote_and_meta() {
    let doc = extract_ok("sample.odt");
    assert_eq!(doc.mime, Kind::Odt.mime());
    assert_sample_text(&doc.text);
    assert_eq!(doc.meta(MetaField::Title), Some("Fixture Document"));
    assert_eq!(doc.meta(MetaField::Author), Some("Ada Lovelace"));
}

#[test]
fn flat_odt_is_read_like_the_zipped_one() {
    let flat = extract_ok("sample.fodt");
    assert_eq!(flat.mime, Kind::FlatOdf.mime());
    assert_sample_text(&flat.text);
    // The zipped copy also has styles.xml (its footer's page number); the flat one was made without it.
    assert!(squeezed(&extract_ok("sample.odt").text).starts_with(&squeezed(&flat.text)));
    assert_eq!(flat.meta(MetaField::Title), Some("Fixture Document"));
}

#[test]
fn xlsx_sheet_names_and_cells() {
    let doc = extract_ok("sample.xlsx");
    assert_eq!(doc.mime, Kind::Xlsx.mime());
    assert!(
        doc.text
            .contains("Planets\nPlanet\tMoons\nJupiter\t95\nSaturn\t146\n"),
        "{}",
        doc.text
    );
    assert!(
        doc.text.contains("Notes\nGrüße ☃ spreadsheet"),
        "{}",
        doc.text
    );
    assert_eq!(doc.meta(MetaField::Title), Some("Fixture Workbook"));
    assert_eq!(doc.meta(MetaField::Author), Some("Ada Lovelace"));
}

#[test]
fn ods_sheet_name_cells_and_meta() {
    let doc = extract_ok("sample.ods");
    assert_eq!(doc.mime, Kind::Ods.mime());
    let text = squeezed(&doc.text);
    assert!(text.starts_with("Orbits"), "{text}");
    for needle in ["Planet", "Days", "Mercury", "88", "Venus", "225"] {
        assert!(text.contains(needle), "{needle} missing from {text}");
    }
    assert_eq!(doc.meta(MetaField::Title), Some("Fixture Spreadsheet"));
    assert_eq!(doc.meta(MetaField::Author), Some("Grace Hopper"));
}

#[test]
fn pptx_slides_in_order_and_speaker_notes() {
    let doc = extract_ok("sample.pptx");
    assert_eq!(doc.mime, Kind::Pptx.mime());
    let text = squeezed(&doc.text);
    let first = text.find("Compilers translate programs.").expect(&text);
    let second = text.find("Debugging moths").expect(&text);
    assert!(first < second, "{text}");
    assert!(text.contains("Speaker note about nanoseconds."), "{text}");
    assert_eq!(doc.meta(MetaField::Title), Some("Fixture Slides"));
    assert_eq!(doc.meta(MetaField::Author), Some("Grace Hopper"));
}

#[test]
fn epub3_and_epub2_spine_text_and_metadata() {
    for name in ["sample.epub", "sample2.epub"] {
        let doc = extract_ok(name);
        assert_eq!(doc.mime, Kind::Epub.mime());
        assert_sample_text(&doc.text);
        assert!(!doc.text.contains("<p"), "markup left in {name}");
        assert_eq!(
            doc.meta(MetaField::Title),
            Some("Fixture Document"),
            "{name}"
        );
        assert_eq!(doc.meta(MetaField::Author), Some("Ada Lovelace"), "{name}");
        assert_eq!(doc.meta(MetaField::Language), Some("en"), "{name}");
    }
}

#[test]
fn legacy_office_is_unsupported() {
    let file = tempfile_with(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest of an OLE2 file");
    let kind = fandex_formats::detect_file(&file, b"old.doc").unwrap();
    assert_eq!(kind, Kind::LegacyOffice);
    let err = fandex_formats::extract(
        &file,
        b"old.doc",
        kind,
        &Default::default(),
        &crate::common::TestPlain,
    );
    assert!(matches!(err, Err(FormatError::Unsupported(_))), "{err:?}");
}

fn tempfile_with(bytes: &[u8]) -> std::fs::File {
    use std::io::Write;
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(bytes).unwrap();
    file
}
