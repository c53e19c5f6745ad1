//! The engine's own limit: tantivy indexing text that is already extracted and held in memory, with
//! fandex's schema, analyzers and writer settings, and nothing else (no walk, no catalog, no reads).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use fandex::indexer::extract::{Limits, extract};
use fandex::indexer::schema::{self, FileDoc};
use tantivy::Index;
use tracing::debug;

use crate::corpus::list_files;
use crate::error::{BenchError, Result};

/// Indexing threads of fandex's writer (`WRITER_THREADS` in `indexer/src/text_index.rs`).
pub const WRITER_THREADS: usize = 2;
/// Memory budget of fandex's writer (`WRITER_MEMORY_BYTES` in `indexer/src/text_index.rs`).
pub const WRITER_MEMORY_BYTES: usize = 64 << 20;

/// A corpus read and extracted into memory, one document per file, as fandex would index it.
#[derive(Debug, Clone, Default)]
pub struct LoadedCorpus {
    /// One document per regular file, in path order; file ids count from 1.
    pub docs: Vec<FileDoc>,
    /// Raw bytes read from the files.
    pub bytes_read: u64,
    /// Bytes of extracted text.
    pub text_bytes: u64,
    /// Files whose extraction failed (kept with empty text: fandex indexes them by name).
    pub failed: u64,
    /// Seconds spent listing, reading and extracting (not part of the indexing time).
    pub load_seconds: f64,
}

/// Lists `root`, reads every file and extracts it with fandex's extractor and default limits.
pub fn load(root: &Path) -> Result<LoadedCorpus> {
    let started = Instant::now();
    let limits = Limits::default();
    let mut out = LoadedCorpus::default();
    for (i, path) in list_files(root)?.into_iter().enumerate() {
        let mut file =
            std::fs::File::open(&path).map_err(|e| BenchError::io("cannot open", &path, e))?;
        let meta = file
            .metadata()
            .map_err(|e| BenchError::io("cannot stat", &path, e))?;
        let text = match extract(&mut file, &path, &limits) {
            Ok(extracted) => {
                out.bytes_read += extracted.bytes_read;
                extracted.text
            }
            Err(err) => {
                debug!(path = %path.display(), %err, "extraction failed; indexed by name");
                out.failed += 1;
                String::new()
            }
        };
        out.text_bytes += text.len() as u64;
        out.docs.push(FileDoc {
            file_id: i as u64 + 1,
            path,
            size: meta.size(),
            mtime_ns: meta
                .mtime()
                .saturating_mul(1_000_000_000)
                .saturating_add(meta.mtime_nsec()),
            text,
        });
    }
    out.load_seconds = started.elapsed().as_secs_f64();
    Ok(out)
}

/// Where the index is written.
#[derive(Debug, Clone)]
pub enum Target {
    /// tantivy's RAM directory.
    Ram,
    /// A new directory on disk (must not exist yet), as fandex writes.
    Dir(PathBuf),
}

/// One timed indexing of a loaded corpus.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IndexRun {
    /// Documents indexed.
    pub docs: u64,
    /// Seconds from creating the index to the end of the commit and of the merges it started.
    pub seconds: f64,
    /// Disk usage of the index in KiB (allocated blocks); `None` for a RAM index.
    pub size_kb: Option<u64>,
}

/// Indexes `docs` into a new index at `target`: one writer with fandex's threads and memory budget,
/// every document added, one commit, merges awaited. Only this is timed.
pub fn index(docs: &[FileDoc], target: &Target) -> Result<IndexRun> {
    let (schema, fields) = schema::build_schema();
    let started = Instant::now();
    let index = match target {
        Target::Ram => Index::create_in_ram(schema),
        Target::Dir(dir) => {
            if dir.exists() {
                return Err(BenchError::Invalid(format!(
                    "{} already exists; give a new directory",
                    dir.display()
                )));
            }
            std::fs::create_dir_all(dir).map_err(|e| BenchError::io("cannot create", dir, e))?;
            Index::create_in_dir(dir, schema)?
        }
    };
    schema::register_analyzers(&index);
    let mut writer = index.writer_with_num_threads(WRITER_THREADS, WRITER_MEMORY_BYTES)?;
    for doc in docs {
        writer.add_document(doc.to_document(&fields))?;
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    let seconds = started.elapsed().as_secs_f64();
    let size_kb = match target {
        Target::Ram => None,
        Target::Dir(dir) => Some(disk_usage_kb(dir)?),
    };
    Ok(IndexRun {
        docs: docs.len() as u64,
        seconds,
        size_kb,
    })
}

/// Allocated size of the files under `dir`, in KiB (like `du -sk`, not counting directories).
pub fn disk_usage_kb(dir: &Path) -> Result<u64> {
    let mut blocks = 0u64;
    for path in list_files(dir)? {
        let meta = std::fs::symlink_metadata(&path)
            .map_err(|e| BenchError::io("cannot stat", &path, e))?;
        blocks += meta.blocks();
    }
    Ok(blocks * 512 / 1024)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fandex::indexer::schema::fields_of;
    use tantivy::collector::Count;
    use tantivy::query::TermQuery;
    use tantivy::schema::IndexRecordOption;

    fn sample_corpus() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("a.txt"), "Alpha beta Café").unwrap();
        std::fs::write(tmp.path().join("b.bin"), b"bin\0ary").unwrap();
        std::fs::create_dir(tmp.path().join("sub")).unwrap();
        std::fs::write(tmp.path().join("sub/c.md"), "beta gamma").unwrap();
        tmp
    }

    #[test]
    fn load_extracts_every_file_like_fandex() {
        let tmp = sample_corpus();
        let loaded = load(tmp.path()).unwrap();
        assert_eq!(loaded.docs.len(), 3);
        assert_eq!(loaded.failed, 0);
        assert_eq!(loaded.bytes_read, 16 + 7 + 10);
        let texts: Vec<&str> = loaded.docs.iter().map(|d| d.text.as_str()).collect();
        assert_eq!(texts, ["Alpha beta Café", "", "beta gamma"]);
        assert_eq!(loaded.text_bytes, 16 + 10);
        assert_eq!(
            loaded.docs.iter().map(|d| d.file_id).collect::<Vec<_>>(),
            [1, 2, 3]
        );
    }

    #[test]
    fn indexes_everything_searchable_with_fandex_analyzers() {
        let tmp = sample_corpus();
        let loaded = load(tmp.path()).unwrap();
        let out = tempfile::tempdir().unwrap();
        let dir = out.path().join("idx");
        let run = index(&loaded.docs, &Target::Dir(dir.clone())).unwrap();
        assert_eq!(run.docs, 3);
        assert!(run.size_kb.unwrap() > 0);
        let index = Index::open_in_dir(&dir).unwrap();
        schema::register_analyzers(&index);
        let fields = fields_of(&index.schema()).unwrap();
        let searcher = index.reader().unwrap().searcher();
        let count = |word: &str| {
            let term = tantivy::Term::from_field_text(fields.content, word);
            let query = TermQuery::new(term, IndexRecordOption::Basic);
            searcher.search(&query, &Count).unwrap()
        };
        assert_eq!(count("beta"), 2);
        assert_eq!(count("cafe"), 1);
        assert_eq!(count("Alpha"), 0, "content is lowercased at indexing");
        // A second run into the same directory is refused rather than silently measured differently.
        assert!(index_again_is_refused(&loaded.docs, &dir));
    }

    fn index_again_is_refused(docs: &[FileDoc], dir: &Path) -> bool {
        matches!(
            index(docs, &Target::Dir(dir.to_path_buf())),
            Err(BenchError::Invalid(_))
        )
    }

    #[test]
    fn ram_target_has_no_size() {
        let tmp = sample_corpus();
        let loaded = load(tmp.path()).unwrap();
        let run = index(&loaded.docs, &Target::Ram).unwrap();
        assert_eq!((run.docs, run.size_kb), (3, None));
    }
}
