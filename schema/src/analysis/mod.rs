//! Text analysis: how content and names become the terms of the index, for every script.
//!
//! Two analyzers, registered on every index by [`crate::register_analyzers`]:
//!
//! - [`crate::TEXT_ANALYZER`] for the exact fields (`content`, `name`): [`ScriptTokenizer`] (words;
//!   CJK runs as bigrams, see [`tokenizer`]), tokens over [`MAX_TOKEN_BYTES`] dropped, then
//!   [`Fold`] (lowercase, compatibility forms, combining marks: see [`fold`]) and tantivy's ASCII folding;
//! - the stem analyzer of the index's languages for `content_stem` and `name_stem`: the same, then
//!   [`Stem`]. Its name records the languages (`fandex_stem_en_de`), so the index itself says which
//!   stemmers wrote it and a search tokenizes with the same ones.

pub mod fold;
pub mod script;
pub mod stem;
pub mod tokenizer;

use tantivy::tokenizer::{AsciiFoldingFilter, RemoveLongFilter, TextAnalyzer};

pub use fold::Fold;
pub use script::{is_cjk, is_word_boundary, is_word_char};
pub use stem::{Language, Stem};
pub use tokenizer::ScriptTokenizer;

/// Tokens longer than this many bytes are not indexed (hashes, base64 blobs).
pub const MAX_TOKEN_BYTES: usize = 64;

/// Prefix of the stem analyzers' names; the language codes follow, each after `_`.
const STEM_ANALYZER_PREFIX: &str = "fandex_stem";

/// The analyzer of the exact fields. `tail_unigrams`: see [`ScriptTokenizer::tail_unigrams`] (the
/// index side adds them, a query's phrase does not).
pub fn exact_analyzer(tail_unigrams: bool) -> TextAnalyzer {
    TextAnalyzer::builder(ScriptTokenizer { tail_unigrams })
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES + 1))
        .filter(Fold)
        .filter(AsciiFoldingFilter)
        .build()
}

/// The analyzer of the stem fields for `languages`.
pub fn stem_analyzer(languages: &[Language]) -> TextAnalyzer {
    TextAnalyzer::builder(ScriptTokenizer {
        tail_unigrams: false,
    })
    .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES + 1))
    .filter(Fold)
    .filter(AsciiFoldingFilter)
    .filter(Stem::new(languages))
    .build()
}

/// The languages sorted, without duplicates: equal sets have one form.
pub fn normalized(languages: &[Language]) -> Vec<Language> {
    let mut out = languages.to_vec();
    out.sort_unstable();
    out.dedup();
    out
}

/// The name the stem analyzer of `languages` is registered under (and that the index's schema records).
pub fn stem_analyzer_name(languages: &[Language]) -> String {
    let mut name = STEM_ANALYZER_PREFIX.to_owned();
    for language in normalized(languages) {
        name.push('_');
        name.push_str(language.code());
    }
    name
}

/// The languages a stem analyzer's name records; `None` when it is not such a name.
pub fn languages_of_analyzer(name: &str) -> Option<Vec<Language>> {
    let rest = name.strip_prefix(STEM_ANALYZER_PREFIX)?;
    if rest.is_empty() {
        return Some(Vec::new());
    }
    rest.strip_prefix('_')?
        .split('_')
        .map(Language::from_code)
        .collect()
}

/// The tokens `analyzer` makes of `text`.
pub fn tokens_of(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().text.clone());
    }
    out
}

#[cfg(test)]
mod tests;
