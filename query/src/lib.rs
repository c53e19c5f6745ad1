//! fandex's query side: the query language, search, snippets and filters.
//!
//! [`QueryEngine::search`] parses a query string ([`parse::parse`]), compiles it into a tantivy query,
//! ranks the matching documents by BM25 score and returns them with their stored metadata and a one-line
//! snippet of their text. A document is a file or one part of it (an archive member, a message of a
//! mailbox, an attachment: [`Hit::part`]); a file's parts share its id, so whoever may see the file sees
//! its parts and nobody else does.
//!
//! # Query language
//!
//! | syntax | meaning |
//! |---|---|
//! | `foo bar` | both words (in any order, anywhere); `AND` between items is accepted and means the same |
//! | `foo` | the word in the file's text **or** its name, a part's name or the metadata (title, author, subject, album...) |
//! | `foo-bar`, `foo.txt` | a word with punctuation inside is the phrase of its parts (`foo` then `bar`) |
//! | `"exact phrase"` | these words next to each other in this order, in the text or the name |
//! | `a OR b` | either; `OR` binds tighter than the implicit AND: `a b OR c` is `a AND (b OR c)` |
//! | `(a OR b) c` | parentheses group |
//! | `-foo`, `NOT foo` | excludes files matching the item (word, phrase, filter or group) |
//! | `conf*` | words starting with `conf`; `foo-ba*` is `foo` followed by a word starting with `ba` |
//! | `name:foo`, `name:"a b"`, `name:rep*` | the file name only |
//! | `name:*port*`, `name:*.tar.gz`, `name:report-202?.pdf`, `name:[a-c]*` | the whole name matches the glob (case-insensitive; see [`parse::glob`]) |
//! | `ext:md`, `ext:.MD`, `ext:md,txt` | the extension (case-insensitive, dot optional, comma = OR) |
//! | `path:src`, `path:~/notes`, `path:"/a b/c"` | anywhere under this directory |
//! | `size:>10M`, `size:<=4k`, `size:1M..5M` | the size in bytes (units `b k m g t`, powers of 1024, any case) |
//! | `modified:2026-11-30`, `modified:2026-11`, `modified:2026` | modified on that day, month or year (alias `mtime:`) |
//! | `modified:>=2026-11-01`, `modified:2026-01..2026-03` | from, after, before, up to, or within dates |
//! | `modified:<7d`, `modified:>2w` | modified less (more) than that long ago (`s min h d w`) |
//! | `modified:today`, `yesterday`, `thisweek`, `lastweek` | calendar days and weeks (weeks start on Monday) |
//! | `recieve~`, `word~1`, `name:reprot~` | a word within 0 to 2 edits (see below) |
//! | `title:budget`, `author:"ada lovelace"`, `subject:invoice` | the document's title, author (a mail's sender, a song's artist) or subject |
//! | `mime:application/pdf`, `mime:image/*` | the MIME type, exact or a family, case-insensitive |
//! | `type:pdf`, `type:image,video` | a class of MIME types (see `fandex_schema::mime::CLASSES`) |
//! | `type:folder`, `name:proj* type:folder` | directories (indexed by name, MIME type `inode/directory`); other classes never match one |
//! | (relevance order) | files before folders, each by the text score × (1 + name match + recency): see [`RankWeights`] |
//!
//! Directories are results of queries that may name them: a word or phrase (their name), a `name:`
//! pattern, `--names`, a fuzzy word, or `type:folder`/`mime:inode/directory`; a query of filters alone
//! (`path:src`, `size:>1M`, `modified:today`) lists files only.
//!
//! `word~N` matches words at most N edits (0 to 2) away, a transposition of neighbours being one edit;
//! `word~` picks N from the word's length like Elasticsearch's `AUTO`: 0 up to 2 characters, 1 from 3
//! to 5, 2 from 6 on. A fuzzy match scores a constant per field, never BM25.
//!
//! A `name:` value with `?`, `[`, `\`, a `*` before its end, or a final `*` after punctuation is a
//! glob over the whole file name (`*` any run, `?` one character, `[a-z]`, `[!a]` classes, `\` escapes),
//! lowercased on both sides; it scores a constant. [`SearchRequest::names`] turns on the locate-style
//! names mode ([`parse::parse_names`]).
//!
//! Calendar values are in the caller's time zone, [`SearchRequest::utc_offset_s`]; hits come in the
//! order of [`SearchRequest::sort`], and [`SearchRequest::offset`] pages through them.
//!
//! Words are analyzed like the indexed text: split at every character that is not a letter or digit,
//! lowercased and folded to ASCII, so `Café` and `cafe` are the same word. A word with no letters or
//! digits (`-`, `...`) is ignored; a query left with nothing to search is an error.
//!
//! A query made only of exclusions matches every file except the excluded ones: `-draft` lists every
//! file without the word `draft`, and `(-a) OR b` means "files without `a`, or with `b`".
//!
//! `path:` directories are exact bytes: a relative one is joined to the request's working directory,
//! `~` and `~/x` start at `$HOME`, and `.`, `..`, doubled and trailing slashes are resolved lexically
//! (symbolic links are not followed). `path:/a/b` matches `/a/b/c` and `/a/b/x/y` but not `/a/bc`.
//!
//! Filters combine with everything else:
//!
//! ```text
//! ext:rs path:src -test "fn main"     Rust files under ./src containing "fn main", without "test"
//! report name:2024* ext:pdf,odt       PDF or ODT files named 2024..., mentioning "report"
//! (invoice OR receipt) -path:~/tmp    either word, outside ~/tmp
//! ```
//!
//! Keywords are uppercase only (`or` is a word). The characters `"`, `(`, `)` and a `*` that does not
//! end a word are syntax; a word before a colon that is not a field (`http:`, `todo:`) is an error too.
//! Put such text in double quotes to search it literally: `"http://example.com"`, `"todo: x"`.
//! Errors report the 1-based character position of the problem:
//!
//! ```
//! use fandex_query::{QueryError, parse::parse};
//!
//! let err = parse("(draft OR final").unwrap_err();
//! assert!(matches!(err, QueryError::Syntax { position: 1, .. }));
//! assert_eq!(
//!     err.to_string(),
//!     "unbalanced '(': it is never closed (at character 1 of the query)"
//! );
//! ```
//!
//! # Searching
//!
//! ```
//! use std::path::PathBuf;
//! use fandex_schema::{self as schema, FileDoc};
//! use fandex_query::{QueryEngine, SearchRequest};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (schema, fields) = schema::build_schema();
//! let index = tantivy::Index::create_in_ram(schema);
//! schema::register_analyzers(&index);
//! let mut writer: tantivy::IndexWriter = index.writer_with_num_threads(1, 15_000_000)?;
//! let doc = FileDoc {
//!     file_id: 1,
//!     path: PathBuf::from("/notes/cafe.md"),
//!     size: 24,
//!     mtime_ns: 0,
//!     text: "Meet at the Café at noon".into(),
//! };
//! writer.add_document(doc.to_document(&fields))?;
//! writer.commit()?;
//!
//! let engine = QueryEngine::new(index.reader()?, fields);
//! let results = engine.search(&SearchRequest {
//!     query: "cafe ext:md".into(),
//!     limit: 10,
//!     cwd: PathBuf::from("/"),
//!     snippets: true,
//!     home: None,
//!     ..SearchRequest::default()
//! })?;
//! assert_eq!(results.total, 1);
//! let hit = &results.hits[0];
//! assert_eq!(hit.path, PathBuf::from("/notes/cafe.md"));
//! assert_eq!(hit.snippet.text, "Meet at the Café at noon");
//! assert_eq!(&hit.snippet.text[hit.snippet.highlights[0].clone()], "Café");
//! # Ok(())
//! # }
//! ```

mod blend;
pub mod client;
mod clock;
mod compile;
mod error;
mod folders;
mod guard;
pub mod limits;
mod name_query;
mod order;
pub mod parse;
pub mod protocol;
mod prune;
mod rank;
mod request;
mod rescore;
mod search;
mod snippet;
mod stems;
mod suggest;
mod visible;

pub use blend::{DEFAULT_HALF_LIFE, RankWeights};
pub use error::QueryError;
pub use limits::MAX_PHRASE_PREFIX_EXPANSIONS;
pub use request::{Hit, SearchRequest, SearchResults, Snippet, SortBy};
pub use search::QueryEngine;
pub use search::shown::LaterSnippets;
pub use snippet::{LEAD_BYTES, MAX_FRAGMENT_BYTES};
