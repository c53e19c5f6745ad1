//! The order of hits and the collectors that gather them: [`Ranked`] (files before folders, then score,
//! then file id, then part), a bounded heap of the best, and tantivy collectors for the top hits and for
//! every match.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::{DocAddress, DocId, Score, Searcher, SegmentOrdinal, SegmentReader};

use crate::blend::{Blend, SegmentBlend};

/// One collected document, ordered so that a greater value is a better hit: a file before a folder
/// (tantivy's tweak-score pattern with a `(is_file, score)` key, so the split is exact whatever the
/// scores), then higher score, then lower file id, then lower part (the file's own document before its
/// parts; then lower address, so the order is total).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ranked {
    /// Whether this is a directory's document (the `folder` fast field).
    pub(crate) folder: bool,
    pub(crate) score: Score,
    pub(crate) file_id: u64,
    /// The document's place in its file (0: the file itself, then its parts in order).
    pub(crate) part: u64,
    pub(crate) address: DocAddress,
}

/// The names of the fast fields that order hits besides the score: whether a document is a folder's,
/// the file id, then the part's place.
#[derive(Debug, Clone)]
pub(crate) struct TieFields {
    pub(crate) folder: String,
    pub(crate) file_id: String,
    pub(crate) part: String,
}

/// The columns of [`TieFields`] in one segment, and the segment's blend of the text score.
pub(crate) struct TieColumns {
    folders: Column<u64>,
    ids: Column<u64>,
    parts: Column<u64>,
    blend: Option<SegmentBlend>,
}

impl TieColumns {
    pub(crate) fn of(
        fields: &TieFields,
        blend: Option<&Arc<Blend>>,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self> {
        Ok(Self {
            folders: reader.fast_fields().u64(&fields.folder)?,
            ids: reader.fast_fields().u64(&fields.file_id)?,
            parts: reader.fast_fields().u64(&fields.part)?,
            blend: blend.map(|b| b.segment(segment, reader)).transpose()?,
        })
    }

    fn ranked(&self, segment: SegmentOrdinal, doc: DocId, score: Score) -> Ranked {
        self.ranked_blended(segment, doc, self.blended(doc, score))
    }

    /// The score of `doc` whose text score is `score`: blended, when the search blends.
    fn blended(&self, doc: DocId, score: Score) -> Score {
        match &self.blend {
            Some(blend) => blend.score(doc, score),
            None => score,
        }
    }

    /// `doc` with its (already blended) `score` and its tie-breaking keys.
    pub(crate) fn ranked_blended(
        &self,
        segment: SegmentOrdinal,
        doc: DocId,
        score: Score,
    ) -> Ranked {
        Ranked {
            folder: self.folders.first(doc).unwrap_or(0) != 0,
            score,
            file_id: self.ids.first(doc).unwrap_or(u64::MAX),
            part: self.parts.first(doc).unwrap_or(0),
            address: DocAddress::new(segment, doc),
        }
    }

    /// See [`SegmentBlend::unnamed_factor`]; 1 when the search does not blend.
    pub(crate) fn unnamed_factor(&self) -> f64 {
        self.blend
            .as_ref()
            .map_or(1.0, SegmentBlend::unnamed_factor)
    }

    /// Whether a document whose text score is `score` is sure to score below `worst` once blended
    /// (strictly: an equal score would be ordered by file id), judged without reading anything of the
    /// document (see [`crate::blend::Blend::upper_bound`]).
    fn surely_below(&self, score: Score, worst: Score) -> bool {
        match &self.blend {
            None => score < worst,
            Some(blend) => blend.upper_bound(score).is_some_and(|bound| bound < worst),
        }
    }
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .folder
            .cmp(&self.folder)
            .then_with(|| self.score.total_cmp(&other.score))
            .then_with(|| other.file_id.cmp(&self.file_id))
            .then_with(|| other.part.cmp(&self.part))
            .then_with(|| other.address.cmp(&self.address))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ranked {}

/// Blends the scores of `docs` (of `searcher`'s segments) in place with `blend`.
pub(crate) fn blend_all(
    blend: &Arc<Blend>,
    searcher: &Searcher,
    docs: &mut [Ranked],
) -> tantivy::Result<()> {
    let segments: Vec<SegmentBlend> = searcher
        .segment_readers()
        .iter()
        .enumerate()
        .map(|(ord, reader)| blend.segment(ord as SegmentOrdinal, reader))
        .collect::<tantivy::Result<_>>()?;
    for doc in docs {
        let segment = &segments[doc.address.segment_ord as usize];
        doc.score = segment.score(doc.address.doc_id, doc.score);
    }
    Ok(())
}

/// The best `limit` documents of a bounded heap, best first.
#[derive(Default)]
pub(crate) struct Best {
    pub(crate) limit: usize,
    /// A min-heap: the worst kept document is on top.
    pub(crate) heap: BinaryHeap<Reverse<Ranked>>,
}

impl Best {
    pub(crate) fn push(&mut self, doc: Ranked) {
        if self.heap.len() < self.limit {
            self.heap.push(Reverse(doc));
        } else if let Some(mut worst) = self.heap.peek_mut()
            && doc > worst.0
        {
            *worst = Reverse(doc);
        }
    }

    /// The score of the worst document kept, once `limit` are kept (before, any document is kept) and
    /// when it is a file's: any file ranks above a folder whatever the scores, so a worst folder bounds
    /// nothing.
    pub(crate) fn worst_score(&self) -> Option<Score> {
        if self.heap.len() < self.limit {
            return None;
        }
        self.heap
            .peek()
            .filter(|worst| !worst.0.folder)
            .map(|worst| worst.0.score)
    }

    pub(crate) fn into_sorted(self) -> Vec<Ranked> {
        // Ascending order of Reverse is descending order of Ranked: best first.
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|r| r.0)
            .collect()
    }
}

/// Offers `doc` of `segment` (with its columns), whose text score is `score`, to `best`. Once `best`
/// is full, a document that scores below the worst one kept is dropped before its name, age and ids
/// are read: first by the bound on its blend (most documents of a broad query stop there), then by
/// its blended score. Both are strict comparisons, so the kept set is exactly what pushing every
/// document would keep.
pub(crate) fn offer(
    best: &mut Best,
    columns: &TieColumns,
    segment: SegmentOrdinal,
    doc: DocId,
    score: Score,
) {
    if best.limit == 0 {
        return;
    }
    let worst = best.worst_score();
    if let Some(worst) = worst
        && columns.surely_below(score, worst)
    {
        return;
    }
    let blended = columns.blended(doc, score);
    if let Some(worst) = worst
        && blended < worst
    {
        return;
    }
    best.push(columns.ranked_blended(segment, doc, blended));
}

/// Collects every matching document with its file id; with its score when `scored` (blended with
/// `blend`), else score 0.
pub(crate) struct AllMatches {
    pub(crate) ties: TieFields,
    pub(crate) scored: bool,
    pub(crate) blend: Option<Arc<Blend>>,
}

pub(crate) struct SegmentMatches {
    segment: SegmentOrdinal,
    columns: TieColumns,
    docs: Vec<Ranked>,
}

impl Collector for AllMatches {
    type Fruit = Vec<Ranked>;
    type Child = SegmentMatches;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentMatches> {
        Ok(SegmentMatches {
            segment,
            columns: TieColumns::of(
                &self.ties,
                self.blend.as_ref().filter(|_| self.scored),
                segment,
                reader,
            )?,
            docs: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        self.scored
    }

    fn merge_fruits(&self, fruits: Vec<Vec<Ranked>>) -> tantivy::Result<Vec<Ranked>> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

impl SegmentCollector for SegmentMatches {
    type Fruit = Vec<Ranked>;

    fn collect(&mut self, doc: DocId, score: Score) {
        self.docs
            .push(self.columns.ranked(self.segment, doc, score));
    }

    fn harvest(self) -> Vec<Ranked> {
        self.docs
    }
}

/// Collects the top documents by score with a stable tie-break on the file id and part fast fields (tantivy's
/// `TopDocs` breaks ties by document address, which changes as segments merge); scores are blended with
/// `blend` before they are compared.
pub(crate) struct TopByScoreThenId {
    pub(crate) limit: usize,
    pub(crate) ties: TieFields,
    pub(crate) blend: Option<Arc<Blend>>,
}

pub(crate) struct SegmentTop {
    segment: SegmentOrdinal,
    columns: TieColumns,
    best: Best,
}

impl Collector for TopByScoreThenId {
    type Fruit = Vec<Ranked>;
    type Child = SegmentTop;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentTop> {
        Ok(SegmentTop {
            segment,
            columns: TieColumns::of(&self.ties, self.blend.as_ref(), segment, reader)?,
            best: Best {
                limit: self.limit,
                heap: BinaryHeap::new(),
            },
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<Vec<Ranked>>) -> tantivy::Result<Vec<Ranked>> {
        let mut best = Best {
            limit: self.limit,
            heap: BinaryHeap::new(),
        };
        for doc in fruits.into_iter().flatten() {
            best.push(doc);
        }
        Ok(best.into_sorted())
    }
}

impl SegmentCollector for SegmentTop {
    type Fruit = Vec<Ranked>;

    /// Keeps `doc` when it is among the best so far (see [`offer`]).
    fn collect(&mut self, doc: DocId, score: Score) {
        offer(&mut self.best, &self.columns, self.segment, doc, score);
    }

    fn harvest(self) -> Vec<Ranked> {
        self.best.into_sorted()
    }
}

#[cfg(test)]
mod tests;
