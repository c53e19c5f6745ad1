//! Tests of snippets: one-line excerpts, highlights, windows and prefix expansion.

use super::line::MAX_EDGE_SHIFT;
use super::*;

#[test]
fn blanks_collapse_and_highlights_follow() {
    let text = "\n\t a  b\r\nfoo\u{0085}bar\u{202E}baz  ";
    let foo = text.find("foo").unwrap();
    let bar = text.find("bar").unwrap();
    let baz = text.find("baz").unwrap();
    let s = one_line(text, &[foo..foo + 3, bar..bar + 3, baz..baz + 3], 1000);
    assert_eq!(s.text, "a b foo bar baz");
    let marked: Vec<&str> = s.highlights.iter().map(|r| &s.text[r.clone()]).collect();
    assert_eq!(marked, ["foo", "bar", "baz"]);
}

#[test]
fn cut_at_a_char_boundary_and_drops_cut_highlights() {
    let text = "éééé xyz";
    let s = one_line(text, &[9..12], 5);
    assert_eq!(s.text, "éé");
    assert!(s.highlights.is_empty());
    let s = one_line(text, &[9..12], 12);
    assert_eq!(s.text, "éééé xyz");
    assert_eq!(s.highlights, [9..12]);
    let s = one_line(text, &[9..12], 11);
    assert_eq!(s.text, "éééé xy");
    assert!(s.highlights.is_empty());
}

#[test]
fn widen_takes_glued_punctuation_only() {
    let text = "say \"hello,\" he said. «Où» x";
    let hello = text.find("hello").unwrap();
    assert_eq!(&text[widen(text, hello..hello + 5)], "\"hello,\"");
    let he = text.find("he said").unwrap();
    assert_eq!(&text[widen(text, he..he + 7)], "he said.");
    let ou = text.find("Où").unwrap();
    assert_eq!(&text[widen(text, ou..ou + "Où".len())], "«Où»");
    let dashed = "a-b";
    assert_eq!(&dashed[widen(dashed, 0..1)], "a-");
    assert_eq!(widen("!!!!!!!!!!!x", 11..12), 3..12);
}

#[test]
fn windows_end_on_char_and_word_boundaries() {
    let text = "ab é漢字 cdé fgh ".repeat(40);
    // Every boundary between CJK characters is a word boundary (the index's bigrams start at each).
    let is_word = |c: Option<char>| {
        c.is_some_and(|c| c.is_alphanumeric() && !fandex_schema::analysis::is_cjk(c))
    };
    for start in 0..text.len() {
        for len in [0, 1, 5, 17, 300] {
            let w = word_window(&text, start..start + len);
            assert!(text.is_char_boundary(w.start) && text.is_char_boundary(w.end));
            assert!(w.start <= w.end && w.end <= text.len());
            let before = text[..w.start].chars().next_back();
            let after = text[w.end..].chars().next();
            assert!(!(is_word(before) && is_word(text[w.start..].chars().next())));
            assert!(!(is_word(text[..w.end].chars().next_back()) && is_word(after)));
        }
    }
    // A word longer than the edges may move is left out rather than cut.
    let long = format!("x {} y", "a".repeat(MAX_EDGE_SHIFT * 2));
    let w = word_window(&long, 200..long.len());
    assert_eq!(&long[w], " y");
    let w = word_window(&long, 0..10);
    assert_eq!(&long[w], "x ");
}

#[test]
fn empty_and_blank_text() {
    assert_eq!(one_line("", &[], 10), Snippet::default());
    assert_eq!(one_line(" \n\u{1}", &[], 10), Snippet::default());
}

#[test]
fn prefix_end_increments_last_byte() {
    assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
    assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
    assert_eq!(prefix_end(b"\xff"), None);
}

#[test]
fn needles_are_found_by_their_rarest_letter() {
    assert_eq!(rarest_letter(b"type"), 1);
    assert_eq!(rarest_letter(b"text"), 2);
    assert_eq!(rarest_letter(b"iterator"), 3);
    assert_eq!(rarest_letter(b"2024"), 0);
    assert_eq!(rarest_letter(b"_q1"), 1);
}

/// The byte scan finds every case-insensitive occurrence, wherever the rarest letter is, and none
/// starting before the text (an anchor found too near its start).
#[test]
fn the_byte_scan_finds_every_place_in_order() {
    let (schema, fields) = fandex_schema::build_schema();
    let index = tantivy::Index::create_in_ram(schema);
    fandex_schema::register_analyzers(&index);
    let searcher = index.reader().unwrap().searcher();
    let expr = crate::parse::parse("type").unwrap();
    let mut maker = SnippetMaker::new(&searcher, &expr, &fields).unwrap();
    maker.terms.insert("type".into(), 1.0);
    maker.needles = vec![Needle {
        text: "type".into(),
        ascii: true,
    }];
    let text = "ype TYPE, Type; typeset ytype a-type";
    let places: Vec<usize> = maker.scan_needles(text).iter().map(|p| p.at).collect();
    let expected: Vec<usize> = text
        .to_ascii_lowercase()
        .match_indices("type")
        .map(|(at, _)| at)
        .filter(|&at| maker.word_at_could_match(text, at, 4))
        .collect();
    assert_eq!(places, expected);
    assert!(expected.contains(&4) && expected.len() >= 3, "{expected:?}");
}
