//! End-to-end tests of [`extract`](super::extract).

use std::io::{self, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use proptest::prelude::*;

use super::content::{HEAD_LEN, READ_CHUNK};
use super::reader::tests::Pulled;
use super::*;

fn run(bytes: &[u8], name: &str) -> Extracted {
    run_with(bytes, name, &Limits::default())
}

fn run_with(bytes: &[u8], name: &str, limits: &Limits) -> Extracted {
    let mut r = bytes;
    let x = extract(&mut r, Path::new(name), limits).expect("extract");
    check_invariants(bytes, &x, limits);
    x
}

/// What holds for every successful extraction.
fn check_invariants(input: &[u8], x: &Extracted, limits: &Limits) {
    assert!(x.text.len() <= limits.max_text_bytes, "text cap");
    assert!(x.bytes_read <= limits.max_read_bytes, "read cap");
    assert!(x.bytes_read <= input.len() as u64);
    let read = &input[..x.bytes_read as usize];
    assert_eq!(
        x.hash,
        *blake3::hash(read).as_bytes(),
        "hash of the bytes read"
    );
    match x.format {
        Format::Empty | Format::Binary => {
            assert!(x.text.is_empty());
            assert_eq!(x.encoding, None);
        }
        Format::Text | Format::Html => assert!(x.encoding.is_some()),
    }
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn utf8_text() {
    let s = "Grüße aus Köln — 日本語 🎉\nline two\n";
    let x = run(s.as_bytes(), "notes.txt");
    assert_eq!(x.text, s);
    assert_eq!(x.format, Format::Text);
    assert_eq!(x.encoding, Some("UTF-8"));
    assert!(!x.gzip && !x.truncated);
    assert_eq!(x.bytes_read, s.len() as u64);
}

#[test]
fn utf8_with_bom() {
    let x = run(b"\xef\xbb\xbfhello \xc3\xa9", "a.txt");
    assert_eq!(x.text, "hello é");
    assert_eq!(x.encoding, Some("UTF-8"));
    assert_eq!(x.bytes_read, 11);
}

#[test]
fn utf16_with_bom() {
    let s = "UTF-16 text: ünïcödé 𝄞 and more";
    let le: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(s.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let x = run(&le, "le.txt");
    assert_eq!(
        (x.text.as_str(), x.encoding, x.format),
        (s, Some("UTF-16LE"), Format::Text)
    );
    let be: Vec<u8> = [0xfe, 0xff]
        .into_iter()
        .chain(s.encode_utf16().flat_map(u16::to_be_bytes))
        .collect();
    let x = run(&be, "be");
    assert_eq!((x.text.as_str(), x.encoding), (s, Some("UTF-16BE")));
}

#[test]
fn latin1_windows_1252() {
    let x = run(b"caf\xe9", "menu.txt");
    assert_eq!(
        (x.text.as_str(), x.encoding),
        ("café", Some("windows-1252"))
    );
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode("“Smart quotes” – €5, naïve façade");
    let x = run(&bytes, "q.txt");
    assert_eq!(x.text, "“Smart quotes” – €5, naïve façade");
}

#[test]
fn shift_jis() {
    let s = "これは日本語の文書です。検索エンジンのテストに使います。カタカナも含みます。";
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(s);
    assert!(!unmappable);
    let x = run(&bytes, "ja.txt");
    assert_eq!((x.text.as_str(), x.encoding), (s, Some("Shift_JIS")));
}

#[test]
fn invalid_utf8_never_fails() {
    let mut bytes = "Zürich, Genève, Locarno: ".repeat(4).into_bytes();
    bytes.extend_from_slice(b"broken \xc3\x28 and \xff end");
    let x = run(&bytes, "broken.txt");
    assert_eq!(x.encoding, Some("UTF-8"));
    assert!(
        x.text.ends_with("broken \u{fffd}( and \u{fffd} end"),
        "{:?}",
        x.text
    );
    // A lone continuation byte in otherwise ASCII text decodes as some legacy character, no error.
    let x = run(b"abc \x80 def", "x.txt");
    assert!(x.text.starts_with("abc ") && x.text.ends_with(" def"));
}

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><title>T</title>
<style>.marker-style { display: none }</style>
<script>document.write("marker-script"); if (1 < 2) {}</script></head>
<body><!-- marker-comment -->
<h1>Heading &amp; more</h1><p>Caf&eacute; &lt;open&gt; &#8364;10 &nbsp;x</p>
<p>A <a href="http://marker-url.example/">linked phrase</a>.</p></body></html>"#;

#[test]
fn html_by_extension_and_by_sniffing() {
    for name in ["page.html", "page.txt", "page"] {
        let x = run(PAGE.as_bytes(), name);
        assert_eq!(x.format, Format::Html, "{name}");
        assert_eq!(x.encoding, Some("UTF-8"));
        for marker in [
            "marker-style",
            "marker-script",
            "marker-comment",
            "marker-url",
        ] {
            assert!(!x.text.contains(marker), "{marker} in {:?}", x.text);
        }
        for shown in ["Heading & more", "Café <open> €10", "linked phrase"] {
            assert!(x.text.contains(shown), "{shown} missing in {:?}", x.text);
        }
    }
}

#[test]
fn html_meta_charset_is_honoured() {
    let mut bytes = b"<html><head><meta charset=windows-1252></head><body><p>".to_vec();
    bytes.extend_from_slice(b"na\xefve r\xe9sum\xe9</p>");
    let x = run(&bytes, "old.htm");
    assert_eq!(x.encoding, Some("windows-1252"));
    assert_eq!(x.text.trim(), "naïve résumé");
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("<p>日本語のページ</p>");
    let mut bytes =
        b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\">".to_vec();
    bytes.extend_from_slice(&sjis);
    let x = run(&bytes, "ja.html");
    assert_eq!(x.encoding, Some("Shift_JIS"));
    assert_eq!(x.text.trim(), "日本語のページ");
}

#[test]
fn malformed_html_still_gives_text() {
    let html = "<html><body><div><p>first <b>bold <i>both</div><table><tr><td>cell<p>after cell\
                <ul><li>item one<li>item two</body><p>after body</html><p>after html <a href=";
    let x = run(html.as_bytes(), "bad.html");
    assert_eq!(x.format, Format::Html);
    for shown in [
        "first bold both",
        "cell",
        "after cell",
        "item one",
        "item two",
        "after body",
        "after html",
    ] {
        assert!(x.text.contains(shown), "{shown:?} missing in {:?}", x.text);
    }
}

#[test]
fn big_html_is_converted_in_pieces() {
    let mut html = String::from("<!doctype html><body>");
    let mut n = 0;
    while html.len() < 3 << 20 {
        html.push_str(&format!("<p>paragraph {n} with <b>some</b> words</p>\n"));
        if n % 1000 == 0 {
            html.push_str(&format!("<script>var hidden{n} = 1;</script>"));
        }
        n += 1;
    }
    let x = run(html.as_bytes(), "big.html");
    assert!(!x.truncated);
    assert!(!x.text.contains("hidden"));
    assert!(x.text.contains("paragraph 0 with some words"));
    assert!(
        x.text
            .contains(&format!("paragraph {} with some words", n - 1))
    );
    assert_eq!(x.text.matches("with some words").count(), n);
}

#[test]
fn deeply_nested_html_stays_fast() {
    // Without cutting into pieces html5ever takes minutes on this (quadratic in depth).
    let html = "<div><ul><li><blockquote>".repeat(40_000);
    let t = Instant::now();
    let x = run(format!("{html}deep text").as_bytes(), "deep.html");
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    assert_eq!(x.text.trim(), "deep text");
}

#[test]
fn html_text_cap_stops_reading() {
    let html = "<p>some words in a paragraph</p>".repeat(200_000);
    let limits = Limits {
        max_text_bytes: 1000,
        ..Limits::default()
    };
    let mut src = Pulled {
        data: html.as_bytes(),
        pulled: 0,
        step: 4096,
    };
    let x = extract(&mut src, Path::new("a.html"), &limits).unwrap();
    assert!(x.truncated);
    assert!(x.text.len() <= 1000 && x.text.len() > 900);
    assert!(src.pulled < 512 * 1024, "read {} bytes", src.pulled);
}

#[test]
fn gzip_text_and_html() {
    let x = run(&gz("zipped words".as_bytes()), "log.txt.gz");
    assert_eq!(
        (x.text.as_str(), x.format, x.gzip),
        ("zipped words", Format::Text, true)
    );
    // By magic alone, whatever the name.
    let x = run(&gz(b"caf\xe9"), "noext");
    assert_eq!(
        (x.text.as_str(), x.gzip, x.encoding),
        ("café", true, Some("windows-1252"))
    );
    // The inner name decides HTML.
    let x = run(
        &gz(b"<p>Hi &amp; bye</p><script>nope()</script>"),
        "x.html.gz",
    );
    assert_eq!((x.text.trim(), x.format), ("Hi & bye", Format::Html));
    // Concatenated members are all read.
    let mut two = gz(b"first ");
    two.extend(gz(b"second"));
    assert_eq!(run(&two, "two.gz").text, "first second");
    // Empty and binary inner content.
    let x = run(&gz(b""), "e.gz");
    assert_eq!((x.format, x.gzip), (Format::Empty, true));
    let x = run(&gz(b"\x7fELF\0\0\0"), "b.gz");
    assert_eq!(x.format, Format::Binary);
}

#[test]
fn corrupt_gzip_is_malformed() {
    let mut bad = gz(&b"some text that compresses ".repeat(100));
    let mid = bad.len() / 2;
    bad[mid] ^= 0xff;
    bad[mid + 1] ^= 0x55;
    let mut cut = gz(&b"some text ".repeat(1000));
    cut.truncate(cut.len() / 2);
    for (bytes, name) in [
        (bad.as_slice(), "x.gz"),
        (cut.as_slice(), "x.gz"),
        (b"not gzip at all".as_slice(), "fake.gz"),
        (b"\x1f\x8b\x08".as_slice(), "short"),
    ] {
        let mut r = bytes;
        match extract(&mut r, Path::new(name), &Limits::default()) {
            Err(ExtractError::Malformed(m)) => assert!(m.starts_with("gzip: "), "{m}"),
            other => panic!("{name}: expected Malformed, got {other:?}"),
        }
    }
}

#[test]
fn gzip_cut_by_read_cap_is_truncated_not_malformed() {
    let data: Vec<u8> = (0..200_000u32)
        .flat_map(|i| format!("{i} ").into_bytes())
        .collect();
    let z = gz(&data);
    let limits = Limits {
        max_read_bytes: (z.len() / 2) as u64,
        ..Limits::default()
    };
    let x = run_with(&z, "n.gz", &limits);
    assert!(x.truncated);
    assert_eq!(x.bytes_read, limits.max_read_bytes);
    assert!(x.text.len() > 1000 && data.starts_with(x.text.as_bytes()));
}

/// 200 MiB of one byte value, compressed, built in pieces so the test never holds it.
fn bomb(byte: u8) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    let block = vec![byte; 1 << 20];
    for _ in 0..200 {
        e.write_all(&block).unwrap();
    }
    e.finish().unwrap()
}

#[test]
fn gzip_bomb_is_capped() {
    let text_bomb = bomb(b'a');
    assert!(text_bomb.len() < 1 << 20);
    let limits = Limits {
        max_decompressed_bytes: 1 << 20,
        ..Limits::default()
    };
    let mut src = Pulled {
        data: &text_bomb,
        pulled: 0,
        step: usize::MAX,
    };
    let x = extract(&mut src, Path::new("bomb.gz"), &limits).unwrap();
    check_invariants(&text_bomb, &x, &limits);
    assert!(x.truncated && x.gzip);
    assert_eq!(x.text.len(), 1 << 20, "exactly the decompressed cap");
    assert!(x.text.bytes().all(|b| b == b'a'));
    // Only the head and the compressed bytes behind the first MiB of output were read (the bomb
    // itself is about 200 KiB).
    assert!(
        src.pulled <= (HEAD_LEN + 32 * 1024) as u64,
        "pulled {}",
        src.pulled
    );

    // Default limits: the text cap (10 MiB) cuts first.
    let x = run(&text_bomb, "bomb.txt.gz");
    assert!(x.truncated);
    assert_eq!(x.text.len(), Limits::default().max_text_bytes);

    // Zeros are binary: reading stops after the first decompressed bytes.
    let zeros = bomb(0);
    let x = run(&zeros, "zeros.gz");
    assert_eq!((x.format, x.text.len()), (Format::Binary, 0));
    assert!(x.bytes_read <= (HEAD_LEN + 32 * 1024) as u64);
}

#[test]
fn binary_and_empty() {
    let x = run(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "img.png");
    assert_eq!(
        (x.format, x.text.as_str(), x.encoding),
        (Format::Binary, "", None)
    );
    assert!(!x.truncated);
    let x = run(b"", "empty.txt");
    assert_eq!(
        (x.format, x.bytes_read, x.truncated),
        (Format::Empty, 0, false)
    );
    assert_eq!(x.hash, *blake3::hash(b"").as_bytes());
    let x = run(b"", "empty.gz");
    assert_eq!((x.format, x.gzip), (Format::Empty, false));
}

#[test]
fn text_cap_cuts_at_a_char_boundary() {
    let s = "aé€𝄞".repeat(1000); // 1, 2, 3 and 4 byte chars
    for max in 0..=40 {
        let limits = Limits {
            max_text_bytes: max,
            ..Limits::default()
        };
        let x = run_with(s.as_bytes(), "t.txt", &limits);
        assert!(x.truncated);
        assert!(s.starts_with(&x.text));
        assert!(
            x.text.len() <= max && x.text.len() + 4 > max,
            "{max}: {}",
            x.text.len()
        );
    }
    // Text that exactly fits is not truncated.
    let limits = Limits {
        max_text_bytes: s.len(),
        ..Limits::default()
    };
    let x = run_with(s.as_bytes(), "t.txt", &limits);
    assert!(!x.truncated);
    assert_eq!(x.text, s);
}

#[test]
fn text_cap_stops_reading() {
    let big = "a line of log text\n".repeat(1 << 18); // about 5 MiB
    let limits = Limits {
        max_text_bytes: 1000,
        ..Limits::default()
    };
    let mut src = Pulled {
        data: big.as_bytes(),
        pulled: 0,
        step: 8192,
    };
    let x = extract(&mut src, Path::new("big.log"), &limits).unwrap();
    assert!(x.truncated);
    assert_eq!(x.text, big[..1000]);
    assert!(
        src.pulled <= (HEAD_LEN + READ_CHUNK) as u64,
        "pulled {}",
        src.pulled
    );
    assert_eq!(x.bytes_read, src.pulled);
}

#[test]
fn read_cap_is_respected() {
    let data = b"0123456789".repeat(10_000);
    for max in [0u64, 1, 999, 65_536, 65_537, 99_999, 100_000, 100_001] {
        let limits = Limits {
            max_read_bytes: max,
            ..Limits::default()
        };
        let mut src = Pulled {
            data: &data,
            pulled: 0,
            step: 777,
        };
        let x = extract(&mut src, Path::new("d.txt"), &limits).unwrap();
        check_invariants(&data, &x, &limits);
        let expect = max.min(data.len() as u64);
        assert_eq!(x.bytes_read, expect);
        assert!(src.pulled <= max + 1, "{max}: pulled {}", src.pulled);
        assert_eq!(x.truncated, max < data.len() as u64, "{max}");
        assert_eq!(x.text.as_bytes(), &data[..expect as usize]);
    }
}

#[test]
fn read_errors_are_io_errors() {
    struct Failing<'a>(&'a [u8]);
    impl Read for Failing<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::other("device gone"));
            }
            let n = buf.len().min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let z = gz(&b"words ".repeat(50_000));
    for (bytes, name) in [(&b"text"[..], "a.txt"), (&z[..z.len() / 2], "a.gz")] {
        let mut r = Failing(bytes);
        match extract(&mut r, Path::new(name), &Limits::default()) {
            Err(e @ ExtractError::Io(_)) => assert_eq!(e.to_string(), "read failed: device gone"),
            other => panic!("{name}: expected Io, got {other:?}"),
        }
    }
}

#[test]
fn format_serializes_snake_case() {
    assert_eq!(serde_json::to_string(&Format::Html).unwrap(), "\"html\"");
    assert_eq!(
        serde_json::to_string(&Format::Binary).unwrap(),
        "\"binary\""
    );
}

fn small_limits() -> impl Strategy<Value = Limits> {
    (0usize..3000, 0u64..6000, 0u64..6000).prop_map(|(t, r, d)| Limits {
        max_text_bytes: t,
        max_read_bytes: r,
        max_decompressed_bytes: d,
    })
}

fn name() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("a.txt"),
        Just("a.html"),
        Just("a.gz"),
        Just("a.html.gz"),
        Just("noext"),
    ]
}

/// Extraction of `input` may fail only as Malformed; when it succeeds every cap holds.
fn check_any(input: &[u8], name: &str, limits: &Limits) -> Result<(), TestCaseError> {
    let mut src = Pulled {
        data: input,
        pulled: 0,
        step: 1000,
    };
    match extract(&mut src, Path::new(name), limits) {
        Ok(x) => {
            check_invariants(input, &x, limits);
            prop_assert!(src.pulled <= limits.max_read_bytes + 1);
        }
        Err(ExtractError::Malformed(m)) => {
            prop_assert!(m.starts_with("gzip: ") || m.starts_with("html: "), "{}", m)
        }
        Err(e) => prop_assert!(false, "unexpected error {e:?}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes(input in proptest::collection::vec(any::<u8>(), 0..4000),
                       name in name(), limits in small_limits()) {
        check_any(&input, name, &limits)?;
    }

    #[test]
    fn arbitrary_bytes_behind_a_gzip_header(tail in proptest::collection::vec(any::<u8>(), 0..2000),
                                            limits in small_limits()) {
        let mut input = vec![0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03];
        input.extend(tail);
        check_any(&input, "x.gz", &limits)?;
    }

    #[test]
    fn arbitrary_content_inside_valid_gzip(inner in proptest::collection::vec(any::<u8>(), 0..4000),
                                           name in name(), limits in small_limits()) {
        let input = gz(&inner);
        check_any(&input, name, &limits)?;
    }

    #[test]
    fn arbitrary_bytes_named_html(input in proptest::collection::vec(any::<u8>(), 0..4000),
                                  limits in small_limits()) {
        check_any(&input, "page.html", &limits)?;
    }

    #[test]
    fn arbitrary_tag_soup_named_html(soup in "(<[a-z!/?]{0,3}|[a-z \"'=>&;#-]|<script>|</script>|<!--|-->|é){0,300}",
                                     limits in small_limits()) {
        check_any(soup.as_bytes(), "page.html", &limits)?;
    }
}
