//! The query language: a lexer and a recursive-descent parser that turn a query string into an [`Expr`].
//!
//! This module knows nothing of tantivy queries; the crate's compiler turns the tree into one. Words are
//! tokenized here, with [`fandex_schema::tokenize`], so that the tree holds exactly the terms
//! the index holds and so that a query left with nothing to search is reported as a syntax error.
//!
//! Grammar (`AND` binds loosest, then `OR`, then negation):
//!
//! ```text
//! query   := and EOF
//! and     := or ( "AND"? or )*
//! or      := unary ( "OR" unary )*
//! unary   := ( "-" | "NOT" ) unary | primary
//! primary := "(" and ")" | WORD | "PHRASE" | FIELD ":" VALUE
//! ```
//!
//! Error positions are 1-based character (not byte) indexes into the query; an error about the end of
//! the query points one past its last character.

pub(crate) mod ast;
mod doctype;
mod filter;
pub mod glob;
mod lex;
mod parser;
#[cfg(test)]
mod tests;

use crate::error::{QueryError, syntax};
use crate::limits;
use lex::lex;
use parser::Parser;

pub use crate::limits::MAX_NESTING;
pub use ast::{Expr, Scope, SizeRange, TextMatch, TimePoint, TimeRange};
#[cfg(test)]
pub(crate) use filter::days_from_civil;
pub use lex::KNOWN_FIELDS;

/// Parses a query string into an expression tree.
///
/// Returns [`QueryError::Syntax`] for an empty query, an unbalanced quote or parenthesis, a dangling
/// `OR`/`AND`/`NOT`/`-`, a misplaced `*`, an unknown or empty field, or a query in which no word has
/// anything to search (only punctuation). Returns [`QueryError::TooLarge`] for a query beyond one of the
/// bounds of [`crate::limits`] (its text before anything else is done).
pub fn parse(query: &str) -> Result<Expr, QueryError> {
    parse_in(query, false)
}

/// Parses a query of the locate-style names mode (`fandex search --names`): like [`parse`], but a
/// bare word is a pattern on the file name alone: with wildcards (`*.pdf`, `report-202?`) the whole
/// name matches it, without them the name contains it (`port` is `*port*`); a quoted text is contained
/// literally. Fields (`ext:`, `path:`, `modified:`...) filter as usual.
pub fn parse_names(query: &str) -> Result<Expr, QueryError> {
    parse_in(query, true)
}

fn parse_in(query: &str, names: bool) -> Result<Expr, QueryError> {
    limits::check_query_text(query)?;
    let chars: Vec<char> = query.chars().collect();
    let tokens = lex(&chars)?;
    if tokens.is_empty() {
        return Err(syntax(
            "empty query: give at least one word, phrase or field to search for",
            0,
        ));
    }
    let mut parser = Parser {
        tokens,
        next: 0,
        end: chars.len() + 1,
        depth: 0,
        names,
    };
    let expr = parser.parse_and()?;
    if let Some(tok) = parser.peek() {
        // parse_and only stops early at a ')'.
        return Err(syntax(
            "unbalanced ')': there is no '(' to close",
            tok.position,
        ));
    }
    let expr = expr.ok_or_else(|| {
        syntax(
            "nothing to search: the query has no letters or digits outside of exclusions",
            1,
        )
    })?;
    limits::check_expr(&expr)?;
    Ok(expr)
}

/// A word of a query that a spelling suggestion may replace: unquoted, not excluded, outside any field,
/// without `*`, `~` or `=`, analyzed to one term of letters (not CJK).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PlainWord {
    /// Where the word is in the query, in characters (0-based, end exclusive).
    pub(crate) chars: std::ops::Range<usize>,
    /// The word's term.
    pub(crate) term: String,
}

/// The [`PlainWord`]s of a query, in order; none when it does not lex.
pub(crate) fn plain_words(query: &str) -> Vec<PlainWord> {
    let chars: Vec<char> = query.chars().collect();
    let Ok(tokens) = lex(&chars) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut excluded = false;
    for tok in tokens {
        if let lex::TokKind::Word(word) = &tok.kind
            && !excluded
            && !word.contains(['*', '~', '='])
        {
            let mut terms = fandex_schema::tokenize(word);
            if terms.len() == 1 && !terms[0].chars().any(fandex_schema::analysis::is_cjk) {
                let start = tok.position - 1;
                out.push(PlainWord {
                    chars: start..start + word.chars().count(),
                    term: terms.remove(0),
                });
            }
        }
        excluded = matches!(tok.kind, lex::TokKind::Minus | lex::TokKind::Not);
    }
    out
}
