//! The query engine as the configuration sets it up: the one place where the front ends that search
//! (the daemon, the facade's searchers and so `fandex search` without a daemon, [`crate::IndexBackend`])
//! turn the configuration into a [`QueryEngine`], with the relevance blend of its `[rank]`. It lives in
//! this crate because it is the first one that sees both the indexer's configuration and the query
//! engine; the daemon and the facade re-export it.

use fandex_indexer::config::RankConfig;
use fandex_indexer::schema::Fields;
use fandex_indexer::{Config, IndexDir};
use fandex_query::{QueryEngine, RankWeights};

/// The query engine's relevance blend from the configuration's `[rank]` section.
pub fn rank_weights(rank: &RankConfig) -> RankWeights {
    RankWeights {
        name: rank.name,
        recency: rank.recency,
        recency_half_life: rank.recency_half_life,
    }
}

/// A query engine over `reader` (an index with fandex's schema, described by `fields`) that blends
/// relevance as `config`'s `[rank]` says.
pub fn configured_engine(
    reader: tantivy::IndexReader,
    fields: Fields,
    config: &Config,
) -> QueryEngine {
    let engine = QueryEngine::new(reader, fields);
    engine.set_rank(rank_weights(&config.rank));
    engine
}

/// Opens the index in `dir` for searching only (no writer lock: works while another process writes
/// it), configured by `config` ([`configured_engine`]); also returns its reader, to reload.
pub fn open_searcher(
    dir: &IndexDir,
    config: &Config,
) -> Result<(QueryEngine, tantivy::IndexReader), fandex_indexer::Error> {
    dir.check_format()?;
    let (_, reader, fields) = fandex_indexer::text_index::open_read_only(&dir.tantivy_dir())?;
    Ok((configured_engine(reader.clone(), fields, config), reader))
}
