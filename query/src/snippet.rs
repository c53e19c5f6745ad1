//! Snippets: the part of a file's text that best shows why it matched, on one line, with the matched
//! words marked.

use std::collections::BTreeMap;
use std::ops::Range;

use tantivy::schema::Field;
use tantivy::snippet::{SnippetGenerator, collapse_overlapped_ranges};
use tantivy::{Score, Searcher, Term};

use crate::parse::{Expr, Scope, TextMatch};
use crate::{QueryError, Snippet};

/// Longest fragment, in bytes, around highlighted words.
pub const MAX_FRAGMENT_BYTES: usize = 200;

/// Length, in bytes, of the start-of-text snippet used when nothing in the text is highlighted.
pub const LEAD_BYTES: usize = 150;

/// How many dictionary terms one prefix expands to when choosing what to highlight.
const MAX_HIGHLIGHT_EXPANSIONS: usize = 256;

/// Builds the snippets of one search.
pub(crate) struct SnippetMaker {
    /// `None` when the query searches no content term (only names and filters).
    generator: Option<SnippetGenerator>,
}

impl SnippetMaker {
    /// Prepares the snippets for `expr`: every content term the query looks for (not those it
    /// excludes), prefixes expanded against the index.
    pub(crate) fn new(
        searcher: &Searcher,
        expr: &Expr,
        content: Field,
    ) -> Result<Self, QueryError> {
        let mut wanted = Vec::new();
        positive_content_matches(expr, &mut wanted);
        let mut terms: BTreeMap<String, Score> = BTreeMap::new();
        for m in wanted {
            let (whole, last) = match (m.prefix, m.terms.split_last()) {
                (true, Some((last, whole))) => (whole, Some(last)),
                _ => (&m.terms[..], None),
            };
            for text in whole {
                let doc_freq = searcher.doc_freq(&Term::from_field_text(content, text))?;
                if doc_freq > 0 {
                    terms.insert(text.clone(), weight(doc_freq));
                }
            }
            if let Some(prefix) = last {
                for (text, doc_freq) in expand_prefix(searcher, content, prefix)? {
                    terms.insert(text, weight(doc_freq));
                }
            }
        }
        if terms.is_empty() {
            return Ok(Self { generator: None });
        }
        let tokenizer = searcher.index().tokenizer_for_field(content)?;
        Ok(Self {
            generator: Some(SnippetGenerator::new(
                terms,
                tokenizer,
                content,
                MAX_FRAGMENT_BYTES,
            )),
        })
    }

    /// The snippet for one document's text.
    pub(crate) fn make(&self, text: &str) -> Snippet {
        if let Some(generator) = &self.generator {
            let found = generator.snippet(text);
            if !found.highlighted().is_empty() {
                let range = widen(text, found.fragment_range());
                let shift = found.fragment_range().start - range.start;
                let highlights: Vec<Range<usize>> = collapse_overlapped_ranges(found.highlighted())
                    .into_iter()
                    .map(|r| r.start + shift..r.end + shift)
                    .collect();
                return one_line(&text[range], &highlights, usize::MAX);
            }
        }
        one_line(text, &[], LEAD_BYTES)
    }
}

/// Most characters of punctuation added at each end of a fragment by [`widen`].
const MAX_GLUED_CHARS: usize = 8;

/// Tantivy's fragments run from the start of a word to the end of a word; this takes in the punctuation
/// glued to them (`"hello`, `dog.`), up to the nearest blank or word character and at most
/// [`MAX_GLUED_CHARS`] characters on each side.
fn widen(text: &str, fragment: Range<usize>) -> Range<usize> {
    let glued = |c: &char| !c.is_alphanumeric() && !is_blank(*c);
    let before: usize = text[..fragment.start]
        .chars()
        .rev()
        .take(MAX_GLUED_CHARS)
        .take_while(glued)
        .map(char::len_utf8)
        .sum();
    let after: usize = text[fragment.end..]
        .chars()
        .take(MAX_GLUED_CHARS)
        .take_while(glued)
        .map(char::len_utf8)
        .sum();
    fragment.start - before..fragment.end + after
}

/// Rarer terms weigh more when choosing the fragment (tantivy's own weighting).
fn weight(doc_freq: u64) -> Score {
    1.0 / (1.0 + doc_freq as Score)
}

/// Collects the text matches that can put a word in the content: not under a negation, not `name:`.
fn positive_content_matches<'a>(expr: &'a Expr, out: &mut Vec<&'a TextMatch>) {
    match expr {
        Expr::And(children) | Expr::Or(children) => {
            for child in children {
                positive_content_matches(child, out);
            }
        }
        Expr::Text(m) if m.scope == Scope::ContentOrName => out.push(m),
        Expr::Not(_) | Expr::Text(_) | Expr::Ext(_) | Expr::Path { .. } => {}
    }
}

/// The terms of `field` that start with `prefix`, with their document frequencies summed over segments.
fn expand_prefix(
    searcher: &Searcher,
    field: Field,
    prefix: &str,
) -> Result<BTreeMap<String, u64>, QueryError> {
    let mut found: BTreeMap<String, u64> = BTreeMap::new();
    for segment in searcher.segment_readers() {
        let index = segment.inverted_index(field)?;
        let mut range = index.terms().range().ge(prefix.as_bytes());
        if let Some(end) = prefix_end(prefix.as_bytes()) {
            range = range.lt(end);
        }
        let mut stream = range.into_stream().map_err(tantivy::TantivyError::from)?;
        let mut taken = 0;
        while taken < MAX_HIGHLIGHT_EXPANSIONS && stream.advance() {
            let Ok(text) = std::str::from_utf8(stream.key()) else {
                continue;
            };
            taken += 1;
            *found.entry(text.to_owned()).or_default() += u64::from(stream.value().doc_freq);
        }
    }
    Ok(found)
}

/// The smallest byte string greater than every string starting with `prefix`; `None` when there is none.
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Characters shown as a space: whitespace (newlines included), control characters and the invisible
/// bidirectional controls that could reorder a terminal line.
fn is_blank(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Puts `text` on one line: every run of blanks (see [`is_blank`]) becomes one space, leading and
/// trailing blanks go, and the result stops before `max_bytes` would be exceeded (at a character
/// boundary). `highlights` (byte ranges into `text`, sorted, not overlapping, on character boundaries)
/// are moved to match; parts cut off are dropped.
pub(crate) fn one_line(text: &str, highlights: &[Range<usize>], max_bytes: usize) -> Snippet {
    // For each byte offset of `text` that starts a character (and its end), where it lands in the output.
    let mut map = vec![usize::MAX; text.len() + 1];
    let mut out = String::new();
    let mut pending_space = false;
    let mut cut = text.len();
    for (i, c) in text.char_indices() {
        if is_blank(c) {
            map[i] = out.len();
            pending_space = !out.is_empty();
            continue;
        }
        let space = usize::from(pending_space);
        if out.len() + space + c.len_utf8() > max_bytes {
            cut = i;
            break;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        map[i] = out.len();
        out.push(c);
    }
    map[cut] = out.len();
    let highlights = highlights
        .iter()
        .filter(|r| r.start < r.end && r.end <= cut)
        .filter_map(|r| {
            let (start, end) = (*map.get(r.start)?, *map.get(r.end)?);
            (start < end && end <= out.len()).then_some(start..end)
        })
        .collect();
    Snippet {
        text: out,
        highlights,
    }
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)] // ranges are the data here
mod tests {
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
}
