use fandex_formats::{Kind, MetaField};

use crate::common::{extract_ok, squeezed};

#[test]
fn pandoc_rtf_text_without_control_words() {
    let doc = extract_ok("sample.rtf");
    assert_eq!(doc.mime, Kind::Rtf.mime());
    let text = squeezed(&doc.text);
    for needle in [
        "Fixture Document",
        "The quick brown fox",
        "Grüße aus Köln, naïve café",
        "Saturn",
        "146",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from {text}");
    }
    for control in ["\\par", "\\f0", "Helvetica", "\\red255", "{", "}"] {
        assert!(!text.contains(control), "{control:?} left in {text}");
    }
}

#[test]
fn rtf_code_page_unicode_and_info() {
    let doc = extract_ok("cp1251.rtf");
    assert_eq!(doc.text, "Привет мир\n€uro end\n");
    assert_eq!(doc.meta(MetaField::Title), Some("Привет"));
    assert_eq!(doc.meta(MetaField::Author), Some("Ivan"));
    assert_eq!(doc.meta(MetaField::Created), Some("2023-04-05T06:07:00"));
}

#[test]
fn rtf_fragment_without_a_header_is_read() {
    // `pandoc -t rtf` without --standalone writes groups with no `{\rtf1` header (the formats bench
    // corpus's .rtf files are such fragments); they are read like a document.
    let doc = extract_ok("fragment.rtf");
    let text = squeezed(&doc.text);
    for needle in ["Fragment Heading", "ownership", "naïve borrowing"] {
        assert!(text.contains(needle), "{needle:?} missing from {text}");
    }
    assert!(!text.contains("\\pard"), "{text}");
}
