//! Folding: the form of a word that searching compares, the same for every script.
//!
//! Lowercase, then the compatibility decomposition (NFKD: full-width `ＡＢＣ` is `abc`, the ligature
//! `ﬁ` is `fi`), then combining marks removed (Greek tonos, `καλημέρα` is `καλημερα`; Cyrillic `ё` is
//! `е`; Latin accents, `café` is `cafe`); Greek final sigma `ς` is `σ`. CJK characters are only mapped
//! out of their half-width, full-width and compatibility forms (a Kana's voicing mark or a Hangul
//! syllable is kept whole). tantivy's ASCII folding then handles the Latin letters that do not
//! decompose (`ß` is `ss`, `ø` is `o`, `æ` is `ae`), as before.

use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};
use unicode_normalization::char::{decompose_compatible, is_combining_mark};

use super::script::is_cjk;

/// Appends the folded form of `word` to `out` (before ASCII folding, see the module documentation).
pub fn fold_into(word: &str, out: &mut String) {
    if word.is_ascii() {
        out.extend(word.chars().map(|c| c.to_ascii_lowercase()));
        return;
    }
    for c in word.chars() {
        if is_cjk(c) {
            if matches!(u32::from(c), 0xF900..=0xFAFF | 0xFF66..=0xFFDC | 0x3130..=0x318F) {
                decompose_compatible(c, |d| out.push(d));
            } else {
                out.push(c);
            }
            continue;
        }
        for lower in c.to_lowercase() {
            decompose_compatible(lower, |d| {
                if is_combining_mark(d) {
                    return;
                }
                match d {
                    'ς' => out.push('σ'),
                    // A compatibility form may decompose to capitals (`㎒` is `MHz`).
                    d if d.is_uppercase() => out.extend(d.to_lowercase()),
                    d => out.push(d),
                }
            });
        }
    }
}

/// The token filter that folds every token (see the module documentation) and drops tokens that fold
/// to nothing (a lone combining mark).
#[derive(Debug, Clone, Copy, Default)]
pub struct Fold;

impl TokenFilter for Fold {
    type Tokenizer<T: Tokenizer> = FoldFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> FoldFilter<T> {
        FoldFilter { inner: tokenizer }
    }
}

/// [`Fold`] applied to a tokenizer.
#[derive(Debug, Clone)]
pub struct FoldFilter<T> {
    inner: T,
}

impl<T: Tokenizer> Tokenizer for FoldFilter<T> {
    type TokenStream<'a> = FoldStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        FoldStream {
            tail: self.inner.token_stream(text),
            buffer: String::new(),
        }
    }
}

/// The tokens of [`FoldFilter`].
pub struct FoldStream<T> {
    tail: T,
    buffer: String,
}

impl<T: TokenStream> TokenStream for FoldStream<T> {
    fn advance(&mut self) -> bool {
        while self.tail.advance() {
            let token = self.tail.token_mut();
            if token.text.is_ascii() {
                token.text.make_ascii_lowercase();
                return true;
            }
            self.buffer.clear();
            fold_into(&token.text, &mut self.buffer);
            if !self.buffer.is_empty() {
                std::mem::swap(&mut token.text, &mut self.buffer);
                return true;
            }
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
