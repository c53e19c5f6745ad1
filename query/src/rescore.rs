//! Text scores of a few chosen documents, equal to the ones a full scoring pass gives them.
//!
//! A search ordered by modification time, size or name needs no score to choose its page: it matches
//! without scoring (far cheaper over tens of thousands of matches), cuts the page, and then scores only
//! the page's documents here. Each segment's scorer is built as the full pass builds it and moved to
//! each chosen document in ascending order with `seek`; tantivy's scorers add up a document's score
//! over the same sub-scorers in the same order whether they get there by `advance` or by `seek` (a
//! union accumulates per sub-scorer in its fixed order, an intersection sums its children in order), so
//! the score is the same float, bit for bit (tested against the full pass in the `search` module's tests).

use tantivy::query::{Bm25StatisticsProvider, EnableScoring, Query};
use tantivy::{DocSet, Searcher};

use crate::rank::Ranked;

/// Sets the text score of each of `docs` (matches of `query` on `searcher`, each once) as
/// [`Searcher::search_with_statistics_provider`] with `stats` computes it. `Ok(false)` when a
/// document turns out not to match, leaving the scores partly set: the caller then scores the full way.
pub(crate) fn score_chosen(
    searcher: &Searcher,
    query: &dyn Query,
    stats: &dyn Bm25StatisticsProvider,
    docs: &mut [Ranked],
) -> tantivy::Result<bool> {
    if docs.is_empty() {
        return Ok(true);
    }
    let weight = query.weight(EnableScoring::enabled_from_statistics_provider(
        stats, searcher,
    ))?;
    let mut order: Vec<usize> = (0..docs.len()).collect();
    order.sort_unstable_by_key(|&i| docs[i].address);
    let mut i = 0;
    while i < order.len() {
        let segment = docs[order[i]].address.segment_ord;
        let reader = searcher.segment_reader(segment);
        let mut scorer = weight.scorer(reader, 1.0)?;
        while i < order.len() && docs[order[i]].address.segment_ord == segment {
            let doc = &mut docs[order[i]];
            if scorer.doc() > doc.address.doc_id
                || scorer.seek(doc.address.doc_id) != doc.address.doc_id
            {
                return Ok(false);
            }
            doc.score = scorer.score();
            i += 1;
        }
    }
    Ok(true)
}
