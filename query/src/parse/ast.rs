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
    /// `size:>10M`, `size:1M..5M`: the file's size is in this range.
    Size(SizeRange),
    /// `modified:2026-11`, `modified:<7d`: the file's modification time is in this range.
    Modified(TimeRange),
    /// `mime:application/pdf` (exact) or `mime:image/*` (every type starting with `image/`).
    Mime {
        /// The lowercased type, or the part before the `*` when `prefix`.
        value: String,
        /// Whether `value` is a prefix.
        prefix: bool,
    },
    /// `type:pdf`, `type:image,video`: the document's MIME type is of one of these classes
    /// (`fandex_schema::mime::CLASSES`).
    Type(Vec<String>),
    /// `name:*port*`, `name:report-202?.pdf`: the whole file name matches this glob pattern
    /// (case-insensitive); in `--names` mode also every bare word (`port` is `*port*`).
    NamePattern(super::glob::NamePattern),
    /// `recieve~`, `word~2`: a word within `distance` edits (insertions, deletions, substitutions and
    /// transpositions of adjacent characters) of `term`.
    Fuzzy {
        /// Which fields are searched.
        scope: Scope,
        /// The analyzed word.
        term: String,
        /// The most edits allowed (0 to 2).
        distance: u8,
    },
}

/// Where a [`TextMatch`] looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A bare word or phrase: the content, the file name, the part's name or the metadata (title,
    /// author, subject and the rest).
    ContentOrName,
    /// `name:`: the file name only.
    Name,
    /// `title:`: the document's title.
    Title,
    /// `author:`: the document's author (a mail's sender, a song's artist).
    Author,
    /// `subject:`: the document's subject.
    Subject,
}

/// A sequence of analyzed terms that must appear in this order at consecutive positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextMatch {
    /// Which fields are searched.
    pub scope: Scope,
    /// The analyzed terms (lowercased, accents folded); never empty.
    pub terms: Vec<String>,
    /// When true, the last term is a prefix (`foo*`, `foo-ba*`, or one CJK character).
    pub prefix: bool,
    /// When true only the exact word forms match (a quoted phrase, `=word`); otherwise a single word
    /// also matches the other forms of its stems.
    pub exact: bool,
    /// The stems of a single word that is neither exact nor a prefix, in the index's languages; empty
    /// from the parser, filled in against the index before compiling (see `crate::stems`).
    pub stems: Vec<String>,
}

/// A `size:` filter: the file's size in bytes lies between these bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeRange {
    /// The smallest size accepted.
    pub lower: std::ops::Bound<u64>,
    /// The largest size accepted.
    pub upper: std::ops::Bound<u64>,
}

/// A `modified:` filter: the file's modification time is at or after `from` and before `until` (a
/// missing bound is open). Points relative to now or to the caller's calendar are resolved when the
/// query is compiled, with the request's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// Inclusive start.
    pub from: Option<TimePoint>,
    /// Exclusive end.
    pub until: Option<TimePoint>,
}

/// An instant named by a `modified:` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimePoint {
    /// Midnight (in the caller's time zone) starting this civil day, counted in days since 1970-01-01.
    Day(i64),
    /// Midnight starting today plus this many days (`today` is 0 to 1, `yesterday` -1 to 0).
    Today(i64),
    /// Midnight starting this week's Monday plus this many weeks (`thisweek` is 0 to 1).
    Week(i64),
    /// This many seconds before now (`<7d`).
    Ago(i64),
}
