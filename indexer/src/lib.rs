//! fandex's indexing engine: the catalog of files, text extraction, the crawl and the tantivy index.

pub mod extract;
pub mod fileio;
pub mod schema;
