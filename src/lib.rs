//! fandex: a Linux file indexer that keeps a full-text index current as files change.
//!
//! This crate is the facade for embedding: it re-exports the three library crates, so a desktop
//! application depends on `fandex` alone and runs the same engine the `fandex` binary runs.
//!
//! - [`indexer`]: open an index ([`Engine`]), bring it up to date with the filesystem, configuration.
//! - [`query`]: parse and run queries against an index ([`QueryEngine`]).
//! - [`watcher`]: kernel change notifications as one stream of normalized changes.
//! - [`service`]: the daemon as a library ([`Daemon`]): watch, keep the index current, answer searches.
//! - [`formats`]: the document parsers (PDF, office, e-mail, archives, media tags). A daemon or engine
//!   runs them in sandboxed worker processes: see [`service::extraction`] for how an embedding
//!   application starts its own binary as the worker and gives the parser to its [`Engine`]
//!   (`Engine::set_parser`) or [`Daemon`] (`DaemonOptions::parser`).
//!
//! The `cli` feature (on by default) builds the `fandex` binary and pulls in its own dependencies (clap,
//! indicatif, anyhow, signal-hook, tracing-subscriber...); an embedding application depends on
//! `fandex = { version = "0.1", default-features = false }` and compiles none of them.
//!
//! ```no_run
//! use fandex::{Config, Engine, IndexDir, SearchRequest};
//! use fandex::indexer::engine::{Progress, UpdateRequest};
//!
//! let mut engine = Engine::open(IndexDir::at("/tmp/my-index"), Config::default())?;
//! let request = UpdateRequest { add_roots: vec!["/home/me/notes".into()], forget_roots: vec![] };
//! engine.update(&request, &Progress::default())?;
//! let search = fandex::searcher_for(&engine);
//! let results = search.search(&SearchRequest {
//!     query: "meeting notes ext:md".into(),
//!     limit: 10,
//!     cwd: "/".into(),
//!     snippets: true,
//!     home: None,
//!     ..SearchRequest::default()
//! })?;
//! for hit in results.hits {
//!     println!("{}", hit.path.display());
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use fandex_daemon as service;
pub use fandex_formats as formats;
pub use fandex_indexer as indexer;
pub use fandex_query as query;
pub use fandex_watcher as watcher;

pub use fandex_daemon::{Daemon, DaemonError, DaemonOptions, StatusReport, rank_weights};
pub use fandex_indexer::{Config, Engine, Error, IndexDir, Summary};
pub use fandex_query::{
    Hit, QueryEngine, QueryError, RankWeights, SearchRequest, SearchResults, Snippet, SortBy,
};

/// A query engine over the index an [`Engine`] writes, in the same process: it sees each commit as soon as
/// the engine makes it. Relevance blends as the engine's configuration's `[rank]` says.
pub fn searcher_for(engine: &Engine) -> QueryEngine {
    let index = engine.text_index();
    fandex_daemon::configured_engine(
        index.reader().clone(),
        index.fields().clone(),
        engine.config(),
    )
}

/// Opens the index in `dir` for searching only (no writer lock: works while another process writes).
/// Relevance blends with the default `[rank]` weights ([`RankWeights::default`]); change them with
/// [`QueryEngine::set_rank`].
pub fn open_searcher(dir: &IndexDir) -> Result<QueryEngine, Error> {
    open_searcher_with(dir, &Config::default())
}

/// Opens the index in `dir` for searching only, relevance blended as `config`'s `[rank]` says (what
/// `fandex search` does without a daemon).
pub fn open_searcher_with(dir: &IndexDir, config: &Config) -> Result<QueryEngine, Error> {
    Ok(fandex_daemon::open_searcher(dir, config)?.0)
}
