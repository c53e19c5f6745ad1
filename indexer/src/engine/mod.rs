//! The engine: brings the index up to date with the filesystem.
//!
//! An update is a pipeline of bounded stages running concurrently:
//!
//! ```text
//! walk (ignore, parallel) -> classify (catalog lookups) -> extract (rayon) -> apply (tantivy + catalog batch)
//! ```
//!
//! Each stage has its module: [`crate::crawl`] walks; `classify` compares each file's `lstat` with its
//! catalog record: unchanged files cost nothing; a known inode found at a new path whose old path no
//! longer holds it is a rename, and only its path is updated (the stored text is reused, the file is not
//! read); `read` reads and extracts one file; `apply` (the `Applier`) writes outcomes and commits in
//! batches: the tantivy commit first, then the catalog batch, both carrying the same generation;
//! [`Engine::open`] repairs a mismatch left by a crash. After the walk, catalog records under the walked
//! roots that were not found are deleted, except below directories the walk could not read.
//!
//! This module holds the [`Engine`] and its wiring: open (with repair), the update pipeline, close.
//! `live` applies the daemon's coalesced batches through the same stages; `job` holds the work items
//! the stages hand each other, `record` builds catalog records from metadata, `roots` checks roots and
//! `summary` reports.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;
use rayon::iter::{ParallelBridge, ParallelIterator};
use tracing::{info, info_span, warn};

use crate::catalog::{Catalog, CatalogBatch, FileRecord, Owner, Status};
use crate::config::Config;
use crate::crawl::{self, WalkItem};
use crate::error::{Error, Result};
use crate::extract::DocumentParser;
use crate::fileio::RootSet;
use crate::layout::{IndexDir, WriterLock};
use crate::rebuild::{self, Rebuild};
use crate::text_index::TextIndex;
use apply::{Applier, Count};
use bulk::Bulk;
use classify::classify_all;
use job::{ExtractJob, Outcome};
use read::{limits_of, run_extract};
use roots::minimal_roots;

mod apply;
mod bulk;
mod classify;
mod job;
mod live;
mod read;
mod record;
mod roots;
mod summary;
#[cfg(test)]
mod tests;

pub use roots::canonical_root;
pub use summary::{Progress, RETRY_LIST_MAX, Summary, WALK_ERRORS_MAX, human_bytes};

/// A batch is committed once it holds this many operations...
const COMMIT_EVERY_OPS: usize = 5_000;
/// ...or this long after the previous commit.
const COMMIT_EVERY: Duration = Duration::from_secs(10);

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
    /// The rebuild of an index of another format, until a full walk has refilled it.
    rebuild: Option<Rebuild>,
    /// Parses complex documents (PDF, office, e-mail, archives, media); without one they are found by
    /// name only.
    parser: Option<Arc<dyn DocumentParser>>,
    /// Where walks and their extraction run, and at which priority.
    bulk: Bulk,
    _lock: WriterLock,
}

impl Engine {
    /// Opens (creating if needed) the index in `dir` for writing: takes the writer lock, opens the catalog
    /// (rebuilding it when it is corrupt) and the full-text index, and repairs a generation mismatch left
    /// by a crash. Files already in the directory are made private to their owner (see
    /// [`IndexDir::make_private`]); files sled and tantivy create later get the process's umask, which
    /// the `fandex` binary sets to 0077 (an embedding application should do the same).
    ///
    /// An index of another format (older or newer) is not refused: it is emptied, keeping the roots it
    /// covered, and [`Engine::rebuilding`] says so until the next [`Engine::update`] has refilled it
    /// (see [`crate::rebuild`]; crash-safe at every step). A directory whose format marker is not a
    /// number is refused ([`Error::NotAnIndex`]).
    pub fn open(dir: IndexDir, config: Config) -> Result<Self> {
        dir.create()?;
        let lock = dir.lock()?;
        dir.make_private()?;
        match dir.format()? {
            Some(found) if found != fandex_schema::SCHEMA_VERSION => rebuild::begin(&dir, found)?,
            _ => {}
        }
        let marker = rebuild::read_marker(&dir)?;
        let catalog = Self::open_catalog(&dir)?;
        let index = TextIndex::open_or_create(&dir.tantivy_dir())?;
        let mut engine = Self {
            generation: catalog.generation()?,
            roots: catalog.roots()?,
            rebuild: marker.as_ref().map(|m| Rebuild {
                from: m.from,
                to: fandex_schema::SCHEMA_VERSION,
            }),
            dir,
            config,
            catalog,
            index,
            parser: None,
            bulk: Bulk::default(),
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
        if let Some(marker) = marker {
            // The old index's roots (already canonical when recorded; one may be offline now).
            let roots = minimal_roots(engine.roots.iter().chain(&marker.roots).cloned().collect());
            if roots != engine.roots {
                let mut batch = CatalogBatch::default();
                batch.set_roots(&roots);
                engine.commit(batch)?;
                engine.roots = roots;
            }
        }
        Ok(engine)
    }

    /// Sets the parser of complex documents (PDF, office, e-mail, archives, media tags). A daemon must
    /// give one that runs the parsers outside its own process (the `fandex` binary's sandboxed workers).
    pub fn set_parser(&mut self, parser: Arc<dyn DocumentParser>) {
        self.parser = Some(parser);
    }

    /// The parser of complex documents, if one was set.
    pub fn parser(&self) -> Option<&Arc<dyn DocumentParser>> {
        self.parser.as_ref()
    }

    /// The rebuild of an index found in another format, until an [`Engine::update`] (which then walks
    /// every root) has refilled it.
    pub fn rebuilding(&self) -> Option<Rebuild> {
        self.rebuild
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

    /// Walks from now on (updates, rescans) run at idle CPU and I/O priority (`true`; the daemon's
    /// `daemon.idle_priority`), or at the caller's (`false`, the default). Single refreshed files are
    /// always extracted at the caller's priority.
    pub fn set_idle_bulk(&mut self, idle: bool) {
        self.bulk.set_idle(idle);
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
        // Forgetting what is not a root would do nothing: say so rather than succeed silently.
        if let Some((given, _)) = request
            .forget_roots
            .iter()
            .zip(&forgotten)
            .find(|(_, canonical)| !known.contains(canonical))
        {
            return Err(Error::BadRoot {
                path: given.clone(),
                reason: format!(
                    "is not a root of this index (its roots: {})",
                    known
                        .iter()
                        .map(|r| r.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
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
        let walk_roots = if added.is_empty() || self.rebuild.is_some() {
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
            let mut applier = self.applier();
            for (id, rec) in records {
                if !roots.iter().any(|r| rec.path().starts_with(r)) {
                    applier.remove(id, &rec, &mut batch, &mut summary, Count::Removed);
                }
            }
        }
        let scopes: Vec<(PathBuf, PathBuf)> =
            walk_roots.iter().map(|r| (r.clone(), r.clone())).collect();
        self.reconcile(&scopes, batch, &mut summary, progress)?;
        self.roots = roots;
        if self.rebuild.is_some() {
            rebuild::finish(&self.dir)?;
            self.rebuild = None;
        }
        summary.bytes = progress.bytes.load(Ordering::Relaxed);
        summary.seconds = started.elapsed().as_secs_f64();
        info!("update done: {summary}");
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
        let mut applier = self.applier();
        let catalog = applier.catalog;
        for (_, start) in scopes {
            for entry in catalog.under(start) {
                let (id, rec) = entry?;
                if claimed.contains(&id) || error_dirs.iter().any(|d| rec.path().starts_with(d)) {
                    continue;
                }
                applier.remove(id, &rec, &mut removals, summary, Count::Removed);
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
        let bulk = self.bulk.clone();
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
        let bulk = &bulk;
        let spawn_error = |e| Error::io("cannot start a thread of the walk", e);
        let result = std::thread::scope(|s| -> Result<(HashSet<u64>, Vec<PathBuf>)> {
            // The walker's own threads (started by `ignore`) inherit its priority.
            let walker = std::thread::Builder::new()
                .name("fandex-walk".into())
                .spawn_scoped(s, move || -> Result<()> {
                    bulk.enter();
                    for (root, start) in scopes {
                        let _span = info_span!("walk", start = %start.display()).entered();
                        crawl::walk(root, start, roots, &index_config, &pruned, 2, &walk_tx)?;
                    }
                    Ok(())
                })
                .map_err(spawn_error)?;
            let classify_out = out_tx.clone();
            let owner_budget = applier.owner_budget;
            let classifier = std::thread::Builder::new()
                .name("fandex-classify".into())
                .spawn_scoped(s, move || {
                    bulk.enter();
                    classify_all(
                        catalog,
                        roots,
                        walk_rx,
                        job_tx,
                        classify_out,
                        progress,
                        owner_budget,
                    )
                })
                .map_err(spawn_error)?;
            let extract_out = out_tx;
            let limits_ref = &limits;
            std::thread::Builder::new()
                .name("fandex-extract".into())
                .spawn_scoped(s, move || {
                    bulk.enter();
                    bulk.install(|| {
                        job_rx
                            .into_iter()
                            .par_bridge()
                            .for_each_with(extract_out, |tx, job| {
                                let _ = tx.send(run_extract(job, roots, limits_ref, progress));
                            });
                    });
                })
                .map_err(spawn_error)?;
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
