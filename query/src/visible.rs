//! Ranking for a caller who may not see every document, from what that caller can see alone.
//!
//! BM25 weighs a word by how many documents hold it and normalizes a document's length by the average
//! length; taken over the whole index, both count documents the caller cannot read, so the score of the
//! caller's own file moved when somebody else's private file held the same word (2.12 with no hidden file
//! holding it, 1.62 with one, 0.91 with six). For such callers a search therefore runs in two passes:
//!
//! 1. every matching document is collected without scoring, and the caller's visibility is asked for
//!    all of them (the match set of a query does not depend on other documents);
//! 2. the *collection* BM25 sees is the caller's visible matches: `N` is their number, a word's document
//!    frequency is how many of them hold it (in that field), the average length is theirs. Each visible
//!    match is scored as the sum, in the query's order, of the scores of the scoring leaves it matches
//!    (words, phrases and prefixes not under a negation, each in the content and the name field), which is
//!    what tantivy's boolean queries add up, but summed here in a fixed order: tantivy orders an
//!    intersection by posting-list length, which counts hidden documents, and a different order of float
//!    additions can change a score's last bit.
//!
//! Nothing in a score then depends on a hidden document, and the work is what the search already did
//! (every match is checked for visibility anyway) plus one walk over the query terms' posting lists.
//! Rare words still weigh more than common ones among the visible matches (`alpha OR beta` ranks the
//! documents with the rarer word first); in an AND query every match holds every word, so there the order
//! comes from how often and in how short a document the words occur. Scores are on a smaller scale than
//! an unfiltered search's: compare them only within one answer.

use std::collections::HashMap;
use std::sync::Mutex;

use tantivy::query::{Bm25StatisticsProvider, EnableScoring, Query};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{BitSet, DocId, DocSet, Score, Searcher, TERMINATED, Term};

use crate::rank::Ranked;

/// A caller's visible matches: per segment, a set of document ids.
pub(crate) struct VisibleMatches {
    /// One set per segment of the searcher, sized to the segment.
    sets: Vec<BitSet>,
    /// The documents, in segment then document order, with their file ids.
    docs: Vec<Ranked>,
}

impl VisibleMatches {
    /// Collects `docs` (unscored matches the caller may see) into per-segment sets.
    pub(crate) fn new(searcher: &Searcher, docs: Vec<Ranked>) -> Self {
        let mut sets: Vec<BitSet> = searcher
            .segment_readers()
            .iter()
            .map(|r| BitSet::with_max_value(r.max_doc()))
            .collect();
        for doc in &docs {
            sets[doc.address.segment_ord as usize].insert(doc.address.doc_id);
        }
        Self { sets, docs }
    }

    fn contains(&self, segment: usize, doc: DocId) -> bool {
        let set = &self.sets[segment];
        doc < set.max_value() && set.contains(doc)
    }

    /// Scores every visible match with `leaves` (the query's scoring leaves, in order) against
    /// statistics of the visible matches alone; returns them in no particular order.
    pub(crate) fn score(
        self,
        searcher: &Searcher,
        leaves: &[Box<dyn Query>],
    ) -> tantivy::Result<Vec<Ranked>> {
        let stats = VisibleStats {
            searcher,
            visible: &self,
            tokens: Mutex::new(HashMap::new()),
            doc_freqs: Mutex::new(HashMap::new()),
        };
        let scoring = EnableScoring::enabled_from_statistics_provider(&stats, searcher);
        // Dense per-segment accumulators: a visible document's score is the sum of its leaves' scores,
        // added in leaf order.
        let mut sums: Vec<Vec<Score>> = searcher
            .segment_readers()
            .iter()
            .map(|r| vec![0.0; r.max_doc() as usize])
            .collect();
        for leaf in leaves {
            let weight = leaf.weight(scoring)?;
            for (segment, reader) in searcher.segment_readers().iter().enumerate() {
                let mut scorer = weight.scorer(reader, 1.0)?;
                let mut doc = scorer.doc();
                while doc != TERMINATED {
                    if self.contains(segment, doc) {
                        sums[segment][doc as usize] += scorer.score();
                    }
                    doc = scorer.advance();
                }
            }
        }
        drop(stats);
        let mut docs = self.docs;
        for doc in &mut docs {
            doc.score = sums[doc.address.segment_ord as usize][doc.address.doc_id as usize];
        }
        Ok(docs)
    }
}

/// BM25 statistics over a caller's visible matches (see the module documentation).
struct VisibleStats<'a> {
    searcher: &'a Searcher,
    visible: &'a VisibleMatches,
    /// Total field length (sum of field norms) per field, computed once.
    tokens: Mutex<HashMap<Field, u64>>,
    /// Document frequency per term, computed once.
    doc_freqs: Mutex<HashMap<Term, u64>>,
}

impl Bm25StatisticsProvider for VisibleStats<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        let mut cache = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&n) = cache.get(&field) {
            return Ok(n);
        }
        let mut norms = Vec::new();
        for reader in self.searcher.segment_readers() {
            norms.push(reader.fieldnorms_readers().get_field(field)?);
        }
        let mut total = 0u64;
        for doc in &self.visible.docs {
            if let Some(norms) = &norms[doc.address.segment_ord as usize] {
                total += u64::from(norms.fieldnorm(doc.address.doc_id));
            }
        }
        // At least one token, so that the average length is never 0 (a division by it).
        let total = total.max(1);
        cache.insert(field, total);
        Ok(total)
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(self.visible.docs.len().max(1) as u64)
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        let mut cache = self.doc_freqs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&n) = cache.get(term) {
            return Ok(n);
        }
        let mut count = 0u64;
        for (segment, reader) in self.searcher.segment_readers().iter().enumerate() {
            let index = reader.inverted_index(term.field())?;
            let Some(mut postings) = index.read_postings(term, IndexRecordOption::Basic)? else {
                continue;
            };
            let mut doc = postings.doc();
            while doc != TERMINATED {
                count += u64::from(self.visible.contains(segment, doc));
                doc = postings.advance();
            }
        }
        cache.insert(term.clone(), count);
        Ok(count)
    }
}
