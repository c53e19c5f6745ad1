//! Tests of `html`.

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
fn malformed_markup_never_fails_the_file() {
    for bad in [
        "<",
        "<<",
        "</",
        "<!",
        "<!-",
        "<!--",
        "<?",
        "&",
        "&#",
        "&#x",
        "<a href=\"",
        "<a b='",
        "<script>",
        "</script",
        "<p",
        "<p/",
        "<![CDATA[",
        "<a =>",
        "\u{0}<\u{0}>",
    ] {
        let mut sink = HtmlSink::new(1000);
        sink.push(bad).unwrap();
        assert!(sink.finish().is_ok(), "{bad:?}");
    }
    assert_eq!(render("<p>fine</p>"), "fine");
}

#[test]
fn attributes_comments_and_declarations_are_never_text() {
    let html = r#"<!DOCTYPE html PUBLIC "x"><?xml version="1.0"?><a title='a > b' data-x="it's > here" alt=x>one</a>
<img src=pic.png alt="alt text"><p class = "c" id=i/>two</p><!-- c1 --><!-->three<!--->four<!-- x --!>five
<!-- a -- b -->six</ x>seven<![CDATA[ hidden ]]>eight"#;
    assert_eq!(render(html), "one\ntwo\nthreefourfive sixseveneight");
    // An attribute cut by the end of the piece, or an unclosed comment, hides the rest.
    assert_eq!(render("text <a href=\"x y"), "text");
    assert_eq!(render("text <!-- never closed <p>x"), "text");
    assert_eq!(render("text <?pi"), "text");
}

#[test]
fn hidden_and_raw_text_elements() {
    let html = "a<script>x = '</scriptx>' < 1 </SCRIPT >b<style>p{}</style>c\
                    <template><p>tmpl <template>inner</template> still</p></template>d\
                    <noscript>e</noscript><iframe><p>f</iframe>g<title>t</title>\
                    <textarea>&lt;h&gt; <b></textarea><xmp>&amp; <i></xmp>";
    assert_eq!(render(html), "a b c\nd\ne\ng <h> <b>\n&amp; <i>");
    assert_eq!(render("x<plaintext><p>&amp;</p>"), "x\n<p>&amp;</p>");
    // A raw-text element cut by the end of the piece hides everything after it.
    assert_eq!(render("x<script>var y = 1;"), "x");
}

#[test]
fn blocks_break_lines_and_whitespace_collapses() {
    let html = "<div>one</div><div>  two \n\t three</div>in<b>li</b>ne<br>after br\
                    <ul><li>i1</li><li>i2</ul><table><tr><td>c1<td>c2<tr><th>h</table>\
                    a&nbsp;&nbsp;b&#32;&#10;c";
    assert_eq!(
        render(html),
        "one\ntwo three\ninline\nafter br\ni1\ni2\nc1 c2\nh\na b c"
    );
    assert_eq!(render("   \n "), "");
    assert_eq!(render("<p></p><div> </div>"), "");
}

#[test]
fn character_references_and_stray_markup_characters() {
    assert_eq!(
        render("&amp &lt;b&gt; &copy2026 &notit; &#8364;&#x263a; &#150; &bogus; & &#; a<1 a < b"),
        "& <b> ©2026 ¬it; €☺ – &bogus; & &#; a<1 a < b"
    );
    // Tags that are not tags: `<` before a digit, a space or the end.
    assert_eq!(render("1<2 x <\u{e9}t\u{e9} <"), "1<2 x <\u{e9}t\u{e9} <");
    assert_eq!(render("a</>b</ 3>c"), "abc");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Any input converts, and the text is trimmed with whitespace collapsed.
    #[test]
    fn any_input_converts_to_collapsed_text(html in "(<[a-zA-Z!/?]{0,4}|[a-z \n\"'=>&;#x0-9-]|<script>|</script>|<template>|&nbsp|é){0,200}") {
        let text = render(&html);
        prop_assert_eq!(text.trim(), text.as_str());
        prop_assert!(!text.contains("  ") && !text.contains(" \n") && !text.contains("\n "), "{:?}", text);
        prop_assert!(!text.contains("\n\n") && !text.contains('\t'), "{:?}", text);
    }

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
