//! The full-text index: tantivy behind a small API keyed by file id.
//!
//! One long-lived writer per process; every commit carries the catalog generation in its payload, so a
//! mismatch after a crash can be detected and repaired. The writer works through
//! [`DeferredSyncDirectory`] (`deferred_sync`): a commit's files are made durable together, before its
//! `meta.json`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use fandex_schema::{self as schema, DocMeta, Fields, FileDoc};
use tantivy::collector::DocSetCollector;
use tantivy::indexer::IndexWriterOptions;
use tantivy::query::TermQuery;
use tantivy::schema::{Document, IndexRecordOption, Value};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};
use tracing::debug;

use crate::error::{Error, Result};
use crate::merge_policy::BoundedMerges;

mod deferred_sync;

pub use deferred_sync::DeferredSyncDirectory;

/// Memory budget of the writer, shared by its threads (tantivy needs at least 15 MB per thread).
const WRITER_MEMORY_BYTES: usize = 64 << 20;
/// Indexing threads: at most two, so the machine stays usable while indexing.
const WRITER_THREADS: usize = 2;
/// Merge threads: one, so that at most one merge's inputs are mapped at a time (see
/// [`crate::merge_policy`]).
const MERGE_THREADS: usize = 1;

/// Most bytes of documents handed to the writer and not yet indexed by its threads. tantivy queues up
/// to 10,000 documents in front of its indexing threads; when extraction outruns indexing, that queue
/// held most of a corpus's text (90 MB of the 400 MB peak on `docs`). One document larger than this is
/// still let through alone.
const MAX_QUEUED_BYTES: usize = 16 << 20;

/// How long [`TextIndex::upsert`] waits for the writer to take queued documents before it queues one
/// anyway (the writer's threads may have failed: then `add_document` reports the error).
const MAX_QUEUE_WAIT: Duration = Duration::from_secs(30);

/// Estimated bytes of a queued document besides its text (paths, ancestors, field headers).
const DOC_OVERHEAD_BYTES: usize = 512;

/// The bytes of documents queued in front of the writer's threads.
#[derive(Debug, Default)]
struct QueueBytes {
    bytes: Mutex<usize>,
    taken: Condvar,
}

impl QueueBytes {
    /// Waits until `bytes` more fit under [`MAX_QUEUED_BYTES`] (or nothing is queued, or the writer
    /// made no progress for [`MAX_QUEUE_WAIT`]), then counts them.
    fn reserve(&self, bytes: usize) {
        let mut queued = self.bytes.lock().unwrap_or_else(PoisonError::into_inner);
        let mut last_progress = Instant::now();
        let mut last_seen = *queued;
        while *queued > 0 && *queued + bytes > MAX_QUEUED_BYTES {
            if *queued < last_seen {
                last_seen = *queued;
                last_progress = Instant::now();
            }
            let Some(left) = MAX_QUEUE_WAIT.checked_sub(last_progress.elapsed()) else {
                debug!(
                    queued = *queued,
                    "the index writer took no document for a while; queueing anyway"
                );
                break;
            };
            queued = self
                .taken
                .wait_timeout(queued, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *queued += bytes;
    }

    /// Uncounts `bytes` (their document was indexed or dropped).
    fn release(&self, bytes: usize) {
        let mut queued = self.bytes.lock().unwrap_or_else(PoisonError::into_inner);
        *queued = queued.saturating_sub(bytes);
        drop(queued);
        self.taken.notify_all();
    }
}

/// A document on its way through the writer: counted in [`QueueBytes`] until tantivy drops it, which it
/// does right after indexing it.
struct QueuedDoc {
    doc: TantivyDocument,
    bytes: usize,
    queue: Arc<QueueBytes>,
}

impl Drop for QueuedDoc {
    fn drop(&mut self) {
        self.queue.release(self.bytes);
    }
}

impl Document for QueuedDoc {
    type Value<'a> = <TantivyDocument as Document>::Value<'a>;
    type FieldsValuesIter<'a> = <TantivyDocument as Document>::FieldsValuesIter<'a>;

    fn iter_fields_and_values(&self) -> Self::FieldsValuesIter<'_> {
        self.doc.iter_fields_and_values()
    }
}

/// An open index, ready to write.
pub struct TextIndex {
    index: Index,
    /// The directory the writer writes through (reset after a rollback).
    directory: DeferredSyncDirectory,
    /// The index's directory (the merge policy sizes segments by their files).
    dir: PathBuf,
    writer: IndexWriter<QueuedDoc>,
    queue: Arc<QueueBytes>,
    reader: IndexReader,
    fields: Fields,
    /// How long the last commit's reader reload took.
    last_reload: Duration,
}

/// Opens an existing index for searching only (no writer, no lock on the catalog). Analyzers are
/// registered.
pub fn open_read_only(dir: &Path) -> Result<(Index, IndexReader, Fields)> {
    let index = Index::open(open_directory(dir)?)?;
    schema::register_analyzers(&index);
    let fields = schema::fields_of(&index.schema()).ok_or_else(|| {
        Error::Tantivy(tantivy::TantivyError::SchemaError(
            "the index schema lacks fandex's fields".into(),
        ))
    })?;
    let reader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()?;
    Ok((index, reader, fields))
}

/// The stemming languages the index in `dir` records; `None` when there is no index there (or not one of
/// fandex's schema).
pub fn recorded_languages(dir: &Path) -> Result<Option<Vec<schema::Language>>> {
    if !dir.join("meta.json").exists() {
        return Ok(None);
    }
    let index = Index::open(open_directory(dir)?)?;
    Ok(schema::languages_of(&index.schema()))
}

/// The directory every open of the index goes through (readers too: a torn `.managed.json` refuses
/// none of them; see [`DeferredSyncDirectory`]).
fn open_directory(dir: &Path) -> Result<DeferredSyncDirectory> {
    DeferredSyncDirectory::open(dir).map_err(|e| {
        Error::Tantivy(tantivy::TantivyError::SystemError(format!(
            "cannot open {}: {e}",
            dir.display()
        )))
    })
}

/// The index's writer: [`WRITER_THREADS`] indexing threads sharing [`WRITER_MEMORY_BYTES`], one merge
/// thread, bounded merges.
fn new_writer(index: &Index, dir: &Path) -> Result<IndexWriter<QueuedDoc>> {
    let options = IndexWriterOptions::builder()
        .memory_budget_per_thread(WRITER_MEMORY_BYTES / WRITER_THREADS)
        .num_worker_threads(WRITER_THREADS)
        .num_merge_threads(MERGE_THREADS)
        .build();
    let writer = index.writer_with_options(options)?;
    writer.set_merge_policy(Box::new(BoundedMerges::new(dir)));
    Ok(writer)
}

impl TextIndex {
    /// Opens the index in `dir`, creating it if it does not exist, stemming in the default languages.
    pub fn open_or_create(dir: &Path) -> Result<Self> {
        Self::open_or_create_for(dir, &schema::DEFAULT_LANGUAGES)
    }

    /// Opens the index in `dir`, creating it with stems in `languages` if it does not exist (an
    /// existing index keeps the languages it records: see [`recorded_languages`]).
    pub fn open_or_create_for(dir: &Path, languages: &[schema::Language]) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        let directory = open_directory(dir)?;
        let (schema, _) = schema::build_schema_for(languages);
        let index = Index::open_or_create(directory.clone(), schema)?;
        schema::register_analyzers(&index);
        let fields = schema::fields_of(&index.schema()).ok_or_else(|| {
            Error::Tantivy(tantivy::TantivyError::SchemaError(
                "the index schema lacks fandex's fields".into(),
            ))
        })?;
        let writer = new_writer(&index, dir)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            directory,
            dir: dir.to_owned(),
            writer,
            queue: Arc::default(),
            reader,
            fields,
            last_reload: Duration::ZERO,
        })
    }

    /// How long the reader took to reload after the last commit (the searchers see a commit only then).
    pub fn last_reload(&self) -> Duration {
        self.last_reload
    }

    /// The field handles.
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// The underlying index (for searchers).
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// A reader that sees the last commit.
    pub fn reader(&self) -> &IndexReader {
        &self.reader
    }

    /// The generation recorded by the last commit (0 when none).
    pub fn committed_generation(&self) -> Result<u64> {
        let metas = self.index.load_metas()?;
        Ok(metas
            .payload
            .as_deref()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or(0))
    }

    fn id_term(&self, file_id: u64) -> Term {
        Term::from_field_u64(self.fields.file_id, file_id)
    }

    /// Adds or replaces the document of `doc.file_id` (visible after the next commit): the file alone,
    /// with no parts, its MIME type from its name.
    ///
    /// Waits while the writer's threads are behind by more than [`MAX_QUEUED_BYTES`] of documents, so
    /// memory does not grow with the corpus when extraction outruns indexing.
    pub fn upsert(&mut self, doc: &FileDoc) -> Result<()> {
        self.writer.delete_term(self.id_term(doc.file_id));
        self.add(doc, &DocMeta::default())
    }

    /// Replaces every document of file `file_id` with `docs` (the file itself, then its parts; each
    /// `FileDoc` must carry `file_id`), visible after the next commit. Waits like [`Self::upsert`].
    pub fn upsert_file(&mut self, file_id: u64, docs: &[(FileDoc, DocMeta)]) -> Result<()> {
        self.writer.delete_term(self.id_term(file_id));
        for (doc, meta) in docs {
            debug_assert_eq!(doc.file_id, file_id);
            self.add(doc, meta)?;
        }
        Ok(())
    }

    fn add(&mut self, doc: &FileDoc, meta: &DocMeta) -> Result<()> {
        let meta_bytes: usize = [&meta.title, &meta.author, &meta.subject, &meta.meta]
            .iter()
            .flat_map(|values| values.iter().map(String::len))
            .sum();
        // The text is in the document twice: the content and its stems (`content_stem`).
        let bytes = 2 * doc.text.len()
            + doc.path.as_os_str().len() * 3
            + meta.part.len()
            + meta_bytes
            + DOC_OVERHEAD_BYTES;
        // A long text goes in chunk documents (see `fandex_schema::chunks`), each counted by its text.
        let docs = doc.to_documents_with(&self.fields, meta);
        let chunk_bytes = if docs.len() > 1 { doc.text.len() } else { 0 };
        self.queue.reserve(bytes + chunk_bytes);
        for (n, document) in docs.into_iter().enumerate() {
            let bytes = if n == 0 {
                bytes
            } else {
                document
                    .get_first(self.fields.text)
                    .and_then(|v| v.as_str())
                    .map_or(0, str::len)
            };
            let queued = QueuedDoc {
                doc: document,
                bytes,
                queue: Arc::clone(&self.queue),
            };
            self.writer.add_document(queued)?;
        }
        Ok(())
    }

    /// Deletes every document (the file's and its parts') of `file_id` (visible after the next commit).
    pub fn delete(&mut self, file_id: u64) {
        self.writer.delete_term(self.id_term(file_id));
    }

    /// Commits everything added or deleted since the last commit, recording `generation`, and makes it
    /// visible to [`Self::reader`].
    pub fn commit(&mut self, generation: u64) -> Result<()> {
        let mut prepared = self.writer.prepare_commit()?;
        prepared.set_payload(&generation.to_string());
        prepared.commit()?;
        let reloading = Instant::now();
        self.reader.reload()?;
        self.last_reload = reloading.elapsed();
        Ok(())
    }

    /// Drops everything not yet committed and starts a fresh writer (tantivy's rollback replaces the
    /// indexing workers): the way back after a writer was killed by an error.
    pub fn rollback(&mut self) -> Result<()> {
        let rolled =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.writer.rollback()));
        if !matches!(rolled, Ok(Ok(_))) {
            // The writer could not restart in place (a failed rollback gives up the directory lock, and a
            // second one panics in tantivy): open a brand-new writer; the old one is dropped.
            self.writer = new_writer(&self.index, &self.dir)?;
        }
        // Every segment a failed sync left is dropped: commits may be made durable again.
        self.directory.reset_after_failure();
        self.reader.reload()?;
        Ok(())
    }

    /// The committed document of file `file_id` itself (not its parts), if any.
    pub fn get(&self, file_id: u64) -> Result<Option<FileDoc>> {
        Ok(self
            .get_file(file_id)?
            .into_iter()
            .find(|(_, meta)| meta.part_ord == 0)
            .map(|(doc, _)| doc))
    }

    /// Every committed document of file `file_id`: the file itself and its parts, in part order (empty
    /// when it has none).
    pub fn get_file(&self, file_id: u64) -> Result<Vec<(FileDoc, DocMeta)>> {
        let searcher = self.reader.searcher();
        let query = TermQuery::new(self.id_term(file_id), IndexRecordOption::Basic);
        let mut addresses: Vec<_> = searcher
            .search(&query, &DocSetCollector)?
            .into_iter()
            .collect();
        addresses.sort_unstable();
        let docs = addresses
            .into_iter()
            .map(|address| searcher.doc::<TantivyDocument>(address))
            .collect::<tantivy::Result<Vec<_>>>()?;
        // The file's documents with their texts joined again from their chunks (if any).
        Ok(schema::chunks::assemble(&docs, &self.fields))
    }

    /// (file id, size, mtime) of every committed document, from fast fields (no stored text is loaded).
    pub fn all_ids(&self) -> Result<Vec<(u64, u64, i64)>> {
        let searcher = self.reader.searcher();
        let mut out = Vec::new();
        for segment in searcher.segment_readers() {
            let ff = segment.fast_fields();
            let ids = ff.u64("file_id")?;
            let sizes = ff.u64("size")?;
            let mtimes = ff.i64("mtime")?;
            for doc in segment.doc_ids_alive() {
                let (Some(id), Some(size), Some(mtime)) =
                    (ids.first(doc), sizes.first(doc), mtimes.first(doc))
                else {
                    continue;
                };
                out.push((id, size, mtime));
            }
        }
        Ok(out)
    }

    /// Number of committed documents of files and parts (chunk documents are not counted).
    pub fn num_docs(&self) -> u64 {
        let searcher = self.reader.searcher();
        schema::chunks::file_documents(&searcher).unwrap_or_else(|_| searcher.num_docs())
    }

    /// Lets go of segments that merges have replaced since the last commit: the reader keeps them (and
    /// the pages the merge read from them, which count as this process's memory) until it reloads.
    /// Searches see nothing new: merges change no content.
    pub fn release_merged(&self) -> Result<()> {
        self.reader.reload()?;
        Ok(())
    }

    /// Waits for background merges to finish (call on clean shutdown).
    pub fn close(self) -> Result<()> {
        self.writer.wait_merging_threads()?;
        Ok(())
    }
}
