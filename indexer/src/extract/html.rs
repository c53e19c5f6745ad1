//! HTML to text with html2text, piece by piece (see [`super::chunk`]), behind `catch_unwind`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use encoding_rs::Encoding;
use html2text::render::TrivialDecorator;

use super::chunk::Chunker;
use super::{ExtractError, Sink, cut_at_char_boundary};

/// Render width: wider than any piece, so html2text never wraps lines. In raw mode without table
/// borders html2text allocates nothing in proportion to the width.
const RENDER_WIDTH: usize = 1 << 24;

/// Only the first this many bytes are searched for a `<meta charset>` (as browsers do).
const META_PRESCAN: usize = 1024;

/// Converts one piece of HTML to text: no script or style content, no link footnotes or markup
/// decoration, entities decoded, tables as plain cells, no line wrapping. A failure or a panic inside
/// html2text becomes [`ExtractError::Malformed`].
pub(crate) fn render(html: &str) -> Result<String, ExtractError> {
    guarded(|| {
        html2text::config::with_decorator(TrivialDecorator::new())
            .link_footnotes(false)
            .no_table_borders()
            .raw_mode(true)
            .string_from_read(html.as_bytes(), RENDER_WIDTH)
    })
}

/// Runs a conversion, turning its error or its panic into [`ExtractError::Malformed`].
fn guarded(
    convert: impl FnOnce() -> Result<String, html2text::Error>,
) -> Result<String, ExtractError> {
    match catch_unwind(AssertUnwindSafe(convert)) {
        Ok(Ok(text)) => Ok(text),
        Ok(Err(e)) => Err(ExtractError::Malformed(format!("html: {e}"))),
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            tracing::warn!(panic = %msg, "html2text panicked");
            Err(ExtractError::Malformed(format!(
                "html: converter panicked: {msg}"
            )))
        }
    }
}

/// The encoding declared by a `<meta charset=...>` or `<meta http-equiv content="...; charset=...">`
/// in the first [`META_PRESCAN`] bytes. As in browsers, a declared UTF-16 means UTF-8 (the bytes are
/// ASCII-compatible, or the meta could not have been read) and x-user-defined means windows-1252.
pub(crate) fn meta_charset(head: &[u8]) -> Option<&'static Encoding> {
    let scan = &head[..head.len().min(META_PRESCAN)];
    let lower = scan.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = find(&lower[from..], b"<meta") {
        let tag_start = from + at + 5;
        let tag_end = lower[tag_start..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(lower.len(), |e| tag_start + e);
        if let Some(enc) = charset_in(&lower[tag_start..tag_end]) {
            return Some(match enc.name() {
                "UTF-16LE" | "UTF-16BE" => encoding_rs::UTF_8,
                "x-user-defined" => encoding_rs::WINDOWS_1252,
                _ => enc,
            });
        }
        from = tag_end;
    }
    None
}

/// The encoding named after `charset` (optionally `=`, quotes) inside a lowercased meta tag.
fn charset_in(tag: &[u8]) -> Option<&'static Encoding> {
    let at = find(tag, b"charset")?;
    let rest = &tag[at + 7..];
    let rest = trim_start(rest);
    let rest = trim_start(rest.strip_prefix(b"=")?);
    let rest = rest
        .strip_prefix(b"\"")
        .or_else(|| rest.strip_prefix(b"'"))
        .unwrap_or(rest);
    let end = rest
        .iter()
        .position(|&b| matches!(b, b'"' | b'\'' | b';' | b'/' | b'>') || b.is_ascii_whitespace())
        .unwrap_or(rest.len());
    Encoding::for_label(&rest[..end])
}

fn trim_start(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    &b[start..]
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// How much of a document's start is searched for its `<title>`.
const TITLE_SCAN: usize = 64 * 1024;

/// Finds the document's `<title>` (html2text drops the `<head>`, but a page's title is what users search
/// for first) in the markup seen before `<body>` or [`TITLE_SCAN`] bytes.
#[derive(Default)]
struct TitleScan {
    /// Markup seen so far, while still looking.
    head: String,
    done: bool,
    title: Option<String>,
}

impl TitleScan {
    fn feed(&mut self, html: &str) {
        if self.done {
            return;
        }
        self.head.push_str(html);
        let lower = self.head.to_ascii_lowercase();
        let body = lower.find("<body");
        if let Some(open) = lower.find("<title").filter(|&t| body.is_none_or(|b| t < b)) {
            let inner_start = lower[open..].find('>').map(|e| open + e + 1);
            let inner_end = inner_start.and_then(|st| lower[st..].find("</title").map(|e| st + e));
            if let (Some(start), Some(end)) = (inner_start, inner_end) {
                self.title = render(&self.head[start..end])
                    .ok()
                    .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
                    .filter(|t| !t.is_empty());
                self.finish_scan();
                return;
            }
        }
        if body.is_some() || self.head.len() > TITLE_SCAN {
            self.finish_scan();
        }
    }

    fn finish_scan(&mut self) {
        self.done = true;
        self.head = String::new();
    }
}

/// Collects the text of an HTML stream: cuts it into pieces, renders each, stops once the text cap
/// is exceeded. The document's title, if any, comes first.
pub(crate) struct HtmlSink {
    chunker: Chunker,
    out: String,
    max_text: usize,
    title: TitleScan,
}

impl HtmlSink {
    /// A sink whose text is capped at `max_text` bytes.
    pub(crate) fn new(max_text: usize) -> Self {
        Self::with_chunker(Chunker::new(), max_text)
    }

    /// A sink with a given chunker (tests use small pieces).
    pub(crate) fn with_chunker(chunker: Chunker, max_text: usize) -> Self {
        HtmlSink {
            chunker,
            out: String::new(),
            max_text,
            title: TitleScan::default(),
        }
    }

    /// Renders one piece; its first `reopened` bytes repeat the tags still open from earlier pieces.
    fn append(&mut self, html: &str, reopened: usize) -> Result<(), ExtractError> {
        self.title.feed(html.get(reopened..).unwrap_or(html));
        let text = render(html)?;
        let text = text.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            return Ok(());
        }
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        self.out.push_str(text);
        Ok(())
    }
}

impl Sink for HtmlSink {
    fn push(&mut self, text: &str) -> Result<(), ExtractError> {
        self.chunker.push(text);
        while !self.is_full() {
            match self.chunker.next_chunk() {
                Some(piece) => self.append(&piece.text, piece.reopened)?,
                None => break,
            }
        }
        Ok(())
    }

    fn is_full(&self) -> bool {
        self.out.len() > self.max_text
    }

    fn finish(mut self) -> Result<(String, bool), ExtractError> {
        if !self.is_full() {
            while let Some(piece) = self.chunker.next_chunk() {
                self.append(&piece.text, piece.reopened)?;
                if self.is_full() {
                    break;
                }
            }
        }
        if !self.is_full()
            && let Some(piece) = self.chunker.finish()
        {
            self.append(&piece.text, piece.reopened)?;
        }
        if let Some(title) = self.title.title.take() {
            self.out = if self.out.is_empty() {
                title
            } else {
                format!("{title}\n{}", self.out)
            };
        }
        let cut = cut_at_char_boundary(&mut self.out, self.max_text);
        Ok((self.out, cut))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn convert(html: &str, target: usize) -> String {
        let mut sink = HtmlSink::with_chunker(Chunker::with_limits(target, 8), usize::MAX / 2);
        for piece in html.as_bytes().chunks(7) {
            // Feed valid UTF-8 only: the inputs here are ASCII.
            sink.push(std::str::from_utf8(piece).unwrap()).unwrap();
        }
        sink.finish().unwrap().0
    }

    const PAGE: &str = r#"<!DOCTYPE html>
<html><head><title>Page title</title>
<style>body { color: red } .hidden-style-marker {}</script></style>
<script type="text/javascript">var hiddenScriptMarker = "<p>not text</p>"; if (a < b) {}</script>
</head><body>
<!-- a hidden comment marker -->
<h1>Main heading</h1>
<p>Fish &amp; chips cost &pound;5 &mdash; caf&eacute; &#x263A; &lt;tag&gt;</p>
<p>Visit <a href="https://example.com/secret-url">the example site</a> today.</p>
<ul><li>first item<li>second item</ul>
<table><tr><td>cell one</td><td>cell two</td></tr></table>
<noscript>noscript body text</noscript>
<p>unclosed paragraph <b>bold <i>italic
<div>tail text"#;

    #[test]
    fn html_text_without_script_style_comments_or_urls() {
        for target in [usize::MAX / 2, 64, 16] {
            let text = convert(PAGE, target);
            for hidden in [
                "hiddenScriptMarker",
                "not text",
                "hidden-style-marker",
                "hidden comment marker",
                "secret-url",
                "https://",
            ] {
                assert!(
                    !text.contains(hidden),
                    "target {target}: {hidden:?} in {text:?}"
                );
            }
            if target >= 64 {
                assert!(
                    text.starts_with("Page title\n"),
                    "target {target}: {text:?}"
                );
            }
            for shown in [
                "Main heading",
                "Fish & chips cost £5 — café ☺ <tag>",
                "the example site",
                "first item",
                "second item",
                "cell one",
                "cell two",
                "unclosed paragraph bold italic",
                "tail text",
            ] {
                if target >= 64 {
                    assert!(
                        text.contains(shown),
                        "target {target}: {shown:?} missing in {text:?}"
                    );
                } else {
                    // Small pieces may break a line between words, never split or drop words.
                    for word in shown.split(' ') {
                        assert!(
                            text.contains(word),
                            "target {target}: {word:?} missing in {text:?}"
                        );
                    }
                }
            }
            assert!(
                !text.contains('*') && !text.contains('#') && !text.contains('['),
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_title_comes_first_even_when_split_across_pieces() {
        let page =
            "<html><head><TITLE>Fish &amp; chips\n  recipes</TITLE></head><body><p>body text</p>";
        for target in [usize::MAX / 2, 16, 8] {
            let text = convert(page, target);
            assert!(
                text.starts_with("Fish & chips recipes\n"),
                "target {target}: {text:?}"
            );
            assert!(text.contains("body text"), "target {target}: {text:?}");
        }
        // No title, or a title after the body started: nothing is made up.
        assert_eq!(convert("<p>just text</p>", 64), "just text");
        let late = convert("<body><p>text</p><title>late</title>", 64);
        assert!(!late.starts_with("late"), "{late:?}");
    }

    #[test]
    fn long_paragraphs_are_not_wrapped() {
        let words = "lorem ipsum dolor sit amet ".repeat(200);
        let text = convert(&format!("<p>{words}</p>"), usize::MAX / 2);
        assert_eq!(text.lines().count(), 1);
        assert_eq!(text, words.trim_end());
    }

    #[test]
    fn text_cap_is_applied_at_a_char_boundary() {
        let html = format!("<p>{}</p>", "é".repeat(100));
        let mut sink = HtmlSink::new(51);
        sink.push(&html).unwrap();
        let (text, cut) = sink.finish().unwrap();
        assert!(cut);
        assert_eq!(text, "é".repeat(25));
    }

    #[test]
    fn meta_charset_is_found() {
        assert_eq!(
            meta_charset(b"<html><head><META CHARSET=\"ISO-8859-1\">"),
            Some(encoding_rs::WINDOWS_1252)
        );
        assert_eq!(
            meta_charset(b"<meta http-equiv=Content-Type content='text/html; charset=koi8-r'>"),
            Some(encoding_rs::KOI8_R)
        );
        assert_eq!(
            meta_charset(b"<meta charset=utf-16>"),
            Some(encoding_rs::UTF_8)
        );
        assert_eq!(
            meta_charset(b"<meta name=x content=y><p>charset=koi8-r"),
            None
        );
        assert_eq!(meta_charset(b"<meta charset=bogus>"), None);
        let mut late = b" ".repeat(META_PRESCAN);
        late.extend_from_slice(b"<meta charset=koi8-r>");
        assert_eq!(meta_charset(&late), None);
    }

    #[test]
    fn panics_and_errors_become_malformed() {
        let n = 7;
        match guarded(|| panic!("boom {n}")) {
            Err(ExtractError::Malformed(m)) => assert_eq!(m, "html: converter panicked: boom 7"),
            other => panic!("{other:?}"),
        }
        match guarded(|| Err(html2text::Error::Fail)) {
            Err(ExtractError::Malformed(m)) => assert!(m.starts_with("html: "), "{m}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(render("<p>fine</p>").unwrap().trim(), "fine");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Scripts never leak into the text however the document is cut into pieces.
        #[test]
        fn scripts_never_leak(words in proptest::collection::vec("[a-z]{3,8}", 1..30),
                              target in 16usize..200) {
            let mut html = String::new();
            for (i, w) in words.iter().enumerate() {
                if i % 3 == 0 {
                    html.push_str(&format!("<script>var leak{i} = '<p>{w}leak</p>' < 1;</script>"));
                }
                if i % 4 == 0 {
                    html.push_str(&format!("<style>.leak{i} {{}}</style><!-- leak{i} <p> -->"));
                }
                html.push_str(&format!("<p>{w} </p>"));
            }
            let text = convert(&html, target);
            prop_assert!(!text.contains("leak"), "{} -> {}", html, text);
            for w in &words {
                prop_assert!(text.contains(w.as_str()), "{} missing", w);
            }
        }
    }
}
