//! Applying live changes: the daemon's path into the engine.
//!
//! A batch from the [`crate::coalesce::Coalescer`] is applied in order: barriers (removes, moves, rescans)
//! one by one, then refreshes of final names, classified exactly like the crawl classifies walked files and
//! extracted in parallel. Moves rewrite paths from the stored text and never read the file. Work that
//! depends on changes not yet committed (a move of something moved or created in the same batch) commits
//! first, so every lookup sees the state it depends on.

use std::collections::HashSet;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use fandex_watcher::rebase;
use rayon::iter::{IntoParallelIterator, ParallelIterator};
use tracing::{debug, info_span};

use super::Engine;
use super::apply::Count;
use super::classify::{Plan, classify};
use super::folder::classify_folder;
use super::job::{ExtractJob, Outcome};
use super::read::run_extract;
use super::record::{ctime_ns, mtime_ns, set_owner_uid};
use super::roots::minimal_roots;
use super::summary::{BatchStages, Progress, Summary};
use crate::catalog::{CatalogBatch, FileRecord, Status};
use crate::coalesce::Work;
use crate::error::Result;
use crate::exclude::Exclusions;
use crate::fileio::{OpenError, RootSet};

/// Files extracted at once within a batch (bounds the texts held in memory).
const EXTRACT_CHUNK: usize = 64;

fn overlaps(a: &Path, b: &Path) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// State of one batch being applied.
struct Pending {
    batch: CatalogBatch,
    /// Paths whose records changed in `batch` (not yet visible to catalog lookups).
    dirty: Vec<PathBuf>,
    /// Scopes to walk at the end of the batch, in one pass.
    scans: Vec<PathBuf>,
}

impl Engine {
    /// Applies one batch of coalesced work and commits it. Returns what was done; `summary.seen` counts
    /// the refreshes looked at.
    pub fn apply_work(
        &mut self,
        work: Vec<Work>,
        exclusions: &Exclusions,
        progress: &Progress,
    ) -> Result<Summary> {
        let _span = info_span!("batch", items = work.len()).entered();
        let started = Instant::now();
        let mut summary = Summary::default();
        let mut pending = Pending {
            batch: CatalogBatch::default(),
            dirty: Vec::new(),
            scans: Vec::new(),
        };
        let mut refreshes = Vec::new();
        // The roots are open for this batch only (never pinned for the daemon's lifetime).
        let roots = RootSet::open(&self.roots);
        for item in work {
            tracing::trace!(?item, "work");
            match item {
                Work::Refresh {
                    path,
                    content,
                    metadata_only,
                } => refreshes.push((path, content, metadata_only)),
                barrier => {
                    if !refreshes.is_empty() {
                        let group = std::mem::take(&mut refreshes);
                        self.refresh(
                            group,
                            &roots,
                            exclusions,
                            &mut pending,
                            &mut summary,
                            progress,
                        )?;
                    }
                    self.barrier(barrier, &roots, exclusions, &mut pending, &mut summary)?;
                }
            }
        }
        if !refreshes.is_empty() {
            self.refresh(
                refreshes,
                &roots,
                exclusions,
                &mut pending,
                &mut summary,
                progress,
            )?;
        }
        drop(roots);
        let scans = std::mem::take(&mut pending.scans);
        let committing = Instant::now();
        self.commit(pending.batch)?;
        let reload = self.index.last_reload();
        summary.stages = BatchStages {
            read: committing - started,
            commit: committing.elapsed().saturating_sub(reload),
            reload,
        };
        if !scans.is_empty() {
            self.rescan(&scans, exclusions, &mut summary, progress)?;
        }
        Ok(summary)
    }

    /// Commits what is pending when `paths` overlap it, so lookups of `paths` see it.
    fn settle(&mut self, pending: &mut Pending, paths: &[&Path]) -> Result<()> {
        let conflict = pending
            .dirty
            .iter()
            .any(|d| paths.iter().any(|p| overlaps(d, p)));
        if conflict {
            self.commit(std::mem::take(&mut pending.batch))?;
            pending.dirty.clear();
        }
        Ok(())
    }

    fn remove_under(
        &mut self,
        path: &Path,
        pending: &mut Pending,
        summary: &mut Summary,
    ) -> Result<()> {
        let records: Vec<(u64, FileRecord)> = self.catalog.under(path).collect::<Result<_>>()?;
        let mut applier = self.applier();
        for (id, rec) in records {
            applier.remove(id, &rec, &mut pending.batch, summary, Count::Removed);
        }
        pending.dirty.push(path.to_owned());
        Ok(())
    }

    fn barrier(
        &mut self,
        work: Work,
        roots: &RootSet,
        exclusions: &Exclusions,
        pending: &mut Pending,
        summary: &mut Summary,
    ) -> Result<()> {
        match work {
            Work::Refresh { .. } => Ok(()),
            Work::Remove { path } => {
                self.settle(pending, &[&path])?;
                self.remove_under(&path, pending, summary)
            }
            Work::Move { from, to } => {
                self.settle(pending, &[&from, &to])?;
                self.move_records(&from, &to, roots, exclusions, pending, summary)
            }
            Work::Rescan { scope, reason } => {
                debug!(scope = %scope.display(), %reason, "rescan");
                pending.scans.push(scope);
                Ok(())
            }
        }
    }

    /// Moves every record at or below `from` to the same place below `to`, rewriting paths from the
    /// stored text (the files are not read). Records already at `to` are replaced.
    fn move_records(
        &mut self,
        from: &Path,
        to: &Path,
        roots: &RootSet,
        exclusions: &Exclusions,
        pending: &mut Pending,
        summary: &mut Summary,
    ) -> Result<()> {
        let moving: Vec<(u64, FileRecord)> = self.catalog.under(from).collect::<Result<_>>()?;
        pending.dirty.push(from.to_owned());
        pending.dirty.push(to.to_owned());
        if moving.is_empty() {
            // Nothing known was there (an excluded or brand-new name, or an event older than a rescan
            // that already saw the result): reconcile the destination instead of trusting the event.
            pending.scans.push(to.to_owned());
            return Ok(());
        }
        let moving_ids: HashSet<u64> = moving.iter().map(|(id, _)| *id).collect();
        // Whatever had the destination name is replaced (an atomic save, or a directory moved over).
        let replaced: Vec<(u64, FileRecord)> = self.catalog.under(to).collect::<Result<_>>()?;
        let mut applier = self.applier();
        for (id, rec) in replaced {
            if !moving_ids.contains(&id) {
                applier.remove(id, &rec, &mut pending.batch, summary, Count::Removed);
            }
        }
        let is_dir = roots.lstat(to).is_ok_and(|m| m.is_dir());
        if exclusions.is_excluded(to, is_dir) {
            // Moved out of sight (into an excluded name or outside the roots): it leaves the index.
            for (id, rec) in moving {
                applier.remove(id, &rec, &mut pending.batch, summary, Count::Removed);
            }
            return Ok(());
        }
        let mut missing_docs = Vec::new();
        for (id, rec) in moving {
            let Some(new_path) = rebase(rec.path(), from, to) else {
                continue;
            };
            let meta = roots.lstat(&new_path).ok();
            if !applier.move_doc(
                id,
                &rec,
                &new_path,
                meta.as_ref(),
                &mut pending.batch,
                summary,
            )? {
                missing_docs.push(new_path);
            }
        }
        // Records without a document (an interrupted earlier commit): read those files after all.
        pending.scans.extend(missing_docs);
        if is_dir {
            // The catalog may know only part of a moved directory: a walk or refreshes of it that ran
            // while it was renamed found some files gone from the old name (and recorded nothing for
            // them), and no later event names them. Walk the destination so it converges to what is
            // there; files moved above are found unchanged and not read.
            pending.scans.push(to.to_owned());
        }
        Ok(())
    }

    /// Walks each scope again and reconciles it with the catalog, all in one pass (directories of lost
    /// events, overflowed roots, new directories). A scope that no longer exists, or is now excluded, is
    /// removed.
    pub fn rescan(
        &mut self,
        scopes: &[PathBuf],
        exclusions: &Exclusions,
        summary: &mut Summary,
        progress: &Progress,
    ) -> Result<()> {
        let minimal = minimal_roots(scopes.to_vec());
        let mut gone = Pending {
            batch: CatalogBatch::default(),
            dirty: Vec::new(),
            scans: Vec::new(),
        };
        let mut walk = Vec::new();
        let roots = RootSet::open(&self.roots);
        for scope in minimal {
            let Some(root) = exclusions.root_of(&scope).map(Path::to_owned) else {
                continue;
            };
            // A scope reached through a symlink (a directory swapped for one) is gone, like a missing one:
            // never walked, so nothing behind the symlink is listed under this scope's name.
            let meta = roots.lstat(&scope);
            let is_dir = meta.as_ref().is_ok_and(|m| m.is_dir());
            let vanished = match &meta {
                Ok(_) => false,
                // Descriptors or memory short: walk it anyway, the walk reports what it cannot read.
                Err(OpenError::Transient(_)) => false,
                Err(_) => true,
            };
            if vanished || exclusions.is_excluded(&scope, is_dir) {
                self.remove_under(&scope, &mut gone, summary)?;
            } else {
                walk.push((root, scope));
            }
        }
        drop(roots);
        if !gone.batch.is_empty() {
            self.commit(gone.batch)?;
        }
        if walk.is_empty() {
            return Ok(());
        }
        let mut part = Summary::default();
        self.reconcile(&walk, CatalogBatch::default(), &mut part, progress)?;
        debug!(scopes = ?walk, "rescanned: {part}");
        summary.add(&part);
        Ok(())
    }

    /// Classifies refreshed paths like walked files, extracts the changed ones in parallel, and applies
    /// the outcomes to the pending batch.
    fn refresh(
        &mut self,
        group: Vec<(PathBuf, Option<fandex_watcher::ContentFd>, bool)>,
        roots: &RootSet,
        exclusions: &Exclusions,
        pending: &mut Pending,
        summary: &mut Summary,
        progress: &Progress,
    ) -> Result<()> {
        let paths: Vec<&Path> = group.iter().map(|(p, _, _)| p.as_path()).collect();
        self.settle(pending, &paths)?;
        let mut claimed = HashSet::new();
        let mut jobs = Vec::new();
        let mut outcomes = Vec::new();
        for (path, content, metadata_only) in group {
            summary.seen += 1;
            let meta = match roots.lstat(&path) {
                Ok(meta) => meta,
                Err(OpenError::Transient(err)) => {
                    // Descriptors or memory short: look again later, keep what is recorded.
                    debug!(path = %path.display(), %err, "deferred");
                    summary.deferred += 1;
                    summary.note_retry(path);
                    continue;
                }
                Err(_) => {
                    // Gone again before we looked, or reached only through a symlink now (a directory
                    // swapped for one): whatever the catalog had there goes.
                    if let Some((id, rec)) =
                        self.catalog.get_by_path(path.as_os_str().as_bytes())?
                    {
                        self.applier().remove(
                            id,
                            &rec,
                            &mut pending.batch,
                            summary,
                            Count::Removed,
                        );
                        pending.dirty.push(path);
                    }
                    continue;
                }
            };
            if meta.is_dir() {
                // A directory's own change (chmod, chown, a rename of the directory itself arrives as a
                // move): its document is rewritten from its metadata. Roots are not documents.
                if self.roots.contains(&path) || exclusions.is_excluded(&path, true) {
                    continue;
                }
                if let Some(job) = classify_folder(&self.catalog, roots, &mut claimed, path, &meta)?
                {
                    outcomes.push(Outcome::Folder(job));
                }
                continue;
            }
            if !meta.is_file() || exclusions.is_excluded(&path, false) {
                if let Some((id, rec)) = self.catalog.get_by_path(path.as_os_str().as_bytes())? {
                    self.applier()
                        .remove(id, &rec, &mut pending.batch, summary, Count::Removed);
                }
                summary.skipped += 1;
                continue;
            }
            if metadata_only
                && let Some((id, rec)) = self.catalog.get_by_path(path.as_os_str().as_bytes())?
                && (rec.dev, rec.ino, rec.size, rec.mtime_ns)
                    == (
                        roots.volume_key(&path, &meta),
                        meta.ino(),
                        meta.size(),
                        mtime_ns(&meta),
                    )
                && rec.status != Status::Stale
                && !rec.racy
            {
                // chmod, chown, link count: the content is the same; only the record changes (a chown
                // moves the file's text to its new owner's share).
                let mut record = rec.clone();
                record.ctime_ns = ctime_ns(&meta);
                set_owner_uid(&mut record, &meta);
                pending.batch.put(id, &record, Some(&rec));
                summary.unchanged += 1;
                claimed.insert(id);
                continue;
            }
            let owner_budget = self.config.index.max_text_bytes_per_owner;
            match classify(
                &self.catalog,
                roots,
                &mut claimed,
                path,
                &meta,
                !metadata_only,
                owner_budget,
            )? {
                Plan::Unchanged => summary.unchanged += 1,
                Plan::Extract(mut job) => {
                    job.content = content;
                    jobs.push(job);
                }
                Plan::Move(job) => outcomes.push(Outcome::Move(job)),
            }
        }
        let mut applier = self.applier();
        let reading = applier.reading.clone();
        let mut apply = |outcome: Outcome, pending: &mut Pending| -> Result<()> {
            if let Outcome::Extracted { job, .. } | Outcome::Vanished(job) = &outcome {
                pending.dirty.push(job.path.clone());
            }
            if let Outcome::Move(job) = &outcome {
                pending.dirty.push(job.path.clone());
            }
            if let Outcome::Folder(job) = &outcome {
                pending.dirty.push(job.path.clone());
            }
            applier.apply(outcome, roots, &mut pending.batch, summary, progress)
        };
        for outcome in outcomes {
            apply(outcome, pending)?;
        }
        // Extract in chunks and apply each before the next, so a batch of 100,000 files never holds more
        // than a chunk of extracted texts.
        while !jobs.is_empty() {
            let chunk: Vec<ExtractJob> = jobs.drain(..jobs.len().min(EXTRACT_CHUNK)).collect();
            let extracted: Vec<Outcome> = chunk
                .into_par_iter()
                .map(|job| run_extract(job, roots, &reading, progress))
                .collect();
            for outcome in extracted {
                apply(outcome, pending)?;
            }
        }
        Ok(())
    }
}
