//! Snippets of texts stored in chunks (`fandex_schema::chunks`): only the chunks around the places
//! where the index says a wanted term first occurs are read, so a hit in a file of megabytes costs what
//! a hit in a small one does, in a fresh process too.

use std::ops::Range;

use fandex_schema::chunks::{ChunkTable, chunk_key};
use tantivy::postings::Postings;
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DocAddress, DocSet, Score, Searcher, TERMINATED, TantivyDocument, Term};

use super::line::lead;
use super::{Fragment, SnippetMaker, postings_at, show};
use crate::error::QueryError;
use crate::request::Snippet;

/// Places located through the index (the first occurrence of the rarest wanted terms) whose chunks are
/// read, each with its neighbours: at most this many, so a hit reads at most `3 ×` as many chunks.
const MAX_LOCATED_PLACES: usize = 4;

/// The document a snippet is made for: where it is, whose it is, and its chunks.
pub(crate) struct ChunkedText<'a> {
    /// The file's or part's own document.
    pub address: DocAddress,
    pub file_id: u64,
    pub part_ord: u64,
    pub table: &'a ChunkTable,
}

impl SnippetMaker {
    /// The snippet of a document whose text is stored in chunks: the best fragment around the first
    /// occurrences of the rarest wanted terms (read from the index's positions), as
    /// [`SnippetMaker::make`] finds it in a whole text. When the index locates none (the document
    /// matched through a stem, or by name), the chunks are scanned in order until one shows a wanted
    /// word; the lead of the text when none does.
    pub(crate) fn make_chunked(
        &self,
        searcher: &Searcher,
        doc: &ChunkedText<'_>,
    ) -> Result<Snippet, QueryError> {
        let last = doc.table.len().saturating_sub(1);
        let around = |k: usize| k.saturating_sub(1)..(k + 2).min(last + 1);
        if !(self.terms.is_empty() && self.stems.is_empty()) {
            let mut runs: Vec<Range<usize>> = Vec::new();
            let mut chunks: Vec<usize> = self
                .first_positions(searcher, doc.address)?
                .into_iter()
                .map(|p| doc.table.chunk_of(p))
                .collect();
            chunks.sort_unstable();
            for k in chunks {
                let run = around(k);
                match runs.last_mut() {
                    Some(prev) if run.start <= prev.end => prev.end = prev.end.max(run.end),
                    _ => runs.push(run),
                }
            }
            let mut best: Option<(Fragment, String)> = None;
            for run in runs {
                let text = self.read_chunks(searcher, doc, run)?;
                if let Some(fragment) = self.best_in(&text)
                    && best.as_ref().is_none_or(|(b, _)| fragment.score > b.score)
                {
                    best = Some((fragment, text));
                }
            }
            if let Some((fragment, text)) = best {
                return Ok(show(&text, &fragment));
            }
            if self.content_has_a_term(searcher, doc.address)? {
                for k in 0..=last {
                    let text = self.read_chunks(searcher, doc, around(k))?;
                    if let Some(fragment) = self.best_in(&text) {
                        return Ok(show(&text, &fragment));
                    }
                }
            }
        }
        Ok(lead(&self.read_chunks(searcher, doc, 0..1)?))
    }

    /// The best fragment of `text`, a run of chunks: around the places the byte scan finds, else those
    /// of the word-by-word scan.
    fn best_in(&self, text: &str) -> Option<Fragment> {
        let mut places = self.scan_needles(text);
        if places.is_empty() {
            places = self.scan_words(text);
        }
        self.best_fragment(text, &places)
    }

    /// The first position in the content of the document at `address` of each of the
    /// [`MAX_LOCATED_PLACES`] rarest wanted terms it holds.
    fn first_positions(
        &self,
        searcher: &Searcher,
        address: DocAddress,
    ) -> Result<Vec<u32>, QueryError> {
        let mut by_weight: Vec<(&String, Score)> =
            self.terms.iter().map(|(t, &w)| (t, w)).collect();
        by_weight.sort_by(|a, b| b.1.total_cmp(&a.1));
        let index = searcher
            .segment_reader(address.segment_ord)
            .inverted_index(self.content)?;
        let mut found = Vec::new();
        let mut positions = Vec::new();
        for (text, _) in by_weight {
            if found.len() >= MAX_LOCATED_PLACES {
                break;
            }
            let term = Term::from_field_text(self.content, text);
            let Some(mut postings) = postings_at(
                &index,
                &term,
                IndexRecordOption::WithFreqsAndPositions,
                address.doc_id,
            )?
            else {
                continue;
            };
            positions.clear();
            postings.positions(&mut positions);
            if let Some(&first) = positions.first() {
                found.push(first);
            }
        }
        Ok(found)
    }

    /// The text of chunks `run` of `doc`, joined (a chunk that cannot be found adds nothing).
    fn read_chunks(
        &self,
        searcher: &Searcher,
        doc: &ChunkedText<'_>,
        run: Range<usize>,
    ) -> Result<String, QueryError> {
        let mut text = String::new();
        for k in run {
            let chunk = u32::try_from(k).unwrap_or(u32::MAX);
            let key = chunk_key(doc.file_id, doc.part_ord, chunk);
            let Some(address) = live_document(searcher, &Term::from_field_bytes(self.chunk, &key))?
            else {
                continue;
            };
            let stored: TantivyDocument = searcher.doc(address)?;
            if let Some(part) = stored.get_first(self.text).and_then(|v| v.as_str()) {
                text.push_str(part);
            }
        }
        Ok(text)
    }
}

/// The live document holding `term`, in any segment (a chunk key is held by one live document).
fn live_document(searcher: &Searcher, term: &Term) -> Result<Option<DocAddress>, QueryError> {
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        let index = segment.inverted_index(term.field())?;
        let postings = index
            .read_postings(term, IndexRecordOption::Basic)
            .map_err(tantivy::TantivyError::from)?;
        let Some(mut postings) = postings else {
            continue;
        };
        let mut doc = postings.doc();
        while doc != TERMINATED {
            if !segment.is_deleted(doc) {
                let ord = u32::try_from(ord).unwrap_or(u32::MAX);
                return Ok(Some(DocAddress::new(ord, doc)));
            }
            doc = postings.advance();
        }
    }
    Ok(None)
}
