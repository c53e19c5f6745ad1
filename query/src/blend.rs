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
    /// Per segment: the documents whose name holds some of the query's words, in ascending order,
    /// each with how many (absent: none).
    name_words: Vec<Vec<(DocId, u16)>>,
    /// How many words the query has (0: no name boost).
    words: u16,
    /// A factor no document's blend exceeds (see [`Self::upper_bound`]).
    max_factor: f64,
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
        // Per segment, each document once per word whose group its name matches.
        let mut seen_per_word: Vec<Vec<DocId>> = vec![Vec::new(); segments.len()];
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
                    seen_per_word[segment].extend(seen);
                }
            }
        }
        let counts = seen_per_word
            .into_iter()
            .map(|mut docs| {
                docs.sort_unstable();
                let mut counted: Vec<(DocId, u16)> = Vec::new();
                for doc in docs {
                    match counted.last_mut() {
                        Some((last, n)) if *last == doc => *n = n.saturating_add(1),
                        _ => counted.push((doc, 1)),
                    }
                }
                counted
            })
            .collect();
        Ok(Some(Arc::new(Self {
            weights,
            now_ns: now_ns.div_euclid(NS_PER_HOUR) * NS_PER_HOUR,
            half_life_ns: weights.recency_half_life.as_nanos().max(1) as f64,
            mtime: mtime.to_owned(),
            name_words: counts,
            words,
            max_factor: max_factor(&weights, words),
        })))
    }

    /// A score that the blend of a document whose text score is `score` never exceeds, whatever its
    /// name and age; `None` when there is no such bound to rely on (a negative or non-finite score).
    ///
    /// The factor [`Self::blended`] multiplies by is at most `1 + name + recency` (the share of words in
    /// the name and the recency decay are at most 1); `max_factor` adds a relative margin far above the
    /// few roundings of that sum, and both the product and its rounding to `f32` are monotonic, so
    /// `blended(score) <= upper_bound(score)` holds for the computed floats, not only for real numbers.
    pub(crate) fn upper_bound(&self, score: Score) -> Option<Score> {
        if !(score >= 0.0 && score.is_finite() && self.max_factor.is_finite()) {
            return None;
        }
        Some((f64::from(score) * self.max_factor) as Score)
    }

    /// The documents of `segment` whose name holds some of the query's words, ascending, each with how
    /// many: the only ones whose blend has a name boost.
    pub(crate) fn named_docs(&self, segment: SegmentOrdinal) -> &[(DocId, u16)] {
        self.name_words
            .get(segment as usize)
            .map_or(&[], Vec::as_slice)
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

/// The greatest factor of a blend with `weights` over a query of `words` words (see
/// [`Blend::upper_bound`]).
fn max_factor(weights: &RankWeights, words: u16) -> f64 {
    let name = if words > 0 {
        f64::from(weights.name).max(0.0)
    } else {
        0.0
    };
    let recency = f64::from(weights.recency).max(0.0);
    (1.0 + name + recency) * (1.0 + 1e-6)
}

/// [`Blend`] for the documents of one segment.
pub(crate) struct SegmentBlend {
    blend: Arc<Blend>,
    segment: usize,
    mtimes: Column<i64>,
}

impl SegmentBlend {
    /// See [`Blend::upper_bound`].
    pub(crate) fn upper_bound(&self, score: Score) -> Option<Score> {
        self.blend.upper_bound(score)
    }

    /// A factor that the blend of no document of this segment outside [`Blend::named_docs`] exceeds:
    /// `1 + recency` for the segment's newest modification time (the column's greatest value; the
    /// decay falls with age), with the margin of [`max_factor`] over rounding.
    pub(crate) fn unnamed_factor(&self) -> f64 {
        let recency = f64::from(self.blend.weights.recency).max(0.0);
        let boost = if recency > 0.0 {
            let age = self
                .blend
                .now_ns
                .saturating_sub(self.mtimes.max_value())
                .max(0) as f64;
            recency * (-age / self.blend.half_life_ns).exp2()
        } else {
            0.0
        };
        (1.0 + boost) * (1.0 + 1e-6)
    }

    /// The blended score of `doc` whose text score is `score`.
    pub(crate) fn score(&self, doc: DocId, score: Score) -> Score {
        let names = &self.blend.name_words[self.segment];
        let in_name = names
            .binary_search_by_key(&doc, |&(d, _)| d)
            .map_or(0, |i| names[i].1);
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
            max_factor: max_factor(&weights, words),
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
    fn no_blend_exceeds_the_upper_bound() {
        let w = RankWeights {
            name: 3.0,
            recency: 0.7,
            recency_half_life: Duration::from_secs(36_000),
        };
        let b = blend(w, 3);
        for score in [0.0f32, 1e-30, 0.1, 1.0, 2.5, 7.3e4, 3.0e38] {
            let bound = b.upper_bound(score).unwrap();
            for in_name in 0..=3 {
                for mtime in [None, Some(100 * NS_PER_HOUR), Some(0), Some(i64::MAX)] {
                    assert!(
                        b.blended(score, in_name, mtime) <= bound,
                        "{score} {in_name}"
                    );
                }
            }
        }
        assert_eq!(b.upper_bound(-1.0), None);
        assert_eq!(b.upper_bound(f32::NAN), None);
        assert_eq!(b.upper_bound(f32::INFINITY), None);
    }

    #[test]
    fn zero_weights_are_text_only() {
        assert!(RankWeights::TEXT_ONLY.is_text_only());
        assert!(!RankWeights::default().is_text_only());
    }
}
