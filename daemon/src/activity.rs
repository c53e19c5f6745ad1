//! What the daemon's threads record as they work: its life-cycle state, totals, the last commit and the
//! last errors. The status report ([`crate::status`]) is assembled from it.

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

/// Now as RFC 3339.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}
