//! "Did you mean": for a query without hits, the same query with one word corrected, when that finds
//! something the caller may see.
//!
//! A suggestion must not reveal a word that only files hidden from the caller hold. So it is never taken
//! from the index's vocabulary alone:
//!
//! 1. each plain word of the query (see [`crate::parse::plain_words`]) is edited once in every way
//!    (a letter deleted, two adjacent letters swapped, a letter replaced or inserted, from the Latin,
//!    Greek or Cyrillic alphabet the word is written in, and its digits): the candidates depend on
//!    the word alone;
//! 2. candidates that no document holds at all are dropped (a dictionary lookup each);
//! 3. each remaining one, in the fixed order of step 1 and at most [`MAX_CHECKED`] of them, replaces
//!    the word and the whole query runs again as the caller (the same visibility, counting only): the
//!    candidate with the most visible hits wins, ties going to the first in that order.
//!
//! So a suggestion always finds files the caller can read, and which one is offered depends only on
//! them, except in one case: when more than [`MAX_CHECKED`] candidates of one word exist in the index,
//! files the caller cannot read can push visible ones out of the checked set (an answer may then lack
//! a suggestion it would otherwise have had; it never offers a word only hidden files hold).

use tantivy::Term;

use crate::error::QueryError;
use crate::parse::{PlainWord, plain_words};

/// Words shorter than this (in characters) get no suggestion: one edit of them is too often another
/// real word.
const MIN_WORD_CHARS: usize = 3;

/// At most this many candidates are searched per query (each is a search).
pub(crate) const MAX_CHECKED: usize = 12;

/// The corrected query, or `None`. `count` runs a query as the caller and returns how many hits it
/// has; `in_index` says whether any document holds a term (in the content or the name).
pub(crate) fn suggest(
    query: &str,
    in_index: &dyn Fn(&str) -> Result<bool, QueryError>,
    count: &mut dyn FnMut(&str) -> Result<usize, QueryError>,
) -> Result<Option<String>, QueryError> {
    let mut checked = 0;
    let mut best: Option<(usize, String)> = None;
    for word in plain_words(query) {
        if word.term.chars().count() < MIN_WORD_CHARS {
            continue;
        }
        for candidate in edits(&word.term) {
            if checked == MAX_CHECKED {
                break;
            }
            if !in_index(&candidate)? {
                continue;
            }
            checked += 1;
            let corrected = replace(query, &word, &candidate);
            let hits = count(&corrected)?;
            if hits > 0 && best.as_ref().is_none_or(|(n, _)| hits > *n) {
                best = Some((hits, corrected));
            }
        }
    }
    Ok(best.map(|(_, q)| q))
}

/// `query` with `word` replaced by `with`.
fn replace(query: &str, word: &PlainWord, with: &str) -> String {
    let chars: Vec<char> = query.chars().collect();
    let mut out: String = chars[..word.chars.start].iter().collect();
    out.push_str(with);
    out.extend(&chars[word.chars.end..]);
    out
}

/// Every word one edit away from `term`, in a fixed order, without duplicates or `term` itself.
fn edits(term: &str) -> Vec<String> {
    let chars: Vec<char> = term.chars().collect();
    let mut alphabet: Vec<char> = ('a'..='z').chain('0'..='9').collect();
    if chars.iter().any(|c| ('α'..='ω').contains(c)) {
        alphabet.extend('α'..='ω');
    }
    if chars.iter().any(|c| ('а'..='я').contains(c)) {
        alphabet.extend('а'..='я');
    }
    alphabet.extend(chars.iter().copied());
    alphabet.sort_unstable();
    alphabet.dedup();
    let mut out: Vec<String> = Vec::new();
    let mut push = |v: Vec<char>| {
        let s: String = v.into_iter().collect();
        if s != term && !out.contains(&s) {
            out.push(s);
        }
    };
    for i in 0..chars.len() {
        let mut v = chars.clone();
        v.remove(i);
        push(v);
    }
    for i in 0..chars.len().saturating_sub(1) {
        let mut v = chars.clone();
        v.swap(i, i + 1);
        push(v);
    }
    for i in 0..chars.len() {
        for &c in &alphabet {
            let mut v = chars.clone();
            v[i] = c;
            push(v);
        }
    }
    for i in 0..=chars.len() {
        for &c in &alphabet {
            let mut v = chars.clone();
            v.insert(i, c);
            push(v);
        }
    }
    out
}

/// Whether any document of `searcher` holds `text` as a term of one of `fields`.
pub(crate) fn held(
    searcher: &tantivy::Searcher,
    fields: &[tantivy::schema::Field],
    text: &str,
) -> Result<bool, QueryError> {
    for &field in fields {
        if searcher.doc_freq(&Term::from_field_text(field, text))? > 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_edit_in_every_way() {
        let e = edits("recieve");
        assert!(e.contains(&"receive".to_owned()));
        assert!(e.contains(&"recieves".to_owned()));
        assert!(e.contains(&"reieve".to_owned()));
        assert!(!e.contains(&"recieve".to_owned()));
        assert!(edits("ёлкa").iter().any(|w| w == "ёлка"));
    }

    #[test]
    fn the_best_checked_candidate_wins() {
        let vocabulary = ["receive", "relieve"];
        let got = suggest(
            "recieve letters",
            &|t| Ok(vocabulary.contains(&t)),
            &mut |q| Ok(if q.starts_with("receive") { 3 } else { 1 }),
        )
        .unwrap();
        assert_eq!(got.as_deref(), Some("receive letters"));
        let none = suggest("recieve", &|_| Ok(false), &mut |_| Ok(1)).unwrap();
        assert_eq!(none, None);
    }
}
