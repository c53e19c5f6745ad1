//! The one error type of the crate: why a document gave no text.

use thiserror::Error;

/// Why a document could not be turned into text. Each message is one line naming the problem.
#[derive(Debug, Error)]
pub enum FormatError {
    /// The bytes are not a valid document of the detected kind (truncated, corrupt, hostile).
    #[error("malformed {kind}: {reason}")]
    Malformed {
        /// The kind of document that was expected.
        kind: &'static str,
        /// What was wrong, as the parser reported it.
        reason: String,
    },
    /// The document is encrypted and needs a password.
    #[error("encrypted: {0}")]
    Encrypted(String),
    /// The format is known but not supported (e.g. legacy binary `.doc`), or not known at all.
    #[error("unsupported format: {0}")]
    Unsupported(String),
    /// A cap from [`crate::Limits`] was reached before anything useful could be read.
    #[error("limit reached: {0}")]
    Limit(String),
    /// Reading the input failed.
    #[error("read failed: {0}")]
    Io(#[from] std::io::Error),
}

impl FormatError {
    /// A [`FormatError::Malformed`] for `kind`, with the parser's message on one line.
    pub(crate) fn malformed(kind: &'static str, reason: impl std::fmt::Display) -> Self {
        let reason = reason.to_string().replace(['\n', '\r'], " ");
        FormatError::Malformed { kind, reason }
    }
}
