//! The indexer's error type. Every variant's message is one line that says what failed and, where it helps,
//! what to do.

use std::path::PathBuf;

/// Result with the indexer's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong opening, updating or reading an index.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O operation failed; `what` names the file or directory.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, naming the file.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The configuration file is invalid.
    #[error("config file {}: {message}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the key.
        message: String,
    },
    /// A root to index does not exist or is not a directory.
    #[error("root {}: {reason}", path.display())]
    BadRoot {
        /// The root as given.
        path: PathBuf,
        /// Why it cannot be indexed.
        reason: String,
    },
    /// No index exists at the location.
    #[error("no index in {}: run `fandex index ROOT...` first (or pass --index-dir)", .0.display())]
    NoIndex(PathBuf),
    /// The directory's `format` marker is not a number: it is not a fandex index, and nothing in it is
    /// touched.
    #[error("{} is not a fandex index (its `format` file is not a format number): choose another --index-dir", .0.display())]
    NotAnIndex(PathBuf),
    /// The index was written in another format (a writer rebuilds it; a reader cannot read it).
    #[error(
        "the index in {} has format {found}, this fandex reads format {expected}: run `fandex index` (or start the daemon) to rebuild it",
        dir.display()
    )]
    IncompatibleIndex {
        /// The index directory.
        dir: PathBuf,
        /// Format found on disk.
        found: u32,
        /// Format this build reads.
        expected: u32,
    },
    /// Another process holds the index for writing.
    #[error("{} is in use by another fandex process{}: wait for it to finish, or stop it (a running daemon keeps the index current by itself)", dir.display(), pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Locked {
        /// The index directory.
        dir: PathBuf,
        /// The holder's pid, when it recorded one.
        pid: Option<u32>,
    },
    /// The catalog (sled) failed.
    #[error("catalog in {}: {message}", dir.display())]
    Catalog {
        /// The catalog directory.
        dir: PathBuf,
        /// sled's message.
        message: String,
    },
    /// The full-text index (tantivy) failed.
    #[error("full-text index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// A walk was ended early through [`crate::engine::Progress::interrupt`]; what it read is committed.
    #[error("the walk was interrupted before it saw every file (what it read is committed)")]
    Interrupted,
}

impl Error {
    /// Wraps an I/O error with a description naming the file.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }
}
