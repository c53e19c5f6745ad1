//! The apply stage: writes outcomes to the full-text index and the pending catalog batch, and commits
//! both under one generation. The batch update and the live path both remove and move files through it.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::Ordering;

use fandex_schema::{DocMeta, FileDoc};
use tracing::{debug, info, info_span};

use super::document::Reading;
use super::folder::folder_document;
use super::job::{ExtractJob, MoveJob, Outcome, Piece, same_content};
use super::read::run_extract;
use super::record::{ctime_ns, set_owner_uid};
use super::summary::{Progress, Summary};
use crate::catalog::{Catalog, CatalogBatch, FileRecord, OWNER_BUDGET_REACHED, Owner, Status};
use crate::error::Result;
use crate::fileio::{FileId, RootSet};
use crate::text_index::TextIndex;

/// The apply stage: owns write access to the index while a pipeline runs.
pub(super) struct Applier<'a> {
    pub(super) index: &'a mut TextIndex,
    pub(super) catalog: &'a Catalog,
    pub(super) generation: &'a mut u64,
    /// How files are read (a move whose document is missing reads the file after all).
    pub(super) reading: Reading,
    /// [`crate::config::IndexConfig::max_text_bytes_per_owner`].
    pub(super) owner_budget: u64,
}

/// Whether [`Applier::remove`] counts the removal in [`Summary::removed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Count {
    /// The file left the index: counted as removed.
    Removed,
    /// The path is counted otherwise (another file took its name, or it vanished while being read and
    /// counts as skipped): not counted again.
    AlreadyCounted,
}

impl Applier<'_> {
    /// Commits the index, then the catalog batch, under a new generation.
    pub(super) fn commit(&mut self, batch: CatalogBatch) -> Result<()> {
        let generation = *self.generation + 1;
        let _span = info_span!("commit", generation, ops = batch.len()).entered();
        self.index.commit(generation)?;
        self.catalog.apply(batch, generation)?;
        *self.generation = generation;
        Ok(())
    }

    /// Applies one outcome to the index and the pending catalog batch.
    pub(super) fn apply(
        &mut self,
        outcome: Outcome,
        roots: &RootSet,
        batch: &mut CatalogBatch,
        summary: &mut Summary,
        progress: &Progress,
    ) -> Result<()> {
        if matches!(
            outcome,
            Outcome::Unchanged
                | Outcome::Deferred(..)
                | Outcome::Vanished(_)
                | Outcome::Extracted { .. }
        ) {
            progress.done.fetch_add(1, Ordering::Relaxed);
        }
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
                self.remove_displaced(job.displaced, batch, summary);
                if let Some(old) = job.old {
                    self.remove(job.id, &old, batch, summary, Count::AlreadyCounted);
                }
            }
            Outcome::Extracted {
                job,
                record,
                pieces,
            } => {
                progress.indexed.fetch_add(1, Ordering::Relaxed);
                summary.indexed += 1;
                match (&record.error, record.status) {
                    (Some(error), Status::Failed) => {
                        summary.failed += 1;
                        info!(file = %job.path.display(), error_kind = "extract", "not indexed: {error}");
                    }
                    (Some(note), _) => {
                        debug!(file = %job.path.display(), "indexed, with something missing: {note}");
                    }
                    (None, _) => {}
                }
                self.remove_displaced(job.displaced, batch, summary);
                let (mut record, mut pieces) = (record, pieces);
                let same = job
                    .old
                    .as_ref()
                    .is_some_and(|old| same_content(old, &record));
                if same || pieces.is_empty() {
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
                if self.charge_owner(job.id, job.old.as_ref(), &mut record, &mut pieces, batch)? {
                    summary.over_budget += 1;
                }
                self.update_hard_links(job.id, &record, &pieces, roots, batch, summary)?;
                let docs = documents(job.id, &job.path, &record, pieces);
                self.index.upsert_file(job.id, &docs)?;
                batch.put(job.id, &record, job.old.as_ref());
            }
            Outcome::Move(MoveJob {
                id,
                old,
                path,
                meta,
                displaced,
            }) => {
                self.remove_displaced(displaced, batch, summary);
                if self.move_doc(id, &old, &path, Some(&meta), batch, summary)? {
                    progress.done.fetch_add(1, Ordering::Relaxed);
                } else {
                    // The document is missing (interrupted earlier): read the file after all.
                    let job = ExtractJob {
                        id,
                        path,
                        expected: FileId::of(&meta),
                        content: None,
                        old: Some(old),
                        displaced: None,
                    };
                    let outcome = run_extract(job, roots, &self.reading, progress);
                    return self.apply(outcome, roots, batch, summary, progress);
                }
            }
            Outcome::Folder(mut job) => {
                self.remove_displaced(job.displaced.take(), batch, summary);
                self.index.upsert_file(job.id, &[folder_document(&job)])?;
                batch.put(job.id, &job.record, job.old.as_ref());
                summary.folders += 1;
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
        pieces: &[Piece],
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
            if old.is_folder() {
                continue; // a directory's inode number, reused since: not another name of this file
            }
            let same_inode = roots.lstat(old.path()).is_ok_and(|m| {
                (roots.volume_key(old.path(), &m), m.ino()) == (record.dev, record.ino)
            });
            if old.path == record.path || !same_inode {
                continue;
            }
            let mut linked = record.clone();
            linked.path = old.path.clone();
            // Each name has documents holding the whole text: each is charged.
            let mut pieces = pieces.to_vec();
            if self.charge_owner(other, Some(&old), &mut linked, &mut pieces, batch)? {
                summary.over_budget += 1;
            }
            let docs = documents(other, old.path(), &linked, pieces);
            self.index.upsert_file(other, &docs)?;
            batch.put(other, &linked, Some(&old));
        }
        Ok(())
    }

    /// Charges the text of `pieces` (the file's and its parts') to the owner of `record` (replacing what
    /// record `id` held before). When it would take the owner past the budget, the text is dropped
    /// instead: the file and its parts are indexed by name and metadata only and its record says why.
    /// Returns whether the text was dropped.
    fn charge_owner(
        &self,
        id: u64,
        old: Option<&FileRecord>,
        record: &mut FileRecord,
        pieces: &mut [Piece],
        batch: &CatalogBatch,
    ) -> Result<bool> {
        let Some(owner) = record.owner else {
            return Ok(false);
        };
        let wanted: u64 = pieces.iter().map(|p| p.text.len() as u64).sum();
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
            for piece in pieces.iter_mut() {
                piece.text.clear();
            }
            record.status = Status::OverBudget;
            record.error = Some(OWNER_BUDGET_REACHED.to_owned());
            record.truncated = false;
        }
        record.owner = Some(Owner {
            uid: owner.uid,
            text_bytes: if dropped { 0 } else { wanted },
            dropped_bytes: if dropped { wanted } else { 0 },
        });
        Ok(dropped)
    }

    /// Takes file `id` out of the index: deletes its document and drops its record `rec` in `batch`.
    pub(super) fn remove(
        &mut self,
        id: u64,
        rec: &FileRecord,
        batch: &mut CatalogBatch,
        summary: &mut Summary,
        count: Count,
    ) {
        self.index.delete(id);
        batch.remove(id, rec);
        match count {
            Count::Removed if rec.is_folder() => summary.folders_removed += 1,
            Count::Removed => summary.removed += 1,
            Count::AlreadyCounted => {}
        }
    }

    /// Removes the record of another file that had a path before (see [`ExtractJob::displaced`]).
    fn remove_displaced(
        &mut self,
        displaced: Option<(u64, FileRecord)>,
        batch: &mut CatalogBatch,
        summary: &mut Summary,
    ) {
        if let Some((id, rec)) = displaced {
            self.remove(id, &rec, batch, summary, Count::AlreadyCounted);
        }
    }

    /// Moves file `id` (record `old`) and its documents (the file's and its parts') to `path`, rewriting
    /// the path from the stored text and metadata:
    /// the file is not read. `meta`, the file now at `path` when known, gives the record its status-change
    /// time and owner. Returns false, changing nothing, when the document is missing (an interrupted
    /// earlier commit): the caller has the file read instead.
    pub(super) fn move_doc(
        &mut self,
        id: u64,
        old: &FileRecord,
        path: &Path,
        meta: Option<&std::fs::Metadata>,
        batch: &mut CatalogBatch,
        summary: &mut Summary,
    ) -> Result<bool> {
        let mut record = old.clone();
        record.path = path.as_os_str().as_bytes().to_vec();
        if let Some(meta) = meta {
            record.ctime_ns = ctime_ns(meta);
            set_owner_uid(&mut record, meta);
        }
        let mut docs = self.index.get_file(id)?;
        if docs.is_empty() {
            return Ok(false);
        }
        for (doc, _) in &mut docs {
            doc.path = path.to_owned();
        }
        self.index.upsert_file(id, &docs)?;
        batch.put(id, &record, Some(old));
        if record.is_folder() {
            summary.folders += 1;
        } else {
            summary.moved += 1;
        }
        Ok(true)
    }
}

/// The documents of file `id` at `path`: one per piece, with the file's size and mtime from `record`.
fn documents(
    id: u64,
    path: &Path,
    record: &FileRecord,
    pieces: Vec<Piece>,
) -> Vec<(FileDoc, DocMeta)> {
    pieces
        .into_iter()
        .map(|piece| {
            let doc = FileDoc {
                file_id: id,
                path: path.to_owned(),
                size: record.size,
                mtime_ns: record.mtime_ns,
                text: piece.text,
            };
            (doc, piece.meta)
        })
        .collect()
}
