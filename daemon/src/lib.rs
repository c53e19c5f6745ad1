//! The daemon as a library: open the index, watch the roots, reconcile, keep the index current, answer
//! searches, status and sync requests, and stop cleanly. `fandex daemon` runs this; a desktop application
//! can run the same thing in-process (as an unprivileged user it watches with inotify).
//!
//! Threads:
//!
//! ```text
//! watcher threads --(bounded channel)--> intake --(Coalescer under a mutex)--> pipeline (owns the Engine)
//! socket server --> one thread per connection: search (shared reader), status, sync
//! ```
//!
//! The intake never blocks on the engine: changes accumulate in the coalescer, which merges them per
//! path; if too much piles up it collapses into rescans of the roots, so memory stays bounded and nothing
//! is lost. The pipeline applies one batch at a time and commits it.

pub mod access;
mod cookie;
mod pipeline;
pub mod roots;
mod sdnotify;
mod server;
pub mod status;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use fandex_indexer::catalog::{Catalog, Status as RecordStatus};
use fandex_indexer::coalesce::{BatchLimits, Coalescer, RescanKind, Work};
use fandex_indexer::config::SYNC_COOKIE_PREFIX;
use fandex_indexer::engine::{Progress, UpdateRequest};
use fandex_indexer::exclude::Exclusions;
use fandex_indexer::layout::IndexGuard;
use fandex_indexer::{Config, Engine, IndexDir};
use fandex_query::QueryEngine;
use fandex_watcher::{Backend, Change, MountTableWatch, RenameSource, WatchConfig, Watcher};
use serde::Serialize;
use tracing::{error, info, warn};

use status::{Failure, Shared, State};

/// Events buffered between the watcher and the intake.
const EVENT_CHANNEL: usize = 4096;
/// Pending items beyond which the coalescer collapses into rescans.
const MAX_PENDING: usize = 200_000;
/// Event descriptors held while pending.
const MAX_PENDING_FDS: usize = 256;
/// Failing files listed by `status`.
pub const RECENT_FAILURES: usize = 20;

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
    /// The orderly stop did not finish in time (see [`Daemon::stop_within`]).
    #[error("the daemon did not finish stopping within {0:?}; exiting without a clean stop")]
    StopTimeout(Duration),
}

/// How to run the daemon.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    /// The index.
    pub index_dir: IndexDir,
    /// The configuration.
    pub config: Config,
    /// Roots to add to the remembered ones.
    pub roots: Vec<PathBuf>,
    /// Overrides `watch.backend`.
    pub backend: Option<Backend>,
    /// Overrides `watch.rename_source`.
    pub rename_source: Option<RenameSource>,
    /// Serve the Unix socket (the CLI does; an embedding application may not need it).
    pub listen: bool,
}

/// Parses a backend name from the configuration.
pub fn parse_backend(name: &str) -> Result<Backend, String> {
    match name {
        "auto" => Ok(Backend::Auto),
        "fanotify" => Ok(Backend::Fanotify),
        "inotify" => Ok(Backend::Inotify),
        other => Err(format!(
            "unknown backend {other:?}: use auto, fanotify or inotify"
        )),
    }
}

/// Parses a rename source name from the configuration.
pub fn parse_rename_source(name: &str) -> Result<RenameSource, String> {
    match name {
        "auto" => Ok(RenameSource::Auto),
        "fanotify" => Ok(RenameSource::Fanotify),
        "inotify" => Ok(RenameSource::Inotify),
        other => Err(format!(
            "unknown rename source {other:?}: use auto, fanotify or inotify"
        )),
    }
}

/// The intake's and pipeline's shared queue.
pub(crate) struct Queue {
    pub coalescer: Coalescer,
    pub stopping: bool,
    /// A sync cookie arrived: hand the batch on now instead of waiting for the batch window.
    pub urgent: bool,
    /// The number the next change pushed gets (changes are numbered in arrival order).
    next_seq: u64,
    /// The number of the first change pushed since the coalescer was last empty.
    oldest_pending: Option<u64>,
}

impl Queue {
    fn new(coalescer: Coalescer) -> Self {
        Self {
            coalescer,
            stopping: false,
            urgent: false,
            next_seq: 0,
            oldest_pending: None,
        }
    }

    /// Adds a change to the coalescer; returns its number.
    pub fn push(&mut self, change: Change, now: Instant) -> u64 {
        self.coalescer.push(change, now);
        self.number()
    }

    /// Numbers the change just added to the coalescer.
    fn number(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.oldest_pending.get_or_insert(seq);
        seq
    }

    /// Schedules a walk of `scope` (see [`Coalescer::push_rescan`]); returns its number.
    pub fn push_rescan(&mut self, scope: PathBuf, reason: RescanKind, now: Instant) -> u64 {
        self.coalescer.push_rescan(scope, reason, now);
        self.number()
    }

    /// Takes the next batch, with its watermark: every change numbered below it is in this batch or an
    /// earlier one. (A partial batch leaves the rest pending: its watermark stays at the oldest change
    /// still possibly pending.)
    pub fn take(&mut self) -> (Vec<Work>, u64) {
        let work = self.coalescer.take();
        let watermark = if self.coalescer.is_empty() {
            self.oldest_pending = None;
            self.next_seq
        } else {
            self.oldest_pending.unwrap_or(self.next_seq)
        };
        (work, watermark)
    }
}

/// A sync cookie waiting for its commit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cookie {
    /// Registered before the file was created: a rescan of a batch taken after this covers every change
    /// made before the sync started.
    pub registered: Instant,
    /// The generation that made everything before it searchable, once committed.
    pub done: Option<u64>,
    /// The number of its `Created` change (from the namespace source), once it arrived.
    pub created: Option<u64>,
    /// The number of its close-write (`Modified`, from the content source), once it arrived. With content
    /// and names from different kernel queues (fanotify + inotify) either may come first; only once both
    /// have arrived has every change made before the cookie arrived from both queues.
    pub written: Option<u64>,
}

impl Cookie {
    /// Whether both of its events are in batches taken up to `watermark`.
    pub fn seen_by(&self, watermark: u64) -> bool {
        matches!((self.created, self.written), (Some(c), Some(w)) if c.max(w) < watermark)
    }
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

/// State shared by the daemon's threads.
pub(crate) struct Inner {
    pub dir: IndexDir,
    pub searcher: QueryEngine,
    pub reader: tantivy::IndexReader,
    pub catalog: Catalog,
    pub shared: Mutex<Shared>,
    pub queue: Mutex<Queue>,
    pub wake: Condvar,
    pub exclusions: Mutex<Arc<Exclusions>>,
    pub config: Mutex<Config>,
    pub watcher: Mutex<Option<Watcher>>,
    /// How the watcher was configured (a restart after a root's filesystem changed uses it again).
    pub watch_config: WatchConfig,
    /// The watcher's sink, for a restarted watcher; taken at shutdown so the intake ends.
    pub events_tx: Mutex<Option<crossbeam_channel::Sender<Change>>>,
    /// Each root's filesystem, and which are offline.
    pub roots: Mutex<roots::Roots>,
    pub events: Receiver<Change>,
    pub stopping: AtomicBool,
    /// Sync cookies waiting for their commit.
    pub cookies: Mutex<HashMap<PathBuf, Cookie>>,
    pub cookie_done: Condvar,
    /// Makes and recognizes this daemon's cookie names.
    pub cookie_key: cookie::CookieKey,
    /// Tells whether the index directory is still the one opened.
    pub guard: IndexGuard,
    /// Why the daemon failed (the index was lost), once it did: it stops.
    pub failure: Mutex<Option<String>>,
    /// Signalled when `failure` is set and when the daemon stops.
    pub failure_changed: Condvar,
    pub generation: AtomicU64,
    pub catalog_stats: Mutex<Option<(Instant, CatalogStats)>>,
}

/// Hands memory that is free in the allocator's heap back to the system (glibc keeps it otherwise, and
/// an idle daemon would show the peak of its last batch as resident).
pub(crate) fn release_free_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only walks glibc's own heap under its own locks and releases free pages; it
    // takes a plain integer and touches no memory of ours.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Locks a mutex, recovering the data if a thread panicked while holding it (the daemon keeps going).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The status report (`fandex status --json`) as the index's owner sees it; other callers get
/// [`status::PublicStatus`] (see [`StatusReport::redacted_for`]).
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
    pub offline_roots: Vec<roots::OfflineRoot>,
    /// Kernel interfaces chosen per filesystem and why, counters, degraded state.
    pub watcher: Option<fandex_watcher::WatchStatus>,
    /// Documents searchable now.
    pub documents: u64,
    /// Catalog records and failures.
    pub catalog: CatalogStats,
    /// Queue depths.
    pub queue: QueueDepths,
    /// The last commit.
    pub last_commit: Option<status::CommitInfo>,
    /// How long the start-up reconcile took.
    pub reconcile_seconds: Option<f64>,
    /// What the start-up reconcile did (files read, moved, removed while no daemon ran).
    pub reconcile: Option<fandex_indexer::Summary>,
    /// Totals since start.
    pub totals: status::Totals,
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

/// How often the index directory is checked for removal.
const GUARD_INTERVAL: Duration = Duration::from_millis(500);

impl Inner {
    /// Stops the daemon for good because the index is gone: nothing more is applied (the writer's files
    /// are unreachable and its lock is gone), waiting syncs fail, and [`FailureWatch::wait`] returns.
    pub(crate) fn fail(&self, why: &str) {
        let message =
            format!("{why} while the daemon ran: stopping (start it again to rebuild the index)");
        {
            let mut failure = lock(&self.failure);
            if failure.is_some() {
                return;
            }
            error!("{message}");
            *failure = Some(message.clone());
            self.stopping.store(true, Ordering::Relaxed);
            self.failure_changed.notify_all();
        }
        {
            let mut shared = lock(&self.shared);
            shared.state = State::Failed;
            shared.last_error = Some(message);
        }
        lock(&self.queue).stopping = true;
        self.wake.notify_all();
        self.cookie_done.notify_all();
    }

    /// Why the daemon failed, if it did.
    pub(crate) fn failure(&self) -> Option<String> {
        lock(&self.failure).clone()
    }

    /// Checks the index directory; a lost one makes the daemon fail. Returns whether it is intact.
    pub(crate) fn check_index(&self) -> bool {
        match self.guard.check() {
            Ok(()) => true,
            Err(lost) => {
                self.fail(&lost);
                false
            }
        }
    }

    fn status(&self) -> StatusReport {
        let shared = lock(&self.shared).clone_view();
        let (pending, pending_fds) = {
            let q = lock(&self.queue);
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
            offline_roots: lock(&self.roots).report(),
            watcher: lock(&self.watcher).as_ref().map(Watcher::status),
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
            rss_bytes: status::rss_bytes(),
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
        let budget = lock(&self.config).index.max_text_bytes_per_owner;
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

    /// Waits until every change made before the call is searchable.
    fn sync(&self, timeout: Duration) -> Result<u64, DaemonError> {
        if self.stopping.load(Ordering::Relaxed) {
            return Err(DaemonError::Stopping);
        }
        // The roots as they are now (a filesystem mounted a moment ago is watched before the cookie).
        roots::refresh(self);
        // Offline roots are not watched: a cookie there would never be seen (and nothing there changes).
        let roots = lock(&self.roots).present();
        if roots.is_empty() {
            return Ok(self.generation.load(Ordering::Relaxed));
        }
        let mut placed = Vec::new();
        let mut errors = Vec::new();
        for root in &roots {
            let register = |path: &Path| {
                lock(&self.cookies).insert(
                    path.to_owned(),
                    Cookie {
                        registered: Instant::now(),
                        done: None,
                        created: None,
                        written: None,
                    },
                );
            };
            let unregister = |path: &Path| {
                lock(&self.cookies).remove(path);
            };
            match cookie::place(root, &self.cookie_key, register, unregister) {
                Ok(cookie) => placed.push(cookie),
                Err(err) => errors.push(format!("{}: {err}", root.display())),
            }
        }
        if placed.is_empty() {
            return Err(DaemonError::Sync(format!(
                "cannot place a sync cookie in any root ({})",
                errors.join("; ")
            )));
        }
        // A timeout too long to represent is no deadline at all.
        let deadline = Instant::now().checked_add(timeout);
        let mut cookies = lock(&self.cookies);
        let result = loop {
            let done: Option<u64> = placed
                .iter()
                .map(|p| cookies.get(&p.path).and_then(|c| c.done))
                .try_fold(0u64, |acc, g| g.map(|g| acc.max(g)));
            if let Some(generation) = done {
                break Ok(generation);
            }
            let now = Instant::now();
            let expired = deadline.is_some_and(|d| now >= d);
            if expired || self.stopping.load(Ordering::Relaxed) {
                break Err(if expired {
                    DaemonError::SyncTimeout(timeout)
                } else if let Some(failure) = self.failure() {
                    DaemonError::IndexLost(failure)
                } else {
                    DaemonError::Stopping
                });
            }
            // Without a deadline, wake now and then anyway to notice a stop.
            let wait = deadline.map_or(Duration::from_secs(1), |d| d - now);
            cookies = self
                .cookie_done
                .wait_timeout(cookies, wait)
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        };
        for p in &placed {
            cookies.remove(&p.path);
        }
        drop(cookies);
        for p in placed {
            p.remove();
        }
        result
    }
}

/// Creates the public socket's directory and any missing parent with mode 0755 whatever the umask (the
/// `fandex` binary runs with 0077); existing directories are left as they are.
fn create_public_dir(dir: &Path) -> Result<(), DaemonError> {
    use std::os::unix::fs::PermissionsExt;
    if dir.exists() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_public_dir(parent)?;
    }
    let err = |source| DaemonError::Socket {
        path: dir.display().to_string(),
        source,
    };
    match std::fs::create_dir(dir) {
        Ok(()) => {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).map_err(err)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(err(e)),
    }
}

/// A running daemon.
pub struct Daemon {
    inner: Arc<Inner>,
    intake: Option<JoinHandle<()>>,
    pipeline: Option<JoinHandle<()>>,
    server: Option<server::Server>,
    /// The index guard's thread, and the channel whose closing ends it.
    guard: Option<(crossbeam_channel::Sender<()>, JoinHandle<()>)>,
    monitor: Option<JoinHandle<()>>,
    mount_watch: Option<Arc<MountTableWatch>>,
}

/// Waits for a daemon to fail by itself (see [`Daemon::failure_watch`]).
#[derive(Clone)]
pub struct FailureWatch {
    inner: Arc<Inner>,
}

impl FailureWatch {
    /// Blocks until the daemon fails (returns why: the index was lost) or stops (returns `None`).
    pub fn wait(&self) -> Option<String> {
        let mut failure = lock(&self.inner.failure);
        loop {
            if let Some(why) = failure.as_ref() {
                return Some(why.clone());
            }
            if self.inner.stopping.load(Ordering::Relaxed) {
                return None;
            }
            failure = self
                .inner
                .failure_changed
                .wait(failure)
                .unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Checks the index directory every [`GUARD_INTERVAL`] until `stop` closes or the index is lost.
fn guard_loop(inner: &Inner, stop: &crossbeam_channel::Receiver<()>) {
    while let Err(crossbeam_channel::RecvTimeoutError::Timeout) = stop.recv_timeout(GUARD_INTERVAL)
    {
        if !inner.check_index() {
            return;
        }
    }
}

fn batch_limits(config: &Config) -> BatchLimits {
    BatchLimits {
        max_items: config.daemon.batch_docs.max(1),
        max_delay: Duration::from_millis(config.daemon.batch_ms),
        settle: Duration::from_millis(config.daemon.settle_ms),
        max_fds: MAX_PENDING_FDS,
    }
}

fn watch_choices(opts: &DaemonOptions) -> Result<(Backend, RenameSource), DaemonError> {
    let bad = |message: String| {
        DaemonError::Index(fandex_indexer::Error::Config {
            path: PathBuf::from("[watch]"),
            message,
        })
    };
    let backend = match (opts.backend, &opts.config.watch.backend) {
        (Some(b), _) => b,
        (None, Some(name)) => parse_backend(name).map_err(bad)?,
        (None, None) => Backend::Auto,
    };
    let rename_source = match (opts.rename_source, &opts.config.watch.rename_source) {
        (Some(r), _) => r,
        (None, Some(name)) => parse_rename_source(name).map_err(bad)?,
        (None, None) => RenameSource::Auto,
    };
    Ok((backend, rename_source))
}

impl Daemon {
    /// Opens the index, starts watching, reconciles the roots with the catalog (picking up what changed
    /// while no daemon ran), starts the pipeline and, with `listen`, the socket. Returns once ready: from
    /// then on every change is being indexed.
    pub fn start(opts: DaemonOptions) -> Result<Self, DaemonError> {
        let (backend, rename_source) = watch_choices(&opts)?;
        let mut engine = Engine::open(opts.index_dir.clone(), opts.config.clone())?;
        let roots = engine.register_roots(&opts.roots)?;
        if roots.is_empty() {
            return Err(DaemonError::NoRoots);
        }
        let cookie_key = cookie::CookieKey::load_or_create(&opts.index_dir).map_err(|e| {
            fandex_indexer::Error::io(
                format!(
                    "cannot set up sync cookies in {}",
                    opts.index_dir.path().display()
                ),
                e,
            )
        })?;
        cookie::remove_stale(&roots, &cookie_key);
        let guard = engine.guard()?;
        let index_dir = std::fs::canonicalize(opts.index_dir.path())
            .unwrap_or_else(|_| opts.index_dir.path().to_owned());
        let pruned = vec![index_dir.clone()];
        let exclusions = Arc::new(Exclusions::new(&roots, &opts.config.index, &pruned)?);
        let (tx, rx) = crossbeam_channel::bounded(EVENT_CHANNEL);
        let watch_config = WatchConfig {
            roots: roots.clone(),
            backend,
            rename_source,
            excluded: pruned,
            barrier_prefix: Some(SYNC_COOKIE_PREFIX.into()),
        };
        let watcher = Watcher::start(watch_config.clone(), tx.clone())?;
        let root_states = roots::Roots::new(&roots).map_err(|e| {
            DaemonError::Watch(fandex_watcher::WatchError::Io {
                what: "the roots' filesystems".into(),
                source: e,
            })
        })?;
        for fs in &watcher.status().filesystems {
            info!(
                content = ?fs.content,
                namespace = ?fs.namespace,
                reason = %fs.reason,
                "watching {}",
                fs.roots.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(", ")
            );
        }
        let mut shared = Shared::new();
        shared.roots = roots.clone();
        shared.state = State::Reconciling;
        let inner = Arc::new(Inner {
            dir: opts.index_dir.clone(),
            searcher: QueryEngine::new(
                engine.text_index().reader().clone(),
                engine.text_index().fields().clone(),
            ),
            reader: engine.text_index().reader().clone(),
            catalog: engine.catalog().clone(),
            shared: Mutex::new(shared),
            queue: Mutex::new(Queue::new(Coalescer::new(batch_limits(&opts.config)))),
            wake: Condvar::new(),
            exclusions: Mutex::new(exclusions),
            config: Mutex::new(opts.config.clone()),
            watcher: Mutex::new(Some(watcher)),
            watch_config,
            events_tx: Mutex::new(Some(tx)),
            roots: Mutex::new(root_states),
            events: rx.clone(),
            stopping: AtomicBool::new(false),
            cookies: Mutex::new(HashMap::new()),
            cookie_done: Condvar::new(),
            cookie_key,
            guard,
            failure: Mutex::new(None),
            failure_changed: Condvar::new(),
            generation: AtomicU64::new(engine.generation()),
            catalog_stats: Mutex::new(None),
        });
        let intake = {
            let inner = inner.clone();
            std::thread::Builder::new()
                .name("fandex-intake".into())
                .spawn(move || pipeline::intake(&inner, rx))
                .map_err(|e| DaemonError::Socket {
                    path: "thread".into(),
                    source: e,
                })?
        };
        // Reconcile: the watcher already runs, so nothing that changes from now on is missed.
        let started = Instant::now();
        let summary = engine.update(&UpdateRequest::default(), &Progress::default())?;
        info!(?summary, "reconciled");
        inner
            .generation
            .store(engine.generation(), Ordering::Relaxed);
        {
            let mut shared = lock(&inner.shared);
            shared.reconcile_seconds = Some(started.elapsed().as_secs_f64());
            shared.note_walk_errors(&summary);
            shared.reconcile = Some(summary);
            shared.state = State::Watching;
        }
        let pipeline = {
            let inner = inner.clone();
            std::thread::Builder::new()
                .name("fandex-pipeline".into())
                .spawn(move || pipeline::run(&inner, engine))
                .map_err(|e| DaemonError::Socket {
                    path: "thread".into(),
                    source: e,
                })?
        };
        let server = if opts.listen {
            let public = opts.config.daemon.public_socket.clone().or_else(|| {
                let default_index = fandex_indexer::layout::default_index_dir();
                (nix::unistd::geteuid().is_root() && opts.index_dir.path() == default_index)
                    .then(|| PathBuf::from(fandex_indexer::config::SYSTEM_SOCKET))
            });
            if let Some(parent) = public.as_deref().and_then(Path::parent) {
                create_public_dir(parent)?;
            }
            Some(server::Server::start(inner.clone(), public)?)
        } else {
            None
        };
        let (guard_stop, guard_stopped) = crossbeam_channel::bounded(0);
        let guard = {
            let inner = inner.clone();
            std::thread::Builder::new()
                .name("fandex-guard".into())
                .spawn(move || guard_loop(&inner, &guard_stopped))
                .map_err(|e| DaemonError::Socket {
                    path: "thread".into(),
                    source: e,
                })?
        };
        let mount_watch = match MountTableWatch::open() {
            Ok(w) => Some(Arc::new(w)),
            Err(e) => {
                warn!(error = %e, "cannot watch the mount table; checking the roots every second");
                None
            }
        };
        let monitor = {
            let (inner, mounts) = (inner.clone(), mount_watch.clone());
            std::thread::Builder::new()
                .name("fandex-roots".into())
                .spawn(move || roots::monitor(&inner, mounts))
                .map_err(|e| DaemonError::Socket {
                    path: "thread".into(),
                    source: e,
                })?
        };
        sdnotify::notify(&format!("READY=1\nSTATUS=watching {} roots", roots.len()));
        Ok(Self {
            inner,
            intake: Some(intake),
            pipeline: Some(pipeline),
            server,
            guard: Some((guard_stop, guard)),
            monitor: Some(monitor),
            mount_watch,
        })
    }

    /// A searcher that sees every commit as it happens.
    pub fn searcher(&self) -> &QueryEngine {
        &self.inner.searcher
    }

    /// The status report.
    pub fn status(&self) -> StatusReport {
        self.inner.status()
    }

    /// Returns once every change made before the call is searchable (or the timeout passes).
    pub fn sync(&self, timeout: Duration) -> Result<u64, DaemonError> {
        self.inner.sync(timeout)
    }

    /// The socket the daemon serves, if it listens.
    pub fn socket_path(&self) -> Option<&Path> {
        self.server.as_ref().map(|s| s.path())
    }

    /// Applies a new configuration: exclusions, limits and batching take effect for the next batch, and
    /// the roots are rescanned so that changed exclusions converge. Roots and the watcher stay as they are
    /// (restart to change them).
    pub fn reload(&self, config: Config) -> Result<(), DaemonError> {
        let roots = lock(&self.inner.shared).roots.clone();
        let pruned = vec![
            std::fs::canonicalize(self.inner.dir.path())
                .unwrap_or_else(|_| self.inner.dir.path().into()),
        ];
        let exclusions = Arc::new(Exclusions::new(&roots, &config.index, &pruned)?);
        *lock(&self.inner.exclusions) = exclusions;
        {
            let mut q = lock(&self.inner.queue);
            let now = Instant::now();
            q.coalescer.set_limits(batch_limits(&config));
            for root in &roots {
                q.push_rescan(root.clone(), RescanKind::ConfigReloaded, now);
            }
        }
        *lock(&self.inner.config) = config;
        self.inner.wake.notify_all();
        info!("configuration reloaded");
        Ok(())
    }

    /// A handle whose [`FailureWatch::wait`] returns once the daemon fails by itself (its index
    /// directory was removed or replaced): then call [`Daemon::stop`], which reports why.
    pub fn failure_watch(&self) -> FailureWatch {
        FailureWatch {
            inner: self.inner.clone(),
        }
    }

    /// Stops: no new changes are accepted, the pending batch is applied and committed, the index is
    /// flushed and closed, the socket removed. Fails with [`DaemonError::IndexLost`] if the daemon had
    /// failed by itself.
    pub fn stop(mut self) -> Result<(), DaemonError> {
        self.shutdown();
        match self.inner.failure() {
            Some(why) => Err(DaemonError::IndexLost(why)),
            None => Ok(()),
        }
    }

    /// [`Daemon::stop`], but gives up after `limit` (a writer stuck on a failing disk, say) with
    /// [`DaemonError::StopTimeout`]; the stop goes on in the background and the caller should exit.
    pub fn stop_within(self, limit: Duration) -> Result<(), DaemonError> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        std::thread::Builder::new()
            .name("fandex-stop".into())
            .spawn(move || {
                let _ = tx.send(self.stop());
            })
            .map_err(|e| DaemonError::Socket {
                path: "thread".into(),
                source: e,
            })?;
        rx.recv_timeout(limit)
            .unwrap_or(Err(DaemonError::StopTimeout(limit)))
    }

    fn shutdown(&mut self) {
        sdnotify::notify("STOPPING=1");
        // An index lost just before the stop was asked for: do not try to commit into it.
        self.inner.check_index();
        {
            let mut shared = lock(&self.inner.shared);
            if shared.state != State::Failed {
                shared.state = State::Stopping;
            }
        }
        {
            let _failure = lock(&self.inner.failure);
            self.inner.stopping.store(true, Ordering::Relaxed);
            self.inner.failure_changed.notify_all();
        }
        if let Some((stop, guard)) = self.guard.take() {
            drop(stop);
            if guard.join().is_err() {
                warn!("index guard thread panicked");
            }
        }
        self.inner.cookie_done.notify_all();
        // The root monitor first: it may restart the watcher.
        if let Some(m) = &self.mount_watch {
            m.wake();
        }
        if let Some(monitor) = self.monitor.take()
            && monitor.join().is_err()
        {
            warn!("root monitor thread panicked");
        }
        lock(&self.inner.events_tx).take();
        // Stop accepting changes: the watcher's threads end and drop their sender.
        if let Some(watcher) = lock(&self.inner.watcher).take() {
            watcher.stop();
        }
        if let Some(intake) = self.intake.take()
            && intake.join().is_err()
        {
            warn!("intake thread panicked");
        }
        lock(&self.inner.queue).stopping = true;
        self.inner.wake.notify_all();
        if let Some(pipeline) = self.pipeline.take()
            && pipeline.join().is_err()
        {
            warn!("pipeline thread panicked");
        }
        if let Some(server) = self.server.take() {
            server.stop();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.pipeline.is_some() {
            self.shutdown();
        }
    }
}
