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
//! the stages hand each other, `record` builds catalog records from metadata, `roots` checks roots,
//! `summary` reports, `offline` finds the roots whose filesystem is not there (not walked, records kept)
//! and `volumes` rewrites older catalogs' records to volume keys (files are known by
//! their filesystem's volume and inode, which survive a remount, not by `st_dev`).

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Instant, SystemTime};

use tracing::{info, warn};

use crate::catalog::{Catalog, CatalogBatch, FileRecord, Owner, Status};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::extract::DocumentParser;
use crate::fileio::RootSet;
use crate::layout::{IndexDir, WriterLock};
use crate::rebuild::{self, Rebuild};
use crate::text_index::TextIndex;
use apply::{Applier, Count};
use bulk::Bulk;
use pipeline::{COMMIT_EVERY_OPS, Walk, walk_and_apply};
use read::reading_of;
use roots::minimal_roots;

mod apply;
mod bulk;
mod classify;
mod document;
mod folder;
mod job;
mod live;
mod offline;
mod pipeline;
mod read;
mod record;
mod roots;
mod summary;
#[cfg(test)]
mod tests;
mod volumes;

pub use document::is_document;
pub use roots::canonical_root;
pub use summary::{
    BatchStages, OfflineRoot, Progress, RETRY_LIST_MAX, Summary, WALK_ERRORS_MAX, human_bytes,
};

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
        let languages = config
            .index
            .stem_languages()
            .map_err(|message| Error::Config {
                path: PathBuf::from("index.languages"),
                message,
            })?;
        match dir.format()? {
            Some(found) if found != fandex_schema::SCHEMA_VERSION => rebuild::begin(&dir, found)?,
            Some(found) if rebuild::languages_changed(&dir, &languages)? => {
                rebuild::begin(&dir, found)?;
            }
            _ => {}
        }
        let marker = rebuild::read_marker(&dir)?;
        let catalog = Self::open_catalog(&dir)?;
        let index = TextIndex::open_or_create_for(&dir.tantivy_dir(), &languages)?;
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
        if !engine.catalog.volumes_keyed()? {
            engine.key_records_by_volume()?;
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
            // `dev` is `st_dev` in a catalog this old, unless it was already keyed by volume.
            let same_dev = rec.dev == meta.dev() || rec.dev == roots.volume_key(rec.path(), &meta);
            if meta.ino() != rec.ino || !same_dev {
                continue;
            }
            let text_bytes: u64 = self
                .index
                .get_file(id)?
                .iter()
                .map(|(doc, _)| doc.text.len() as u64)
                .sum();
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
            reading: reading_of(&self.config, self.parser.as_ref()),
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
        // A known root whose filesystem is not there is not walked: its records stay (see `offline`).
        let known_walked: Vec<PathBuf> = walk_roots
            .iter()
            .filter(|r| known.contains(r))
            .cloned()
            .collect();
        let offline = self.offline_among(&known_walked)?;
        for root in &offline {
            // Said once, here: the daemon asks which roots are offline at start, then runs this update.
            tracing::warn!(root = %root.root, reason = %root.reason, "root offline: not walked, its records are kept");
        }
        let walk_roots: Vec<PathBuf> = walk_roots
            .into_iter()
            .filter(|r| !offline.iter().any(|o| &o.path == r))
            .collect();
        let mut summary = Summary {
            roots_walked: walk_roots.len() as u64,
            offline_roots: offline,
            ..Summary::default()
        };
        let mut batch = CatalogBatch::default();
        batch.set_roots(&roots);
        Self::record_root_volumes(&walk_roots, SystemTime::now(), &mut batch);
        // Forget roots no longer covered.
        for gone in &forgotten {
            batch.remove_root_volume(gone);
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
        let walk = Walk {
            pruned: vec![
                std::fs::canonicalize(self.dir.path()).unwrap_or(self.dir.path().to_owned()),
            ],
            index_config: self.config.index.clone(),
            bulk: self.bulk.clone(),
        };
        let (claimed, error_dirs) =
            walk_and_apply(self.applier(), walk, scopes, &mut batch, summary, progress)?;
        self.commit(batch)?;
        if progress.interrupt.load(Ordering::Relaxed) {
            // Files the walk did not reach are not gone: nothing is removed.
            return Err(Error::Interrupted);
        }
        // Whatever the walk did not find is gone (unless it sits below a directory we could not read).
        let mut removals = CatalogBatch::default();
        let mut applier = self.applier();
        let catalog = applier.catalog;
        for (_, start) in scopes {
            // The path keys alone say what was not found; only those records are read.
            let gone = catalog.ids_under_except(start, |path, id| {
                claimed.contains(&id) || error_dirs.iter().any(|d| path.starts_with(d))
            })?;
            for id in gone {
                if let Some(rec) = catalog.get(id)? {
                    applier.remove(id, &rec, &mut removals, summary, Count::Removed);
                }
            }
        }
        if !removals.is_empty() {
            self.commit(removals)?;
        }
        Ok(())
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
