//! What the daemon's threads record as they work: its life-cycle state, totals, the last commit and the
//! last errors. The status report ([`crate::status`]) is assembled from it.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use fandex_indexer::engine::Progress;
use fandex_indexer::rebuild::Rebuild;
use fandex_query::protocol::latency::LatencyReport;
pub use fandex_query::protocol::status::{
    ChangeKind, CommitInfo, Failure, RECENT_CHANGES, RecentChange, State, Totals, WorkKind,
};

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
    /// The rebuild of an index found in another format, while it runs, with the walk's live counters.
    pub rebuild: Option<(Rebuild, Arc<Progress>)>,
    /// The walk or batch the pipeline is working through now.
    pub work: Option<CurrentWork>,
    /// The newest changes applied, newest first (at most [`RECENT_CHANGES`]).
    pub recent: VecDeque<RecentChange>,
    /// Where live changes' time went since start, per stage (see `crate::latency`).
    pub latency: LatencyReport,
}

/// The walk or batch in hand, with its live counters.
#[derive(Debug, Clone)]
pub struct CurrentWork {
    /// What it is.
    pub kind: WorkKind,
    /// When it began.
    pub started: Instant,
    /// The counters the engine updates.
    pub progress: Arc<Progress>,
    /// Files named by the batch's changes (known from the start; walks add what they find).
    pub items: u64,
}

impl Shared {
    /// Puts `changes` (newest last) in front of the recent changes.
    pub fn note_changes(&mut self, changes: Vec<RecentChange>) {
        for change in changes {
            if self.recent.len() == RECENT_CHANGES {
                self.recent.pop_back();
            }
            self.recent.push_front(change);
        }
    }
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
            rebuild: None,
            work: None,
            recent: VecDeque::new(),
            latency: LatencyReport::default(),
        }
    }
}

/// Now as RFC 3339.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}
