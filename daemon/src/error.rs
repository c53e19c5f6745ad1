//! Why the daemon could not start, or a request to it failed.

use std::time::Duration;

/// Why the daemon could not start or a request failed.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The index could not be opened or updated.
    #[error(transparent)]
    Index(#[from] fandex_indexer::Error),
    /// The watcher could not start.
    #[error("cannot watch: {0}")]
    Watch(#[from] fandex_watcher::WatchError),
    /// There is nothing to watch.
    #[error(
        "no roots: give one or more directories (`fandex daemon ~/Documents`) or set `roots` in the config"
    )]
    NoRoots,
    /// The socket could not be set up.
    #[error("socket {path}: {source}")]
    Socket {
        /// The socket path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// `sync` ran out of time.
    #[error("sync timed out after {0:?}: changes are still being indexed (see `fandex status`)")]
    SyncTimeout(Duration),
    /// `sync` could not place a cookie in any root.
    #[error("sync: {0}")]
    Sync(String),
    /// The daemon is stopping.
    #[error("the daemon is stopping")]
    Stopping,
    /// The index directory was removed or replaced while the daemon ran: it stopped.
    #[error("{0}")]
    IndexLost(String),
    /// The D-Bus service could not start (no session bus, the name taken by another daemon).
    #[error("D-Bus: {0}")]
    Bus(String),
    /// The orderly stop did not finish in time (see [`Daemon::stop_within`]).
    #[error("the daemon did not finish stopping within {0:?}; exiting without a clean stop")]
    StopTimeout(Duration),
}
