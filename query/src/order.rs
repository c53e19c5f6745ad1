//! Orders a search's matches by the request's [`SortBy`] and cuts the page `offset..offset + limit` out
//! of that order. Equal keys are broken by ascending file id, then part (then address), whatever the direction, so
//! the same request on the same index pages the same way. [`FirstByNumber`] gathers the first matches
//! by modification time or size without keeping every match.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use fandex_schema::Fields;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::{DocId, Score, Searcher, SegmentOrdinal, SegmentReader};

use crate::error::QueryError;
use crate::rank::{Ranked, TieColumns, TieFields};
use crate::request::SortBy;

/// What one document is ordered by.
enum Key {
    /// Relevance: a file before a folder (`true` is a file), then the score.
    Score(bool, f32),
    Number(i128),
    Name(Vec<u8>),
}

impl Key {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Key::Score(file_a, a), Key::Score(file_b, b)) => {
                file_a.cmp(file_b).then_with(|| a.total_cmp(b))
            }
            (Key::Number(a), Key::Number(b)) => a.cmp(b),
            (Key::Name(a), Key::Name(b)) => a.cmp(b),
            // One sort gives every document the same kind of key.
            _ => Ordering::Equal,
        }
    }
}

/// Sorts `docs` (every match, with its score) by `sort` (descending relevance: files before folders,
/// then score; descending mtime and size, ascending name, which mix files and folders by the key;
/// `reverse` turns that around) and returns the `limit` of them after the first `offset`.
/// Names come from the `name_key` fast field, never from stored documents.
pub(crate) fn page(
    searcher: &Searcher,
    fields: &Fields,
    docs: Vec<Ranked>,
    (sort, reverse): (SortBy, bool),
    (offset, limit): (usize, usize),
) -> Result<Vec<Ranked>, QueryError> {
    let end = offset.saturating_add(limit).min(docs.len());
    if offset >= end {
        return Ok(Vec::new());
    }
    let mut keyed = Vec::with_capacity(docs.len());
    match sort {
        SortBy::Relevance => {
            keyed.extend(
                docs.into_iter()
                    .map(|d| (Key::Score(!d.folder, d.score), d)),
            );
        }
        SortBy::Name => {
            let name = searcher.schema().get_field_name(fields.name_key);
            let mut columns = Vec::new();
            for reader in searcher.segment_readers() {
                columns.push(reader.fast_fields().bytes(name)?);
            }
            for doc in docs {
                let mut key = Vec::new();
                if let Some(column) = &columns[doc.address.segment_ord as usize]
                    && let Some(ord) = column.term_ords(doc.address.doc_id).next()
                {
                    column
                        .ord_to_bytes(ord, &mut key)
                        .map_err(tantivy::TantivyError::from)?;
                }
                keyed.push((Key::Name(key), doc));
            }
        }
        SortBy::Modified | SortBy::Size => {
            let name = searcher.schema().get_field_name(if sort == SortBy::Size {
                fields.size
            } else {
                fields.mtime
            });
            let mut columns = Vec::new();
            for reader in searcher.segment_readers() {
                let column = if sort == SortBy::Size {
                    let c = reader.fast_fields().u64(name)?;
                    Box::new(move |d| c.first(d).map(i128::from))
                        as Box<dyn Fn(u32) -> Option<i128>>
                } else {
                    let c = reader.fast_fields().i64(name)?;
                    Box::new(move |d| c.first(d).map(i128::from))
                        as Box<dyn Fn(u32) -> Option<i128>>
                };
                columns.push(column);
            }
            for doc in docs {
                let column = &columns[doc.address.segment_ord as usize];
                let value = column(doc.address.doc_id).unwrap_or(i128::MIN);
                keyed.push((Key::Number(value), doc));
            }
        }
    }
    let ascending = (sort == SortBy::Name) != reverse;
    let order = |a: &(Key, Ranked), b: &(Key, Ranked)| {
        let by_key = if ascending {
            a.0.cmp(&b.0)
        } else {
            b.0.cmp(&a.0)
        };
        by_key
            .then_with(|| a.1.file_id.cmp(&b.1.file_id))
            .then_with(|| a.1.part.cmp(&b.1.part))
            .then_with(|| a.1.address.cmp(&b.1.address))
    };
    if end < keyed.len() {
        keyed.select_nth_unstable_by(end - 1, order);
        keyed.truncate(end);
    }
    keyed.sort_unstable_by(order);
    Ok(keyed.drain(offset..).map(|(_, doc)| doc).collect())
}

/// Collects, per segment, the first `limit` matches in the order [`page`] gives a sort by modification
/// time or size (`sort`, `reverse`), and counts every match: a match that comes after the last one
/// kept is dropped after reading its key alone, so nothing is kept or read per match beyond that. The
/// first `limit` of all matches are among the ones kept (each segment's first are kept); [`page`] then
/// orders them and cuts the page as it would from every match.
pub(crate) struct FirstByNumber {
    pub(crate) limit: usize,
    pub(crate) ties: TieFields,
    /// The name of the sort's fast field (`size`: u64, `mtime`: i64).
    pub(crate) key: String,
    pub(crate) size: bool,
    /// Whether greater keys come first (the default for time and size).
    pub(crate) descending: bool,
}

impl FirstByNumber {
    /// For a request ordered by `sort` (modification time or size; `None` for another order).
    pub(crate) fn new(
        searcher: &Searcher,
        fields: &Fields,
        ties: TieFields,
        (sort, reverse): (SortBy, bool),
        limit: usize,
    ) -> Option<Self> {
        let field = match sort {
            SortBy::Modified => fields.mtime,
            SortBy::Size => fields.size,
            SortBy::Relevance | SortBy::Name => return None,
        };
        Some(Self {
            limit,
            ties,
            key: searcher.schema().get_field_name(field).to_owned(),
            size: sort == SortBy::Size,
            descending: !reverse,
        })
    }
}

/// A kept match: its key and the match, ordered as [`page`] orders them (`Less`: earlier).
struct Keyed {
    key: i128,
    descending: bool,
    doc: Ranked,
}

impl Ord for Keyed {
    fn cmp(&self, other: &Self) -> Ordering {
        let by_key = if self.descending {
            other.key.cmp(&self.key)
        } else {
            self.key.cmp(&other.key)
        };
        by_key
            .then_with(|| self.doc.file_id.cmp(&other.doc.file_id))
            .then_with(|| self.doc.part.cmp(&other.doc.part))
            .then_with(|| self.doc.address.cmp(&other.doc.address))
    }
}

impl PartialOrd for Keyed {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Keyed {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Keyed {}

/// [`FirstByNumber`] in one segment.
pub(crate) struct SegmentFirst {
    segment: SegmentOrdinal,
    keys: NumberColumn,
    ties: TieColumns,
    limit: usize,
    descending: bool,
    /// A max-heap: the last match kept is on top.
    kept: BinaryHeap<Keyed>,
    count: usize,
}

enum NumberColumn {
    Size(Column<u64>),
    Time(Column<i64>),
}

impl NumberColumn {
    /// The key of `doc`, as [`page`] reads it (none: the least).
    fn key(&self, doc: DocId) -> i128 {
        match self {
            NumberColumn::Size(c) => c.first(doc).map(i128::from),
            NumberColumn::Time(c) => c.first(doc).map(i128::from),
        }
        .unwrap_or(i128::MIN)
    }
}

impl Collector for FirstByNumber {
    type Fruit = (Vec<Ranked>, usize);
    type Child = SegmentFirst;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentFirst> {
        let keys = if self.size {
            NumberColumn::Size(reader.fast_fields().u64(&self.key)?)
        } else {
            NumberColumn::Time(reader.fast_fields().i64(&self.key)?)
        };
        Ok(SegmentFirst {
            segment,
            keys,
            ties: TieColumns::of(&self.ties, None, segment, reader)?,
            limit: self.limit,
            descending: self.descending,
            kept: BinaryHeap::new(),
            count: 0,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<(Vec<Ranked>, usize)>) -> tantivy::Result<Self::Fruit> {
        let mut all = Vec::new();
        let mut count = 0;
        for (docs, n) in fruits {
            all.extend(docs);
            count += n;
        }
        Ok((all, count))
    }
}

impl SegmentCollector for SegmentFirst {
    type Fruit = (Vec<Ranked>, usize);

    fn collect(&mut self, doc: DocId, _: Score) {
        self.count += 1;
        if self.limit == 0 {
            return;
        }
        let key = self.keys.key(doc);
        let full = self.kept.len() >= self.limit;
        if full && let Some(last) = self.kept.peek() {
            let later = if self.descending {
                key < last.key
            } else {
                key > last.key
            };
            if later {
                return;
            }
        }
        let keyed = Keyed {
            key,
            descending: self.descending,
            doc: self.ties.ranked_blended(self.segment, doc, 0.0),
        };
        if !full {
            self.kept.push(keyed);
        } else if let Some(mut last) = self.kept.peek_mut()
            && keyed < *last
        {
            *last = keyed;
        }
    }

    fn harvest(self) -> Self::Fruit {
        (self.kept.into_iter().map(|k| k.doc).collect(), self.count)
    }
}
