//! The walk of a full update: walk -> classify -> extract threads feeding the apply stage on the caller's
//! thread, which commits periodically. Bulk work: its threads run where [`Bulk`] says (idle priority when
//! the daemon asks).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;
use rayon::iter::{ParallelBridge, ParallelIterator};
use tracing::info_span;

use super::apply::Applier;
use super::bulk::Bulk;
use super::classify::classify_all;
use super::job::{ExtractJob, Outcome};
use super::read::run_extract;
use super::roots::minimal_roots;
use super::summary::{Progress, Summary};
use crate::catalog::CatalogBatch;
use crate::config::IndexConfig;
use crate::crawl::{self, WalkItem};
use crate::error::{Error, Result};
use crate::fileio::RootSet;

/// A batch is committed once it holds this many operations...
pub(super) const COMMIT_EVERY_OPS: usize = 5_000;
/// ...or this long after the previous commit.
const COMMIT_EVERY: Duration = Duration::from_secs(10);

/// What a walk needs from the engine besides its applier.
pub(super) struct Walk {
    /// Directories never walked (the index's own).
    pub(super) pruned: Vec<PathBuf>,
    /// The `[index]` settings the walk and classification follow.
    pub(super) index_config: IndexConfig,
    /// Where the walk's threads run.
    pub(super) bulk: Bulk,
}

/// Runs the walk -> classify -> extract pipeline and applies outcomes as they arrive, committing
/// periodically. Returns the ids found and the directories the walk could not read.
pub(super) fn walk_and_apply(
    mut applier: Applier<'_>,
    walk: Walk,
    scopes: &[(PathBuf, PathBuf)],
    batch: &mut CatalogBatch,
    summary: &mut Summary,
    progress: &Progress,
) -> Result<(HashSet<u64>, Vec<PathBuf>)> {
    let Walk {
        pruned,
        index_config,
        bulk,
    } = walk;
    let (walk_tx, walk_rx) = bounded::<WalkItem>(1024);
    let (job_tx, job_rx) = bounded::<ExtractJob>(64);
    let (out_tx, out_rx) = bounded::<Outcome>(64);
    let catalog = applier.catalog;
    let reading = applier.reading.clone();
    let mut last_commit = Instant::now();
    // The roots are open for this walk only (never pinned for the daemon's lifetime).
    let root_paths: Vec<PathBuf> = minimal_roots(scopes.iter().map(|(r, _)| r.clone()).collect());
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
                progress.walked.store(true, Ordering::Relaxed);
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
        let reading_ref = &reading;
        std::thread::Builder::new()
            .name("fandex-extract".into())
            .spawn_scoped(s, move || {
                bulk.enter();
                bulk.install(|| {
                    job_rx
                        .into_iter()
                        .par_bridge()
                        .for_each_with(extract_out, |tx, job| {
                            let _ = tx.send(run_extract(job, roots, reading_ref, progress));
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
