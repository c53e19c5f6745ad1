//! Stemming: the languages whose word stems are indexed beside the exact words, and the filter that
//! turns a folded word into its stems.

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasherDefault;

use frostem::{Algorithm, Stemmer};
use rustc_hash::FxHasher;
use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

use super::script::is_cjk;

/// A stemming language: the Snowball stemmers tantivy offers, named by ISO 639-1 code in the
/// configuration (`index.languages = ["en", "de"]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)] // the names say it
pub enum Language {
    Arabic,
    Danish,
    Dutch,
    English,
    Finnish,
    French,
    German,
    Greek,
    Hungarian,
    Italian,
    Norwegian,
    Portuguese,
    Romanian,
    Russian,
    Spanish,
    Swedish,
    Tamil,
    Turkish,
}

/// Every language with its code and stemmer.
const LANGUAGES: [(Language, &str, Algorithm); 18] = [
    (Language::Arabic, "ar", Algorithm::Arabic),
    (Language::Danish, "da", Algorithm::Danish),
    (Language::Dutch, "nl", Algorithm::Dutch),
    (Language::English, "en", Algorithm::English),
    (Language::Finnish, "fi", Algorithm::Finnish),
    (Language::French, "fr", Algorithm::French),
    (Language::German, "de", Algorithm::German),
    (Language::Greek, "el", Algorithm::Greek),
    (Language::Hungarian, "hu", Algorithm::Hungarian),
    (Language::Italian, "it", Algorithm::Italian),
    (Language::Norwegian, "no", Algorithm::Norwegian),
    (Language::Portuguese, "pt", Algorithm::Portuguese),
    (Language::Romanian, "ro", Algorithm::Romanian),
    (Language::Russian, "ru", Algorithm::Russian),
    (Language::Spanish, "es", Algorithm::Spanish),
    (Language::Swedish, "sv", Algorithm::Swedish),
    (Language::Tamil, "ta", Algorithm::Tamil),
    (Language::Turkish, "tr", Algorithm::Turkish),
];

impl Language {
    /// The language of an ISO 639-1 code (`en`), or of its English name (`english`), any case.
    pub fn from_code(code: &str) -> Option<Self> {
        let code = code.to_ascii_lowercase();
        LANGUAGES
            .iter()
            .find(|(l, c, _)| *c == code || format!("{l:?}").to_ascii_lowercase() == code)
            .map(|(l, _, _)| *l)
    }

    /// The ISO 639-1 code.
    pub fn code(self) -> &'static str {
        LANGUAGES
            .iter()
            .find(|(l, _, _)| *l == self)
            .map_or("", |e| e.1)
    }

    /// Every code, for error messages.
    pub fn codes() -> Vec<&'static str> {
        LANGUAGES.iter().map(|e| e.1).collect()
    }

    fn stemmer(self) -> Stemmer {
        let algorithm = LANGUAGES
            .iter()
            .find(|(l, _, _)| *l == self)
            .map_or(Algorithm::English, |e| e.2);
        Stemmer::new(algorithm)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The filter that replaces each folded word by its stems in every language (distinct stems at the
/// word's position), and drops what has no stem worth indexing: numbers and CJK bigrams, which the
/// exact field answers alone.
#[derive(Clone)]
pub struct Stem {
    stemmers: Vec<Stemmer>,
}

impl Stem {
    /// Stems in these languages (none: every token is dropped).
    pub fn new(languages: &[Language]) -> Self {
        Self {
            stemmers: languages.iter().map(|l| l.stemmer()).collect(),
        }
    }
}

impl TokenFilter for Stem {
    type Tokenizer<T: Tokenizer> = StemFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> StemFilter<T> {
        StemFilter {
            stemmers: self.stemmers,
            cache: StemCache::default(),
            inner: tokenizer,
        }
    }
}

/// [`Stem`] applied to a tokenizer.
pub struct StemFilter<T> {
    stemmers: Vec<Stemmer>,
    cache: StemCache,
    inner: T,
}

/// A copy starts with an empty cache: tantivy clones an analyzer for each segment writer and query.
impl<T: Clone> Clone for StemFilter<T> {
    fn clone(&self) -> Self {
        Self {
            stemmers: self.stemmers.clone(),
            cache: StemCache::default(),
            inner: self.inner.clone(),
        }
    }
}

impl<T: Tokenizer> Tokenizer for StemFilter<T> {
    type TokenStream<'a> = StemStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        StemStream {
            tail: self.inner.token_stream(text),
            stemmers: &self.stemmers,
            cache: &mut self.cache,
            pending: Vec::new(),
            stemmed: String::new(),
        }
    }
}

/// The stems of recently seen words. Word frequencies follow Zipf's law, so a few thousand words are
/// most of any text: looking a word up is several times cheaper than running the Snowball stemmers on
/// it again (stemming was a tenth of the indexing threads' time). Bounded: emptied when full.
#[derive(Default)]
struct StemCache {
    stems: HashMap<String, Box<[String]>, BuildHasherDefault<FxHasher>>,
}

impl StemCache {
    /// Words kept at most (about 1.5 MiB of short words).
    const CAPACITY: usize = 16_384;

    /// Calls `use_stems` with the distinct stems of `word` in every language, the first language's
    /// first. A remembered word costs one hash lookup.
    fn with_stems<R>(
        &mut self,
        word: &str,
        stemmers: &[Stemmer],
        use_stems: impl FnOnce(&[String]) -> R,
    ) -> R {
        if let Some(stems) = self.stems.get(word) {
            return use_stems(stems);
        }
        let mut stems: Vec<String> = Vec::with_capacity(stemmers.len());
        for stemmer in stemmers {
            let stem = stemmer.stem(word).into_owned();
            if !stems.contains(&stem) {
                stems.push(stem);
            }
        }
        let result = use_stems(&stems);
        if self.stems.len() >= Self::CAPACITY {
            self.stems.clear();
        }
        self.stems.insert(word.to_owned(), stems.into_boxed_slice());
        result
    }
}

/// The tokens of [`StemFilter`].
pub struct StemStream<'a, T> {
    tail: T,
    stemmers: &'a [Stemmer],
    cache: &'a mut StemCache,
    /// Further stems of the current word, emitted at its position.
    pending: Vec<String>,
    /// The first stem of the current word, swapped into the token (the buffer is reused).
    stemmed: String,
}

impl<T: TokenStream> TokenStream for StemStream<'_, T> {
    fn advance(&mut self) -> bool {
        if let Some(next) = self.pending.pop() {
            self.tail.token_mut().text = next;
            return true;
        }
        while self.tail.advance() {
            let word = &self.tail.token().text;
            let skip =
                word.chars().all(|c| c.is_numeric()) || word.chars().next().is_some_and(is_cjk);
            if skip || self.stemmers.is_empty() {
                continue;
            }
            let pending = &mut self.pending;
            let stemmed = &mut self.stemmed;
            let found = self.cache.with_stems(word, self.stemmers, |stems| {
                let Some((first, rest)) = stems.split_first() else {
                    return false;
                };
                pending.extend(rest.iter().rev().cloned());
                stemmed.clear();
                stemmed.push_str(first);
                true
            });
            if !found {
                continue;
            }
            std::mem::swap(&mut self.tail.token_mut().text, &mut self.stemmed);
            return true;
        }
        false
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}
