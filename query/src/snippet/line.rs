//! Placing and printing a snippet's text: windows around candidate places, their edges moved out of
//! words, and the fragment put on one line with its highlights.

use std::ops::Range;

use fandex_schema::analysis::is_cjk;

use crate::request::Snippet;

/// Longest fragment, in bytes, around highlighted words.
pub const MAX_FRAGMENT_BYTES: usize = 200;

/// Length, in bytes, of the start-of-text snippet used when nothing in the text is highlighted.
pub const LEAD_BYTES: usize = 150;

/// Bytes of text taken after a candidate place: the fragment holding it and the next.
pub(super) const WINDOW_MARGIN: usize = MAX_FRAGMENT_BYTES;

/// Fragments are cut from the start of a window, so a window starts shortly before its candidate: at
/// the start of the candidate's line when that is at most this many bytes before it...
pub(super) const MAX_LINE_CONTEXT: usize = MAX_FRAGMENT_BYTES / 2;

/// ...else this many bytes before it (then moved out of any word).
pub(super) const WORD_CONTEXT: usize = 40;

/// How far, in bytes, a window edge moves to reach a word boundary. The analyzer drops longer words
/// ([`fandex_schema::MAX_TOKEN_BYTES`]), so an edge inside such a word may move the other way,
/// skipping it.
pub(super) const MAX_EDGE_SHIFT: usize = 2 * fandex_schema::MAX_TOKEN_BYTES;

/// `range` clamped to `text`, its ends moved to character boundaries and then out of any word they
/// fall in (outwards by at most [`MAX_EDGE_SHIFT`] bytes; a longer word, which the analyzer drops
/// anyway, is left out instead), so no word is cut.
pub(super) fn word_window(text: &str, range: Range<usize>) -> Range<usize> {
    let mut start = floor_boundary(text, range.start.min(text.len()));
    let mut end = floor_boundary(text, range.end.min(text.len()));
    // Every boundary between CJK characters is a word boundary (bigrams start at each).
    let is_word = |c: char| c.is_alphanumeric() && !is_cjk(c);
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
pub(super) fn window_start(text: &str, at: usize) -> usize {
    let from = at.saturating_sub(MAX_LINE_CONTEXT);
    match memchr::memrchr(b'\n', &text.as_bytes()[from..at]) {
        Some(i) => from + i + 1,
        None => at.saturating_sub(WORD_CONTEXT),
    }
}

/// The greatest character boundary of `text` at or before `at` (which is at most `text.len()`).
pub(super) fn floor_boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The start-of-text snippet: at most [`LEAD_BYTES`], nothing highlighted.
pub(super) fn lead(text: &str) -> Snippet {
    one_line(text, &[], LEAD_BYTES)
}

/// Most characters of punctuation added at each end of a fragment by [`widen`].
pub(super) const MAX_GLUED_CHARS: usize = 8;

/// Tantivy's fragments run from the start of a word to the end of a word; this takes in the punctuation
/// glued to them (`"hello`, `dog.`), up to the nearest blank or word character and at most
/// [`MAX_GLUED_CHARS`] characters on each side.
pub(super) fn widen(text: &str, fragment: Range<usize>) -> Range<usize> {
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

/// Characters shown as a space: whitespace (newlines included), control characters and the invisible
/// bidirectional controls that could reorder a terminal line.
pub(super) fn is_blank(c: char) -> bool {
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
