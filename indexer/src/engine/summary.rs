//! What an update reports: live [`Progress`] counters while it runs and the [`Summary`] it returns, and
//! the one line that says it to a person (`fandex index`, the daemon's log).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::{Duration, SystemTime};

use serde::Serialize;

/// Live counters of an update, for progress display. All fields are monotonic.
#[derive(Debug, Default)]
pub struct Progress {
    /// Files found by the walk.
    pub seen: AtomicU64,
    /// Files whose content was read and indexed (or recorded as failed).
    pub indexed: AtomicU64,
    /// Files decided: found unchanged, read, moved, gone or put off. Once [`Progress::walked`] is set,
    /// `seen - done` files are left.
    pub done: AtomicU64,
    /// Bytes read from files.
    pub bytes: AtomicU64,
    /// The walks are over: `seen` is the number of files this update looks at (progress displays can
    /// show a total and a time left).
    pub walked: AtomicBool,
    /// Set by the caller to end a walk early (the daemon stops, or is paused): no further file is
    /// taken, what was read is committed, nothing is removed for not having been seen, and the update
    /// fails with [`crate::Error::Interrupted`]. Walking again later resumes: what was committed is
    /// found unchanged.
    pub interrupt: AtomicBool,
}

/// A root found offline: not walked, its records kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfflineRoot {
    /// The root.
    #[serde(skip)]
    pub path: PathBuf,
    /// The root for people and JSON (lossy where the path is not UTF-8).
    pub root: String,
    /// Why it is offline.
    pub reason: String,
    /// The volume it was last walked on (`uuid:…`, ...), if recorded.
    pub volume: Option<String>,
    /// When that walk began, seconds since the epoch.
    pub walked_secs: Option<u64>,
}

impl OfflineRoot {
    /// When the root was last walked, if recorded.
    pub fn last_walked(&self) -> Option<SystemTime> {
        self.walked_secs
            .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
    }
}

/// Longest list of deferred paths a [`Summary`] keeps.
pub const RETRY_LIST_MAX: usize = 10_000;
/// Longest list of walk errors a [`Summary`] keeps.
pub const WALK_ERRORS_MAX: usize = 20;

/// What an update did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Regular files found.
    pub seen: u64,
    /// Files read and indexed (new or changed), including failed ones.
    pub indexed: u64,
    /// Files found unchanged.
    pub unchanged: u64,
    /// Files recognized as renamed or moved (path updated, content not read).
    pub moved: u64,
    /// Entries skipped: FIFOs, sockets, devices, symlinks, and files that vanished during the walk.
    pub skipped: u64,
    /// Files or directories that could not be read or extracted (recorded, not retried until changed).
    pub failed: u64,
    /// Files that could not be opened for want of a system resource (descriptors, memory), or whose path
    /// changed while they were read (a directory swapped for a symlink, another file): left as they were,
    /// to be looked at again (the daemon retries them; `fandex index` on its next run).
    pub deferred: u64,
    /// The paths of up to [`RETRY_LIST_MAX`] deferred files, for the daemon to retry.
    #[serde(skip)]
    pub retry: Vec<PathBuf>,
    /// The first [`WALK_ERRORS_MAX`] paths the walk could not read (a directory it may not list, a path
    /// too long), with the reason; counted in `failed`.
    #[serde(skip)]
    pub walk_errors: Vec<(PathBuf, String)>,
    /// Files indexed by name only because their owner's text budget was reached.
    pub over_budget: u64,
    /// Records removed because their files are gone.
    pub removed: u64,
    /// Directories' documents written: new, changed (mtime, owner, mode) or moved. Not counted in the
    /// file counts above.
    pub folders: u64,
    /// Directories' records removed because the directories are gone.
    pub folders_removed: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Wall time.
    pub seconds: f64,
    /// Roots walked (offline ones are not).
    pub roots_walked: u64,
    /// Roots not walked because their filesystem is not there; their records are kept. Per update:
    /// [`Summary::add`] does not sum them.
    pub offline_roots: Vec<OfflineRoot>,
    /// Where a live batch's time went ([`crate::Engine::apply_work`] only).
    #[serde(skip)]
    pub stages: BatchStages,
}

/// Where the time of a live batch went, up to the commit that makes it searchable: the daemon's latency
/// stages after the batch is closed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BatchStages {
    /// Classifying, reading, extracting and writing to the index (and commits a move needed first).
    pub read: Duration,
    /// The commit of the full-text index and then the catalog.
    pub commit: Duration,
    /// Reloading the searchers' reader after that commit.
    pub reload: Duration,
}

impl Summary {
    /// Adds the counts of `other` (not its wall time).
    pub fn add(&mut self, other: &Summary) {
        self.seen += other.seen;
        self.indexed += other.indexed;
        self.unchanged += other.unchanged;
        self.moved += other.moved;
        self.skipped += other.skipped;
        self.failed += other.failed;
        self.removed += other.removed;
        self.folders += other.folders;
        self.folders_removed += other.folders_removed;
        self.over_budget += other.over_budget;
        self.bytes += other.bytes;
        self.deferred += other.deferred;
        for path in &other.retry {
            self.note_retry(path.clone());
        }
        for (path, why) in &other.walk_errors {
            self.note_walk_error(path.clone(), why.clone());
        }
    }

    /// Records a path the walk could not read (while the list is short).
    pub(super) fn note_walk_error(&mut self, path: PathBuf, why: String) {
        if self.walk_errors.len() < WALK_ERRORS_MAX {
            self.walk_errors.push((path, why));
        }
    }

    /// Records a deferred file (its path only while the list is short: beyond that the daemon retries
    /// whole roots).
    pub(super) fn note_retry(&mut self, path: PathBuf) {
        if self.retry.len() < RETRY_LIST_MAX {
            self.retry.push(path);
        }
    }

    /// What was skipped, in words, for the one-line summary.
    const SKIPPED_WHAT: &str = "symlinks, FIFOs, sockets, devices, or files gone during the walk";

    /// Whether more files were deferred than [`Summary::retry`] lists.
    pub fn retry_list_truncated(&self) -> bool {
        self.deferred > self.retry.len() as u64
    }
}

/// The summary in one line: `12 files seen, 10 indexed, ... 1.5 MB read in 0.20 s`, saying what the
/// skipped entries were when there are any.
impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} files seen, {} indexed, {} unchanged, {} moved, {} skipped",
            self.seen, self.indexed, self.unchanged, self.moved, self.skipped
        )?;
        if self.skipped > 0 {
            write!(f, " ({})", Self::SKIPPED_WHAT)?;
        }
        write!(
            f,
            ", {} failed, {} removed, {} read in {:.2} s",
            self.failed,
            self.removed,
            human_bytes(self.bytes),
            self.seconds
        )?;
        if self.folders > 0 || self.folders_removed > 0 {
            write!(
                f,
                "; folders: {} written, {} removed",
                self.folders, self.folders_removed
            )?;
        }
        Ok(())
    }
}

/// A byte count for humans (`1.5 MB`).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_humanized() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500_000), "1.5 MB");
    }

    #[test]
    fn the_summary_line_says_what_was_skipped() {
        let mut summary = Summary {
            seen: 3,
            indexed: 2,
            skipped: 1,
            bytes: 1_500_000,
            seconds: 0.25,
            ..Summary::default()
        };
        assert_eq!(
            summary.to_string(),
            "3 files seen, 2 indexed, 0 unchanged, 0 moved, 1 skipped (symlinks, FIFOs, sockets, \
             devices, or files gone during the walk), 0 failed, 0 removed, 1.5 MB read in 0.25 s"
        );
        summary.skipped = 0;
        assert!(summary.to_string().contains(" 0 skipped, 0 failed"));
    }
}
