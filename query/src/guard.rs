//! A query wrapper that keeps tantivy's combinators off a scorer's `seek_danger`.
//!
//! In tantivy 0.27, `PhraseScorer::seek_danger` (used by phrase and phrase-prefix queries) asserts that
//! its target is not below its current document. Its callers break that after a previous
//! `seek_danger` left the scorer past the target, which the `DocSet` contract allows: an exclusion
//! (`foo -"a b"`) whose phrase scorer is exhausted does it on the next candidate. In builds with debug
//! assertions (tests, `cargo build`) that is a panic inside a search. [`ForwardOnly`] hides the
//! wrapped scorer's `seek_danger` behind the trait's default one, which only ever seeks forward; the
//! lost shortcut matters little next to the cost of checking phrase positions.

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, Term};

/// Runs the wrapped query unchanged, except that its scorers never see `seek_danger`.
#[derive(Debug, Clone)]
pub(crate) struct ForwardOnly<Q>(pub(crate) Q);

impl<Q: Query + Clone> Query for ForwardOnly<Q> {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(ForwardOnlyWeight(self.0.weight(enable_scoring)?)))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.0.query_terms(visitor);
    }
}

struct ForwardOnlyWeight(Box<dyn Weight>);

impl Weight for ForwardOnlyWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(ForwardOnlyScorer(self.0.scorer(reader, boost)?)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.0.explain(reader, doc)
    }
}

struct ForwardOnlyScorer(Box<dyn Scorer>);

impl DocSet for ForwardOnlyScorer {
    fn advance(&mut self) -> DocId {
        self.0.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.0.seek(target)
    }

    // `seek_danger` is deliberately left to the trait's default: it calls `seek` only when the current
    // document is below the target.

    fn doc(&self) -> DocId {
        self.0.doc()
    }

    fn size_hint(&self) -> u32 {
        self.0.size_hint()
    }

    fn cost(&self) -> u64 {
        self.0.cost()
    }
}

impl Scorer for ForwardOnlyScorer {
    fn score(&mut self) -> Score {
        self.0.score()
    }
}
