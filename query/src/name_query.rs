//! The tantivy query of a `name:` glob pattern.
//!
//! Per segment: the documents holding every n-gram of the pattern's literal runs (the `name_gram`
//! postings, intersected) are the candidates, and each candidate's exact name (the `name_key` fast field)
//! is checked against the pattern. A pattern without a literal run of [`NAME_GRAM_CHARS`] characters
//! (`*.c`, `?*`) instead checks every distinct name of the segment once (its fast-field dictionary) and
//! takes the documents whose name matched. Either way the answer is exact; the n-grams only make it fast
//! (`*port*` at a million names reads two posting lists, not a million names).
//!
//! A match scores a constant 1, from the document alone: nothing about other files enters it.

use std::fmt;
use std::sync::Arc;

use fandex_schema::Fields;
use tantivy::columnar::BytesColumn;
use tantivy::query::{
    BitSetDocSet, ConstScorer, EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{BitSet, DocId, DocSet, Score, SegmentReader, TERMINATED, TantivyError, Term};

use crate::parse::glob::NamePattern;

/// Documents whose file name matches a [`NamePattern`].
#[derive(Clone)]
pub(crate) struct NameQuery {
    pattern: Arc<NamePattern>,
    /// The n-gram terms every match holds.
    grams: Arc<[Term]>,
    key_field: Field,
}

impl fmt::Debug for NameQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NameQuery")
            .field("pattern", &self.pattern)
            .finish_non_exhaustive()
    }
}

impl NameQuery {
    pub(crate) fn new(pattern: &NamePattern, fields: &Fields) -> Self {
        let grams: Vec<Term> = pattern
            .grams()
            .iter()
            .map(|g| Term::from_field_text(fields.name_gram, g))
            .collect();
        Self {
            pattern: Arc::new(pattern.clone()),
            grams: Arc::from(grams),
            key_field: fields.name_key,
        }
    }
}

impl Query for NameQuery {
    fn weight(&self, _scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for NameQuery {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let docs = self.matching_docs(reader)?;
        if docs.is_empty() {
            return Ok(Box::new(EmptyScorer));
        }
        let mut set = BitSet::with_max_value(reader.max_doc());
        for doc in docs {
            set.insert(doc);
        }
        Ok(Box::new(ConstScorer::new(BitSetDocSet::from(set), boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(TantivyError::InvalidArgument(format!(
                "document {doc} does not match the name pattern"
            )));
        }
        Ok(Explanation::new("name pattern", scorer.score()))
    }
}

impl NameQuery {
    /// The segment's live documents whose name matches, ascending.
    fn matching_docs(&self, reader: &SegmentReader) -> tantivy::Result<Vec<DocId>> {
        let name = reader.schema().get_field_name(self.key_field).to_owned();
        let Some(names) = reader.fast_fields().bytes(&name)? else {
            return Ok(Vec::new());
        };
        let alive = |doc: DocId| reader.alive_bitset().is_none_or(|a| a.is_alive(doc));
        let mut docs = Vec::new();
        if self.grams.is_empty() {
            // Every distinct name once, then the documents whose name matched.
            let mut matching = BitSet::with_max_value(names.num_terms().max(1) as u32);
            let mut stream = names.dictionary().stream()?;
            while stream.advance() {
                if self.pattern.matches(stream.key()) {
                    matching.insert(stream.term_ord() as u32);
                }
            }
            for doc in 0..reader.max_doc() {
                if alive(doc)
                    && names
                        .term_ords(doc)
                        .any(|ord| matching.contains(ord as u32))
                {
                    docs.push(doc);
                }
            }
            return Ok(docs);
        }
        let index = reader.inverted_index(self.grams[0].field())?;
        let mut lists = Vec::with_capacity(self.grams.len());
        for gram in self.grams.iter() {
            match index.read_postings(gram, IndexRecordOption::Basic)? {
                Some(postings) => lists.push(postings),
                None => return Ok(Vec::new()),
            }
        }
        lists.sort_by_key(|p| p.size_hint());
        let mut buffer = Vec::new();
        let mut doc = lists[0].doc();
        'candidates: while doc != TERMINATED {
            for other in &mut lists[1..] {
                let found = if other.doc() >= doc {
                    other.doc()
                } else {
                    other.seek(doc)
                };
                if found != doc {
                    doc = lists[0].seek(found);
                    continue 'candidates;
                }
            }
            if alive(doc) && self.name_matches(&names, doc, &mut buffer)? {
                docs.push(doc);
            }
            doc = lists[0].advance();
        }
        Ok(docs)
    }

    fn name_matches(
        &self,
        names: &BytesColumn,
        doc: DocId,
        buffer: &mut Vec<u8>,
    ) -> tantivy::Result<bool> {
        for ord in names.term_ords(doc) {
            buffer.clear();
            if names.ord_to_bytes(ord, buffer)? && self.pattern.matches(buffer) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
