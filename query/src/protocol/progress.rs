//! What the daemon is working through and what it changed last, as the status report carries them
//! ([`super::status::StatusReport::progress`] and `recent_changes`): the rate and time left of a walk
//! or batch, and the newest changes applied.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Changes `status` lists.
pub const RECENT_CHANGES: usize = 10;

/// What the daemon is working through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkKind {
    /// Refilling an index found in another format.
    Rebuild,
    /// Walking roots or directories again (a rescan, with any changes batched with it).
    Rescan,
    /// Applying a batch of changes the watcher reported.
    Changes,
}

/// Progress of the walk or batch in hand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkProgress {
    /// What is being worked through.
    pub kind: WorkKind,
    /// Files the walks found so far.
    pub files_seen: u64,
    /// Files decided so far (found unchanged, read, moved, gone).
    pub files_done: u64,
    /// Files in the work, once known (after the walks, or from the start for a batch of changes).
    pub files_total: Option<u64>,
    /// Bytes read so far.
    pub bytes_read: u64,
    /// Seconds since it began.
    pub seconds: f64,
    /// Files decided per second.
    pub files_per_second: f64,
    /// Bytes read per second.
    pub bytes_per_second: f64,
    /// Seconds left at the rate so far, when the total is known.
    pub eta_seconds: Option<f64>,
}

impl WorkProgress {
    /// The progress of `kind` work: rates and time left follow from the counts and the time spent.
    pub fn new(
        kind: WorkKind,
        files_seen: u64,
        files_done: u64,
        files_total: Option<u64>,
        bytes_read: u64,
        seconds: f64,
    ) -> Self {
        let rate = |n: u64| {
            if seconds > 0.0 {
                n as f64 / seconds
            } else {
                0.0
            }
        };
        let files_per_second = rate(files_done);
        let eta_seconds = files_total
            .filter(|_| files_per_second > 0.0)
            .map(|total| total.saturating_sub(files_done) as f64 / files_per_second);
        Self {
            kind,
            files_seen,
            files_done,
            files_total,
            bytes_read,
            seconds,
            files_per_second,
            bytes_per_second: rate(bytes_read),
            eta_seconds,
        }
    }
}

/// What happened to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Written, created or its attributes changed: looked at again.
    Changed,
    /// Renamed or moved here.
    Moved,
    /// Deleted (or gone by the time it was looked at).
    Removed,
}

/// A change the daemon applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecentChange {
    /// The file (lossy UTF-8; for a move, its new name).
    pub path: String,
    /// What happened.
    pub change: ChangeKind,
    /// When it was applied (RFC 3339).
    pub at: String,
    /// The file's owner, when the catalog knows it.
    pub owner: Option<u32>,
    /// The exact path, for the permission check of a caller who does not own the index (not sent).
    #[serde(skip)]
    pub exact_path: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_time_left_follow_from_the_counts() {
        let p = WorkProgress::new(WorkKind::Rebuild, 300, 100, Some(300), 2_000_000, 2.0);
        assert_eq!(p.files_per_second, 50.0);
        assert_eq!(p.bytes_per_second, 1_000_000.0);
        assert_eq!(p.eta_seconds, Some(4.0));
        // No total yet, or nothing done yet: no estimate.
        let walking = WorkProgress::new(WorkKind::Rescan, 300, 100, None, 0, 2.0);
        assert_eq!(walking.eta_seconds, None);
        let starting = WorkProgress::new(WorkKind::Rescan, 3, 0, Some(3), 0, 0.0);
        assert_eq!(
            (starting.files_per_second, starting.eta_seconds),
            (0.0, None)
        );
    }
}
