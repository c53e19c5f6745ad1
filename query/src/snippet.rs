//! Snippets: the part of a file's text that best shows why it matched, on one line, with the matched
//! words marked.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::Mutex;

use memchr::{memchr2_iter, memmem};
use tantivy::postings::{Postings, SegmentPostings};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::snippet::collapse_overlapped_ranges;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocAddress, DocId, DocSet, InvertedIndexReader, Score, Searcher, Term};

use fandex_schema::Fields;
use fandex_schema::analysis::{is_word_boundary, tokens_of};
pub use line::{LEAD_BYTES, MAX_FRAGMENT_BYTES};
use line::{WINDOW_MARGIN, lead, one_line, widen, window_start, word_window};

use crate::error::QueryError;
use crate::parse::ast::{Expr, Scope, TextMatch};
use crate::request::Snippet;

pub(crate) mod chunked;
mod line;

/// How many dictionary terms one prefix expands to when choosing what to highlight.
const MAX_HIGHLIGHT_EXPANSIONS: usize = 256;

/// Places where a word may match that are looked at per needle (the first ones in the text).
const MAX_CANDIDATES_PER_NEEDLE: usize = 8;

/// Windows of text analyzed per document: the first place of every needle, then the earliest others.
const MAX_WINDOWS: usize = 16;

/// Words whose stems one search remembers having looked up (see [`SnippetMaker::wanted`]).
const MAX_STEMMED_WORDS: usize = 1 << 16;

/// Lowercase ASCII letters from the most to the least frequent in English text.
const LETTERS_BY_FREQUENCY: &[u8] = b"etaoinsrhldcumfpgwybvkxjqz";

/// The index in `pattern` (lowercase ASCII, not empty) of its least frequent letter (the first of
/// the least frequent), 0 when it has no letter.
fn rarest_letter(pattern: &[u8]) -> usize {
    let rank = |b: u8| LETTERS_BY_FREQUENCY.iter().position(|&l| l == b);
    let mut best: Option<(usize, usize)> = None;
    for (i, &b) in pattern.iter().enumerate() {
        if let Some(r) = rank(b)
            && best.is_none_or(|(_, best_rank)| r > best_rank)
        {
            best = Some((i, r));
        }
    }
    best.map_or(0, |(i, _)| i)
}

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
    /// The wanted stems (of words that match their other forms) and their weights: a word whose stem
    /// is one of them is highlighted too.
    stems: BTreeMap<String, Score>,
    /// The stem fields' analyzer (applied to a folded word, it gives the word's stems).
    stemmer: TextAnalyzer,
    /// Whether each word looked up so far has a wanted stem (and its weight): the same words recur
    /// in every window of every hit, and stemming each occurrence again was most of a snippet's cost.
    stemmed: Mutex<HashMap<String, Option<Score>>>,
    content_stem: Field,
    /// What the byte scan looks for.
    needles: Vec<Needle>,
    /// The content field's analyzer.
    analyzer: TextAnalyzer,
    content: Field,
    /// The stored text's field and the chunk documents' key field (see [`chunked`]).
    text: Field,
    chunk: Field,
}

impl SnippetMaker {
    /// Prepares the snippets for `expr`: every content term the query looks for (not those it
    /// excludes), prefixes expanded against the index.
    pub(crate) fn new(
        searcher: &Searcher,
        expr: &Expr,
        fields: &Fields,
    ) -> Result<Self, QueryError> {
        let content = fields.content;
        let mut wanted = Vec::new();
        positive_content_matches(expr, &mut wanted);
        let mut terms: BTreeMap<String, Score> = BTreeMap::new();
        let mut stems: BTreeMap<String, Score> = BTreeMap::new();
        let mut needles: BTreeMap<String, ()> = BTreeMap::new();
        for m in wanted {
            for stem in &m.stems {
                let term = Term::from_field_text(fields.content_stem, stem);
                let doc_freq = searcher.doc_freq(&term)?;
                if doc_freq > 0 {
                    stems.insert(stem.clone(), weight(doc_freq));
                    needles.insert(stem.clone(), ());
                }
            }
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
            stems,
            stemmer: searcher.index().tokenizer_for_field(fields.content_stem)?,
            stemmed: Mutex::new(HashMap::new()),
            content_stem: fields.content_stem,
            needles,
            analyzer: searcher.index().tokenizer_for_field(content)?,
            content,
            text: fields.text,
            chunk: fields.chunk,
        })
    }

    /// The weight of a folded word of the text when it is wanted: as a term, or through one of its
    /// stems.
    fn wanted(&self, word: &str) -> Option<Score> {
        if let Some(&score) = self.terms.get(word) {
            return Some(score);
        }
        if self.stems.is_empty() {
            return None;
        }
        let lock = || self.stemmed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(&known) = lock().get(word) {
            return known;
        }
        let found = tokens_of(&mut self.stemmer.clone(), word)
            .iter()
            .find_map(|stem| self.stems.get(stem).copied());
        let mut stemmed = lock();
        if stemmed.len() < MAX_STEMMED_WORDS {
            stemmed.insert(word.to_owned(), found);
        }
        found
    }

    /// The snippet for the text of the document at `address`.
    pub(crate) fn make(
        &self,
        searcher: &Searcher,
        address: DocAddress,
        text: &str,
    ) -> Result<Snippet, QueryError> {
        if self.terms.is_empty() && self.stems.is_empty() || text.is_empty() {
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
        Ok(show(text, &best))
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
            if pattern.is_empty() {
                continue;
            }
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
                // Found by its rarest letter (fewer false starts than its first, often `i` or `t`);
                // the places come in the same order either way.
                let anchor = rarest_letter(pattern);
                let byte = pattern[anchor];
                for hit in memchr2_iter(byte, byte.to_ascii_uppercase(), bytes) {
                    let Some(at) = hit.checked_sub(anchor) else {
                        continue;
                    };
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
        if !text.is_char_boundary(at) {
            return false;
        }
        let before = text[..at].chars().next_back();
        let after = text[at..].chars().next();
        if let (Some(before), Some(after)) = (before, after)
            && !is_word_boundary(before, after)
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
        !word.is_ascii() || self.wanted(&word.to_ascii_lowercase()).is_some()
    }

    /// Whether the document at `address` holds a wanted term in its content (per the index).
    fn content_has_a_term(
        &self,
        searcher: &Searcher,
        address: DocAddress,
    ) -> Result<bool, QueryError> {
        let segment = searcher.segment_reader(address.segment_ord);
        let exact = self.terms.keys().map(|t| (self.content, t));
        let stems = self.stems.keys().map(|t| (self.content_stem, t));
        for (field, text) in exact.chain(stems) {
            let index = segment.inverted_index(field)?;
            let term = Term::from_field_text(field, text);
            if postings_at(&index, &term, IndexRecordOption::Basic, address.doc_id)?
                .is_some_and(|postings| postings.term_freq() > 0)
            {
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
            // Where in the word the wanted token starts (a CJK run holds many).
            let matched = if word.is_ascii() {
                self.wanted(&word.to_ascii_lowercase()).map(|_| 0)
            } else {
                let mut stream = analyzer.token_stream(word);
                let mut at = None;
                while let Some(token) = stream.next() {
                    if self.wanted(&token.text).is_some() {
                        at = Some(token.offset_from);
                        break;
                    }
                }
                at
            };
            if let Some(offset) = matched {
                places.push(Place {
                    at: from + offset,
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
            if let Some(score) = self.wanted(&token.text) {
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

/// The snippet of `fragment` of `text`: widened to whole words and context, on one line, its matched
/// words marked.
fn show(text: &str, fragment: &Fragment) -> Snippet {
    let range = widen(text, fragment.range.clone());
    let highlights: Vec<Range<usize>> = collapse_overlapped_ranges(&fragment.highlights)
        .into_iter()
        .map(|r| r.start - range.start..r.end - range.start)
        .collect();
    one_line(&text[range], &highlights, usize::MAX)
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

/// The postings of `term` in `index`, positioned on document `doc`, when that document holds the term.
fn postings_at(
    index: &InvertedIndexReader,
    term: &Term,
    option: IndexRecordOption,
    doc: DocId,
) -> Result<Option<SegmentPostings>, QueryError> {
    let postings = index
        .read_postings(term, option)
        .map_err(tantivy::TantivyError::from)?;
    let Some(mut postings) = postings else {
        return Ok(None);
    };
    // `seek` may not go backwards: a list starting after the document does not hold it.
    let at = match postings.doc() {
        first if first < doc => postings.seek(doc),
        first => first,
    };
    Ok((at == doc).then_some(postings))
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)] // ranges are the data here
mod tests;
