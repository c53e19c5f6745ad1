//! The daemon's socket protocol: JSON lines over a Unix stream socket.
//!
//! Each request is one JSON object on one line; each answer is one JSON object on one line. Paths travel
//! as base64 of their exact bytes ([`WirePath`]), so names that are not UTF-8 or contain newlines survive.
//!
//! ```text
//! -> {"op":"search","query":"fox ext:md","limit":20,"cwd":"L2hvbWU=","snippets":true}
//! -> {"op":"search","query":"modified:today","limit":20,"cwd":"Lw==","snippets":false,
//!     "utc_offset_s":3600,"sort":"modified","reverse":true,"offset":20}
//! <- {"type":"results","total":1,"hits":[{"file_id":7,"path":"L2EvYi5tZA==",...}]}
//! -> {"op":"sync","timeout_ms":5000}
//! <- {"type":"synced","generation":42}
//! -> {"op":"status"}
//! <- {"type":"status","status":{...}}
//! -> {"op":"pause","seconds":600}          (no "seconds": until resumed)
//! <- {"type":"pause_state","paused":{"reason":"user","until_unix":1796630400,"waiting":0,"held_walks":0}}
//! -> {"op":"resume"}
//! <- {"type":"pause_state","paused":null}
//! <- {"type":"error","kind":"syntax","message":"..."}
//! ```

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{Hit, SearchRequest, SearchResults, Snippet, SortBy};

pub mod latency;
pub mod pause;
pub mod progress;
pub mod status;

/// Longest response line a client accepts, in bytes. The daemon reads requests only up to
/// [`crate::limits::MAX_REQUEST_BYTES`].
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// A path as exact bytes, carried as a base64 string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WirePath(pub PathBuf);

impl Serialize for WirePath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(
            &base64::engine::general_purpose::STANDARD.encode(self.0.as_os_str().as_bytes()),
        )
    }
}

impl<'de> Deserialize<'de> for WirePath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)?;
        Ok(Self(PathBuf::from(OsStr::from_bytes(&bytes))))
    }
}

impl From<&Path> for WirePath {
    fn from(p: &Path) -> Self {
        Self(p.to_owned())
    }
}

/// A request to the daemon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Run a query.
    Search {
        /// The query text.
        query: String,
        /// At most this many hits.
        limit: usize,
        /// The caller's working directory (for relative `path:` filters).
        cwd: WirePath,
        /// Whether to compute snippets.
        snippets: bool,
        /// The caller's home directory (for `path:~`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        home: Option<WirePath>,
        /// The caller's offset from UTC in seconds east, for `modified:` dates (0, UTC, when absent).
        #[serde(default, skip_serializing_if = "is_zero")]
        utc_offset_s: i32,
        /// The order of the hits (relevance when absent).
        #[serde(default, skip_serializing_if = "is_relevance")]
        sort: SortBy,
        /// Reverse that order.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reverse: bool,
        /// Skip this many hits of that order.
        #[serde(default, skip_serializing_if = "is_zero")]
        offset: usize,
        /// Locate-style names mode: bare words are name patterns (`SearchRequest::names`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        names: bool,
    },
    /// What the daemon is doing.
    Status {},
    /// Answer once every change made before this request is searchable.
    Sync {
        /// Give up after this long.
        timeout_ms: u64,
    },
    /// Stop applying changes (they keep being recorded) for `seconds`, or until `resume` when absent.
    /// Only root and the daemon's own user may.
    Pause {
        /// How long; absent: until `resume`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seconds: Option<u64>,
    },
    /// Apply the changes recorded while paused and carry on. Only root and the daemon's own user may.
    Resume {},
}

/// One hit on the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WireHit {
    /// Catalog id; sent only to the index's owner (root or the daemon's user). Ids are sequential, so to
    /// anyone else the gaps between them would count files they cannot see; the field is then left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<u64>,
    /// Exact path.
    pub path: WirePath,
    /// Relevance.
    pub score: f32,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
    /// Snippet text.
    pub snippet: String,
    /// Highlighted byte ranges of `snippet`.
    pub highlights: Vec<(usize, usize)>,
    /// The part of the file this hit is (nested parts joined by ` » `); absent for the file itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    /// MIME type, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime: Option<String>,
    /// Title, when the document has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Author, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Subject, when the document has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// Kinds of error the daemon reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The query is malformed (the message says where).
    Syntax,
    /// The request is malformed, or beyond a bound of [`crate::limits`] (the message names it).
    BadRequest,
    /// `sync` did not finish in time.
    Timeout,
    /// The daemon is busy (too many connections) or stopping.
    Unavailable,
    /// The caller may not do this (pausing and resuming are for root and the daemon's own user).
    Denied,
    /// Anything else.
    Internal,
}

/// An answer from the daemon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    /// Search results.
    Results {
        /// All matching files.
        total: usize,
        /// The best `limit` of them.
        hits: Vec<WireHit>,
        /// When nothing matched, a corrected query that finds files the caller may see ("did you
        /// mean"); absent otherwise.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        suggestion: Option<String>,
    },
    /// The daemon's status report.
    Status {
        /// The report as the caller may see it (see `fandex status --json`).
        status: status::CallerStatus,
    },
    /// Every change made before the sync request is searchable, as of this commit generation.
    Synced {
        /// The generation that made them visible.
        generation: u64,
    },
    /// The answer to `pause` and `resume`: whether work is paused now, and why.
    PauseState {
        /// The pause in force, if any (`resume` while on battery still leaves bulk work paused).
        paused: Option<status::PauseReport>,
    },
    /// The request failed.
    Error {
        /// What kind of failure.
        kind: ErrorKind,
        /// One line for the user.
        message: String,
    },
}

impl Request {
    /// The wire form of a search request.
    pub fn search(request: &SearchRequest) -> Self {
        Self::Search {
            query: request.query.clone(),
            limit: request.limit,
            cwd: WirePath(request.cwd.clone()),
            snippets: request.snippets,
            home: request.home.clone().map(WirePath),
            utc_offset_s: request.utc_offset_s,
            sort: request.sort,
            reverse: request.reverse,
            offset: request.offset,
            names: request.names,
        }
    }
}

fn is_zero<T: Default + PartialEq>(n: &T) -> bool {
    *n == T::default()
}

fn is_relevance(sort: &SortBy) -> bool {
    *sort == SortBy::Relevance
}

impl From<&Hit> for WireHit {
    fn from(hit: &Hit) -> Self {
        Self {
            file_id: hit.file_id,
            path: WirePath(hit.path.clone()),
            score: hit.score,
            size: hit.size,
            mtime_ns: hit.mtime_ns,
            snippet: hit.snippet.text.clone(),
            highlights: hit
                .snippet
                .highlights
                .iter()
                .map(|r| (r.start, r.end))
                .collect(),
            part: hit.part.clone(),
            mime: hit.mime.clone(),
            title: hit.title.clone(),
            author: hit.author.clone(),
            subject: hit.subject.clone(),
        }
    }
}

impl From<WireHit> for Hit {
    fn from(w: WireHit) -> Self {
        Self {
            file_id: w.file_id,
            path: w.path.0,
            score: w.score,
            size: w.size,
            mtime_ns: w.mtime_ns,
            snippet: Snippet {
                text: w.snippet,
                highlights: w.highlights.into_iter().map(|(a, b)| a..b).collect(),
            },
            part: w.part,
            mime: w.mime,
            title: w.title,
            author: w.author,
            subject: w.subject,
        }
    }
}

impl Response {
    /// The wire form of search results; with `share_ids` false (a caller who is not the index's owner),
    /// the hits carry no file id.
    pub fn results(results: &SearchResults, share_ids: bool) -> Self {
        Self::Results {
            total: results.total,
            suggestion: results.suggestion.clone(),
            hits: results
                .hits
                .iter()
                .map(|hit| {
                    let mut wire = WireHit::from(hit);
                    if !share_ids {
                        wire.file_id = None;
                    }
                    wire
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_paths_round_trip() {
        let req = Request::Search {
            query: "x".into(),
            limit: 3,
            cwd: WirePath(PathBuf::from(OsStr::from_bytes(b"/a\n\xff"))),
            snippets: false,
            home: None,
            utc_offset_s: -3600,
            sort: SortBy::Modified,
            reverse: true,
            offset: 40,
            names: true,
        };
        let line = serde_json::to_string(&req).unwrap();
        assert!(!line.contains('\n'));
        assert_eq!(serde_json::from_str::<Request>(&line).unwrap(), req);
    }

    fn results() -> SearchResults {
        SearchResults {
            hits: vec![Hit {
                file_id: Some(7),
                path: PathBuf::from("/a"),
                score: 1.5,
                size: 3,
                mtime_ns: 4,
                snippet: Snippet::default(),
                part: None,
                mime: None,
                title: None,
                author: None,
                subject: None,
            }],
            total: 1,
            suggestion: None,
        }
    }

    #[test]
    fn document_fields_travel_when_present() {
        let mut results = results();
        results.hits[0].part = Some("a.zip » b.txt".into());
        results.hits[0].mime = Some("text/plain".into());
        results.hits[0].author = Some("Ann".into());
        let wire = serde_json::to_value(Response::results(&results, false)).unwrap();
        assert_eq!(wire["hits"][0]["part"], "a.zip » b.txt");
        assert_eq!(wire["hits"][0]["mime"], "text/plain");
        assert_eq!(wire["hits"][0]["author"], "Ann");
        assert!(wire["hits"][0].get("title").is_none(), "{wire}");
        let Response::Results { hits, .. } = serde_json::from_value(wire).unwrap() else {
            panic!("not results")
        };
        let hit = Hit::from(hits[0].clone());
        assert_eq!(hit.part.as_deref(), Some("a.zip » b.txt"));
        assert_eq!(hit.author.as_deref(), Some("Ann"));
        assert_eq!(hit.title, None);
    }

    #[test]
    fn ids_go_to_the_owner_only() {
        let owner = serde_json::to_value(Response::results(&results(), true)).unwrap();
        assert_eq!(owner["hits"][0]["file_id"], 7);
        let other = serde_json::to_value(Response::results(&results(), false)).unwrap();
        assert!(other["hits"][0].get("file_id").is_none(), "{other}");
        // Both read back; the owner's wire format is unchanged.
        let back: Response = serde_json::from_value(other).unwrap();
        let Response::Results { hits, .. } = back else {
            panic!("not results")
        };
        assert_eq!(Hit::from(hits[0].clone()).file_id, None);
        let old = r#"{"type":"results","total":1,"hits":[{"file_id":7,"path":"L2E=","score":1.5,"size":3,"mtime_ns":4,"snippet":"","highlights":[]}]}"#;
        assert_eq!(
            serde_json::to_string(&Response::results(&results(), true)).unwrap(),
            old
        );
    }

    #[test]
    fn unknown_ops_and_fields_are_rejected() {
        assert!(serde_json::from_str::<Request>(r#"{"op":"drop_all"}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"op":"status","x":1}"#).is_err());
        assert_eq!(
            serde_json::from_str::<Request>(r#"{"op":"sync","timeout_ms":5}"#).unwrap(),
            Request::Sync { timeout_ms: 5 }
        );
        assert_eq!(
            serde_json::from_str::<Request>(r#"{"op":"pause"}"#).unwrap(),
            Request::Pause { seconds: None }
        );
        assert_eq!(
            serde_json::from_str::<Request>(r#"{"op":"pause","seconds":60}"#).unwrap(),
            Request::Pause { seconds: Some(60) }
        );
        assert_eq!(
            serde_json::to_string(&Request::Resume {}).unwrap(),
            r#"{"op":"resume"}"#
        );
    }
}
