use fandex_formats::{FormatError, Kind, Limits, MetaField};

use crate::common::{extract_bytes, extract_ok, extract_with, fixture, squeezed};

#[test]
fn pdf_text_in_order_with_metadata() {
    let doc = extract_ok("sample.pdf");
    assert_eq!(doc.mime, Kind::Pdf.mime());
    let text = squeezed(&doc.text);
    let first = text
        .find("The quick brown fox jumps over the lazy dog.")
        .expect(&text);
    let second = text
        .find("Second line about bernoulli numbers.")
        .expect(&text);
    let third = text
        .find("Page two mentions the difference engine.")
        .expect(&text);
    assert!(first < second && second < third, "{text}");
    assert_eq!(doc.meta(MetaField::Title), Some("Fixture PDF Title"));
    assert_eq!(doc.meta(MetaField::Author), Some("Ada Lovelace"));
    assert_eq!(doc.meta(MetaField::Subject), Some("Analytical engines"));
    assert_eq!(doc.meta(MetaField::Keywords), Some("engines, notes"));
    assert_eq!(doc.meta(MetaField::Pages), Some("2"));
    let created = doc.meta(MetaField::Created).expect("creation date");
    assert!(
        created.len() >= 10 && created.as_bytes()[4] == b'-',
        "{created}"
    );
    assert!(doc.notes.is_empty(), "{:?}", doc.notes);
}

#[test]
fn pdf_with_empty_user_password_is_read() {
    let doc = extract_ok("encrypted-empty.pdf");
    assert!(
        squeezed(&doc.text).contains("The quick brown fox"),
        "{}",
        doc.text
    );
    assert_eq!(doc.meta(MetaField::Title), Some("Fixture PDF Title"));
}

#[test]
fn pdf_needing_a_password_is_an_encrypted_error() {
    let err = extract_with("encrypted-password.pdf", &Limits::default()).unwrap_err();
    assert!(matches!(err, FormatError::Encrypted(_)), "{err}");
    assert_eq!(err.to_string(), "encrypted: needs a password");
}

#[test]
fn image_only_pdf_is_noted_as_scanned() {
    let doc = extract_ok("scanned.pdf");
    assert!(doc.text.trim().is_empty(), "{}", doc.text);
    assert!(
        doc.notes.iter().any(|n| n == "scanned: no text layer"),
        "{:?}",
        doc.notes
    );
    assert_eq!(doc.meta(MetaField::Pages), Some("1"));
}

#[test]
fn pdf_text_is_capped() {
    let limits = Limits {
        max_text_bytes: 20,
        ..Limits::default()
    };
    let doc = extract_with("sample.pdf", &limits).unwrap();
    assert!(doc.text.len() <= 20, "{}", doc.text.len());
    assert!(
        doc.notes.iter().any(|n| n.starts_with("cap reached: text")),
        "{:?}",
        doc.notes
    );
}

#[test]
fn truncated_pdf_without_text_is_malformed_not_scanned() {
    let bytes = std::fs::read(fixture("sample.pdf")).unwrap();
    // Cut before the pages' content: the pages are found, their text is not.
    let err = extract_bytes(&bytes[..bytes.len() * 3 / 10], "cut.pdf").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("malformed pdf: truncated: no %%EOF at its end"),
        "{err}"
    );
}

#[test]
fn truncated_pdf_keeps_the_text_read_and_says_it_is_truncated() {
    let bytes = std::fs::read(fixture("sample.pdf")).unwrap();
    let doc = extract_bytes(&bytes[..bytes.len() * 7 / 10], "cut.pdf").unwrap();
    assert!(
        squeezed(&doc.text).contains("The quick brown fox"),
        "{}",
        doc.text
    );
    assert_eq!(
        doc.notes,
        ["truncated: no %%EOF at its end: text may be missing"]
    );
}

/// The limits the tests run with, with `pdftotext` set to `program`.
fn with_pdftotext(program: Option<&str>) -> Limits {
    Limits {
        pdftotext: program.map(std::path::PathBuf::from),
        ..Limits::default()
    }
}

#[test]
fn pdftotext_reads_pdfs_when_installed() {
    // The setup script installs poppler-utils: the default limits find it.
    let limits = Limits::default();
    assert!(limits.pdftotext.is_some(), "pdftotext not found in PATH");
    let doc = extract_with("sample.pdf", &limits).unwrap();
    // poppler writes the creation date with its zone (pdf_oxide's reader leaves the zone out).
    assert_eq!(
        doc.meta(MetaField::Created),
        Some("2026-12-07T03:14:44Z"),
        "{:?}",
        doc.meta
    );
    assert!(squeezed(&doc.text).contains("Page two mentions the difference engine."));
}

#[test]
fn a_pdf_in_an_archive_is_piped_to_pdftotext() {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("docs/sample.pdf", zip::write::SimpleFileOptions::default())
        .unwrap();
    std::io::Write::write_all(&mut zip, &std::fs::read(fixture("sample.pdf")).unwrap()).unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let doc = extract_bytes(&bytes, "docs.zip").unwrap();
    let part = &doc.parts[0].document;
    assert!(
        squeezed(&part.text).contains("The quick brown fox"),
        "{part:?}"
    );
    assert_eq!(part.meta(MetaField::Created), Some("2026-12-07T03:14:44Z"));
    assert_eq!(part.meta(MetaField::Pages), Some("2"));
}

#[test]
fn without_pdftotext_pdf_oxide_reads_pdfs() {
    // Not configured, or configured but not there (another distribution, removed since): nothing is lost.
    for program in [None, Some("/nonexistent/pdftotext")] {
        let doc = extract_with("sample.pdf", &with_pdftotext(program)).unwrap();
        assert_eq!(
            doc.meta(MetaField::Title),
            Some("Fixture PDF Title"),
            "{program:?}"
        );
        assert_eq!(doc.meta(MetaField::Pages), Some("2"));
        assert_eq!(doc.meta(MetaField::Created), Some("2026-12-07T03:14:44"));
        assert!(squeezed(&doc.text).contains("The quick brown fox"));
        let err = extract_with("encrypted-password.pdf", &with_pdftotext(program)).unwrap_err();
        assert_eq!(err.to_string(), "encrypted: needs a password");
    }
}
