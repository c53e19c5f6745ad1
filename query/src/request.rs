//! What a search is asked ([`SearchRequest`]) and what it answers ([`SearchResults`], [`Hit`], [`Snippet`]),
//! the same in-process and through a daemon.

use std::ops::Range;
use std::path::PathBuf;

/// One search to run.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// The query, in the language described in the [crate documentation](crate).
    pub query: String,
    /// The most hits to return (0 returns none but still counts them).
    pub limit: usize,
    /// The directory relative `path:` filters are joined to (the caller's working directory).
    pub cwd: PathBuf,
    /// Whether to build a snippet for each hit; when false every [`Hit::snippet`] is empty.
    pub snippets: bool,
    /// The caller's home directory, for `path:~/...`; `None` uses this process's `$HOME` (a daemon must
    /// pass the caller's, or `~` would be its own).
    pub home: Option<PathBuf>,
    /// The caller's offset from UTC in seconds east (UTC+1 is 3600), for the calendar of `modified:`
    /// (`today`, `2026-11-30`); 0 is UTC. A fixed offset: a day on the other side of a daylight-saving
    /// change is off by that change's hour.
    pub utc_offset_s: i32,
    /// The order of the hits.
    pub sort: SortBy,
    /// Reverses `sort` (ties keep ascending file ids, so pages stay stable).
    pub reverse: bool,
    /// How many hits of that order to skip before the `limit` returned (`total` still counts all).
    pub offset: usize,
    /// Locate-style names mode (`fandex search --names`): the query's bare words are patterns on the file
    /// name alone (`port` is `*port*`, `*.pdf` the whole name), fields filter as usual; see
    /// [`parse_names`](crate::parse::parse_names).
    pub names: bool,
}

impl SearchRequest {
    /// The home directory `~` stands for in the query: the caller's, else this process's.
    pub(crate) fn home_dir(&self) -> Option<std::ffi::OsString> {
        self.home
            .as_ref()
            .map(|h| h.as_os_str().to_owned())
            .or_else(|| std::env::var_os("HOME"))
    }
}

impl Default for SearchRequest {
    /// An empty query, 20 hits with snippets, from `/`, in UTC, by relevance, not in names mode.
    fn default() -> Self {
        Self {
            query: String::new(),
            limit: 20,
            cwd: PathBuf::from("/"),
            snippets: true,
            home: None,
            utc_offset_s: 0,
            sort: SortBy::Relevance,
            reverse: false,
            offset: 0,
            names: false,
        }
    }
}

/// The order of a search's hits. Whatever the order, equal keys are broken by ascending file id (then
/// part: the file's own document first), so the
/// same request on the same index pages the same way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortBy {
    /// Best score first.
    #[default]
    Relevance,
    /// Newest modification time first.
    Modified,
    /// File name (its bytes, then the whole path's) ascending.
    Name,
    /// Largest first.
    Size,
}

/// The answer to a [`SearchRequest`].
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResults {
    /// The best hits, best first (descending score, then ascending file id).
    pub hits: Vec<Hit>,
    /// How many documents match in all (a file and each of its parts count apart), not only the
    /// returned ones.
    pub total: usize,
    /// When nothing matched: the query with one word corrected ("did you mean"), which finds files the
    /// caller may see; derived from those files alone (see the crate's `suggest` module).
    pub suggestion: Option<String>,
}

/// One matching file, or one part of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The catalog's id for the file: always there from [`QueryEngine`](crate::QueryEngine); `None` in answers from a daemon
    /// to a caller who is not the index's owner (see [`WireHit::file_id`](crate::protocol::WireHit::file_id)).
    pub file_id: Option<u64>,
    /// The exact path, bytes as stored (not necessarily UTF-8).
    pub path: PathBuf,
    /// Relevance; higher is better. Filters (`ext:`, `path:`) and pure exclusions contribute 0.
    pub score: f32,
    /// Size in bytes when indexed.
    pub size: u64,
    /// Modification time when indexed, nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// Where the query matched in the text (empty when snippets were not requested).
    pub snippet: Snippet,
    /// The part of the file this hit is (an archive member, a message of a mailbox, an attachment; nested
    /// parts joined by ` » `); `None` for the file itself.
    pub part: Option<String>,
    /// The MIME type of the file or part (`application/pdf`, `text/x-rust`), when known.
    pub mime: Option<String>,
    /// The document's title (several joined by `; `), when it has one.
    pub title: Option<String>,
    /// The document's author (a mail's sender, a song's artist; several joined by `; `), when known.
    pub author: Option<String>,
    /// The document's subject (several joined by `; `), when it has one.
    pub subject: Option<String>,
}

/// A one-line excerpt of a file's text.
///
/// Newlines, tabs, control characters and runs of whitespace are shown as a single space. When the text
/// contains a searched word, the excerpt (at most [`MAX_FRAGMENT_BYTES`](crate::MAX_FRAGMENT_BYTES)) surrounds it and
/// `highlights` marks each occurrence; otherwise it is the start of the text (at most [`LEAD_BYTES`](crate::LEAD_BYTES))
/// with no highlights.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snippet {
    /// The excerpt, on one line.
    pub text: String,
    /// Byte ranges into `text` of the matched words, in order, not overlapping, on char boundaries.
    pub highlights: Vec<Range<usize>>,
}
