//! Snippets: the part of a file's text that best shows why it matched, on one line, with the matched
//! words marked.

use std::collections::BTreeMap;
use std::ops::Range;

use memchr::{memchr2_iter, memmem};
use tantivy::postings::Postings;
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::snippet::collapse_overlapped_ranges;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocAddress, DocSet, Score, Searcher, Term};

use crate::error::QueryError;
use crate::parse::ast::{Expr, Scope, TextMatch};
use crate::request::Snippet;

/// Longest fragment, in bytes, around highlighted words.
pub const MAX_FRAGMENT_BYTES: usize = 200;

/// Length, in bytes, of the start-of-text snippet used when nothing in the text is highlighted.
pub const LEAD_BYTES: usize = 150;

/// How many dictionary terms one prefix expands to when choosing what to highlight.
const MAX_HIGHLIGHT_EXPANSIONS: usize = 256;

/// Places where a word may match that are looked at per needle (the first ones in the text).
const MAX_CANDIDATES_PER_NEEDLE: usize = 8;

/// Windows of text analyzed per document: the first place of every needle, then the earliest others.
const MAX_WINDOWS: usize = 16;

/// Bytes of text taken after a candidate place: the fragment holding it and the next.
const WINDOW_MARGIN: usize = MAX_FRAGMENT_BYTES;

/// Fragments are cut from the start of a window, so a window starts shortly before its candidate: at
/// the start of the candidate's line when that is at most this many bytes before it...
const MAX_LINE_CONTEXT: usize = MAX_FRAGMENT_BYTES / 2;

/// ...else this many bytes before it (then moved out of any word).
const WORD_CONTEXT: usize = 40;

/// How far, in bytes, a window edge moves to reach a word boundary. The analyzer drops longer words
/// ([`fandex_schema::MAX_TOKEN_BYTES`]), so an edge inside such a word may move the other way,
/// skipping it.
const MAX_EDGE_SHIFT: usize = 2 * fandex_schema::MAX_TOKEN_BYTES;

/// What is searched for in a text to find the places worth analyzing: a wanted term, or the prefix of
/// a prefix query (whose expansions are the terms).
#[derive(Debug)]
struct Needle {
    /// Lowercased and folded, as the analyzer produces it.
    text: String,
    /// Whether the term is pure ASCII: then it is found case-insensitively with a byte scan.
    ascii: bool,
}

/// Builds the snippets of one search.
///
/// A document's text can run to megabytes, and tokenizing all of it for every hit made snippets cost
/// 100 ms per search on large corpora. So only a few windows of the text are analyzed: the places where
/// a cheap byte scan finds a wanted word (case-insensitively, for ASCII words), or, when that finds none
/// although the index says the document holds one (a word written with non-ASCII letters that fold to
/// it, like `Café` for `cafe`), the places a word-by-word scan finds. The analyzer then decides within
/// each window, so highlights are exactly the words the index matched.
pub(crate) struct SnippetMaker {
    /// The wanted terms and their weights; empty when the query searches no content term.
    terms: BTreeMap<String, Score>,
    /// What the byte scan looks for.
    needles: Vec<Needle>,
    /// The content field's analyzer.
    analyzer: TextAnalyzer,
    content: Field,
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
        let mut needles: BTreeMap<String, ()> = BTreeMap::new();
        for m in wanted {
            let (whole, last) = match (m.prefix, m.terms.split_last()) {
                (true, Some((last, whole))) => (whole, Some(last)),
                _ => (&m.terms[..], None),
            };
            for text in whole {
                let doc_freq = searcher.doc_freq(&Term::from_field_text(content, text))?;
                if doc_freq > 0 {
                    terms.insert(text.clone(), weight(doc_freq));
                    needles.insert(text.clone(), ());
                }
            }
            if let Some(prefix) = last {
                let expanded = expand_prefix(searcher, content, prefix)?;
                if !expanded.is_empty() && !prefix.is_empty() {
                    needles.insert(prefix.clone(), ());
                }
                for (text, doc_freq) in expanded {
                    terms.insert(text, weight(doc_freq));
                }
            }
        }
        // A needle that starts with another finds nothing more than it.
        let mut kept: Vec<String> = Vec::new();
        for text in needles.into_keys() {
            if !kept.last().is_some_and(|k| text.starts_with(k.as_str())) {
                kept.push(text);
            }
        }
        let needles = kept
            .into_iter()
            .map(|text| Needle {
                ascii: text.is_ascii(),
                text,
            })
            .collect();
        Ok(Self {
            terms,
            needles,
            analyzer: searcher.index().tokenizer_for_field(content)?,
            content,
        })
    }

    /// The snippet for the text of the document at `address`.
    pub(crate) fn make(
        &self,
        searcher: &Searcher,
        address: DocAddress,
        text: &str,
    ) -> Result<Snippet, QueryError> {
        if self.terms.is_empty() || text.is_empty() {
            return Ok(lead(text));
        }
        let mut places = self.scan_needles(text);
        if places.is_empty() {
            if !self.content_has_a_term(searcher, address)? {
                return Ok(lead(text)); // matched by name or filters only
            }
            places = self.scan_words(text);
        }
        let Some(best) = self.best_fragment(text, &places) else {
            return Ok(lead(text));
        };
        let range = widen(text, best.range.clone());
        let highlights: Vec<Range<usize>> = collapse_overlapped_ranges(&best.highlights)
            .into_iter()
            .map(|r| r.start - range.start..r.end - range.start)
            .collect();
        Ok(one_line(&text[range], &highlights, usize::MAX))
    }

    /// Byte offsets where a needle starts a word whose ASCII form could be a wanted term (a word with
    /// non-ASCII letters is kept for the analyzer to decide): at most [`MAX_CANDIDATES_PER_NEEDLE`] per
    /// needle, sorted; the first place of each needle comes first in the returned order's priority (see
    /// [`Self::best_fragment`]).
    fn scan_needles(&self, text: &str) -> Vec<Place> {
        let bytes = text.as_bytes();
        let mut places = Vec::new();
        for needle in &self.needles {
            let pattern = needle.text.as_bytes();
            let Some(&first) = pattern.first() else {
                continue;
            };
            let mut found = 0;
            let mut consider = |at: usize| -> bool {
                if self.word_at_could_match(text, at, pattern.len()) {
                    places.push(Place {
                        at,
                        first: found == 0,
                    });
                    found += 1;
                }
                found < MAX_CANDIDATES_PER_NEEDLE
            };
            if needle.ascii {
                for at in memchr2_iter(first, first.to_ascii_uppercase(), bytes) {
                    let matches = bytes
                        .get(at..at + pattern.len())
                        .is_some_and(|b| b.eq_ignore_ascii_case(pattern));
                    if matches && !consider(at) {
                        break;
                    }
                }
            } else {
                for at in memmem::find_iter(bytes, pattern) {
                    if !consider(at) {
                        break;
                    }
                }
            }
        }
        places.sort_by_key(|p| p.at);
        places
    }

    /// Whether the word that would start at `at` (where a needle of `len` bytes was found) can be a wanted
    /// term: it must start a word, and if it is ASCII its lowercase form must be a term.
    fn word_at_could_match(&self, text: &str, at: usize, len: usize) -> bool {
        if !text.is_char_boundary(at)
            || text[..at]
                .chars()
                .next_back()
                .is_some_and(char::is_alphanumeric)
        {
            return false;
        }
        let word_len = text[at..]
            .char_indices()
            .find(|(_, c)| !c.is_alphanumeric())
            .map_or(text.len() - at, |(i, _)| i);
        if word_len < len {
            return false;
        }
        let word = &text[at..at + word_len];
        !word.is_ascii() || self.terms.contains_key(&word.to_ascii_lowercase())
    }

    /// Whether the document at `address` holds a wanted term in its content (per the index).
    fn content_has_a_term(
        &self,
        searcher: &Searcher,
        address: DocAddress,
    ) -> Result<bool, QueryError> {
        let segment = searcher.segment_reader(address.segment_ord);
        let index = segment.inverted_index(self.content)?;
        for text in self.terms.keys() {
            let term = Term::from_field_text(self.content, text);
            let postings = index
                .read_postings(&term, IndexRecordOption::Basic)
                .map_err(tantivy::TantivyError::from)?;
            let Some(mut postings) = postings else {
                continue;
            };
            // `seek` may not go backwards: a list starting after the document does not hold it.
            let at = match postings.doc() {
                doc if doc < address.doc_id => postings.seek(address.doc_id),
                doc => doc,
            };
            if at == address.doc_id && postings.term_freq() > 0 {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Word by word, the first places (at most [`MAX_WINDOWS`]) whose word the analyzer turns into a
    /// wanted term. ASCII words are compared directly; only words with other characters go through the
    /// analyzer.
    fn scan_words(&self, text: &str) -> Vec<Place> {
        let mut places = Vec::new();
        let mut analyzer = self.analyzer.clone();
        let mut start = None;
        let mut check = |from: usize, to: usize, places: &mut Vec<Place>| {
            let word = &text[from..to];
            let matched = if word.is_ascii() {
                self.terms.contains_key(&word.to_ascii_lowercase())
            } else {
                let mut stream = analyzer.token_stream(word);
                let mut any = false;
                while let Some(token) = stream.next() {
                    any |= self.terms.contains_key(&token.text);
                }
                any
            };
            if matched {
                places.push(Place {
                    at: from,
                    first: places.is_empty(),
                });
            }
        };
        for (i, c) in text.char_indices() {
            match (c.is_alphanumeric(), start) {
                (true, None) => start = Some(i),
                (false, Some(from)) => {
                    start = None;
                    check(from, i, &mut places);
                    if places.len() >= MAX_WINDOWS {
                        return places;
                    }
                }
                _ => {}
            }
        }
        if let Some(from) = start {
            check(from, text.len(), &mut places);
        }
        places
    }

    /// The best fragment among the windows around `places` (sorted by offset): the highest sum of the
    /// weights of its matched words, the earliest on ties (tantivy's rule). The windows are the first
    /// place of each needle, then the earliest other places, at most [`MAX_WINDOWS`]; overlapping
    /// windows are merged.
    fn best_fragment(&self, text: &str, places: &[Place]) -> Option<Fragment> {
        let mut chosen: Vec<usize> = places.iter().filter(|p| p.first).map(|p| p.at).collect();
        chosen.truncate(MAX_WINDOWS);
        for p in places.iter().filter(|p| !p.first) {
            if chosen.len() >= MAX_WINDOWS {
                break;
            }
            chosen.push(p.at);
        }
        chosen.sort_unstable();
        let mut windows: Vec<Range<usize>> = Vec::new();
        for at in chosen {
            let window = word_window(text, window_start(text, at)..at + 2 * WINDOW_MARGIN);
            match windows.last_mut() {
                Some(last) if window.start <= last.end => last.end = last.end.max(window.end),
                _ => windows.push(window),
            }
        }
        let mut best: Option<Fragment> = None;
        for window in windows {
            for fragment in self.fragments(text, window) {
                if best.as_ref().is_none_or(|b| fragment.score > b.score) {
                    best = Some(fragment);
                }
            }
        }
        best
    }

    /// tantivy's fragments of `text[window]`: consecutive runs of words at most [`MAX_FRAGMENT_BYTES`]
    /// long, the ones holding a wanted word, with ranges into `text`.
    fn fragments(&self, text: &str, window: Range<usize>) -> Vec<Fragment> {
        let base = window.start;
        let mut analyzer = self.analyzer.clone();
        let mut stream = analyzer.token_stream(&text[window]);
        let mut out = Vec::new();
        let mut current = Fragment::empty(base);
        while let Some(token) = stream.next() {
            let (from, to) = (base + token.offset_from, base + token.offset_to);
            if to - current.range.start > MAX_FRAGMENT_BYTES {
                let done = std::mem::replace(&mut current, Fragment::empty(from));
                if done.score > 0.0 {
                    out.push(done);
                }
            }
            current.range.end = to;
            if let Some(&score) = self.terms.get(&token.text) {
                current.score += score;
                current.highlights.push(from..to);
            }
        }
        if current.score > 0.0 {
            out.push(current);
        }
        out
    }
}

/// A place in a text where a wanted word may start.
#[derive(Debug, Clone, Copy)]
struct Place {
    /// Byte offset.
    at: usize,
    /// Whether it is the first place found for its needle.
    first: bool,
}

/// A candidate fragment: a range of the text, its score and its matched words.
#[derive(Debug)]
struct Fragment {
    range: Range<usize>,
    score: Score,
    highlights: Vec<Range<usize>>,
}

impl Fragment {
    fn empty(at: usize) -> Self {
        Self {
            range: at..at,
            score: 0.0,
            highlights: Vec::new(),
        }
    }
}

/// `range` clamped to `text`, its ends moved to character boundaries and then out of any word they
/// fall in (outwards by at most [`MAX_EDGE_SHIFT`] bytes; a longer word, which the analyzer drops
/// anyway, is left out instead), so no word is cut.
fn word_window(text: &str, range: Range<usize>) -> Range<usize> {
    let mut start = floor_boundary(text, range.start.min(text.len()));
    let mut end = floor_boundary(text, range.end.min(text.len()));
    let is_word = |c: char| c.is_alphanumeric();
    let cuts_word = |at: usize| {
        text[..at].chars().next_back().is_some_and(is_word)
            && text[at..].chars().next().is_some_and(is_word)
    };
    if cuts_word(start) {
        let back = text[..start]
            .char_indices()
            .rev()
            .take_while(|&(i, c)| is_word(c) && start - i <= MAX_EDGE_SHIFT)
            .last()
            .map(|(i, _)| i);
        start = match back {
            Some(i) if !cuts_word(i) => i,
            _ => text[start..]
                .char_indices()
                .find(|&(_, c)| !is_word(c))
                .map_or(text.len(), |(i, _)| start + i),
        };
    }
    if end < start {
        end = start;
    }
    if cuts_word(end) {
        let forward = text[end..]
            .char_indices()
            .find(|&(_, c)| !is_word(c))
            .map_or(text.len(), |(i, _)| end + i);
        end = if forward - end <= MAX_EDGE_SHIFT {
            forward
        } else {
            text[start..end]
                .char_indices()
                .rev()
                .find(|&(_, c)| !is_word(c))
                .map_or(start, |(i, c)| start + i + c.len_utf8())
        };
    }
    start..end.max(start)
}

/// Where the window around a candidate at `at` starts (before [`word_window`] adjusts it): see
/// [`MAX_LINE_CONTEXT`] and [`WORD_CONTEXT`].
fn window_start(text: &str, at: usize) -> usize {
    let from = at.saturating_sub(MAX_LINE_CONTEXT);
    match memchr::memrchr(b'\n', &text.as_bytes()[from..at]) {
        Some(i) => from + i + 1,
        None => at.saturating_sub(WORD_CONTEXT),
    }
}

/// The greatest character boundary of `text` at or before `at` (which is at most `text.len()`).
fn floor_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The start-of-text snippet: at most [`LEAD_BYTES`], nothing highlighted.
fn lead(text: &str) -> Snippet {
    one_line(text, &[], LEAD_BYTES)
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
        _ => {}
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
    // For each byte offset of `text` up to where the output stops, where it lands in the output
    // (usize::MAX inside a character). Built as the text is read, so a short snippet of a long text
    // costs only the part read.
    let mut map: Vec<usize> = Vec::new();
    let mut out = String::new();
    let mut pending_space = false;
    let mut cut = text.len();
    for (i, c) in text.char_indices() {
        map.resize(i, usize::MAX);
        if is_blank(c) {
            map.push(out.len());
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
        map.push(out.len());
        out.push(c);
    }
    map.resize(cut, usize::MAX);
    map.push(out.len());
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
mod tests;
