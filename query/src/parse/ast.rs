//! The tree a query parses to: what the compiler turns into a tantivy query, the limits count and the
//! snippet maker searches for.

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// Every child must match (`a b`, `a AND b`). Children that are [`Expr::Not`] exclude; when every
    /// child excludes, the node matches every document not excluded.
    And(Vec<Expr>),
    /// At least one child must match (`a OR b`).
    Or(Vec<Expr>),
    /// Documents that do not match the child (`-a`, `NOT a`).
    Not(Box<Expr>),
    /// A word, phrase or prefix search.
    Text(TextMatch),
    /// `ext:md,txt`: the file's extension is one of these (lowercased, without a leading dot).
    Ext(Vec<String>),
    /// `path:DIR`: the file lies somewhere under this directory.
    Path {
        /// The directory as written in the query (quotes removed); resolved against the request's
        /// working directory and `$HOME` when the query is compiled.
        dir: String,
        /// 1-based character position of the value in the query, for errors found while resolving it.
        position: usize,
    },
}

/// Where a [`TextMatch`] looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A bare word or phrase: the content or the file name.
    ContentOrName,
    /// `name:`: the file name only.
    Name,
}

/// A sequence of analyzed terms that must appear in this order at consecutive positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextMatch {
    /// Which fields are searched.
    pub scope: Scope,
    /// The analyzed terms (lowercased, accents folded); never empty.
    pub terms: Vec<String>,
    /// When true, the last term is a prefix (`foo*`, `foo-ba*`).
    pub prefix: bool,
}
