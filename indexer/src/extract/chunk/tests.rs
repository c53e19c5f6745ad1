//! Tests of `chunk`.

use super::*;
use proptest::prelude::*;

/// All pieces of `html` fed in steps of about `step` bytes (extended to char boundaries).
fn pieces(html: &str, target: usize, depth: usize, step: usize) -> Vec<Piece> {
    pieces_of(Chunker::with_limits(target, depth), html, step)
}

/// All pieces `c` makes of `html` fed in steps of about `step` bytes.
fn pieces_of(mut c: Chunker, html: &str, step: usize) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut rest = html;
    while !rest.is_empty() {
        let mut n = step.clamp(1, rest.len());
        while !rest.is_char_boundary(n) {
            n += 1;
        }
        c.push(&rest[..n]);
        rest = &rest[n..];
        while let Some(p) = c.next_chunk() {
            out.push(p);
        }
    }
    out.extend(c.finish());
    out
}

fn texts(p: &[Piece]) -> Vec<&str> {
    p.iter().map(|x| x.text.as_str()).collect()
}

/// The input again, without the reopening prefixes.
fn rejoin(p: &[Piece]) -> String {
    p.iter().map(|x| &x.text[x.reopened..]).collect()
}

#[test]
fn small_input_is_one_piece() {
    let html = "<p>hello</p><script>x</script>";
    assert_eq!(texts(&pieces(html, TARGET, MAX_DEPTH, 3)), vec![html]);
}

#[test]
fn cuts_before_tags_once_big_enough() {
    let html = "<p>aaaa</p><p>bbbb</p><p>cccc</p>";
    let p = pieces(html, 8, MAX_DEPTH, 5);
    assert_eq!(texts(&p), vec!["<p>aaaa</p>", "<p>bbbb</p>", "<p>cccc</p>"]);
}

#[test]
fn never_cuts_inside_a_tag_or_quoted_value() {
    let html = r#"<a title="x > y <b> z" href='q'>link</a> tail"#;
    let p = pieces(html, 2, MAX_DEPTH, 1);
    assert!(
        p[0].text.starts_with(r#"<a title="x > y <b> z" href='q'>"#),
        "{p:?}"
    );
    assert_eq!(rejoin(&p), html);
}

#[test]
fn raw_text_and_comments_are_reopened() {
    let html = "<script>var a = 1; var b = 2;</script><p>t</p><!-- long comment here -->";
    let p = pieces(html, 12, MAX_DEPTH, 4);
    assert!(p.len() > 3, "{p:?}");
    let reopened: Vec<&str> = p.iter().map(|x| &x.text[..x.reopened]).collect();
    assert!(reopened.contains(&"<script>"), "{p:?}");
    assert!(reopened.contains(&"<!-- "), "{p:?}");
    assert_eq!(rejoin(&p), html);
    // A piece that starts inside the script reopens it.
    for x in &p {
        if x.text[x.reopened..].starts_with("var") || x.text[x.reopened..].starts_with(" var") {
            assert_eq!(&x.text[..x.reopened], "<script>", "{p:?}");
        }
    }
}

#[test]
fn end_tag_match_is_case_insensitive_and_needs_a_delimiter() {
    let mut c = Chunker::with_limits(TARGET, MAX_DEPTH);
    c.push("<SCRIPT>a</scriptx>b</ScRiPt >c");
    assert!(c.next_chunk().is_none());
    assert_eq!(c.state, State::Data);
    assert_eq!(c.depth, 0);
    let mut c = Chunker::with_limits(TARGET, MAX_DEPTH);
    c.push("<plaintext>a</plaintext><p>");
    assert!(c.next_chunk().is_none());
    assert!(matches!(c.state, State::Raw { .. }), "plaintext never ends");
}

#[test]
fn deep_nesting_is_cut() {
    let html = "<div>".repeat(1000);
    let p = pieces(&html, TARGET, 100, 64);
    assert_eq!(p.len(), 10);
    assert!(p.iter().all(|x| x.text.len() == 500));
    // Void and self-closing elements do not count.
    let flat = "<br><img src=x><x/>".repeat(1000);
    assert_eq!(pieces(&flat, TARGET, 100, 64).len(), 1);
}

#[test]
fn long_text_is_cut_at_whitespace_then_anywhere() {
    let words = "word ".repeat(100);
    let p = pieces(&words, 50, MAX_DEPTH, 7);
    assert_eq!(p.len(), 5, "cut at the first space after 100 bytes");
    assert!(p[1..].iter().all(|x| x.text.starts_with(' ')), "{p:?}");
    assert_eq!(rejoin(&p), words);
    let blob = "é".repeat(500);
    let p = pieces(&blob, 50, MAX_DEPTH, 7);
    assert!(p.len() > 1);
    assert!(p.iter().all(|x| x.text.len() <= 50 * HARD_FACTOR + 1));
    assert_eq!(rejoin(&p), blob);
}

#[test]
fn comment_and_markup_declaration_ends() {
    for html in [
        "<!-->x",
        "<!--->x",
        "<!-- a --!>x",
        "<!-- a -->x",
        "<!doctype html>x",
        "<?php ?>x",
        "</ >x",
    ] {
        let mut c = Chunker::with_limits(TARGET, MAX_DEPTH);
        c.push(html);
        assert!(c.next_chunk().is_none());
        assert_eq!(c.state, State::Data, "{html}");
    }
}

fn html_soup() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        Just("<p>".to_string()),
        Just("</p>".to_string()),
        Just("<div class=\"a>b\">".to_string()),
        Just("</div>".to_string()),
        Just("<script>if (a<b) x='</p>';</script>".to_string()),
        Just("<style>p{}</style>".to_string()),
        Just("<!-- c -- > <p> -->".to_string()),
        Just("<br/>".to_string()),
        Just(" ".to_string()),
        Just("é".to_string()),
        "[a-z<>/!\"'= -]{0,8}",
    ];
    proptest::collection::vec(atom, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn pieces_rejoin_to_the_input(html in html_soup(), target in 1usize..40,
                                  depth in 1usize..6, step in 1usize..30) {
        let p = pieces(&html, target, depth, step);
        prop_assert_eq!(rejoin(&p), html.clone());
        prop_assert!(p.iter().all(|x| x.text.len() > x.reopened));
        // Feeding everything at once gives the same pieces.
        prop_assert_eq!(pieces(&html, target, depth, html.len()), p.clone());
        // So does scanning every byte through the state machine, without jumping over text.
        let mut slow = Chunker::with_limits(target, depth);
        slow.skip_plain = false;
        prop_assert_eq!(pieces_of(slow, &html, step), p);
    }
}
