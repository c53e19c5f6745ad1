//! fandex's indexing engine: the catalog of files, text extraction, the crawl and the tantivy index.
//!
//! The pieces, each in its own module:
//! - [`config`]: the TOML configuration and its defaults.
//! - [`layout`]: where the index lives, its 0700 directory, the format marker and the writer lock;
//!   [`rebuild`]: an index of another format rebuilt in place, crash-safe.
//! - [`catalog`]: the sled catalog, one record per file (identity, path bytes, metadata, hash, status).
//! - [`schema`]: the tantivy schema and analyzer, shared with the query crate (the `fandex-schema` crate,
//!   re-exported here so `fandex_indexer::schema::..` paths keep working).
//! - [`text_index`]: the tantivy index behind an API keyed by file id.
//! - [`extract`]: bytes to text (encodings, HTML, gzip) and [`fileio`]: opening files without blocking.
//! - [`crawl`]: the parallel walk with exclusions ([`exclude`]: the same rules for one path);
//!   [`pseudofs`]: the filesystems refused as roots.
//! - [`coalesce`]: the daemon's live events merged into per-path work.
//! - [`engine`]: ties them together: bring the index up to date with the filesystem, by walking or by
//!   applying coalesced work.
//! - [`sys`]: the CPU and I/O priority of bulk work's threads.
//! - [`user`]: a per-user fandex's places (XDG base and user directories, the runtime socket).
//! - [`error`]: the crate's error type.

pub mod catalog;
pub mod coalesce;
pub mod config;
pub mod crawl;
pub mod engine;
pub mod error;
pub mod exclude;
pub mod extract;
pub mod fileio;
pub mod layout;
pub mod malloc;
pub mod merge_policy;
pub mod pseudofs;
pub mod rebuild;
pub mod sys;
pub mod text_index;
pub mod user;

/// The document formats the [`extract::DocumentParser`] seam speaks (`Document`, `Kind`, ...).
pub use fandex_formats as formats;
pub use fandex_schema as schema;

pub use config::Config;
pub use engine::{Engine, Summary};
pub use error::{Error, Result};
pub use layout::IndexDir;
