//! The top hits of a query of words without scoring every match: tantivy's block-max WAND skips the
//! blocks of postings whose best possible score cannot reach the worst hit kept, and only the
//! documents it hands over are scored, exactly, and offered to the top-k heap.
//!
//! The result is the one scoring every match gives (ids, order, score bits), for these reasons:
//! - Every document handed over gets the score the plain search computes: its terms' scores (each a
//!   term scorer moved to it with `seek`) added up in tantivy's order and grouping (see
//!   [`TermSum`]); it must match the whole query (the excluded parts, deleted documents).
//! - A document is skipped only when its text score is sure to be below
//!   `worst kept / (largest blend factor x slack)`, so its blend is below the worst kept hit:
//!   strictly, as the heap's own comparisons are. The blend factor outside the documents whose name
//!   holds a query word is `1 + recency` at the segment's newest modification time; those named
//!   documents (a short list the blend already holds) are scored before the pass, one by one.
//! - tantivy's bounds are not quite bounds for our statistics, and the slack covers that (see
//!   [`Slack`]): a block's best `(field length, term frequency)` pair was chosen with the segment's
//!   own average field length, not the one the query's scores use, and a term's bound over the whole
//!   list assumes the longest field the length table holds.
//!
//! Totals are counted apart (matching without scores), so they stay exact.

use std::collections::BinaryHeap;
use std::path::PathBuf;
use std::sync::Arc;

use fandex_schema::Fields;
use tantivy::fieldnorm::FieldNormReader;
use tantivy::query::{
    AllQuery, Bm25StatisticsProvider, BooleanQuery, EnableScoring, Occur, Query, Scorer, TermQuery,
    Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, Score, Searcher, SegmentOrdinal, SegmentReader, Term};

use crate::blend::Blend;
use crate::compile::{Env, TermSum, subtree_exclusions, word_query};
use crate::error::QueryError;
use crate::folders::folder_exclusion;
use crate::parse::ast::Expr;
use crate::rank::{Best, Ranked, TieColumns, TieFields, offer};

/// A query of words (see [`crate::compile::WordQuery`]) with everything its matches must not be.
pub(crate) struct Words {
    terms: Vec<Term>,
    sum: TermSum,
    /// The query's negated parts, the folders (unless the query names them), the chunk documents and
    /// the hidden subtrees: what the full query excludes.
    excluded: Vec<Box<dyn Query>>,
}

impl Words {
    /// `expr` (with the hidden directories `hidden`) as a query of words; `None` when it is not one.
    pub(crate) fn of(
        expr: &Expr,
        fields: &Fields,
        env: &Env<'_>,
        hidden: &[PathBuf],
    ) -> Result<Option<Self>, QueryError> {
        let Some(words) = word_query(expr, fields, env)? else {
            return Ok(None);
        };
        let mut excluded = words.excluded;
        excluded.extend(folder_exclusion(expr, fields));
        excluded.extend(subtree_exclusions(fields, hidden));
        Ok(Some(Self {
            terms: words.terms,
            sum: words.sum,
            excluded,
        }))
    }

    /// The best `limit` matches, best first, ordered and blended as [`crate::rank::TopByScoreThenId`]
    /// orders them, with the scores `stats` gives; and how many matches there are, when every one was
    /// seen (nothing was pruned).
    pub(crate) fn top(
        self,
        searcher: &Searcher,
        stats: &dyn Bm25StatisticsProvider,
        limit: usize,
        ties: &TieFields,
        blend: Option<&Arc<Blend>>,
    ) -> tantivy::Result<(Vec<Ranked>, Option<usize>)> {
        let mut best = Best {
            limit,
            heap: BinaryHeap::new(),
        };
        if limit == 0 || self.terms.is_empty() {
            return Ok((Vec::new(), None));
        }
        let scoring = EnableScoring::enabled_from_statistics_provider(stats, searcher);
        let queries: Vec<TermQuery> = self
            .terms
            .iter()
            .map(|t| TermQuery::new(t.clone(), IndexRecordOption::WithFreqs))
            .collect();
        let terms: Vec<Box<dyn Weight>> = queries
            .iter()
            .map(|q| q.weight(scoring))
            .collect::<tantivy::Result<_>>()?;
        let union = BooleanQuery::new(
            queries
                .into_iter()
                .map(|q| (Occur::Should, Box::new(q) as Box<dyn Query>))
                .collect(),
        )
        .weight(scoring)?;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, Box::new(AllQuery))];
        clauses.extend(self.excluded.into_iter().map(|q| (Occur::MustNot, q)));
        let kept =
            BooleanQuery::new(clauses).weight(EnableScoring::disabled_from_searcher(searcher))?;
        let slack = Slack::new(stats, &self.terms)?;
        // Every match is handed over while nothing bounds the scores (fewer matches than `limit`):
        // then they are counted here and not again.
        let mut counted = 0usize;
        let mut pruned = false;
        for (ord, reader) in searcher.segment_readers().iter().enumerate() {
            let ord = ord as SegmentOrdinal;
            let columns = TieColumns::of(ties, blend, ord, reader)?;
            let alive = reader.alive_bitset();
            let deleted = |doc: DocId| alive.is_some_and(|a| a.is_deleted(doc));
            let named = blend.map_or(&[][..], |b| b.named_docs(ord));
            if !named.is_empty() {
                let mut matches = Scoring::new(&terms, &*kept, reader, &self.sum)?;
                for &(doc, _) in named {
                    if !deleted(doc)
                        && let Some(score) = matches.score(doc)
                    {
                        counted += 1;
                        offer(&mut best, &columns, ord, doc, score);
                    }
                }
            }
            let factor = columns.unnamed_factor() * slack.of(reader)?;
            // Made at the first document handed over: most segments hold none of a rare word.
            let mut matches: Option<Scoring> = None;
            let mut failed = None;
            let mut next_named = 0;
            let mut threshold = text_threshold(best.worst_score(), factor);
            pruned |= threshold != Score::MIN;
            union.for_each_pruning(threshold, reader, &mut |doc, _| {
                while named.get(next_named).is_some_and(|&(d, _)| d < doc) {
                    next_named += 1;
                }
                let is_named = named.get(next_named).is_some_and(|&(d, _)| d == doc);
                if is_named || deleted(doc) {
                    return threshold;
                }
                let matches = match &mut matches {
                    Some(matches) => matches,
                    None => match Scoring::new(&terms, &*kept, reader, &self.sum) {
                        Ok(made) => matches.insert(made),
                        Err(error) => {
                            failed = Some(error);
                            return Score::MAX; // Stops the pass; the error is returned below.
                        }
                    },
                };
                if let Some(score) = matches.score(doc) {
                    counted += 1;
                    offer(&mut best, &columns, ord, doc, score);
                }
                threshold = text_threshold(best.worst_score(), factor);
                pruned |= threshold != Score::MIN;
                threshold
            })?;
            if let Some(error) = failed {
                return Err(error);
            }
        }
        Ok((best.into_sorted(), (!pruned).then_some(counted)))
    }
}

/// The text score below which (or at which) a document is sure to blend below `worst`, when every
/// blend factor is at most `factor` (slack included); the least score when nothing is kept yet.
fn text_threshold(worst: Option<Score>, factor: f64) -> Score {
    match worst {
        Some(worst) if worst > 0.0 && worst.is_finite() && factor.is_finite() && factor >= 1.0 => {
            (f64::from(worst) / factor) as Score
        }
        _ => Score::MIN,
    }
}

/// The exact scores of one segment's documents, asked in ascending order.
struct Scoring<'a> {
    terms: Vec<Box<dyn Scorer>>,
    /// The documents that are not excluded.
    kept: Box<dyn Scorer>,
    sum: &'a TermSum,
    found: Vec<Option<Score>>,
}

impl<'a> Scoring<'a> {
    fn new(
        terms: &[Box<dyn Weight>],
        kept: &dyn Weight,
        reader: &SegmentReader,
        sum: &'a TermSum,
    ) -> tantivy::Result<Self> {
        Ok(Self {
            terms: terms
                .iter()
                .map(|w| w.scorer(reader, 1.0))
                .collect::<tantivy::Result<_>>()?,
            kept: kept.scorer(reader, 1.0)?,
            sum,
            found: vec![None; terms.len()],
        })
    }

    /// The score of `doc` (not below any document asked before) as the full query scores it; `None`
    /// when it does not match.
    fn score(&mut self, doc: DocId) -> Option<Score> {
        if self.kept.doc() < doc {
            self.kept.seek(doc);
        }
        if self.kept.doc() != doc {
            return None;
        }
        for (term, found) in self.terms.iter_mut().zip(&mut self.found) {
            if term.doc() < doc {
                term.seek(doc);
            }
            *found = (term.doc() == doc).then(|| term.score());
        }
        add_up(self.sum, &self.found)
    }
}

/// The score `sum` adds up from the terms' scores `found` (`None`: not on the document), in its order:
/// each sum starts from 0 and adds the parts that match; `None` when none does.
fn add_up(sum: &TermSum, found: &[Option<Score>]) -> Option<Score> {
    match sum {
        TermSum::Term(i) => found.get(*i).copied().flatten(),
        TermSum::Sum(parts) => {
            let mut total: Option<Score> = None;
            for part in parts {
                if let Some(score) = add_up(part, found) {
                    total = Some(total.unwrap_or(0.0) + score);
                }
            }
            total
        }
    }
}

/// How far a term's score may exceed the bound tantivy's block-max WAND uses for it, per field of
/// the query's terms: tantivy bounds a block by the score of the `(field length, term frequency)`
/// pair that was best under the segment's average field length (`A_s`) when the segment was written;
/// under the average the query's scores use (`A_q`) another pair of the block may score up to
/// `max(A_s / A_q, A_q / A_s)` times as much (BM25's length normalization `1 - b + b * len / A` of
/// any length changes by a ratio between 1 and `A_s / A_q`). A term's bound over its whole list is
/// its score at the length table's longest length with that frequency, which a document whose
/// length was rounded down into a bucket can exceed by a little (see [`whole_list_slack`]).
struct Slack {
    /// Per field: the query's average length, and the slack of its whole-list bound.
    fields: Vec<(Field, f64, f64)>,
}

/// A relative margin over every rounding of the sums and products compared.
const MARGIN: f64 = 1e-3;

impl Slack {
    fn new(stats: &dyn Bm25StatisticsProvider, terms: &[Term]) -> tantivy::Result<Self> {
        let mut fields: Vec<(Field, f64, f64)> = Vec::new();
        let documents = stats.total_num_docs()?;
        for term in terms {
            let field = term.field();
            if fields.iter().any(|(f, _, _)| *f == field) {
                continue;
            }
            // As tantivy's `Bm25Weight::for_terms` computes it.
            let average = f64::from(stats.total_num_tokens(field)? as Score / documents as Score);
            fields.push((field, average, whole_list_slack(average)));
        }
        Ok(Self { fields })
    }

    /// The slack in `reader`'s segment, margin included (infinite when there is no bound).
    fn of(&self, reader: &SegmentReader) -> tantivy::Result<f64> {
        let mut slack = 1.0f64;
        let docs = reader.max_doc();
        for &(field, query_average, whole_list) in &self.fields {
            let tokens = reader.inverted_index(field)?.total_num_tokens();
            if tokens == 0 || docs == 0 {
                continue; // No postings of this field here.
            }
            // As tantivy's postings serializer computed it for the block bounds.
            let segment_average = f64::from(tokens as Score / docs as Score);
            let ratio = if query_average > 0.0 && segment_average > 0.0 {
                (segment_average / query_average).max(query_average / segment_average)
            } else {
                f64::INFINITY
            };
            slack = slack.max(ratio).max(whole_list);
        }
        Ok(slack * (1.0 + MARGIN))
    }
}

/// BM25's `k1` and `b`, as tantivy scores.
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// How far a score may exceed tantivy's whole-list bound for a term (`Bm25Weight::max_score`: the
/// frequency and length 2,013,265,944, the length table's last entry) when the field's average length
/// is `average`. A document's length is stored rounded down to an entry of the table and its term
/// frequency is at most its true length, so in the bucket of entry `l` (up to the next entry's length
/// minus 1, `u`) the term factor is at most `u / (u + k1 * (1 - b + b * l / average))`. Fields are
/// assumed shorter than the last entry (2^31 tokens; fandex keeps megabytes of text per document).
fn whole_list_slack(average: f64) -> f64 {
    if !(average > 0.0 && average.is_finite()) {
        return f64::INFINITY;
    }
    let norm = |length: f64| K1 * (1.0 - B + B * length / average);
    let last = f64::from(FieldNormReader::id_to_fieldnorm(u8::MAX));
    let bound = last / (last + norm(last));
    let mut slack = 1.0f64;
    for id in 0..u8::MAX {
        let length = f64::from(FieldNormReader::id_to_fieldnorm(id));
        let most = f64::from(FieldNormReader::id_to_fieldnorm(id + 1)) - 1.0;
        slack = slack.max(most / (most + norm(length)) / bound);
    }
    slack
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BM25's term factor of frequency `tf` at length `len` under the average `a`.
    fn factor(tf: f64, len: f64, a: f64) -> f64 {
        tf / (tf + K1 * (1.0 - B + B * len / a))
    }

    #[test]
    fn a_block_bound_chosen_under_another_average_is_off_by_at_most_their_ratio() {
        // Pairs of (frequency, length), and averages far apart both ways.
        let mut seed = 7u64;
        let mut next = |n: u64| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            (seed >> 33) % n + 1
        };
        for _ in 0..2_000 {
            let pairs: Vec<(f64, f64)> = (0..1 + next(20))
                .map(|_| {
                    let len = next(5_000) as f64;
                    (next(len as u64) as f64, len)
                })
                .collect();
            let (segment, query) = (next(3_000) as f64 / 10.0, next(3_000) as f64 / 10.0);
            let chosen = pairs
                .iter()
                .max_by(|a, b| factor(a.0, a.1, segment).total_cmp(&factor(b.0, b.1, segment)))
                .unwrap();
            let bound = factor(chosen.0, chosen.1, query) * (segment / query).max(query / segment);
            for &(tf, len) in &pairs {
                assert!(factor(tf, len, query) <= bound * (1.0 + 1e-12));
            }
        }
    }

    #[test]
    fn the_whole_list_slack_covers_every_length_bucket() {
        for average in [0.3, 1.0, 2.5, 40.0, 1_000.0] {
            let slack = whole_list_slack(average);
            assert!((1.0..1.2).contains(&slack), "{average}: {slack}");
            let last = f64::from(FieldNormReader::id_to_fieldnorm(u8::MAX));
            let bound = factor(last, last, average);
            for id in 0..u8::MAX {
                let len = f64::from(FieldNormReader::id_to_fieldnorm(id));
                let most = f64::from(FieldNormReader::id_to_fieldnorm(id + 1)) - 1.0;
                // A frequency is at most the true length, which is at most `most`.
                for tf in [1.0, len, most]
                    .into_iter()
                    .filter(|&tf| tf >= 1.0 && tf <= most)
                {
                    assert!(factor(tf, len, average) <= bound * slack * (1.0 + 1e-12));
                }
            }
        }
        assert_eq!(whole_list_slack(0.0), f64::INFINITY);
    }

    #[test]
    fn sums_add_matching_parts_in_order_from_zero() {
        let sum = TermSum::Sum(vec![
            TermSum::Sum(vec![TermSum::Term(0), TermSum::Term(1)]),
            TermSum::Sum(vec![TermSum::Term(2)]),
        ]);
        assert_eq!(add_up(&sum, &[None, None, None]), None);
        assert_eq!(add_up(&sum, &[None, Some(2.0), None]), Some(2.0));
        assert_eq!(add_up(&sum, &[Some(1.0), Some(2.0), Some(4.0)]), Some(7.0));
        // a + (b + c), not (a + b) + c: in f32, 1e8 + 4 + 4 loses both fours, 1e8 + 8 keeps them.
        let grouped = TermSum::Sum(vec![
            TermSum::Term(0),
            TermSum::Sum(vec![TermSum::Term(1), TermSum::Term(2)]),
        ]);
        let flat = TermSum::Sum(vec![TermSum::Term(0), TermSum::Term(1), TermSum::Term(2)]);
        let found = [Some(1e8), Some(4.0), Some(4.0)];
        assert_ne!(add_up(&grouped, &found), add_up(&flat, &found));
    }

    #[test]
    fn nothing_kept_prunes_nothing() {
        assert_eq!(text_threshold(None, 2.0), Score::MIN);
        assert_eq!(text_threshold(Some(0.0), 2.0), Score::MIN);
        assert_eq!(text_threshold(Some(3.0), f64::INFINITY), Score::MIN);
        assert!(text_threshold(Some(3.0), 2.0) < 1.5 + 1e-6);
    }
}
