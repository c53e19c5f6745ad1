//! What the daemon is doing and why: the status report, its assembly from the daemon's parts, and what
//! of it a caller who does not own the index may see.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use fandex_indexer::IndexDir;
use fandex_indexer::catalog::{Catalog, Status as RecordStatus};
use fandex_watcher::Change;
use serde::Serialize;

use crate::activity::Shared;
pub use crate::activity::{CommitInfo, Failure, State, Totals};
use crate::lock::lock;
use crate::options::Settings;
use crate::queue::{EVENT_CHANNEL, WorkQueue};
use crate::roots::{OfflineRoot, RootWatch};

/// Failing files listed by `status`.
pub const RECENT_FAILURES: usize = 20;

/// The status report (`fandex status --json`) as the index's owner sees it; other callers get
/// [`PublicStatus`] (see [`StatusReport::redacted_for`]).
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// Life-cycle state.
    pub state: State,
    /// The daemon's version.
    pub version: String,
    /// Process id.
    pub pid: u32,
    /// Seconds since start.
    pub uptime_seconds: u64,
    /// The index directory.
    pub index_dir: String,
    /// The roots watched.
    pub roots: Vec<String>,
    /// Roots whose filesystem is not there (unmounted, or the directory vanished), since when and why:
    /// their files are hidden from searches and never walked until it returns.
    pub offline_roots: Vec<OfflineRoot>,
    /// Kernel interfaces chosen per filesystem and why, counters, degraded state.
    pub watcher: Option<fandex_watcher::WatchStatus>,
    /// Documents searchable now.
    pub documents: u64,
    /// Catalog records and failures.
    pub catalog: CatalogStats,
    /// Queue depths.
    pub queue: QueueDepths,
    /// The last commit.
    pub last_commit: Option<CommitInfo>,
    /// How long the start-up reconcile took.
    pub reconcile_seconds: Option<f64>,
    /// What the start-up reconcile did (files read, moved, removed while no daemon ran).
    pub reconcile: Option<fandex_indexer::Summary>,
    /// Totals since start.
    pub totals: Totals,
    /// The last error, if any.
    pub last_error: Option<String>,
    /// Paths the walks could not read since start (the newest few), with the reason.
    pub walk_errors: Vec<Failure>,
    /// Resident memory.
    pub rss_bytes: Option<u64>,
}

/// Queue depths.
#[derive(Debug, Clone, Serialize)]
pub struct QueueDepths {
    /// Events waiting between the watcher and the intake.
    pub events: usize,
    /// Capacity of that channel.
    pub events_capacity: usize,
    /// Coalesced work items waiting for the next batch.
    pub pending: usize,
    /// Event descriptors held by pending work.
    pub pending_fds: usize,
}

/// Catalog figures, recomputed at most every few seconds (they need a scan).
#[derive(Debug, Clone, Default, Serialize)]
pub struct CatalogStats {
    /// Records in the catalog.
    pub records: u64,
    /// Records whose file failed to read or extract.
    pub failed: u64,
    /// The most recently modified of those files (at most [`RECENT_FAILURES`]), newest first.
    pub recent_failures: Vec<Failure>,
    /// Owners whose text budget (`index.max_text_bytes_per_owner`) was reached, by uid. A caller who
    /// is not the index owner sees only their own entry.
    pub owners_over_budget: Vec<OwnerOverBudget>,
}

/// An owner whose text budget was reached: further files of theirs are indexed by name only.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OwnerOverBudget {
    /// The owner.
    pub uid: u32,
    /// Text bytes indexed for their files.
    pub text_bytes: u64,
    /// The budget.
    pub budget: u64,
    /// Their files indexed by name only because of it.
    pub files_without_text: u64,
}

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
    /// Catalog figures, recomputed at most every few seconds (they need a scan).
    pub(crate) catalog_stats: Mutex<Option<(Instant, CatalogStats)>>,
}

impl StatusSource {
    /// The report now.
    pub(crate) fn report(&self) -> StatusReport {
        let shared = lock(&self.board).clone_view();
        let (pending, pending_fds) = {
            let q = self.queue.lock();
            (q.coalescer.len(), q.coalescer.fds_held())
        };
        StatusReport {
            state: shared.state,
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
            watcher: self.roots.watcher_status(),
            documents: self.reader.searcher().num_docs(),
            catalog: self.catalog_stats(),
            queue: QueueDepths {
                events: self.events.len(),
                events_capacity: EVENT_CHANNEL,
                pending,
                pending_fds,
            },
            last_commit: shared.last_commit,
            reconcile_seconds: shared.reconcile_seconds,
            reconcile: shared.reconcile,
            totals: shared.totals,
            last_error: shared.last_error,
            walk_errors: shared.walk_errors.into_iter().collect(),
            rss_bytes: rss_bytes(),
        }
    }

    fn catalog_stats(&self) -> CatalogStats {
        let mut cache = lock(&self.catalog_stats);
        if let Some((at, stats)) = cache.as_ref()
            && at.elapsed() < Duration::from_secs(5)
        {
            return stats.clone();
        }
        let mut stats = CatalogStats::default();
        // The most recently modified failing files, newest first: trimmed as they come, so memory stays
        // bounded however many records failed.
        let mut newest: Vec<(i64, u64, Failure)> = Vec::new();
        let keep_newest = |v: &mut Vec<(i64, u64, Failure)>| {
            v.sort_by_key(|f| std::cmp::Reverse((f.0, f.1)));
            v.truncate(RECENT_FAILURES);
        };
        let mut without_text: BTreeMap<u32, u64> = BTreeMap::new();
        for (id, rec) in self.catalog.iter().flatten() {
            stats.records += 1;
            if rec.status == RecordStatus::OverBudget
                && let Some(owner) = rec.owner
            {
                *without_text.entry(owner.uid).or_insert(0) += 1;
            }
            if rec.status == RecordStatus::Failed {
                stats.failed += 1;
                newest.push((
                    rec.mtime_ns,
                    id,
                    Failure {
                        path: rec.path().display().to_string(),
                        error: rec.error.clone().unwrap_or_default(),
                    },
                ));
                if newest.len() >= 2 * RECENT_FAILURES {
                    keep_newest(&mut newest);
                }
            }
        }
        keep_newest(&mut newest);
        stats.recent_failures = newest.into_iter().map(|(_, _, f)| f).collect();
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
        *cache = Some((Instant::now(), stats.clone()));
        stats
    }
}

/// Resident memory of this process in bytes (from `/proc/self/statm`).
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf has no preconditions; it only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * u64::try_from(page).ok()?)
}

/// What the status of the daemon's watcher tells a caller who does not own the index: which kernel
/// interfaces are in use, and whether part of the tree is unwatched, without roots, devices or counts.
#[derive(Debug, Clone, Serialize)]
pub struct PublicWatcher {
    /// One entry per watched filesystem: the sources chosen for it.
    pub filesystems: Vec<PublicFilesystem>,
    /// Whether part of the tree is not watched (periodic rescans cover it).
    pub degraded: bool,
}

/// The sources chosen for one watched filesystem.
#[derive(Debug, Clone, Serialize)]
pub struct PublicFilesystem {
    /// Where content events come from.
    pub content: fandex_watcher::Source,
    /// Where namespace events come from.
    pub namespace: fandex_watcher::Source,
}

/// The status report for a caller who is neither root nor the daemon's own user. Nothing in it depends
/// on files: no paths or names, no counts of documents, records, failures or queued work, no pid, no
/// timings of work. Its fields keep the names and places they have in the full report, so one reader
/// prints both.
#[derive(Debug, Clone, Serialize)]
pub struct PublicStatus {
    /// Life-cycle state.
    pub state: State,
    /// The daemon's version.
    pub version: String,
    /// Seconds since start.
    pub uptime_seconds: u64,
    /// Kernel interfaces in use and whether the watcher is degraded.
    pub watcher: Option<PublicWatcher>,
    /// The caller's own text budget, when reached.
    pub catalog: PublicCatalog,
    /// Always `true`: the rest of the report is shown only to root and the daemon's own user.
    pub redacted: bool,
}

/// What a caller who does not own the index learns from the catalog: about their own files only.
#[derive(Debug, Clone, Serialize)]
pub struct PublicCatalog {
    /// The caller's own entry, if their text budget was reached (at most one).
    pub owners_over_budget: Vec<OwnerOverBudget>,
}

/// The status report as one caller may see it.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum CallerStatus {
    /// Root or the daemon's own user: everything.
    Owner(Box<StatusReport>),
    /// Anyone else.
    Public(PublicStatus),
}

impl StatusReport {
    /// The report as `caller` may see it: all of it for the index's owner (root, or the user the daemon
    /// runs as), [`PublicStatus`] for anyone else. The one place where status fields are redacted.
    pub fn redacted_for(self, caller: &crate::access::Peer) -> CallerStatus {
        if caller.is_owner() {
            CallerStatus::Owner(Box::new(self))
        } else {
            CallerStatus::Public(self.public(caller.uid))
        }
    }

    /// The fields a caller `uid` who does not own the index gets. Every field is named here, so a field
    /// added to the report does not compile until it is classified: kept (it depends on no file, or only
    /// on the caller's own), or dropped (it names files, counts them, or measures work done on them).
    pub fn public(&self, uid: u32) -> PublicStatus {
        let Self {
            // Kept: the daemon's own life cycle.
            state,
            version,
            uptime_seconds,
            watcher,
            // Dropped: the pid lets a caller predict names the daemon creates in the roots.
            pid: _,
            // Dropped: paths.
            index_dir: _,
            roots: _,
            offline_roots: _,
            walk_errors: _,
            last_error: _,
            // Dropped: counts of documents, records, failures (with their paths) and queued work; of the
            // catalog, only the caller's own budget entry is kept (below).
            documents: _,
            catalog,
            queue: _,
            // Dropped: the commit generation and batch sizes move with every commit of anyone's files.
            last_commit: _,
            // Dropped: counts and timings of work on files, rescan reasons (some name paths).
            reconcile_seconds: _,
            reconcile: _,
            totals: _,
            // Dropped: memory grows with the index.
            rss_bytes: _,
        } = self;
        let CatalogStats {
            // Kept: the caller's own entry; other owners' entries would tell whose files exist.
            owners_over_budget,
            records: _,
            failed: _,
            recent_failures: _,
        } = catalog;
        PublicStatus {
            state: *state,
            version: version.clone(),
            uptime_seconds: *uptime_seconds,
            watcher: watcher.as_ref().map(|w| {
                let fandex_watcher::WatchStatus {
                    filesystems,
                    degraded,
                    // Dropped: it counts unwatched subtrees.
                    degraded_reason: _,
                    // Dropped: event and rescan counts follow activity on every file.
                    counters: _,
                } = w;
                PublicWatcher {
                    filesystems: filesystems
                        .iter()
                        .map(|fs| {
                            let fandex_watcher::FilesystemStatus {
                                content,
                                namespace,
                                // Dropped: roots are paths; the device and the reason say where they are.
                                roots: _,
                                dev: _,
                                reason: _,
                            } = fs;
                            PublicFilesystem {
                                content: *content,
                                namespace: *namespace,
                            }
                        })
                        .collect(),
                    degraded: *degraded,
                }
            }),
            catalog: PublicCatalog {
                owners_over_budget: owners_over_budget
                    .iter()
                    .filter(|o| o.uid == uid)
                    .cloned()
                    .collect(),
            },
            redacted: true,
        }
    }
}
