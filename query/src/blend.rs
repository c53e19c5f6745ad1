//! Relevance beyond the text: a hit's score blends its text score with whether the query's words are in
//! its name and how recently it was modified (the `[rank]` section of the configuration).
//!
//! This is tantivy's "tweak score" pattern: after the text score of a document is computed, it is
//! multiplied by
//!
//! ```text
//! 1 + name * (query words in the file name / query words) + recency * 2^(-age / recency_half_life)
//! ```
//!
//! where the name match is read from the `name` and `name_stem` fields' posting lists (the query's
//! words that are not under a negation, one pass per word over the names holding it) and the age from the
//! `mtime` fast field. With both weights 0 the score is the text score, bit for bit. A document that
//! scores 0 (matched by filters alone) stays at 0, so filter-only queries keep their order (file id).
//! The age is measured from the start of the current hour, so the scores of one index stay the same
//! for an hour and a page fetched a moment after another is cut from the same order.
//!
//! The blend is a function of the document alone (its name, its mtime, its text score), so it adds
//! nothing to what a caller learns about files they cannot read.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tantivy::columnar::Column;
use tantivy::query::{EnableScoring, Query};
use tantivy::{DocId, DocSet, Score, Searcher, SegmentOrdinal, SegmentReader, TERMINATED};

/// How much a file name match and recency weigh against the text score (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankWeights {
    /// The boost of a file whose name holds every word of the query (a fraction of the words: a
    /// fraction of it); 0 turns it off.
    pub name: f32,
    /// The boost of a file modified now, halving every `recency_half_life`; 0 turns it off.
    pub recency: f32,
    /// The age at which the recency boost is half of `recency`.
    pub recency_half_life: Duration,
}

impl RankWeights {
    /// Text score alone: no name and no recency boost.
    pub const TEXT_ONLY: Self = Self {
        name: 0.0,
        recency: 0.0,
        recency_half_life: DEFAULT_HALF_LIFE,
    };

    /// Whether neither boost applies (the blend then leaves every score as it is).
    pub fn is_text_only(&self) -> bool {
        self.name == 0.0 && self.recency == 0.0
    }
}

/// The default half-life of the recency boost: 30 days.
pub const DEFAULT_HALF_LIFE: Duration = Duration::from_secs(30 * 86_400);

impl Default for RankWeights {
    /// `name = 1.0` (a name holding every word doubles the score), `recency = 0.5` (a file modified
    /// this hour scores 1.5 times, one modified 30 days ago 1.25 times), half-life 30 days.
    fn default() -> Self {
        Self {
            name: 1.0,
            recency: 0.5,
            recency_half_life: DEFAULT_HALF_LIFE,
        }
    }
}

const NS_PER_HOUR: i64 = 3_600 * 1_000_000_000;

/// The blend of one search: the weights, the names matching each of the query's words, the clock.
pub(crate) struct Blend {
    weights: RankWeights,
    /// The start of the hour the search runs in, nanoseconds since the epoch.
    now_ns: i64,
    half_life_ns: f64,
    /// The `mtime` field's name.
    mtime: String,
    /// Per segment: how many of the query's words each document's name holds (absent: none).
    name_words: Vec<HashMap<DocId, u16>>,
    /// How many words the query has (0: no name boost).
    words: u16,
}

impl Blend {
    /// The blend of a search on `searcher` at `now_ns`, whose words' name queries are `name_words`
    /// (one group per word: a name matches the word when it matches any query of its group); `None`
    /// when `weights` leave scores as they are.
    pub(crate) fn new(
        searcher: &Searcher,
        mtime: &str,
        weights: RankWeights,
        name_words: &[Vec<Box<dyn Query>>],
        now_ns: i64,
    ) -> tantivy::Result<Option<Arc<Self>>> {
        if weights.is_text_only() {
            return Ok(None);
        }
        let segments = searcher.segment_readers();
        let mut counts: Vec<HashMap<DocId, u16>> = vec![HashMap::new(); segments.len()];
        let words = if weights.name == 0.0 {
            0
        } else {
            u16::try_from(name_words.len()).unwrap_or(u16::MAX)
        };
        if words > 0 {
            let scoring = EnableScoring::disabled_from_searcher(searcher);
            for group in name_words.iter().take(usize::from(words)) {
                let weights: Vec<_> = group
                    .iter()
                    .map(|q| q.weight(scoring))
                    .collect::<tantivy::Result<_>>()?;
                for (segment, reader) in segments.iter().enumerate() {
                    let mut seen: Vec<DocId> = Vec::new();
                    for weight in &weights {
                        let mut scorer = weight.scorer(reader, 1.0)?;
                        let mut doc = scorer.doc();
                        while doc != TERMINATED {
                            seen.push(doc);
                            doc = scorer.advance();
                        }
                    }
                    seen.sort_unstable();
                    seen.dedup();
                    for doc in seen {
                        *counts[segment].entry(doc).or_insert(0) += 1;
                    }
                }
            }
        }
        Ok(Some(Arc::new(Self {
            weights,
            now_ns: now_ns.div_euclid(NS_PER_HOUR) * NS_PER_HOUR,
            half_life_ns: weights.recency_half_life.as_nanos().max(1) as f64,
            mtime: mtime.to_owned(),
            name_words: counts,
            words,
        })))
    }

    /// The blend for one segment's documents.
    pub(crate) fn segment(
        self: &Arc<Self>,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentBlend> {
        Ok(SegmentBlend {
            blend: self.clone(),
            segment: segment as usize,
            mtimes: reader.fast_fields().i64(&self.mtime)?,
        })
    }

    /// `score` blended for a document whose name holds `in_name` of the words, modified at `mtime_ns`.
    fn blended(&self, score: Score, in_name: u16, mtime_ns: Option<i64>) -> Score {
        let mut factor = 1.0f64;
        if self.words > 0 && in_name > 0 {
            factor += f64::from(self.weights.name) * f64::from(in_name) / f64::from(self.words);
        }
        if self.weights.recency != 0.0
            && let Some(mtime) = mtime_ns
        {
            let age = self.now_ns.saturating_sub(mtime).max(0) as f64;
            factor += f64::from(self.weights.recency) * (-age / self.half_life_ns).exp2();
        }
        (f64::from(score) * factor) as Score
    }
}

/// [`Blend`] for the documents of one segment.
pub(crate) struct SegmentBlend {
    blend: Arc<Blend>,
    segment: usize,
    mtimes: Column<i64>,
}

impl SegmentBlend {
    /// The blended score of `doc` whose text score is `score`.
    pub(crate) fn score(&self, doc: DocId, score: Score) -> Score {
        let in_name = self.blend.name_words[self.segment]
            .get(&doc)
            .copied()
            .unwrap_or(0);
        self.blend.blended(score, in_name, self.mtimes.first(doc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blend(weights: RankWeights, words: u16) -> Blend {
        Blend {
            weights,
            now_ns: 100 * NS_PER_HOUR,
            half_life_ns: (10 * NS_PER_HOUR) as f64,
            mtime: "mtime".into(),
            name_words: Vec::new(),
            words,
        }
    }

    #[test]
    fn the_factor_follows_the_formula() {
        let w = RankWeights {
            name: 1.0,
            recency: 0.5,
            recency_half_life: Duration::from_secs(36_000),
        };
        let b = blend(w, 2);
        // Modified now, one word of two in the name: 1 + 0.5 + 0.5.
        assert_eq!(b.blended(2.0, 1, Some(100 * NS_PER_HOUR)), 4.0);
        // One half-life old, both words: 1 + 1 + 0.25.
        assert_eq!(b.blended(2.0, 2, Some(90 * NS_PER_HOUR)), 4.5);
        // In the future counts as now; no mtime counts as no recency.
        assert_eq!(b.blended(2.0, 0, Some(200 * NS_PER_HOUR)), 3.0);
        assert_eq!(b.blended(2.0, 0, None), 2.0);
        // Filters alone score 0 and stay there.
        assert_eq!(b.blended(0.0, 2, Some(100 * NS_PER_HOUR)), 0.0);
    }

    #[test]
    fn zero_weights_are_text_only() {
        assert!(RankWeights::TEXT_ONLY.is_text_only());
        assert!(!RankWeights::default().is_text_only());
    }
}
