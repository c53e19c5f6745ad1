//! What a PDF reader (`oxide`, `poppler`) returns, judged by `pdf::finish`.

use crate::document::Document;

/// What a reader got from a PDF: the document (metadata, text, notes) and how many pages it has (or were
/// read, when the text cap stopped it).
pub(crate) struct Read {
    /// Metadata, text and notes.
    pub doc: Document,
    /// Pages in the PDF, or read before the text cap.
    pub pages: usize,
}

/// Why a reader got nothing.
pub(crate) enum Failure {
    /// The PDF needs a password.
    Encrypted,
    /// Not a readable PDF, with the reader's reason.
    Malformed(String),
}
