use fandex_formats::{Kind, detect};

use crate::common::fixture;

fn head(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name))
        .unwrap()
        .into_iter()
        .take(fandex_formats::HEAD_LEN)
        .collect()
}

#[test]
fn content_wins_over_a_missing_or_wrong_name() {
    let cases = [
        ("sample.pdf", Kind::Pdf),
        ("sample.docx", Kind::Docx),
        ("sample.xlsx", Kind::Xlsx),
        ("sample.pptx", Kind::Pptx),
        ("sample.odt", Kind::Odt),
        ("sample.ods", Kind::Ods),
        ("sample.fodt", Kind::FlatOdf),
        ("sample.epub", Kind::Epub),
        ("sample.rtf", Kind::Rtf),
        ("sample.eml", Kind::Mail),
        ("sample.mbox", Kind::Mbox),
        ("archive.zip", Kind::Zip),
        ("archive.tar", Kind::Tar),
        ("archive.tar.gz", Kind::Gzip),
        ("archive.tar.bz2", Kind::Bzip2),
        ("archive.tar.xz", Kind::Xz),
        ("archive.tar.zst", Kind::Zstd),
        ("song.mp3", Kind::Audio),
        ("song.flac", Kind::Audio),
        ("song.ogg", Kind::Audio),
        ("photo.jpg", Kind::Image),
    ];
    for (name, kind) in cases {
        assert_eq!(
            detect(&head(name), b"report"),
            kind,
            "{name} without extension"
        );
        assert_eq!(detect(&head(name), b"notes.txt"), kind, "{name} named .txt");
    }
}

#[test]
fn names_decide_when_content_does_not() {
    assert_eq!(detect(b"plain words", b"a.txt"), Kind::Text);
    assert_eq!(detect(b"", b"Report.PDF"), Kind::Pdf);
    assert_eq!(detect(b"<p>hi</p>", b"page.html"), Kind::Html);
    assert_eq!(detect(b"\x00\x01", b"old.xls"), Kind::LegacyOffice);
    assert_eq!(detect(b"plain words", b"noext"), Kind::Unknown);
    assert_eq!(detect(b"<!DOCTYPE html><html>", b"noext"), Kind::Html);
}
