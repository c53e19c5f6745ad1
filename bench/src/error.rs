//! The one error type of the benchmark helper.

use std::path::{Path, PathBuf};

/// Why a measurement could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A file or directory could not be read or written.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done ("cannot read", ...).
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A child process could not be started or waited for.
    #[error("cannot run {command}: {source}")]
    Spawn {
        /// The command, for the message.
        command: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// fandex refused to open the index.
    #[error("fandex: {0}")]
    Fandex(#[from] fandex::Error),
    /// A query of the query file failed.
    #[error("query {query:?}: {source}")]
    Query {
        /// The query as run.
        query: String,
        /// Why it failed.
        #[source]
        source: fandex::QueryError,
    },
    /// tantivy failed while indexing.
    #[error("tantivy: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// A line of an input file is malformed.
    #[error("{file}:{line}: {message}")]
    Parse {
        /// The file.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// An argument or input makes the measurement meaningless.
    #[error("{0}")]
    Invalid(String),
}

impl BenchError {
    /// An I/O error with what was being done and to which path.
    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Result with [`BenchError`].
pub type Result<T> = std::result::Result<T, BenchError>;
