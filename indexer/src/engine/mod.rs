//! The engine: brings the index up to date with the filesystem.
//!
//! An update is a pipeline of bounded stages running concurrently:
//!
//! ```text
//! walk (ignore, parallel) -> classify (catalog lookups) -> extract (rayon) -> apply (tantivy + catalog batch)
//! ```
//!
//! *Classify* compares each file's `lstat` with its catalog record: unchanged files cost nothing; a known
//! inode found at a new path whose old path no longer holds it is a rename, and only its path is updated
//! (the stored text is reused, the file is not read). *Apply* commits in batches: the tantivy commit first,
//! then the catalog batch, both carrying the same generation; [`Engine::open`] repairs a mismatch left by
//! a crash. After the walk, catalog records under the walked roots that were not found are deleted,
//! except below directories the walk could not read.

use std::collections::HashSet;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};
use rayon::iter::{ParallelBridge, ParallelIterator};
use serde::Serialize;
use tracing::{debug, info, info_span, warn};

use crate::catalog::{Catalog, CatalogBatch, FileRecord, OWNER_BUDGET_REACHED, Owner, Status};
use crate::config::Config;
use crate::crawl::{self, WalkItem};
use crate::error::{Error, Result};
use crate::extract::{self, Format, Limits};
use crate::fileio::{FileId, OpenError, RootSet};
use crate::layout::{IndexDir, WriterLock};
use crate::schema::FileDoc;
use crate::text_index::TextIndex;

mod live;

/// A batch is committed once it holds this many operations...
const COMMIT_EVERY_OPS: usize = 5_000;
/// ...or this long after the previous commit.
const COMMIT_EVERY: Duration = Duration::from_secs(10);

/// Live counters of an update, for progress display. All fields are monotonic.
#[derive(Debug, Default)]
pub struct Progress {
    /// Files found by the walk.
    pub seen: AtomicU64,
    /// Files whose content was read and indexed (or recorded as failed).
    pub indexed: AtomicU64,
    /// Bytes read from files.
    pub bytes: AtomicU64,
}

/// Longest list of deferred paths a [`Summary`] keeps.
pub const RETRY_LIST_MAX: usize = 10_000;
/// Longest list of walk errors a [`Summary`] keeps.
pub const WALK_ERRORS_MAX: usize = 20;

/// What an update did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Regular files found.
    pub seen: u64,
    /// Files read and indexed (new or changed), including failed ones.
    pub indexed: u64,
    /// Files found unchanged.
    pub unchanged: u64,
    /// Files recognized as renamed or moved (path updated, content not read).
    pub moved: u64,
    /// Entries skipped: FIFOs, sockets, devices, symlinks, and files that vanished during the walk.
    pub skipped: u64,
    /// Files or directories that could not be read or extracted (recorded, not retried until changed).
    pub failed: u64,
    /// Files that could not be opened for want of a system resource (descriptors, memory), or whose path
    /// changed while they were read (a directory swapped for a symlink, another file): left as they were,
    /// to be looked at again (the daemon retries them; `fandex index` on its next run).
    pub deferred: u64,
    /// The paths of up to [`RETRY_LIST_MAX`] deferred files, for the daemon to retry.
    #[serde(skip)]
    pub retry: Vec<PathBuf>,
    /// The first [`WALK_ERRORS_MAX`] paths the walk could not read (a directory it may not list, a path
    /// too long), with the reason; counted in `failed`.
    #[serde(skip)]
    pub walk_errors: Vec<(PathBuf, String)>,
    /// Files indexed by name only because their owner's text budget was reached.
    pub over_budget: u64,
    /// Records removed because their files are gone.
    pub removed: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Wall time.
    pub seconds: f64,
}

impl Summary {
    /// Adds the counts of `other` (not its wall time).
    pub fn add(&mut self, other: &Summary) {
        self.seen += other.seen;
        self.indexed += other.indexed;
        self.unchanged += other.unchanged;
        self.moved += other.moved;
        self.skipped += other.skipped;
        self.failed += other.failed;
        self.removed += other.removed;
        self.over_budget += other.over_budget;
        self.bytes += other.bytes;
        self.deferred += other.deferred;
        for path in &other.retry {
            self.note_retry(path.clone());
        }
        for (path, why) in &other.walk_errors {
            self.note_walk_error(path.clone(), why.clone());
        }
    }

    fn note_walk_error(&mut self, path: PathBuf, why: String) {
        if self.walk_errors.len() < WALK_ERRORS_MAX {
            self.walk_errors.push((path, why));
        }
    }

    /// Records a deferred file (its path only while the list is short: beyond that the daemon retries
    /// whole roots).
    fn note_retry(&mut self, path: PathBuf) {
        if self.retry.len() < RETRY_LIST_MAX {
            self.retry.push(path);
        }
    }

    /// Whether more files were deferred than [`Summary::retry`] lists.
    pub fn retry_list_truncated(&self) -> bool {
        self.deferred > self.retry.len() as u64
    }
}

/// What to update.
#[derive(Debug, Clone, Default)]
pub struct UpdateRequest {
    /// Roots to add to the remembered set and walk now. When empty, every remembered root is walked.
    pub add_roots: Vec<PathBuf>,
    /// Roots to forget: their files leave the index.
    pub forget_roots: Vec<PathBuf>,
}

/// The writable index: catalog, full-text index and configuration, held by one process.
pub struct Engine {
    dir: IndexDir,
    config: Config,
    catalog: Catalog,
    index: TextIndex,
    generation: u64,
    /// The remembered roots (mirrors the catalog).
    roots: Vec<PathBuf>,
    _lock: WriterLock,
}

/// The per-file work the classifier hands on.
enum Plan {
    /// Unchanged: nothing to do.
    Unchanged,
    /// Read and index the file under `id`.
    Extract(ExtractJob),
    /// Known content at a new path: rewrite the path only.
    Move(MoveJob),
}

/// A known file found at a new path: its record and document move, the file is not read.
struct MoveJob {
    id: u64,
    old: FileRecord,
    path: PathBuf,
    meta: std::fs::Metadata,
    /// A record of another file that had the new path before, to remove.
    displaced: Option<(u64, FileRecord)>,
}

struct ExtractJob {
    id: u64,
    path: PathBuf,
    /// The file the walk or the event's `lstat` saw at `path`: only that file is read as its content.
    expected: FileId,
    /// The descriptor a fanotify event carried: content is read through it when it is still this path's
    /// file.
    content: Option<fandex_watcher::ContentFd>,
    old: Option<FileRecord>,
    /// A record of another file that had this path before, to remove.
    displaced: Option<(u64, FileRecord)>,
}

/// What reaches the apply stage.
enum Outcome {
    Unchanged,
    Special,
    /// The walk could not read a path (when known) for this reason.
    WalkError(Option<PathBuf>, String),
    Extracted {
        job: ExtractJob,
        record: FileRecord,
        text: String,
    },
    /// The file disappeared (or stopped being a regular file) between the walk and the read.
    Vanished(ExtractJob),
    /// The file could not be opened for want of a system resource: left as it was, to be read again.
    Deferred(ExtractJob, String),
    Move(MoveJob),
}

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.mtime().saturating_mul(1_000_000_000) + meta.mtime_nsec()
}

fn ctime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.ctime().saturating_mul(1_000_000_000) + meta.ctime_nsec()
}

/// A catalog record for `path` from its metadata, before extraction fills in the outcome.
fn record_from(path: &Path, meta: &std::fs::Metadata) -> FileRecord {
    FileRecord {
        path: path.as_os_str().as_bytes().to_vec(),
        dev: meta.dev(),
        ino: meta.ino(),
        size: meta.size(),
        mtime_ns: mtime_ns(meta),
        ctime_ns: ctime_ns(meta),
        hash: None,
        status: Status::Failed,
        truncated: false,
        error: None,
        racy: false,
        owner: Some(Owner {
            uid: meta.uid(),
            text_bytes: 0,
            dropped_bytes: 0,
        }),
    }
}

/// Sets the owner of `record` to the file's current owner (a chown changes it), keeping its text bytes.
fn set_owner_uid(record: &mut FileRecord, meta: &std::fs::Metadata) {
    if let Some(owner) = &mut record.owner {
        owner.uid = meta.uid();
    }
}

/// Makes a root absolute and canonical, and checks it is a directory on a filesystem that holds files
/// (not a pseudo-filesystem such as `/proc` or `/sys`).
pub fn canonical_root(root: &Path) -> Result<PathBuf> {
    let canonical = std::fs::canonicalize(root).map_err(|e| Error::BadRoot {
        path: root.to_owned(),
        reason: match e.kind() {
            std::io::ErrorKind::NotFound => "does not exist".to_owned(),
            _ => e.to_string(),
        },
    })?;
    if !canonical.is_dir() {
        return Err(Error::BadRoot {
            path: root.to_owned(),
            reason: "is not a directory".to_owned(),
        });
    }
    if let Some(fstype) = crate::pseudofs::pseudo_filesystem(&canonical) {
        return Err(Error::BadRoot {
            path: root.to_owned(),
            reason: format!(
                "is on a {fstype} filesystem, which presents kernel state, not files to index"
            ),
        });
    }
    Ok(canonical)
}

/// Removes paths nested inside other paths (and duplicates), keeping a sorted, minimal set.
fn minimal_roots(mut roots: Vec<PathBuf>) -> Vec<PathBuf> {
    roots.sort();
    roots.dedup();
    let mut out: Vec<PathBuf> = Vec::new();
    for root in roots {
        if !out.iter().any(|r| root.starts_with(r)) {
            out.push(root);
        }
    }
    out
}

/// Extraction limits from the configuration.
fn limits_of(config: &Config) -> Limits {
    Limits {
        max_text_bytes: usize::try_from(config.index.max_text_bytes).unwrap_or(usize::MAX),
        max_read_bytes: config.index.max_read_bytes,
        max_decompressed_bytes: config.index.max_decompressed_bytes,
    }
}

/// Reads and extracts one file through a descriptor opened without following symlinks or blocking.
/// Timestamps come from a coarse kernel clock: a file changed within this window of being read may change
/// again without its size or timestamps changing, so its record is trusted only after another read.
const RACY_WINDOW_NS: i64 = 50_000_000;

/// Whether a record's timestamps are too close to the time the file was read to prove anything later.
fn is_racy(record: &FileRecord, read_started: i64) -> bool {
    read_started - record.mtime_ns.max(record.ctime_ns) < RACY_WINDOW_NS
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Reads and extracts one file: through the event's descriptor when it is still the file at the path,
/// otherwise opened from its root without following any symlink. A path that changed since the walk or
/// event looked at it (a directory swapped for a symlink, another file) is deferred and looked at again,
/// never read as this path's content.
fn run_extract(
    mut job: ExtractJob,
    roots: &RootSet,
    limits: &Limits,
    progress: &Progress,
) -> Outcome {
    let read_started = now_ns();
    let _span = tracing::debug_span!("file", path = %job.path.display()).entered();
    let event_fd = job
        .content
        .take()
        .map(fandex_watcher::ContentFd::into_owned_fd);
    let opened = roots.open_for_content(&job.path, Some(job.expected), event_fd);
    let (mut file, meta) = match opened {
        Ok(opened) => opened,
        Err(OpenError::NotFound | OpenError::NotRegular { .. } | OpenError::Outside) => {
            return Outcome::Vanished(job);
        }
        Err(OpenError::Transient(err)) => return Outcome::Deferred(job, err.to_string()),
        Err(OpenError::Changed) => {
            debug!("changed during the walk: looked at again, not read");
            return Outcome::Deferred(job, OpenError::Changed.to_string());
        }
        Err(err) => {
            // Unreadable: record the error; the file is still found by name. We have no fstat, so take
            // the no-symlink lstat for the identity; it must be the file the walk saw.
            return match roots.lstat(&job.path) {
                Ok(meta) if meta.is_file() && FileId::of(&meta) == job.expected => {
                    let mut record = record_from(&job.path, &meta);
                    record.error = Some(err.to_string());
                    debug!(error = %err, "unreadable");
                    Outcome::Extracted {
                        job,
                        record,
                        text: String::new(),
                    }
                }
                _ => Outcome::Vanished(job),
            };
        }
    };
    if meta.nlink() == 0 {
        return Outcome::Vanished(job);
    }
    let mut record = record_from(&job.path, &meta);
    record.racy = is_racy(&record, read_started);
    let name = job.path.clone();
    let text = match extract::extract(&mut file, &name, limits) {
        Ok(extracted) => {
            progress
                .bytes
                .fetch_add(extracted.bytes_read, Ordering::Relaxed);
            record.hash = Some(extracted.hash);
            record.truncated = extracted.truncated;
            record.status = match extracted.format {
                Format::Binary => Status::Binary,
                _ => Status::Indexed,
            };
            extracted.text
        }
        Err(err) => {
            debug!(error = %err, "extraction failed");
            record.error = Some(err.to_string());
            String::new()
        }
    };
    Outcome::Extracted { job, record, text }
}

impl Engine {
    /// Opens (creating if needed) the index in `dir` for writing: takes the writer lock, opens the catalog
    /// (rebuilding it when it is corrupt) and the full-text index, and repairs a generation mismatch left
    /// by a crash. Files already in the directory are made private to their owner (see
    /// [`IndexDir::make_private`]); files sled and tantivy create later get the process's umask, which
    /// the `fandex` binary sets to 0077 (an embedding application should do the same).
    pub fn open(dir: IndexDir, config: Config) -> Result<Self> {
        dir.create()?;
        let lock = dir.lock()?;
        dir.make_private()?;
        let catalog = Self::open_catalog(&dir)?;
        let index = TextIndex::open_or_create(&dir.tantivy_dir())?;
        let mut engine = Self {
            generation: catalog.generation()?,
            roots: catalog.roots()?,
            dir,
            config,
            catalog,
            index,
            _lock: lock,
        };
        let indexed = engine.index.committed_generation()?;
        if indexed != engine.generation {
            warn!(
                catalog = engine.generation,
                index = indexed,
                "catalog and index disagree (interrupted commit); repairing"
            );
            engine.repair(indexed)?;
        }
        if !engine.catalog.owners_counted()? {
            engine.count_owners()?;
        }
        Ok(engine)
    }

    /// Fills in the owner of records written before owners were counted: one pass, once per catalog
    /// (interrupted, it resumes where it stopped). The uid comes from the file, the text bytes from the
    /// stored document; a record whose file is gone or replaced keeps none (the next walk removes or
    /// re-reads it, counting it then).
    fn count_owners(&mut self) -> Result<()> {
        let started = Instant::now();
        let mut uncounted = Vec::new();
        for entry in self.catalog.iter() {
            let (id, rec) = entry?;
            if rec.owner.is_none() {
                uncounted.push(id);
            }
        }
        let mut batch = CatalogBatch::default();
        let roots = RootSet::open(&self.roots);
        for &id in &uncounted {
            let Some(rec) = self.catalog.get(id)? else {
                continue;
            };
            let Ok(meta) = roots.lstat(rec.path()) else {
                continue;
            };
            if (meta.dev(), meta.ino()) != (rec.dev, rec.ino) {
                continue;
            }
            let text_bytes = self.index.get(id)?.map_or(0, |doc| doc.text.len() as u64);
            let mut counted = rec.clone();
            counted.owner = Some(Owner {
                uid: meta.uid(),
                text_bytes,
                dropped_bytes: 0,
            });
            batch.put(id, &counted, Some(&rec));
            if batch.len() >= COMMIT_EVERY_OPS {
                self.commit(std::mem::take(&mut batch))?;
            }
        }
        batch.set_owners_counted();
        self.commit(batch)?;
        if !uncounted.is_empty() {
            info!(
                records = uncounted.len(),
                seconds = started.elapsed().as_secs_f64(),
                "owners of existing records counted"
            );
        }
        Ok(())
    }

    fn open_catalog(dir: &IndexDir) -> Result<Catalog> {
        let path = dir.catalog_dir();
        // sled can panic on a corrupt log; the catalog is rebuildable from the filesystem, so recover.
        let attempt = std::panic::catch_unwind(|| Catalog::open(&path));
        match attempt {
            Ok(Ok(catalog)) => return Ok(catalog),
            Ok(Err(err)) => {
                warn!(error = %err, "catalog unreadable; rebuilding it from the filesystem")
            }
            Err(_) => warn!("catalog corrupt (sled panicked); rebuilding it from the filesystem"),
        }
        Catalog::destroy(&path)?;
        Catalog::open(&path)
    }

    /// Makes catalog and index agree after an interrupted commit: documents without a record are deleted,
    /// records whose document is missing or different are marked stale (re-read on the next walk).
    fn repair(&mut self, indexed_generation: u64) -> Result<()> {
        let mut batch = CatalogBatch::default();
        let mut with_doc = HashSet::new();
        for (id, size, mtime) in self.index.all_ids()? {
            with_doc.insert(id);
            match self.catalog.get(id)? {
                None => self.index.delete(id),
                Some(rec) if rec.size != size || rec.mtime_ns != mtime => {
                    let mut stale = rec.clone();
                    stale.status = Status::Stale;
                    batch.put(id, &stale, Some(&rec));
                }
                Some(_) => {}
            }
        }
        for entry in self.catalog.iter() {
            let (id, rec) = entry?;
            if !with_doc.contains(&id) && rec.status != Status::Stale {
                let mut stale = rec.clone();
                stale.status = Status::Stale;
                batch.put(id, &stale, Some(&rec));
            }
        }
        info!(stale = batch.len(), "repair done");
        self.generation = self.generation.max(indexed_generation);
        self.commit(batch)
    }

    /// Commits the index, then the catalog batch, under a new generation.
    fn commit(&mut self, batch: CatalogBatch) -> Result<()> {
        self.applier().commit(batch)
    }

    fn applier(&mut self) -> Applier<'_> {
        Applier {
            limits: limits_of(&self.config),
            owner_budget: self.config.index.max_text_bytes_per_owner,
            index: &mut self.index,
            catalog: &self.catalog,
            generation: &mut self.generation,
        }
    }

    /// A guard that tells whether the index directory is still the one this engine opened (see
    /// [`crate::layout::IndexGuard`]).
    pub fn guard(&self) -> Result<crate::layout::IndexGuard> {
        self._lock.guard(&self.dir)
    }

    /// The index directory.
    pub fn dir(&self) -> &IndexDir {
        &self.dir
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Replaces the configuration (limits and exclusions used from the next update on).
    pub fn set_config(&mut self, config: Config) {
        self.config = config;
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The full-text index.
    pub fn text_index(&self) -> &TextIndex {
        &self.index
    }

    /// The generation of the last commit.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The remembered roots.
    pub fn roots(&self) -> Result<Vec<PathBuf>> {
        Ok(self.roots.clone())
    }

    /// Adds `add` to the remembered roots (or, when none are remembered and none are given, takes the
    /// configuration's roots) without walking them, and returns the resulting set. The daemon starts
    /// watching these before it reconciles them.
    pub fn register_roots(&mut self, add: &[PathBuf]) -> Result<Vec<PathBuf>> {
        let mut roots: Vec<PathBuf> = add
            .iter()
            .map(|r| canonical_root(r))
            .collect::<Result<_>>()?;
        roots.extend(self.roots.iter().cloned());
        if roots.is_empty() {
            for root in &self.config.roots {
                roots.push(canonical_root(root)?);
            }
        }
        let roots = minimal_roots(roots);
        if roots != self.roots {
            let mut batch = CatalogBatch::default();
            batch.set_roots(&roots);
            self.commit(batch)?;
            self.roots = roots.clone();
        }
        Ok(roots)
    }

    /// Brings the index up to date: remembers added roots, forgets forgotten ones, walks, reads what is
    /// new or changed, records renames, removes what is gone, and commits.
    pub fn update(&mut self, request: &UpdateRequest, progress: &Progress) -> Result<Summary> {
        let started = Instant::now();
        let added: Vec<PathBuf> = request
            .add_roots
            .iter()
            .map(|r| canonical_root(r))
            .collect::<Result<_>>()?;
        let forgotten: Vec<PathBuf> = request
            .forget_roots
            .iter()
            .map(|r| std::fs::canonicalize(r).unwrap_or_else(|_| r.clone()))
            .collect();
        let mut known = self.catalog.roots()?;
        if known.is_empty() && added.is_empty() {
            known = self
                .config
                .roots
                .iter()
                .map(|r| canonical_root(r))
                .collect::<Result<_>>()?;
        }
        let roots = minimal_roots(
            known
                .iter()
                .chain(&added)
                .filter(|r| !forgotten.contains(r))
                .cloned()
                .collect(),
        );
        let walk_roots = if added.is_empty() {
            roots.clone()
        } else {
            minimal_roots(added)
        };
        let mut summary = Summary::default();
        let mut batch = CatalogBatch::default();
        batch.set_roots(&roots);
        // Forget roots no longer covered.
        for gone in &forgotten {
            let records: Vec<(u64, FileRecord)> =
                self.catalog.under(gone).collect::<Result<_>>()?;
            for (id, rec) in records {
                if !roots.iter().any(|r| rec.path().starts_with(r)) {
                    self.index.delete(id);
                    batch.remove(id, &rec);
                    summary.removed += 1;
                }
            }
        }
        let scopes: Vec<(PathBuf, PathBuf)> =
            walk_roots.iter().map(|r| (r.clone(), r.clone())).collect();
        self.reconcile(&scopes, batch, &mut summary, progress)?;
        self.roots = roots;
        summary.bytes = progress.bytes.load(Ordering::Relaxed);
        summary.seconds = started.elapsed().as_secs_f64();
        info!(?summary, "update done");
        Ok(summary)
    }

    /// Walks each `(root, start)` scope (start is the root or a path below it), indexes what is new or
    /// changed, records renames, commits `batch` with the results, then removes records below each start
    /// that the walk did not find (except below directories it could not read).
    pub(crate) fn reconcile(
        &mut self,
        scopes: &[(PathBuf, PathBuf)],
        mut batch: CatalogBatch,
        summary: &mut Summary,
        progress: &Progress,
    ) -> Result<()> {
        let (claimed, error_dirs) = self.walk_and_apply(scopes, &mut batch, summary, progress)?;
        self.commit(batch)?;
        // Whatever the walk did not find is gone (unless it sits below a directory we could not read).
        let mut removals = CatalogBatch::default();
        for (_, start) in scopes {
            for entry in self.catalog.under(start) {
                let (id, rec) = entry?;
                if claimed.contains(&id) || error_dirs.iter().any(|d| rec.path().starts_with(d)) {
                    continue;
                }
                self.index.delete(id);
                removals.remove(id, &rec);
                summary.removed += 1;
            }
        }
        if !removals.is_empty() {
            self.commit(removals)?;
        }
        Ok(())
    }

    /// Runs the walk -> classify -> extract pipeline and applies outcomes as they arrive, committing
    /// periodically. Returns the ids found and the directories the walk could not read.
    fn walk_and_apply(
        &mut self,
        scopes: &[(PathBuf, PathBuf)],
        batch: &mut CatalogBatch,
        summary: &mut Summary,
        progress: &Progress,
    ) -> Result<(HashSet<u64>, Vec<PathBuf>)> {
        let pruned =
            vec![std::fs::canonicalize(self.dir.path()).unwrap_or(self.dir.path().to_owned())];
        let index_config = self.config.index.clone();
        let (walk_tx, walk_rx) = bounded::<WalkItem>(1024);
        let (job_tx, job_rx) = bounded::<ExtractJob>(64);
        let (out_tx, out_rx) = bounded::<Outcome>(64);
        let mut applier = self.applier();
        let catalog = applier.catalog;
        let limits = applier.limits.clone();
        let mut last_commit = Instant::now();
        // The roots are open for this walk only (never pinned for the daemon's lifetime).
        let root_paths: Vec<PathBuf> =
            minimal_roots(scopes.iter().map(|(r, _)| r.clone()).collect());
        let roots = RootSet::open(&root_paths);
        let roots = &roots;
        let result = std::thread::scope(|s| -> Result<(HashSet<u64>, Vec<PathBuf>)> {
            let walker = s.spawn(move || -> Result<()> {
                for (root, start) in scopes {
                    let _span = info_span!("walk", start = %start.display()).entered();
                    crawl::walk(root, start, roots, &index_config, &pruned, 2, &walk_tx)?;
                }
                Ok(())
            });
            let classify_out = out_tx.clone();
            let owner_budget = applier.owner_budget;
            let classifier = s.spawn(move || {
                classify_all(
                    catalog,
                    roots,
                    walk_rx,
                    job_tx,
                    classify_out,
                    progress,
                    owner_budget,
                )
            });
            let extract_out = out_tx;
            let limits_ref = &limits;
            s.spawn(move || {
                job_rx
                    .into_iter()
                    .par_bridge()
                    .for_each_with(extract_out, |tx, job| {
                        let _ = tx.send(run_extract(job, roots, limits_ref, progress));
                    });
            });
            let mut apply_error = None;
            for outcome in out_rx.iter() {
                if apply_error.is_some() {
                    continue; // drain so the producers can finish
                }
                if let Err(err) = applier.apply(outcome, roots, batch, summary, progress) {
                    apply_error = Some(err);
                    continue;
                }
                if batch.len() >= COMMIT_EVERY_OPS || last_commit.elapsed() >= COMMIT_EVERY {
                    if let Err(err) = applier.commit(std::mem::take(batch)) {
                        apply_error = Some(err);
                    }
                    last_commit = Instant::now();
                }
            }
            let walked = walker.join().unwrap_or_else(|_| {
                Err(Error::io(
                    "walk",
                    std::io::Error::other("walker thread panicked"),
                ))
            });
            let classified = classifier.join().unwrap_or_else(|_| {
                Err(Error::io(
                    "classify",
                    std::io::Error::other("classifier thread panicked"),
                ))
            });
            if let Some(err) = apply_error {
                return Err(err);
            }
            walked?;
            classified
        });
        summary.seen = progress.seen.load(Ordering::Relaxed);
        result
    }

    /// After a failed batch: drops what was not committed and restarts the index writer, so later batches
    /// work again. The caller then rescans, since the failed batch may be half applied.
    pub fn recover(&mut self) -> Result<()> {
        warn!("restarting the index writer after a failed batch");
        self.index.rollback()
    }

    /// Commits pending work and waits for background merges: call before exiting.
    pub fn close(self) -> Result<()> {
        self.catalog.flush()?;
        self.index.close()
    }
}

/// The apply stage: owns write access to the index while a pipeline runs.
struct Applier<'a> {
    index: &'a mut TextIndex,
    catalog: &'a Catalog,
    generation: &'a mut u64,
    limits: Limits,
    /// [`crate::config::IndexConfig::max_text_bytes_per_owner`].
    owner_budget: u64,
}

impl Applier<'_> {
    /// Commits the index, then the catalog batch, under a new generation.
    fn commit(&mut self, batch: CatalogBatch) -> Result<()> {
        let generation = *self.generation + 1;
        let _span = info_span!("commit", generation, ops = batch.len()).entered();
        self.index.commit(generation)?;
        self.catalog.apply(batch, generation)?;
        *self.generation = generation;
        Ok(())
    }

    /// Applies one outcome to the index and the pending catalog batch.
    fn apply(
        &mut self,
        outcome: Outcome,
        roots: &RootSet,
        batch: &mut CatalogBatch,
        summary: &mut Summary,
        progress: &Progress,
    ) -> Result<()> {
        match outcome {
            Outcome::Unchanged => summary.unchanged += 1,
            Outcome::Special => summary.skipped += 1,
            Outcome::WalkError(path, why) => {
                summary.failed += 1;
                if let Some(path) = path {
                    summary.note_walk_error(path, why);
                }
            }
            Outcome::Deferred(job, why) => {
                // Nothing is recorded: the old record (if any) stays until the file can be read.
                debug!(path = %job.path.display(), why, "deferred");
                summary.deferred += 1;
                summary.note_retry(job.path);
            }
            Outcome::Vanished(job) => {
                summary.skipped += 1;
                self.remove_displaced(job.displaced, batch);
                if let Some(old) = job.old {
                    self.index.delete(job.id);
                    batch.remove(job.id, &old);
                }
            }
            Outcome::Extracted { job, record, text } => {
                progress.indexed.fetch_add(1, Ordering::Relaxed);
                summary.indexed += 1;
                if record.error.is_some() {
                    summary.failed += 1;
                }
                self.remove_displaced(job.displaced, batch);
                let (mut record, mut text) = (record, text);
                let same_content = job.old.as_ref().is_some_and(|old| {
                    !matches!(old.status, Status::Stale | Status::OverBudget)
                        && old.hash.is_some()
                        && (&old.hash, &old.path, old.mtime_ns, old.size)
                            == (&record.hash, &record.path, record.mtime_ns, record.size)
                });
                if same_content {
                    // A close-after-write that changed nothing: no re-indexing.
                    summary.indexed -= 1;
                    summary.unchanged += 1;
                    // The document keeps its text, so the record keeps its share (under the file's
                    // current owner).
                    if let (Some(owner), Some(kept)) =
                        (&mut record.owner, batch.owner_of(job.id, job.old.as_ref()))
                    {
                        owner.text_bytes = kept.text_bytes;
                    }
                    batch.put(job.id, &record, job.old.as_ref());
                    return Ok(());
                }
                if self.charge_owner(job.id, job.old.as_ref(), &mut record, &mut text, batch)? {
                    summary.over_budget += 1;
                }
                self.update_hard_links(job.id, &record, &text, roots, batch, summary)?;
                self.index.upsert(&FileDoc {
                    file_id: job.id,
                    path: job.path,
                    size: record.size,
                    mtime_ns: record.mtime_ns,
                    text,
                })?;
                batch.put(job.id, &record, job.old.as_ref());
            }
            Outcome::Move(MoveJob {
                id,
                old,
                path,
                meta,
                displaced,
            }) => {
                self.remove_displaced(displaced, batch);
                let mut record = old.clone();
                record.path = path.as_os_str().as_bytes().to_vec();
                record.ctime_ns = ctime_ns(&meta);
                set_owner_uid(&mut record, &meta);
                match self.index.get(id)? {
                    Some(mut doc) => {
                        summary.moved += 1;
                        doc.path = path;
                        self.index.upsert(&doc)?;
                        batch.put(id, &record, Some(&old));
                    }
                    None => {
                        // The document is missing (interrupted earlier): read the file after all.
                        let job = ExtractJob {
                            id,
                            path,
                            expected: FileId::of(&meta),
                            content: None,
                            old: Some(old),
                            displaced: None,
                        };
                        let outcome = run_extract(job, roots, &self.limits, progress);
                        return self.apply(outcome, roots, batch, summary, progress);
                    }
                }
            }
        }
        Ok(())
    }

    /// Other names of the same inode (hard links) get the same content: a write through one name changes
    /// them all, but events name only the one written through.
    fn update_hard_links(
        &mut self,
        id: u64,
        record: &FileRecord,
        text: &str,
        roots: &RootSet,
        batch: &mut CatalogBatch,
        summary: &mut Summary,
    ) -> Result<()> {
        for other in self.catalog.ids_by_inode(record.dev, record.ino)? {
            if other == id {
                continue;
            }
            let Some(old) = self.catalog.get(other)? else {
                continue;
            };
            let same_inode = roots
                .lstat(old.path())
                .is_ok_and(|m| (m.dev(), m.ino()) == (record.dev, record.ino));
            if old.path == record.path || !same_inode {
                continue;
            }
            let mut linked = record.clone();
            linked.path = old.path.clone();
            // Each name is a document holding the whole text: each is charged.
            let mut text = text.to_owned();
            if self.charge_owner(other, Some(&old), &mut linked, &mut text, batch)? {
                summary.over_budget += 1;
            }
            self.index.upsert(&FileDoc {
                file_id: other,
                path: old.path().to_owned(),
                size: record.size,
                mtime_ns: record.mtime_ns,
                text,
            })?;
            batch.put(other, &linked, Some(&old));
        }
        Ok(())
    }

    /// Charges `text` to the owner of `record` (replacing what record `id` held before). When it would
    /// take the owner past the budget, the text is dropped instead: the file is indexed by name only and
    /// its record says why. Returns whether the text was dropped.
    fn charge_owner(
        &self,
        id: u64,
        old: Option<&FileRecord>,
        record: &mut FileRecord,
        text: &mut String,
        batch: &CatalogBatch,
    ) -> Result<bool> {
        let Some(owner) = record.owner else {
            return Ok(false);
        };
        let wanted = text.len() as u64;
        let mut dropped = false;
        if self.owner_budget > 0 && wanted > 0 {
            let freed = batch
                .owner_of(id, old)
                .filter(|o| o.uid == owner.uid)
                .map_or(0, |o| o.text_bytes);
            let used = i128::from(self.catalog.owner_total(owner.uid)?)
                + i128::from(batch.pending_text_bytes(owner.uid))
                - i128::from(freed);
            dropped = used + i128::from(wanted) > i128::from(self.owner_budget);
        }
        if dropped {
            debug!(path = %record.path().display(), uid = owner.uid, "owner's text budget reached");
            text.clear();
            record.status = Status::OverBudget;
            record.error = Some(OWNER_BUDGET_REACHED.to_owned());
            record.truncated = false;
        }
        record.owner = Some(Owner {
            uid: owner.uid,
            text_bytes: text.len() as u64,
            dropped_bytes: if dropped { wanted } else { 0 },
        });
        Ok(dropped)
    }

    fn remove_displaced(&mut self, displaced: Option<(u64, FileRecord)>, batch: &mut CatalogBatch) {
        if let Some((id, rec)) = displaced {
            self.index.delete(id);
            batch.remove(id, &rec);
        }
    }
}

/// The classify stage: turns walk items into plans, claiming every catalog id it decides about so that no
/// id is used twice in one update.
fn classify_all(
    catalog: &Catalog,
    roots: &RootSet,
    walk_rx: Receiver<WalkItem>,
    job_tx: Sender<ExtractJob>,
    out_tx: Sender<Outcome>,
    progress: &Progress,
    owner_budget: u64,
) -> Result<(HashSet<u64>, Vec<PathBuf>)> {
    let mut claimed = HashSet::new();
    let mut error_dirs = Vec::new();
    for item in walk_rx {
        let sent = match item {
            WalkItem::Special { path, kind } => {
                debug!(path = %path.display(), kind, "skipped");
                out_tx.send(Outcome::Special).is_ok()
            }
            WalkItem::Error { path, message } => {
                warn!(path = ?path, "{message}");
                if let Some(path) = &path {
                    error_dirs.push(path.clone());
                }
                out_tx.send(Outcome::WalkError(path, message)).is_ok()
            }
            WalkItem::File { path, meta } => {
                progress.seen.fetch_add(1, Ordering::Relaxed);
                match classify(
                    catalog,
                    roots,
                    &mut claimed,
                    path,
                    &meta,
                    false,
                    owner_budget,
                )? {
                    Plan::Unchanged => out_tx.send(Outcome::Unchanged).is_ok(),
                    Plan::Extract(job) => job_tx.send(job).is_ok(),
                    Plan::Move(job) => out_tx.send(Outcome::Move(job)).is_ok(),
                }
            }
        };
        if !sent {
            break;
        }
    }
    Ok((claimed, error_dirs))
}

/// Decides what to do with one file found by the walk.
///
/// `content_event` says a kernel event reported a content change: then the file is always read (equal
/// size and timestamps prove nothing within one clock tick; the hash decides whether to re-index).
/// A file indexed by name only for its owner's budget is read again once its text fits `owner_budget`
/// (as of the last commit).
fn classify(
    catalog: &Catalog,
    roots: &RootSet,
    claimed: &mut HashSet<u64>,
    path: PathBuf,
    meta: &std::fs::Metadata,
    content_event: bool,
    owner_budget: u64,
) -> Result<Plan> {
    let (dev, ino) = (meta.dev(), meta.ino());
    let mut displaced = None;
    if let Some((id, rec)) = catalog.get_by_path(path.as_os_str().as_bytes())?
        && !claimed.contains(&id)
    {
        if (rec.dev, rec.ino) == (dev, ino) {
            claimed.insert(id);
            let same = !content_event
                && !rec.racy
                && rec.status != Status::Stale
                && !budget_allows_retry(catalog, &rec, owner_budget)?
                && rec.size == meta.size()
                && rec.mtime_ns == mtime_ns(meta)
                && rec.ctime_ns == ctime_ns(meta);
            if same {
                return Ok(Plan::Unchanged);
            }
            return Ok(Plan::Extract(ExtractJob {
                id,
                path,
                expected: FileId::of(meta),
                content: None,
                old: Some(rec),
                displaced: None,
            }));
        }
        // Another file now has this name (e.g. an atomic save): the old record goes.
        claimed.insert(id);
        displaced = Some((id, rec));
    }
    // A known inode whose old path no longer holds it: a rename.
    for id in catalog.ids_by_inode(dev, ino)? {
        if claimed.contains(&id) {
            continue;
        }
        let Some(rec) = catalog.get(id)? else {
            continue;
        };
        let still_there = roots
            .lstat(rec.path())
            .map(|m| (m.dev(), m.ino()) == (dev, ino))
            .unwrap_or(false);
        if still_there {
            continue; // a hard link: the old name is still valid
        }
        claimed.insert(id);
        let same_content = !content_event
            && !rec.racy
            && rec.status != Status::Stale
            && rec.size == meta.size()
            && rec.mtime_ns == mtime_ns(meta);
        if same_content {
            return Ok(Plan::Move(MoveJob {
                id,
                old: rec,
                path,
                meta: meta.clone(),
                displaced,
            }));
        }
        return Ok(Plan::Extract(ExtractJob {
            id,
            path,
            expected: FileId::of(meta),
            content: None,
            old: Some(rec),
            displaced,
        }));
    }
    let id = catalog.new_id()?;
    claimed.insert(id);
    Ok(Plan::Extract(ExtractJob {
        id,
        path,
        expected: FileId::of(meta),
        content: None,
        old: None,
        displaced,
    }))
}

/// Whether `rec` was indexed by name only for its owner's budget and its text would fit now.
fn budget_allows_retry(catalog: &Catalog, rec: &FileRecord, owner_budget: u64) -> Result<bool> {
    if rec.status != Status::OverBudget {
        return Ok(false);
    }
    let Some(owner) = rec.owner else {
        return Ok(true);
    };
    let needed = catalog
        .owner_total(owner.uid)?
        .saturating_add(owner.dropped_bytes);
    Ok(owner_budget == 0 || needed <= owner_budget)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_from_before_owners_were_counted_is_counted_once_at_open() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir_all(root.join("d")).unwrap();
        std::fs::write(root.join("a.txt"), "alpha beta").unwrap();
        std::fs::write(root.join("d/b.txt"), "gamma").unwrap();
        let dir = IndexDir::at(tmp.path().join("index"));
        let request = UpdateRequest {
            add_roots: vec![root.clone()],
            forget_roots: vec![],
        };
        let mut engine = Engine::open(dir.clone(), Config::default()).unwrap();
        engine.update(&request, &Progress::default()).unwrap();
        let expected = engine.catalog().owner_totals().unwrap();
        assert_eq!(expected.values().sum::<u64>(), 15);
        engine.catalog().downgrade_for_test();
        assert!(!engine.catalog().owners_counted().unwrap());
        engine.close().unwrap();
        // Opens without complaint, fills in every owner and the totals, once.
        let engine = Engine::open(dir.clone(), Config::default()).unwrap();
        assert!(engine.catalog().owners_counted().unwrap());
        assert_eq!(engine.catalog().owner_totals().unwrap(), expected);
        assert_eq!(engine.catalog().recount_owners().unwrap(), expected);
        assert!(
            engine
                .catalog()
                .iter()
                .all(|e| e.unwrap().1.owner.is_some())
        );
    }

    #[test]
    fn nested_roots_collapse() {
        let r = |s: &str| PathBuf::from(s);
        assert_eq!(
            minimal_roots(vec![r("/a/b"), r("/a"), r("/c"), r("/ab"), r("/a")]),
            [r("/a"), r("/ab"), r("/c")]
        );
    }
}
