//! Large texts stored in chunks, so that a snippet reads only the part of a text it shows.
//!
//! A document's text up to [`INLINE_TEXT_BYTES`] is stored in the document itself (the `text` field).
//! A longer one is split into chunks of about [`CHUNK_BYTES`], each stored in a document of its own
//! (a *chunk document*: `file_id`, `part_ord`, the `chunk` key and marker, the chunk's `text`; nothing
//! a query can find), and the file's document stores the [`ChunkTable`]: each chunk's length and the
//! token position it starts at. A snippet looks up where the index says a wanted term first occurs
//! (its position in `content`) and reads only the chunks around it. A move rewrites the documents from
//! what is stored: [`assemble`] joins the chunks again.
//!
//! tantivy's document store decompresses a whole block to read one document, and a large document is a
//! block of its own: before, 20 hits holding 15 MB of text meant decompressing 15 MB per search.

use std::ops::Range;

use tantivy::collector::Count;
use tantivy::query::TermQuery;
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::tokenizer::{TokenStream, Tokenizer};
use tantivy::{Searcher, TantivyDocument, Term};

use crate::analysis::ScriptTokenizer;
use crate::{DocMeta, Fields, FileDoc};

/// Texts up to this many bytes are stored in their document, longer ones in chunks.
pub const INLINE_TEXT_BYTES: usize = 32 << 10;

/// The length a chunk is cut at (the next character boundary): a snippet reads about three of them.
pub const CHUNK_BYTES: usize = 16 << 10;

/// The value of the `chunk` field every chunk document holds, and only they: what a search excludes.
pub const CHUNK_MARKER: &[u8] = b"";

/// Length of a chunk key: file id, part, chunk number (big-endian).
const KEY_BYTES: usize = 20;

/// Bytes per chunk in an encoded [`ChunkTable`].
const ENTRY_BYTES: usize = 8;

/// Where each chunk of a document's text starts: its byte length and the position (in the `content`
/// field's token positions) of the first token that starts in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChunkTable {
    /// (first token position, byte length), in text order.
    entries: Vec<(u32, u32)>,
}

impl ChunkTable {
    /// Splits `text` into chunks and records where each one starts, by running the index's tokenizer
    /// (positions are the tokenizer's: the index's filters drop or change tokens, never renumber them).
    pub fn of(text: &str) -> Self {
        let starts = chunk_starts(text);
        let mut entries: Vec<(u32, u32)> = Vec::with_capacity(starts.len());
        for (i, &start) in starts.iter().enumerate() {
            let end = starts.get(i + 1).copied().unwrap_or(text.len());
            entries.push((u32::MAX, clamp(end - start)));
        }
        let mut tokenizer = ScriptTokenizer {
            tail_unigrams: true,
        };
        let mut stream = tokenizer.token_stream(text);
        let mut next = 0;
        let mut last_position = 0;
        while stream.advance() {
            let token = stream.token();
            last_position = clamp(token.position);
            while next < starts.len() && token.offset_from >= starts[next] {
                entries[next].0 = last_position;
                next += 1;
            }
        }
        // Chunks where no token starts begin after the last one.
        for entry in &mut entries[next..] {
            entry.0 = last_position.saturating_add(1);
        }
        Self { entries }
    }

    /// Number of chunks.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no chunk.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The byte range of each chunk in the whole text.
    pub fn ranges(&self) -> Vec<Range<usize>> {
        let mut at = 0;
        self.entries
            .iter()
            .map(|&(_, len)| {
                let range = at..at + len as usize;
                at = range.end;
                range
            })
            .collect()
    }

    /// The chunk holding the token at `position`.
    pub fn chunk_of(&self, position: u32) -> usize {
        self.entries
            .partition_point(|&(first, _)| first <= position)
            .saturating_sub(1)
    }

    /// The table as stored.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entries.len() * ENTRY_BYTES);
        for &(first, len) in &self.entries {
            out.extend_from_slice(&first.to_le_bytes());
            out.extend_from_slice(&len.to_le_bytes());
        }
        out
    }

    /// The table stored as `bytes`; `None` when they are not one.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        if !bytes.len().is_multiple_of(ENTRY_BYTES) {
            return None;
        }
        let word = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let entries = bytes
            .chunks_exact(ENTRY_BYTES)
            .map(|e| (word(&e[..4]), word(&e[4..])))
            .collect();
        Some(Self { entries })
    }
}

fn clamp(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Byte offsets where the chunks of `text` start: 0, then every [`CHUNK_BYTES`], moved forward to a
/// character boundary.
fn chunk_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    let mut at = CHUNK_BYTES;
    while at < text.len() {
        while !text.is_char_boundary(at) {
            at += 1;
        }
        starts.push(at);
        at += CHUNK_BYTES;
    }
    starts
}

/// The key of chunk `chunk` of the document `part_ord` of file `file_id` (the `chunk` field's term).
pub fn chunk_key(file_id: u64, part_ord: u64, chunk: u32) -> [u8; KEY_BYTES] {
    let mut key = [0; KEY_BYTES];
    key[..8].copy_from_slice(&file_id.to_be_bytes());
    key[8..16].copy_from_slice(&part_ord.to_be_bytes());
    key[16..].copy_from_slice(&chunk.to_be_bytes());
    key
}

/// The term that finds chunk `chunk` of document `part_ord` of file `file_id`.
pub fn chunk_term(fields: &Fields, file_id: u64, part_ord: u64, chunk: u32) -> Term {
    Term::from_field_bytes(fields.chunk, &chunk_key(file_id, part_ord, chunk))
}

/// The term every chunk document holds (see [`CHUNK_MARKER`]).
pub fn chunk_marker(fields: &Fields) -> Term {
    Term::from_field_bytes(fields.chunk, CHUNK_MARKER)
}

/// Number of documents of files and parts in what `searcher` sees: every document but the chunk
/// documents and the folders' (counted by [`folder_documents`]).
pub fn file_documents(searcher: &Searcher) -> tantivy::Result<u64> {
    let all = searcher.num_docs();
    let Ok(field) = searcher.schema().get_field("chunk") else {
        return Ok(all);
    };
    let marker = TermQuery::new(
        Term::from_field_bytes(field, CHUNK_MARKER),
        IndexRecordOption::Basic,
    );
    let chunks = searcher.search(&marker, &Count)?;
    let folders = folder_documents(searcher)?;
    Ok(all.saturating_sub(chunks as u64).saturating_sub(folders))
}

/// Number of directories' documents (class `folder`) in what `searcher` sees.
pub fn folder_documents(searcher: &Searcher) -> tantivy::Result<u64> {
    let Ok(field) = searcher.schema().get_field("type") else {
        return Ok(0);
    };
    let folder = TermQuery::new(
        Term::from_field_text(field, "folder"),
        IndexRecordOption::Basic,
    );
    Ok(searcher.search(&folder, &Count)? as u64)
}

/// (part, chunk number) of a stored chunk document; `None` for any other document.
fn chunk_of_document(doc: &TantivyDocument, fields: &Fields) -> Option<(u64, u32)> {
    let key = doc
        .get_all(fields.chunk)
        .filter_map(|v| v.as_bytes())
        .find(|b| b.len() == KEY_BYTES)?;
    let part = u64::from_be_bytes(key[8..16].try_into().ok()?);
    let chunk = u32::from_be_bytes(key[16..].try_into().ok()?);
    Some((part, chunk))
}

impl FileDoc {
    /// The tantivy documents of the file or part described by `meta`: its own document, and when its
    /// text is longer than [`INLINE_TEXT_BYTES`], one chunk document per chunk of it (see the module).
    pub fn to_documents_with(&self, fields: &Fields, meta: &DocMeta) -> Vec<TantivyDocument> {
        if self.text.len() <= INLINE_TEXT_BYTES {
            return vec![self.to_document_with(fields, meta)];
        }
        let table = ChunkTable::of(&self.text);
        let mut main = self.document_without_text(fields, meta);
        main.add_bytes(fields.chunks, &table.encode());
        let mut docs = Vec::with_capacity(table.len() + 1);
        docs.push(main);
        for (n, range) in table.ranges().into_iter().enumerate() {
            let mut chunk = TantivyDocument::default();
            chunk.add_u64(fields.file_id, self.file_id);
            chunk.add_u64(fields.part_ord, meta.part_ord);
            chunk.add_bytes(fields.chunk, CHUNK_MARKER);
            let key = chunk_key(self.file_id, meta.part_ord, clamp(n));
            chunk.add_bytes(fields.chunk, &key);
            chunk.add_text(fields.text, &self.text[range]);
            docs.push(chunk);
        }
        docs
    }
}

/// The files and parts stored in `docs` (every document of one file, in any order), their texts joined
/// again from their chunks, in part order. Chunk documents are not returned themselves.
pub fn assemble(docs: &[TantivyDocument], fields: &Fields) -> Vec<(FileDoc, DocMeta)> {
    let mut chunks: Vec<((u64, u32), &str)> = docs
        .iter()
        .filter_map(|doc| {
            let at = chunk_of_document(doc, fields)?;
            let text = doc.get_first(fields.text).and_then(|v| v.as_str());
            Some((at, text.unwrap_or_default()))
        })
        .collect();
    chunks.sort_unstable_by_key(|(at, _)| *at);
    let mut out: Vec<(FileDoc, DocMeta)> = docs
        .iter()
        .filter_map(|doc| {
            let mut file = FileDoc::from_document(doc, fields)?;
            let meta = DocMeta::from_document(doc, fields);
            if doc.get_first(fields.chunks).is_some() {
                let first = chunks.partition_point(|((part, _), _)| *part < meta.part_ord);
                for (_, text) in chunks[first..]
                    .iter()
                    .take_while(|((part, _), _)| *part == meta.part_ord)
                {
                    file.text.push_str(text);
                }
            }
            Some((file, meta))
        })
        .collect();
    out.sort_by_key(|(_, meta)| meta.part_ord);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build_schema;
    use std::path::PathBuf;

    #[test]
    fn a_table_maps_positions_to_the_chunks_holding_them() {
        let word = "word ";
        let text = word.repeat(3 * CHUNK_BYTES / word.len() + 7);
        let table = ChunkTable::of(&text);
        assert_eq!(table.len(), 4);
        let ranges = table.ranges();
        assert_eq!(ranges.last().unwrap().end, text.len());
        // Chunk 1 starts at byte CHUNK_BYTES: the word starting there (or just after) is its first.
        let first_in_1 = CHUNK_BYTES.div_ceil(word.len()) as u32;
        assert_eq!(table.chunk_of(first_in_1 - 1), 0);
        assert_eq!(table.chunk_of(first_in_1), 1);
        assert_eq!(table.chunk_of(u32::MAX), 3);
        assert_eq!(ChunkTable::decode(&table.encode()), Some(table));
    }

    #[test]
    fn chunk_boundaries_fall_between_characters() {
        let text = "é".repeat(CHUNK_BYTES); // two bytes each
        let table = ChunkTable::of(&text);
        for range in table.ranges() {
            assert!(text.is_char_boundary(range.start) && text.is_char_boundary(range.end));
        }
    }

    #[test]
    fn a_large_text_round_trips_through_its_chunks() {
        let (_, fields) = build_schema();
        let doc = FileDoc {
            file_id: 9,
            path: PathBuf::from("/r/big.txt"),
            size: 1,
            mtime_ns: 2,
            text: (0..20_000).map(|i| format!("w{i} ")).collect(),
        };
        let meta = DocMeta {
            part_ord: 2,
            part: "p".into(),
            mime: "text/plain".into(),
            ..DocMeta::default()
        };
        let small = FileDoc {
            text: "small".into(),
            ..doc.clone()
        };
        let small_meta = DocMeta {
            mime: "text/plain".into(),
            ..DocMeta::default()
        };
        let mut docs = doc.to_documents_with(&fields, &meta);
        assert!(docs.len() > 3, "{} documents", docs.len());
        docs.reverse(); // any order
        docs.extend(small.to_documents_with(&fields, &small_meta));
        let back = assemble(&docs, &fields);
        assert_eq!(back, [(small, small_meta), (doc, meta)]);
    }
}
