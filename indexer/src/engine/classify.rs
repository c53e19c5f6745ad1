//! The classify stage: compares each file's `lstat` with its catalog record and plans the work. Unchanged
//! files cost nothing; a known inode found at a new path whose old path no longer holds it is a rename
//! (only its path changes); everything else is read.

use std::collections::HashSet;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use crossbeam_channel::{Receiver, Sender};
use tracing::{debug, warn};

use super::folder::classify_folder;
use super::job::{ExtractJob, MoveJob, Outcome};
use super::record::{ctime_ns, mtime_ns};
use super::summary::Progress;
use crate::catalog::{Catalog, FileRecord, Status};
use crate::crawl::WalkItem;
use crate::error::Result;
use crate::fileio::{FileId, RootSet};

/// The per-file work the classifier hands on.
pub(super) enum Plan {
    /// Unchanged: nothing to do.
    Unchanged,
    /// Read and index the file under `id`.
    Extract(ExtractJob),
    /// Known content at a new path: rewrite the path only.
    Move(MoveJob),
}

/// The classify stage: turns walk items into plans, claiming every catalog id it decides about so that no
/// id is used twice in one update.
pub(super) fn classify_all(
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
        if progress.interrupt.load(Ordering::Relaxed) {
            // Dropping the walk's receiver ends the walk; files already sent to be read still are.
            break;
        }
        let sent = match item {
            WalkItem::Special { path, kind } => {
                debug!(path = %path.display(), kind, "skipped");
                out_tx.send(Outcome::Special).is_ok()
            }
            WalkItem::Error { path, message } => {
                match &path {
                    Some(p) => warn!(file = %p.display(), error_kind = "walk", "{message}"),
                    None => warn!(error_kind = "walk", "{message}"),
                }
                if let Some(path) = &path {
                    error_dirs.push(path.clone());
                }
                out_tx.send(Outcome::WalkError(path, message)).is_ok()
            }
            WalkItem::Folder { path, meta } => {
                match classify_folder(catalog, roots, &mut claimed, path, &meta)? {
                    Some(job) => out_tx.send(Outcome::Folder(job)).is_ok(),
                    None => true,
                }
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
pub(super) fn classify(
    catalog: &Catalog,
    roots: &RootSet,
    claimed: &mut HashSet<u64>,
    path: PathBuf,
    meta: &std::fs::Metadata,
    content_event: bool,
    owner_budget: u64,
) -> Result<Plan> {
    // Files are known by the volume of their filesystem (which survives a remount), not by `st_dev`.
    let (dev, ino) = (roots.volume_key(&path, meta), meta.ino());
    let mut displaced = None;
    if let Some((id, rec)) = catalog.get_by_path(path.as_os_str().as_bytes())?
        && !claimed.contains(&id)
    {
        if (rec.dev, rec.ino) == (dev, ino) && !rec.is_folder() {
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
        if rec.is_folder() {
            continue; // a directory's inode number, reused since by this file
        }
        let still_there = roots
            .lstat(rec.path())
            .map(|m| (roots.volume_key(rec.path(), &m), m.ino()) == (dev, ino))
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
