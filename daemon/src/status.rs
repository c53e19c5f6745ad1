//! What the daemon is doing and why: the status report and the counters behind it.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use serde::Serialize;

/// The daemon's life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Opening the index and starting the watcher.
    Starting,
    /// Walking the roots to pick up what changed while it was down.
    Reconciling,
    /// Watching and indexing changes as they happen.
    Watching,
    /// Finishing the last batch.
    Stopping,
    /// The index was lost (its directory removed or replaced): stopping with an error.
    Failed,
}

/// The last commit.
#[derive(Debug, Clone, Serialize)]
pub struct CommitInfo {
    /// Its generation (shared by the catalog and the full-text index).
    pub generation: u64,
    /// When it happened (RFC 3339).
    pub at: String,
    /// Work items in the batch.
    pub items: usize,
    /// How long applying the batch took.
    pub millis: u64,
}

/// A failure worth showing.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// The file (lossy UTF-8).
    pub path: String,
    /// What went wrong.
    pub error: String,
}

/// Walk errors `status` shows.
pub const WALK_ERRORS_SHOWN: usize = 20;

impl Shared {
    /// Remembers the walk errors of an update (the newest [`WALK_ERRORS_SHOWN`]).
    pub fn note_walk_errors(&mut self, summary: &fandex_indexer::Summary) {
        for (path, error) in &summary.walk_errors {
            let path_text = path.display().to_string();
            // A path that failed again moves to the back (rescans walk it again).
            self.walk_errors.retain(|f| f.path != path_text);
            if self.walk_errors.len() == WALK_ERRORS_SHOWN {
                self.walk_errors.pop_front();
            }
            self.walk_errors.push_back(Failure {
                path: path_text,
                error: error.clone(),
            });
        }
    }
}

/// Totals since the daemon started.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    /// Batches applied.
    pub batches: u64,
    /// Files read and indexed.
    pub indexed: u64,
    /// Files moved without reading.
    pub moved: u64,
    /// Records removed.
    pub removed: u64,
    /// Files that failed (unreadable or malformed).
    pub failed: u64,
    /// Files whose read was put off for want of system resources (descriptors, memory) and retried.
    pub deferred: u64,
    /// Rescans run, by kind of reason (the names of `fandex_indexer::coalesce::RescanKind`, a fixed set).
    pub rescans: BTreeMap<String, u64>,
    /// Rescans postponed by the backoff (no recrawl storms).
    pub rescans_deferred: u64,
    /// Times the pending queue grew too large and was collapsed into rescans.
    pub queue_collapses: u64,
}

/// Mutable state shared between the daemon's threads.
#[derive(Debug, Clone)]
pub struct Shared {
    pub state: State,
    pub started: Instant,
    pub roots: Vec<PathBuf>,
    pub totals: Totals,
    pub last_commit: Option<CommitInfo>,
    pub last_error: Option<String>,
    /// Paths the walks could not read (a directory it may not list, a path too long), newest last.
    pub walk_errors: VecDeque<Failure>,
    pub reconcile_seconds: Option<f64>,
    pub reconcile: Option<fandex_indexer::Summary>,
}

impl Default for Shared {
    fn default() -> Self {
        Self::new()
    }
}

impl Shared {
    /// A copy for building a report without holding the lock.
    pub fn clone_view(&self) -> Self {
        self.clone()
    }

    /// Fresh state.
    pub fn new() -> Self {
        Self {
            state: State::Starting,
            started: Instant::now(),
            roots: Vec::new(),
            totals: Totals::default(),
            last_commit: None,
            last_error: None,
            walk_errors: VecDeque::new(),
            reconcile_seconds: None,
            reconcile: None,
        }
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

/// Now as RFC 3339.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
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
    pub owners_over_budget: Vec<crate::OwnerOverBudget>,
}

/// The status report as one caller may see it.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum CallerStatus {
    /// Root or the daemon's own user: everything.
    Owner(Box<crate::StatusReport>),
    /// Anyone else.
    Public(PublicStatus),
}

impl crate::StatusReport {
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
        let crate::CatalogStats {
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
