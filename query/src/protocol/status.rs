//! The daemon's status report as it travels on the wire (`{"op":"status"}`, `fandex status --json`): typed
//! on both ends, so the daemon fills fields and the client reads them, and what a caller who does not own
//! the index may see is decided by one method, [`StatusReport::for_caller`].
//!
//! The report mirrors the watcher's and the indexer's own status types as plain data, so that a client
//! (this crate) needs neither of those crates.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use super::latency::LatencyReport;
pub use super::pause::{PauseReason, PauseReport, PublicPause};

pub use super::progress::{ChangeKind, RECENT_CHANGES, RecentChange, WorkKind, WorkProgress};

/// The daemon's life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Opening the index and starting the watcher.
    Starting,
    /// Walking the roots to pick up what changed while it was down.
    Reconciling,
    /// Refilling an index found in another format (see [`StatusReport::rebuild`]); searches answer
    /// from what has been rebuilt so far.
    Rebuilding,
    /// Watching and indexing changes as they happen.
    Watching,
    /// Finishing the last batch.
    Stopping,
    /// The index was lost (its directory removed or replaced): stopping with an error.
    Failed,
}

/// The status report as the index's owner (root or the daemon's own user) sees it; anyone else gets
/// [`PublicStatus`] (see [`StatusReport::for_caller`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    /// Life-cycle state.
    pub state: State,
    /// The rebuild of an index found in another format, while it runs (state `rebuilding`).
    #[serde(default)]
    pub rebuild: Option<RebuildProgress>,
    /// The walk or batch the daemon is working through now, with its rate and time left.
    #[serde(default)]
    pub progress: Option<WorkProgress>,
    /// The newest changes applied, newest first (at most [`RECENT_CHANGES`]).
    #[serde(default)]
    pub recent_changes: Vec<RecentChange>,
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
    pub watcher: Option<WatcherReport>,
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
    pub reconcile: Option<UpdateCounts>,
    /// Totals since start.
    pub totals: Totals,
    /// The last error, if any.
    pub last_error: Option<String>,
    /// Paths the walks could not read since start (the newest few), with the reason.
    pub walk_errors: Vec<Failure>,
    /// Resident memory.
    pub rss_bytes: Option<u64>,
    /// Work that is paused, and why (`fandex pause`, or bulk work on battery).
    #[serde(default)]
    pub paused: Option<PauseReport>,
    /// Whether the machine runs on battery (no mains power online, a battery discharging).
    #[serde(default)]
    pub on_battery: bool,
    /// Where changes' time went since start, stage by stage (event received -> batch closed -> read ->
    /// committed -> reader reloaded): see [`super::latency`].
    #[serde(default)]
    pub latency: Option<LatencyReport>,
}

/// A rebuild in progress: `rebuilding (format FROM -> TO)`, with the walk's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RebuildProgress {
    /// The format the index had.
    pub from: u32,
    /// The format it is rebuilt in (the daemon's).
    pub to: u32,
    /// Files read and indexed so far.
    pub files_done: u64,
    /// Files the walk found so far.
    pub files_seen: u64,
}

/// What a caller who does not own the index learns of a rebuild: the formats, which depend on no file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicRebuild {
    /// The format the index had.
    pub from: u32,
    /// The format it is rebuilt in.
    pub to: u32,
}

/// A root that is offline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfflineRoot {
    /// The root (lossy UTF-8).
    pub root: String,
    /// Since when (RFC 3339).
    pub since: String,
    /// Why, in words.
    pub reason: String,
}

/// Where one aspect (content or namespace) of a filesystem's changes comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// fanotify: the fd group (content) or the FID group (namespace).
    Fanotify,
    /// inotify watches.
    Inotify,
}

/// The watcher's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatcherReport {
    /// One entry per filesystem holding roots.
    pub filesystems: Vec<FilesystemReport>,
    /// Whether part of the tree is not watched (inotify watch limit); periodic rescans cover it.
    pub degraded: bool,
    /// Why the watcher is degraded, when it is.
    pub degraded_reason: Option<String>,
    /// Counters since start.
    pub counters: WatcherCounters,
}

/// What was chosen for one filesystem holding at least one root, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilesystemReport {
    /// The roots on this filesystem (lossy UTF-8).
    pub roots: Vec<String>,
    /// `st_dev` of the roots.
    pub dev: u64,
    /// The filesystem's identity across remounts (`uuid:…`, `btrfs:…`, `fsid:…`, or `dev:…` when only
    /// the device number identifies it); files are known by it and their inode.
    #[serde(default)]
    pub volume: String,
    /// For a network or FUSE filesystem: its kind (`nfs`, `fuse`...), whose changes made elsewhere
    /// are not notified.
    #[serde(default)]
    pub remote: Option<String>,
    /// How often its roots are walked (seconds), for a network or FUSE filesystem.
    #[serde(default)]
    pub poll_interval_seconds: Option<u64>,
    /// Where content events come from.
    pub content: Source,
    /// Where namespace events come from.
    pub namespace: Source,
    /// Why, in words.
    pub reason: String,
}

/// The watcher's counters since start.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WatcherCounters {
    /// Events delivered.
    pub events: u64,
    /// Rescans delivered, by reason.
    pub rescans: BTreeMap<String, u64>,
    /// Kernel events dropped because the daemon itself caused them.
    pub dropped_own: u64,
    /// Kernel events dropped because they were outside the roots or inside an excluded subtree.
    pub dropped_outside: u64,
    /// inotify watches held.
    pub inotify_watches: u64,
}

/// What one update (a walk of the roots) did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateCounts {
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
    /// Files or directories that could not be read or extracted.
    pub failed: u64,
    /// Files left as they were for want of a system resource, or because they changed while read.
    pub deferred: u64,
    /// Files indexed by name only because their owner's text budget was reached.
    pub over_budget: u64,
    /// Records removed because their files are gone.
    pub removed: u64,
    /// Directories' documents written (new, changed or moved); not in the file counts above.
    #[serde(default)]
    pub folders: u64,
    /// Directories' records removed because the directories are gone.
    #[serde(default)]
    pub folders_removed: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Wall time.
    pub seconds: f64,
}

/// Catalog figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CatalogStats {
    /// Records of files in the catalog.
    pub records: u64,
    /// Records of directories (indexed by name, counted apart from files).
    #[serde(default)]
    pub folders: u64,
    /// Records whose file failed to read or extract (unreadable, a parse error, an extractor that crashed,
    /// ran out of memory or timed out), with the reason in the record.
    pub failed: u64,
    /// The most recently modified of those files, newest first.
    pub recent_failures: Vec<Failure>,
    /// Records of documents indexed with something missing that their parser noted (a scanned PDF
    /// without text, an encrypted archive member, a cap reached), with the notes as the reason.
    #[serde(default)]
    pub noted: u64,
    /// The most recently modified of those files, newest first.
    #[serde(default)]
    pub recent_notes: Vec<Failure>,
    /// Failures and notes per owner (uid) of the files, so that a caller who does not own the index is
    /// told about their own files (see [`StatusReport::for_caller`]).
    #[serde(default)]
    pub failures_by_owner: Vec<OwnerFailures>,
    /// Owners whose text budget (`index.max_text_bytes_per_owner`) was reached, by uid.
    pub owners_over_budget: Vec<OwnerOverBudget>,
}

/// The failing files of one owner.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OwnerFailures {
    /// The owner.
    pub uid: u32,
    /// Their files that failed to read or extract.
    pub failed: u64,
    /// The most recently modified of those files, newest first.
    pub recent_failures: Vec<Failure>,
    /// Their documents indexed with a note.
    #[serde(default)]
    pub noted: u64,
    /// The most recently modified of those, newest first.
    #[serde(default)]
    pub recent_notes: Vec<Failure>,
}

/// An owner whose text budget was reached: further files of theirs are indexed by name only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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

/// Queue depths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// The last commit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The file (lossy UTF-8).
    pub path: String,
    /// What went wrong.
    pub error: String,
}

/// Totals since the daemon started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    /// Rescans run, by kind of reason (a fixed set of names).
    pub rescans: BTreeMap<String, u64>,
    /// Rescans postponed by the backoff (no recrawl storms).
    pub rescans_deferred: u64,
    /// Times the pending queue grew too large and was collapsed into rescans.
    pub queue_collapses: u64,
}

/// The status report for a caller who is neither root nor the daemon's own user. Nothing in it depends
/// on files: no paths or names, no counts of documents, records, failures or queued work, no pid, no
/// timings of work. Its fields keep the names and places they have in the full report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicStatus {
    /// Life-cycle state.
    pub state: State,
    /// The formats of a rebuild in progress.
    #[serde(default)]
    pub rebuild: Option<PublicRebuild>,
    /// The newest changes to the caller's own files that the caller may read now, newest first.
    #[serde(default)]
    pub recent_changes: Vec<RecentChange>,
    /// The daemon's version.
    pub version: String,
    /// Seconds since start.
    pub uptime_seconds: u64,
    /// Kernel interfaces in use and whether the watcher is degraded.
    pub watcher: Option<PublicWatcher>,
    /// The caller's own text budget, when reached.
    pub catalog: PublicCatalog,
    /// Work that is paused: why and until when.
    #[serde(default)]
    pub paused: Option<PublicPause>,
    /// Always `true`: the rest of the report is shown only to root and the daemon's own user.
    pub redacted: bool,
}

/// What the watcher's status tells a caller who does not own the index: which kernel interfaces are in
/// use, and whether part of the tree is unwatched, without roots, devices or counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicWatcher {
    /// One entry per watched filesystem: the sources chosen for it.
    pub filesystems: Vec<PublicFilesystem>,
    /// Whether part of the tree is not watched (periodic rescans cover it).
    pub degraded: bool,
}

/// The sources chosen for one watched filesystem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicFilesystem {
    /// Where content events come from.
    pub content: Source,
    /// Where namespace events come from.
    pub namespace: Source,
}

/// What a caller who does not own the index learns from the catalog: about their own files only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublicCatalog {
    /// The caller's own entry, if their text budget was reached (at most one).
    pub owners_over_budget: Vec<OwnerOverBudget>,
    /// The caller's own files that failed to read or extract.
    #[serde(default)]
    pub failed: u64,
    /// The most recently modified of those files, newest first, with the reason.
    #[serde(default)]
    pub recent_failures: Vec<Failure>,
    /// The caller's own documents indexed with a note (what is missing).
    #[serde(default)]
    pub noted: u64,
    /// The most recently modified of those, newest first, with the note.
    #[serde(default)]
    pub recent_notes: Vec<Failure>,
}

/// The status report as one caller may see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CallerStatus {
    /// Root or the daemon's own user: everything.
    Owner(Box<StatusReport>),
    /// Anyone else (boxed like the owner's: the two differ in size).
    Public(Box<PublicStatus>),
}

impl StatusReport {
    /// The report as a caller may see it: all of it for the index's owner (`owner`: root, or the user the
    /// daemon runs as), [`PublicStatus`] for anyone else (`uid`; `readable` says which of the paths given
    /// that caller may read now). The one place where status fields are redacted.
    pub fn for_caller(
        self,
        owner: bool,
        uid: u32,
        readable: impl FnOnce(Vec<PathBuf>) -> Vec<bool>,
    ) -> CallerStatus {
        if owner {
            CallerStatus::Owner(Box::new(self))
        } else {
            CallerStatus::Public(Box::new(self.public(uid, readable)))
        }
    }

    /// The fields a caller `uid` who does not own the index gets. Every field is named here, so a field
    /// added to the report does not compile until it is classified: kept (it depends on no file, or only
    /// on the caller's own), or dropped (it names files, counts them, or measures work done on them).
    pub fn public(
        &self,
        uid: u32,
        readable: impl FnOnce(Vec<PathBuf>) -> Vec<bool>,
    ) -> PublicStatus {
        let Self {
            // Kept: the daemon's own life cycle.
            state,
            // Kept in part: the formats (below); its progress counts files.
            rebuild,
            // Dropped: it counts files and measures work done on them.
            progress: _,
            // Kept in part: changes to the caller's own files that the caller may read now (below).
            recent_changes,
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
            // Kept in part: why and until when (below); what waits counts changes to files.
            paused,
            // Dropped: the machine's power says nothing of files, but is none of a caller's business.
            on_battery: _,
            // Dropped: timings of work on files.
            latency: _,
        } = self;
        let CatalogStats {
            // Kept: the caller's own entries; other owners' entries would tell whose files exist.
            owners_over_budget,
            failures_by_owner,
            records: _,
            folders: _,
            failed: _,
            recent_failures: _,
            noted: _,
            recent_notes: _,
        } = catalog;
        // A removed file cannot be checked: it is never shown.
        let own: Vec<(&RecentChange, PathBuf)> = recent_changes
            .iter()
            .filter(|c| c.owner == Some(uid) && c.change != ChangeKind::Removed)
            .filter_map(|c| Some((c, c.exact_path.clone()?)))
            .collect();
        let may_read = readable(own.iter().map(|(_, p)| p.clone()).collect());
        let recent_changes = own
            .into_iter()
            .zip(may_read)
            .filter(|(_, ok)| *ok)
            .map(|((c, _), _)| c.clone())
            .collect();
        let own_failures = failures_by_owner.iter().find(|o| o.uid == uid);
        PublicStatus {
            state: *state,
            recent_changes,
            rebuild: rebuild.map(|r| {
                let RebuildProgress {
                    from,
                    to,
                    // Dropped: counts of files.
                    files_done: _,
                    files_seen: _,
                } = r;
                PublicRebuild { from, to }
            }),
            version: version.clone(),
            uptime_seconds: *uptime_seconds,
            watcher: watcher.as_ref().map(WatcherReport::public),
            catalog: PublicCatalog {
                owners_over_budget: owners_over_budget
                    .iter()
                    .filter(|o| o.uid == uid)
                    .cloned()
                    .collect(),
                failed: own_failures.map_or(0, |o| o.failed),
                recent_failures: own_failures
                    .map(|o| o.recent_failures.clone())
                    .unwrap_or_default(),
                noted: own_failures.map_or(0, |o| o.noted),
                recent_notes: own_failures
                    .map(|o| o.recent_notes.clone())
                    .unwrap_or_default(),
            },
            paused: paused.as_ref().map(|p| {
                let PauseReport {
                    reason,
                    until_unix,
                    // Dropped: counts of changes and walks.
                    waiting: _,
                    held_walks: _,
                } = p;
                PublicPause {
                    reason: *reason,
                    until_unix: *until_unix,
                }
            }),
            redacted: true,
        }
    }
}

impl WatcherReport {
    /// What of the watcher's state a caller who does not own the index may see.
    fn public(&self) -> PublicWatcher {
        let Self {
            filesystems,
            degraded,
            // Dropped: it counts unwatched subtrees.
            degraded_reason: _,
            // Dropped: event and rescan counts follow activity on every file.
            counters: _,
        } = self;
        PublicWatcher {
            filesystems: filesystems
                .iter()
                .map(|fs| {
                    let FilesystemReport {
                        content,
                        namespace,
                        // Dropped: roots are paths; the device and the reason say where they are.
                        roots: _,
                        dev: _,
                        volume: _,
                        remote: _,
                        poll_interval_seconds: _,
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
    }
}

#[cfg(test)]
mod tests;
