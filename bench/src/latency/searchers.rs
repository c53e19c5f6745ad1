//! How the poller asks "which files hold this word?": through a fandex daemon's socket, by running
//! `recollq` on a recoll index, or by running another indexer's search command (`tracker3 search`,
//! `baloosearch`).

use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use fandex::SearchRequest;
use fandex::query::client::Client;

use crate::error::{BenchError, Result};

/// Lists every path holding a given word.
pub trait Searcher {
    /// The paths (exact bytes) of at most `limit` files whose text holds `token`.
    fn paths(&mut self, token: &str, limit: usize) -> Result<Vec<Vec<u8>>>;
}

/// Searches through a fandex daemon's socket (what `fandex search` does when a daemon runs), without
/// snippets.
pub struct DaemonSearcher {
    socket: PathBuf,
    client: Client,
}

impl DaemonSearcher {
    /// Connects to the daemon listening on `socket`.
    pub fn connect(socket: &Path) -> Result<Self> {
        let client = Client::connect(socket)
            .map_err(|e| BenchError::Invalid(format!("{e}")))?
            .ok_or_else(|| {
                BenchError::Invalid(format!("no daemon listens on {}", socket.display()))
            })?;
        Ok(Self {
            socket: socket.to_path_buf(),
            client,
        })
    }

    /// The client, for other requests (sync, status).
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// How many files match `query` (no hits fetched).
    pub fn count(&mut self, query: &str) -> Result<usize> {
        Ok(self.search(query, 0)?.total)
    }

    fn search(&mut self, query: &str, limit: usize) -> Result<fandex::SearchResults> {
        let request = SearchRequest {
            query: query.to_owned(),
            limit,
            cwd: "/".into(),
            snippets: false,
            home: None,
            ..SearchRequest::default()
        };
        self.client.search(&request).map_err(|e| {
            BenchError::Invalid(format!(
                "search {query:?} through {}: {e}",
                self.socket.display()
            ))
        })
    }
}

impl Searcher for DaemonSearcher {
    fn paths(&mut self, token: &str, limit: usize) -> Result<Vec<Vec<u8>>> {
        Ok(self
            .search(token, limit)?
            .hits
            .into_iter()
            .map(|h| h.path.into_os_string().into_vec())
            .collect())
    }
}

/// Searches a recoll index by running `recollq -c CONFIG -b -n LIMIT TOKEN` (URLs only).
pub struct RecollSearcher {
    /// The recoll configuration directory.
    pub config: PathBuf,
}

/// The paths of `file://` URLs in `recollq -b` output.
pub fn parse_recollq_urls(out: &[u8]) -> Vec<Vec<u8>> {
    out.split(|b| *b == b'\n')
        .filter_map(|line| line.strip_prefix(b"file://"))
        .map(<[u8]>::to_vec)
        .collect()
}

impl Searcher for RecollSearcher {
    fn paths(&mut self, token: &str, limit: usize) -> Result<Vec<Vec<u8>>> {
        let out = Command::new("recollq")
            .arg("-c")
            .arg(&self.config)
            .arg("-b")
            .arg("-n")
            .arg(limit.to_string())
            .arg(token)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map_err(|source| BenchError::Spawn {
                command: format!("recollq -c {}", self.config.display()),
                source,
            })?;
        if !out.status.success() {
            return Err(BenchError::Invalid(format!(
                "recollq -c {} {token} failed: {}",
                self.config.display(),
                out.status
            )));
        }
        Ok(parse_recollq_urls(&out.stdout))
    }
}

/// Searches by running a command with the word as its last argument, one process per search:
/// `tracker3 search` (GNOME Tracker/LocalSearch) or `baloosearch` (KDE Baloo). `{limit}` in an
/// argument is replaced by the most hits wanted. The paths are read from its output with
/// [`parse_listed_paths`].
pub struct CommandSearcher {
    /// Program and arguments (without the word).
    pub argv: Vec<String>,
}

impl CommandSearcher {
    /// A searcher running `command`, split at whitespace (no quoting).
    pub fn new(command: &str) -> Result<Self> {
        let argv: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
        if argv.is_empty() {
            return Err(BenchError::Invalid("empty search command".into()));
        }
        Ok(Self { argv })
    }
}

/// The paths a search command prints: lines (leading blanks ignored) that are a `file://` URL,
/// percent-decoded (`tracker3 search --disable-color --disable-snippets`), or an absolute path
/// (`baloosearch`); every other line (headers, timings, snippets) is skipped.
pub fn parse_listed_paths(out: &[u8]) -> Vec<Vec<u8>> {
    out.split(|b| *b == b'\n')
        .filter_map(|line| {
            let start = line.iter().position(|b| !b.is_ascii_whitespace())?;
            let line = &line[start..];
            if let Some(url) = line.strip_prefix(b"file://") {
                Some(percent_decode(url.trim_ascii_end()))
            } else if line.starts_with(b"/") {
                Some(line.to_vec())
            } else {
                None
            }
        })
        .collect()
}

/// `%XX` escapes to bytes; anything else as is.
fn percent_decode(s: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%'
            && let (Some(h), Some(l)) = (
                s.get(i + 1).copied().and_then(hex),
                s.get(i + 2).copied().and_then(hex),
            )
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

impl Searcher for CommandSearcher {
    fn paths(&mut self, token: &str, limit: usize) -> Result<Vec<Vec<u8>>> {
        let limit = limit.to_string();
        let args: Vec<String> = self.argv[1..]
            .iter()
            .map(|a| a.replace("{limit}", &limit))
            .collect();
        let out = Command::new(&self.argv[0])
            .args(&args)
            .arg(token)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map_err(|source| BenchError::Spawn {
                command: self.argv.join(" "),
                source,
            })?;
        if !out.status.success() {
            return Err(BenchError::Invalid(format!(
                "{} {token} failed: {}",
                self.argv.join(" "),
                out.status
            )));
        }
        Ok(parse_listed_paths(&out.stdout))
    }
}
