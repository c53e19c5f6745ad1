//! [`QueryError`]: why a search failed, and the constructor of its syntax errors shared by the lexer and
//! the parser.

/// Why a search failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The query is not valid. `position` is the 1-based index, in characters (not bytes), of the
    /// character at fault, or one past the last character when the problem is the end of the query; 0
    /// when no character is (an empty query), and the message then names no position.
    #[error("{message}{}", at_character(*position))]
    Syntax {
        /// What is wrong and, when useful, how to write it instead.
        message: String,
        /// 1-based character position in the query.
        position: usize,
    },
    /// The query or request is beyond one of the bounds of [`limits`](crate::limits) (nothing was searched).
    #[error("{what}: {found} {unit}, the limit is {limit}")]
    TooLarge {
        /// What is too large, e.g. "query too long".
        what: &'static str,
        /// The request's size.
        found: usize,
        /// The largest size accepted.
        limit: usize,
        /// What the sizes count ("bytes", "terms", ...).
        unit: &'static str,
    },
    /// The index could not be read.
    #[error("index error: {0}")]
    Index(#[from] tantivy::TantivyError),
}

/// Where a syntax error is, for its message: nothing for position 0.
fn at_character(position: usize) -> String {
    match position {
        0 => String::new(),
        n => format!(" (at character {n} of the query)"),
    }
}

/// A syntax error at 1-based character `position` (0: the query as a whole).
pub(crate) fn syntax(message: impl Into<String>, position: usize) -> QueryError {
    QueryError::Syntax {
        message: message.into(),
        position,
    }
}
