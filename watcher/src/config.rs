//! Configuration, status and errors of the watcher.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where content changes (writes) come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// fanotify when privileged (CAP_SYS_ADMIN), inotify otherwise.
    #[default]
    Auto,
    /// fanotify (fd mode, filesystem marks); fails to start without privilege.
    Fanotify,
    /// inotify for everything.
    Inotify,
}

/// Where namespace changes (create, delete, rename) come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RenameSource {
    /// The fanotify FID group where the kernel and the filesystem allow it, inotify elsewhere.
    #[default]
    Auto,
    /// The fanotify FID group (`FAN_REPORT_DFID_NAME_TARGET`); fails to start where it is refused.
    Fanotify,
    /// inotify.
    Inotify,
}

/// What to watch and how.
#[derive(Debug, Clone, Default)]
pub struct WatchConfig {
    /// Absolute, canonical directories.
    pub roots: Vec<PathBuf>,
    /// The content source.
    pub backend: Backend,
    /// The namespace source.
    pub rename_source: RenameSource,
    /// Subtrees whose events are dropped (the index directory); never watched by inotify.
    pub excluded: Vec<PathBuf>,
    /// File names starting with this prefix are *barriers* (sync markers): before the creation of one is
    /// reported, every modification still waiting for its close-write is delivered, so a consumer that
    /// has seen a barrier's `Created` and `Modified` has seen every change observed before it.
    pub barrier_prefix: Option<std::ffi::OsString>,
}

/// The source chosen for one aspect of one filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// fanotify fd group (content) or FID group (namespace).
    Fanotify,
    /// inotify watches.
    Inotify,
}

/// What was chosen for one filesystem holding at least one root, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FilesystemStatus {
    /// The roots on this filesystem.
    pub roots: Vec<PathBuf>,
    /// `st_dev` of the roots.
    pub dev: u64,
    /// The filesystem's identity across remounts (`Volume::identity`).
    pub volume: String,
    /// For a network or FUSE filesystem, its kind (`nfs`, `fuse`...): no fanotify marks are placed on
    /// it, inotify sees only this machine's changes, and the consumer walks it periodically.
    pub polled: Option<&'static str>,
    /// Where content events come from.
    pub content: Source,
    /// Where namespace events come from.
    pub namespace: Source,
    /// Why, in words (also logged at start).
    pub reason: String,
}

/// Counters kept since start.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Counters {
    /// Events delivered to the sink.
    pub events: u64,
    /// Rescans delivered, by reason (`RescanReason` display text).
    pub rescans: BTreeMap<String, u64>,
    /// Kernel events dropped because our own process caused them.
    pub dropped_own: u64,
    /// Kernel events dropped because they were outside the roots or inside an excluded subtree.
    pub dropped_outside: u64,
    /// inotify watches currently held.
    pub inotify_watches: u64,
}

/// A snapshot of the watcher's state.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WatchStatus {
    /// One entry per filesystem holding roots.
    pub filesystems: Vec<FilesystemStatus>,
    /// Whether part of the tree is not watched (inotify watch limit); periodic rescans cover it.
    pub degraded: bool,
    /// Why the watcher is degraded, when it is.
    pub degraded_reason: Option<String>,
    /// Counters.
    pub counters: Counters,
}

/// Why the watcher could not start.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// No roots were given.
    #[error("no roots to watch")]
    NoRoots,
    /// A root is not an absolute, existing directory.
    #[error("root {0:?} is not an absolute directory: {1}")]
    BadRoot(PathBuf, String),
    /// fanotify was required by the configuration but is not available.
    #[error("fanotify required but unavailable for {path:?}: {source}")]
    FanotifyUnavailable {
        /// The root concerned.
        path: PathBuf,
        /// The kernel's answer.
        #[source]
        source: std::io::Error,
    },
    /// inotify could not be set up.
    #[error("inotify setup failed: {0}")]
    Inotify(String),
    /// Another system call failed during setup.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}
