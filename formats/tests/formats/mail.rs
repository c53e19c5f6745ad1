use fandex_formats::{Kind, MetaField};

use crate::common::{extract_bytes, extract_ok, squeezed};

#[test]
fn eml_headers_decoded_body_and_attachments() {
    let doc = extract_ok("sample.eml");
    assert_eq!(doc.mime, Kind::Mail.mime());
    assert_eq!(doc.meta(MetaField::Subject), Some("Grüße zum Geburtstag ☃"));
    assert_eq!(
        doc.meta(MetaField::From),
        Some("Jürgen Müller <juergen@example.org>")
    );
    assert_eq!(
        doc.meta(MetaField::To),
        Some("Ada <ada@example.org>, bob@example.org")
    );
    assert_eq!(doc.meta(MetaField::Date), Some("2024-01-02T10:00:00+01:00"));
    assert!(
        squeezed(&doc.text).contains("herzliche Grüße und viel Glück mit der Maschine."),
        "{}",
        doc.text
    );
    let names: Vec<&str> = doc.parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(names[0], "notes.txt");
    assert!(
        doc.parts[0]
            .document
            .text
            .contains("attached notes about punch cards")
    );
    let forwarded = &doc.parts[1].document;
    assert_eq!(forwarded.meta(MetaField::Subject), Some("Forwarded plan"));
    assert!(
        forwarded
            .text
            .contains("The forwarded plan mentions gears."),
        "{}",
        forwarded.text
    );
}

#[test]
fn html_only_mail_goes_through_the_html_converter() {
    let doc = extract_ok("html-only.eml");
    assert_eq!(doc.meta(MetaField::Subject), Some("Café news"));
    let text = squeezed(&doc.text);
    assert!(text.contains("Only HTML: façade"), "{text}");
    assert!(!text.contains("<p>"), "{text}");
}

#[test]
fn mbox_messages_are_parts_named_by_number_and_subject() {
    let doc = extract_ok("sample.mbox");
    assert_eq!(doc.mime, Kind::Mbox.mime());
    let names: Vec<&str> = doc.parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "message 1: First note",
            "message 2: Second note",
            "message 3: Third note"
        ]
    );
    assert!(
        doc.parts[1].document.text.contains("From the body line"),
        "{}",
        doc.parts[1].document.text
    );
    assert_eq!(
        doc.parts[2].document.meta(MetaField::From),
        Some("user2@example.org")
    );
}

#[test]
fn a_text_part_without_a_subtype_is_the_body() {
    // `Content-Type: text` (no subtype) is text/plain under RFC 2045; it was listed as a nameless
    // attachment with no text (CPython's test message msg_14 in the formats bench corpus).
    let doc = extract_ok("no-subtype.eml");
    assert!(doc.text.contains("plain text about marmalade"), "{doc:?}");
    assert!(doc.parts.is_empty(), "{:?}", doc.parts);
}

#[test]
fn a_message_without_the_blank_line_after_its_headers_keeps_its_body() {
    // CPython's test message msg_35 (the formats bench corpus): no blank line ends the headers. The
    // first line that is not a header starts the body, as Python's `email` reads it; it was dropped.
    let eml =
        b"From: aperson@dom.ain\nTo: bperson@dom.ain\nSubject: here's something interesting\n\
                counter to RFC 2822, there's no separating newline here\n";
    let doc = extract_bytes(eml, "msg.eml").expect("extracted");
    assert_eq!(
        doc.meta(MetaField::Subject),
        Some("here's something interesting")
    );
    assert_eq!(doc.meta(MetaField::To), Some("bperson@dom.ain"));
    assert!(doc.text.contains("no separating newline here"), "{doc:?}");
    // The same in an mbox, with CRLF line ends and a folded header before the body line.
    let mbox =
        b"From a@b Mon Jan  1 00:00:00 2024\r\nFrom: a@b\r\nSubject: folded\r\n  subject\r\n\
                 body line without a blank line\r\n";
    let doc = extract_bytes(mbox, "box.mbox").expect("extracted");
    let message = &doc.parts[0].document;
    assert_eq!(message.meta(MetaField::Subject), Some("folded subject"));
    assert!(
        message.text.contains("body line without a blank line"),
        "{doc:?}"
    );
    // A header-looking line with a space before its colon (the obsolete syntax) stays a header.
    let doc = extract_bytes(b"Subject : old style\nFrom: a@b\n\nthe body\n", "old.eml")
        .expect("extracted");
    assert_eq!(doc.meta(MetaField::Subject), Some("old style"));
    assert_eq!(doc.text.trim(), "the body");
}
