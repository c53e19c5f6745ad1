//! Orders a search's matches by the request's [`SortBy`] and cuts the page `offset..offset + limit` out
//! of that order. Equal keys are broken by ascending file id, then part (then address), whatever the direction, so
//! the same request on the same index pages the same way.

use std::cmp::Ordering;

use fandex_schema::Fields;
use tantivy::Searcher;

use crate::error::QueryError;
use crate::rank::Ranked;
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
