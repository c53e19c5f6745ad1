//! What the daemon is doing and why: the status report, its assembly from the daemon's parts, and what
//! of it a caller who does not own the index may see.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use fandex_indexer::IndexDir;
use fandex_indexer::catalog::{Catalog, Status as RecordStatus};
pub use fandex_query::protocol::status::{
    CatalogStats, OwnerOverBudget, QueueDepths, StatusReport,
};
use fandex_query::protocol::status::{
    FilesystemReport, RebuildProgress, Source, UpdateCounts, WatcherCounters, WatcherReport,
    WorkKind, WorkProgress,
};
use fandex_watcher::Change;

use crate::activity::{CurrentWork, Shared};
use crate::failures::FailureTally;
pub use crate::failures::RECENT_FAILURES;
use crate::lock::lock;
use crate::options::Settings;
use crate::queue::{EVENT_CHANNEL, WorkQueue};
use crate::roots::RootWatch;

/// What the report is assembled from: handles on the daemon's parts, read when a report is asked for.
pub(crate) struct StatusSource {
    pub(crate) dir: IndexDir,
    pub(crate) board: Arc<Mutex<Shared>>,
    pub(crate) queue: Arc<WorkQueue>,
    pub(crate) events: Receiver<Change>,
    pub(crate) roots: Arc<RootWatch>,
    pub(crate) reader: tantivy::IndexReader,
    pub(crate) catalog: Catalog,
    pub(crate) settings: Arc<Settings>,
    /// Catalog figures with the catalog generation they were counted at: reused for a few seconds while
    /// no commit changed the catalog, else counted again (a scan).
    pub(crate) catalog_stats: Mutex<Option<(Instant, u64, CatalogStats)>>,
}

impl StatusSource {
    /// The report now.
    pub(crate) fn report(&self) -> StatusReport {
        let shared = lock(&self.board).clone_view();
        let (pending, pending_fds, paused, on_battery) = {
            let q = self.queue.lock();
            let pending = q.coalescer.len();
            (
                pending,
                q.coalescer.fds_held(),
                q.pause.report(pending),
                q.pause.on_battery(),
            )
        };
        StatusReport {
            state: shared.state,
            rebuild: shared
                .rebuild
                .as_ref()
                .map(|(rebuild, progress)| RebuildProgress {
                    from: rebuild.from,
                    to: rebuild.to,
                    files_done: progress.indexed.load(Ordering::Relaxed),
                    files_seen: progress.seen.load(Ordering::Relaxed),
                }),
            progress: shared.work.as_ref().map(work_progress),
            recent_changes: shared.recent.iter().cloned().collect(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            pid: std::process::id(),
            uptime_seconds: shared.started.elapsed().as_secs(),
            index_dir: self.dir.path().display().to_string(),
            roots: shared
                .roots
                .iter()
                .map(|r| r.display().to_string())
                .collect(),
            offline_roots: self.roots.report(),
            watcher: self
                .roots
                .watcher_status()
                .map(|w| watcher_report(w, self.settings.config().watch.poll_interval)),
            documents: {
                let searcher = self.reader.searcher();
                fandex_indexer::schema::chunks::file_documents(&searcher)
                    .unwrap_or_else(|_| searcher.num_docs())
            },
            catalog: self.catalog_stats(),
            queue: QueueDepths {
                events: self.events.len(),
                events_capacity: EVENT_CHANNEL,
                pending,
                pending_fds,
            },
            last_commit: shared.last_commit,
            reconcile_seconds: shared.reconcile_seconds,
            reconcile: shared.reconcile.as_ref().map(update_counts),
            totals: shared.totals,
            last_error: shared.last_error,
            walk_errors: shared.walk_errors.into_iter().collect(),
            rss_bytes: rss_bytes(),
            paused,
            on_battery,
            latency: Some(shared.latency),
        }
    }

    fn catalog_stats(&self) -> CatalogStats {
        let mut cache = lock(&self.catalog_stats);
        let generation = self.catalog.generation().unwrap_or(0);
        if let Some((at, counted_at, stats)) = cache.as_ref()
            && *counted_at == generation
            && at.elapsed() < Duration::from_secs(5)
        {
            return stats.clone();
        }
        let mut stats = CatalogStats::default();
        let mut failures = FailureTally::default();
        let mut without_text: BTreeMap<u32, u64> = BTreeMap::new();
        for (id, rec) in self.catalog.iter().flatten() {
            if rec.is_folder() {
                stats.folders += 1;
                continue;
            }
            stats.records += 1;
            if rec.status == RecordStatus::OverBudget
                && let Some(owner) = rec.owner
            {
                *without_text.entry(owner.uid).or_insert(0) += 1;
            }
            failures.add(id, &rec);
        }
        failures.finish_into(&mut stats);
        let budget = self.settings.config().index.max_text_bytes_per_owner;
        let totals = self.catalog.owner_totals().unwrap_or_default();
        let mut uids: Vec<u32> = without_text.keys().copied().collect();
        if budget > 0 {
            uids.extend(
                totals
                    .iter()
                    .filter(|(_, t)| **t >= budget)
                    .map(|(u, _)| *u),
            );
        }
        uids.sort_unstable();
        uids.dedup();
        stats.owners_over_budget = uids
            .into_iter()
            .map(|uid| OwnerOverBudget {
                uid,
                text_bytes: totals.get(&uid).copied().unwrap_or(0),
                budget,
                files_without_text: without_text.get(&uid).copied().unwrap_or(0),
            })
            .collect();
        *cache = Some((Instant::now(), generation, stats.clone()));
        stats
    }
}

/// The progress of the work in hand: its total is known from the start for a batch of changes, and
/// once the walks are over for a rescan or a rebuild.
fn work_progress(work: &CurrentWork) -> WorkProgress {
    let p = &work.progress;
    let seen = p.seen.load(Ordering::Relaxed);
    let done = p.done.load(Ordering::Relaxed);
    let total = match work.kind {
        WorkKind::Changes => Some(work.items),
        WorkKind::Rescan | WorkKind::Rebuild => p
            .walked
            .load(Ordering::Relaxed)
            .then_some(work.items + seen),
    };
    WorkProgress::new(
        work.kind,
        seen,
        done,
        total.map(|t| t.max(done)),
        p.bytes.load(Ordering::Relaxed),
        work.started.elapsed().as_secs_f64(),
    )
}

/// Resident memory of this process in bytes (from `/proc/self/statm`).
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions; it only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

/// The watcher's state as the report carries it.
fn watcher_report(status: fandex_watcher::WatchStatus, poll_interval: Duration) -> WatcherReport {
    let source = |s: fandex_watcher::Source| match s {
        fandex_watcher::Source::Fanotify => Source::Fanotify,
        fandex_watcher::Source::Inotify => Source::Inotify,
    };
    WatcherReport {
        filesystems: status
            .filesystems
            .into_iter()
            .map(|fs| FilesystemReport {
                roots: fs.roots.iter().map(|r| r.display().to_string()).collect(),
                dev: fs.dev,
                poll_interval_seconds: fs.polled.map(|_| poll_interval.as_secs()),
                remote: fs.polled.map(str::to_owned),
                volume: fs.volume,
                content: source(fs.content),
                namespace: source(fs.namespace),
                reason: fs.reason,
            })
            .collect(),
        degraded: status.degraded,
        degraded_reason: status.degraded_reason,
        counters: WatcherCounters {
            events: status.counters.events,
            rescans: status.counters.rescans,
            dropped_own: status.counters.dropped_own,
            dropped_outside: status.counters.dropped_outside,
            inotify_watches: status.counters.inotify_watches,
        },
    }
}

/// What an update did, as the report carries it.
fn update_counts(summary: &fandex_indexer::Summary) -> UpdateCounts {
    let fandex_indexer::Summary {
        seen,
        indexed,
        unchanged,
        moved,
        skipped,
        failed,
        deferred,
        over_budget,
        removed,
        folders,
        folders_removed,
        bytes,
        seconds,
        // Not reported: the daemon retries these paths itself; walk errors are listed on their own.
        retry: _,
        walk_errors: _,
        // Not reported here: offline roots are listed on their own (`offline_roots`).
        roots_walked: _,
        offline_roots: _,
        stages: _,
    } = summary;
    UpdateCounts {
        seen: *seen,
        indexed: *indexed,
        unchanged: *unchanged,
        moved: *moved,
        skipped: *skipped,
        failed: *failed,
        deferred: *deferred,
        over_budget: *over_budget,
        removed: *removed,
        folders: *folders,
        folders_removed: *folders_removed,
        bytes: *bytes,
        seconds: *seconds,
    }
}
