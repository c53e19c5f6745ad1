//! How the poller asks "which files hold this word?": through a fandex daemon's socket, or by running
//! `recollq` on a recoll index.

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
