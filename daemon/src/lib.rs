//! The daemon as a library: open the index, watch the roots, reconcile, keep the index current, answer
//! searches, status and sync requests, and stop cleanly. `fandex daemon` runs this; a desktop application
//! can run the same thing in-process (as an unprivileged user it watches with inotify).
//!
//! Threads:
//!
//! ```text
//! watcher threads --(bounded channel)--> intake --(WorkQueue: the Coalescer)--> pipeline (owns the Engine)
//! socket server --> one thread per connection: search (shared reader), status, sync, pause, resume
//! D-Bus (optional) --> zbus's thread --> worker threads: search, status, sync, pause, resume
//! power monitor --> the queue's pause state (walks wait on battery)
//! ```
//!
//! This file starts, stops and wires the parts; each part gets handles on only what it needs, passed one
//! way: [`intake`] pushes into the [`queue`], the [`pipeline`] applies batches and settles [`sync`]
//! cookies, [`roots`] follows the roots' filesystems and restarts the watcher, the [`server`] answers,
//! [`status`] assembles the report from [`activity`], and [`lifecycle`] knows whether the daemon stops
//! or failed. [`pause`] holds work back (`fandex pause` through [`control`], walks on battery as [`power`] reads it),
//! [`bus`] serves D-Bus and turns the [`events`] the parts announce into signals.

pub mod access;
mod activity;
mod backoff;
mod bus;
mod control;
mod error;
mod events;
pub mod extraction;
mod failures;
mod intake;
mod latency;
mod lifecycle;
mod lock;
mod options;
mod pause;
mod pipeline;
mod poll;
mod power;
mod queue;
mod recent;
pub mod roots;
pub mod sdnotify;
mod server;
pub mod status;
mod sync;
mod walks;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use fandex_indexer::coalesce::RescanKind;
use fandex_indexer::engine::Progress;
use fandex_indexer::exclude::Exclusions;
use fandex_indexer::{Config, Engine, IndexDir};
use fandex_query::QueryEngine;
use fandex_watcher::{MountTableWatch, WatchConfig, Watcher};
use tracing::{info, warn};

pub use error::DaemonError;
/// The D-Bus front end the daemon serves (its [`dbus::ServiceOptions`] go in [`DbusOptions`]).
pub use fandex_dbus as dbus;
pub use fandex_query::protocol::status::PauseReport;
pub use lifecycle::FailureWatch;
pub use options::{DaemonOptions, DbusOptions, configured_engine, open_searcher, rank_weights};
pub use status::{CatalogStats, OwnerOverBudget, QueueDepths, RECENT_FAILURES, StatusReport};

use activity::{Shared, State};
use bus::{Bus, DaemonBackend};
use events::Events;
use intake::Intake;
use lifecycle::Lifecycle;
use lock::lock;
use options::Settings;
use pipeline::Pipeline;
use queue::{EVENT_CHANNEL, WorkQueue};
use roots::RootWatch;
use server::{Server, Services};
use status::StatusSource;
use sync::Syncer;

/// A running daemon.
pub struct Daemon {
    dir: IndexDir,
    searcher: QueryEngine,
    board: Arc<Mutex<Shared>>,
    queue: Arc<WorkQueue>,
    sync: Arc<Syncer>,
    roots: Arc<RootWatch>,
    life: Arc<Lifecycle>,
    settings: Arc<Settings>,
    status: Arc<StatusSource>,
    intake: Option<JoinHandle<()>>,
    pipeline: Option<JoinHandle<Result<(), fandex_indexer::Error>>>,
    /// The index could not be closed at the stop.
    close_error: Option<fandex_indexer::Error>,
    server: Option<Server>,
    /// The index guard's thread, and the channel whose closing ends it.
    guard: Option<(crossbeam_channel::Sender<()>, JoinHandle<()>)>,
    monitor: Option<JoinHandle<()>>,
    mount_watch: Option<Arc<MountTableWatch>>,
    events: Events,
    /// The power monitor's thread, and the channel whose closing ends it.
    power: Option<(crossbeam_channel::Sender<()>, JoinHandle<()>)>,
    bus: Option<Bus>,
}

/// Starts a named thread.
fn spawn<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<JoinHandle<T>, DaemonError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|e| DaemonError::Socket {
            path: "thread".into(),
            source: e,
        })
}

/// Paths never watched or walked: the index directory itself.
fn pruned(dir: &IndexDir) -> Vec<PathBuf> {
    vec![std::fs::canonicalize(dir.path()).unwrap_or_else(|_| dir.path().to_owned())]
}

impl Daemon {
    /// Opens the index, starts watching, starts the pipeline and, with `listen`, the socket. Returns once
    /// ready: from then on every change is being indexed and searches answer. The pipeline first
    /// reconciles the roots with the catalog (picking up what changed while no daemon ran; status says
    /// `reconciling` meanwhile, and searches answer from the index as the last run left it);
    /// [`Daemon::sync`] returns only once that reconcile has been committed.
    pub fn start(opts: DaemonOptions) -> Result<Self, DaemonError> {
        let (backend, rename_source) = options::watch_choices(&opts);
        let mut engine = Engine::open(opts.index_dir.clone(), opts.config.clone())?;
        if let Some(parser) = &opts.parser {
            engine.set_parser(parser.clone());
        }
        engine.set_idle_bulk(opts.config.daemon.idle_priority);
        let roots = engine.register_roots(&opts.roots)?;
        if roots.is_empty() {
            return Err(DaemonError::NoRoots);
        }
        // Roots whose filesystem is not there (unplugged, not mounted) are offline from the start: not
        // watched or walked, their records kept and hidden, reconciled when they return (`roots`).
        let offline = engine.offline_roots()?;
        let present: Vec<PathBuf> = roots
            .iter()
            .filter(|r| !offline.iter().any(|o| &o.path == *r))
            .cloned()
            .collect();
        let sync = Arc::new(Syncer::open(
            &opts.index_dir,
            &present,
            engine.generation(),
        )?);
        let guard = engine.guard()?;
        let pruned = pruned(&opts.index_dir);
        let exclusions = Arc::new(Exclusions::new(&roots, &opts.config.index, &pruned)?);
        let (tx, rx) = crossbeam_channel::bounded(EVENT_CHANNEL);
        let watch_config = WatchConfig {
            roots: present.clone(),
            backend,
            rename_source,
            excluded: pruned,
            barrier_prefix: Some(Syncer::barrier_prefix()),
        };
        let watcher = if present.is_empty() {
            None
        } else {
            Some(Watcher::start(watch_config.clone(), tx.clone())?)
        };
        let root_states = roots::Roots::new(&present, &offline).map_err(|e| {
            DaemonError::Watch(fandex_watcher::WatchError::Io {
                what: "the roots' filesystems".into(),
                source: e,
            })
        })?;
        for fs in watcher.iter().flat_map(|w| w.status().filesystems) {
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
        let board = Arc::new(Mutex::new(shared));
        let queue = Arc::new(WorkQueue::new(&opts.config));
        let (events, events_rx) = Events::channel();
        let power_source = power::Source::choose(&opts.config.daemon);
        queue.lock().pause.set_on_battery(power_source.on_battery());
        let searcher = configured_engine(
            engine.text_index().reader().clone(),
            engine.text_index().fields().clone(),
            &opts.config,
        );
        let settings = Arc::new(Settings::new(opts.config.clone(), exclusions));
        let roots_watch = Arc::new(RootWatch::new(
            root_states,
            watcher,
            watch_config,
            tx,
            searcher.clone(),
            board.clone(),
            queue.clone(),
        ));
        let life = {
            let (board, queue, sync) = (board.clone(), queue.clone(), sync.clone());
            Arc::new(Lifecycle::new(
                guard,
                Box::new(move |message: &str| {
                    {
                        let mut shared = lock(&board);
                        shared.state = State::Failed;
                        shared.last_error = Some(message.to_owned());
                    }
                    queue.stop();
                    sync.wake_all();
                }),
            ))
        };
        let status = Arc::new(StatusSource {
            dir: opts.index_dir.clone(),
            board: board.clone(),
            queue: queue.clone(),
            events: rx.clone(),
            roots: roots_watch.clone(),
            reader: engine.text_index().reader().clone(),
            catalog: engine.catalog().clone(),
            settings: settings.clone(),
            catalog_stats: Mutex::new(None),
        });
        let intake = {
            let intake = Intake {
                queue: queue.clone(),
                sync: sync.clone(),
                board: board.clone(),
            };
            spawn("fandex-intake", move || intake.run(rx))?
        };
        // Reconcile: the watcher already runs, so nothing that changes from now on is missed. An index
        // found in another format is refilled by the pipeline instead, while the socket serves.
        if let Some(rebuild) = engine.rebuilding() {
            let mut shared = lock(&board);
            shared.state = State::Rebuilding;
            shared.rebuild = Some((rebuild, Arc::new(Progress::default())));
        } else if queue.lock().pause.holds_bulk() {
            // On battery: the walk waits for mains power; live changes are indexed meanwhile.
            info!("on battery: the start-up walk waits for mains power (daemon.on_battery)");
            queue.rescan(present.clone(), RescanKind::Startup);
            lock(&board).state = State::Watching;
        } else {
            // The pipeline reconciles first thing (state `reconciling`), while the socket already
            // answers searches from the index as it is; a `sync` waits for the reconcile, since the
            // cookie's own events are applied only after it.
            lock(&board).state = State::Reconciling;
        }
        let catalog = engine.catalog().clone();
        let pipeline = {
            let pipeline = Pipeline {
                queue: queue.clone(),
                sync: sync.clone(),
                roots: roots_watch.clone(),
                board: board.clone(),
                life: life.clone(),
                settings: settings.clone(),
                events: events.clone(),
            };
            spawn("fandex-pipeline", move || pipeline.run(engine))?
        };
        let server = if opts.listen {
            let public = opts.config.daemon.public_socket.clone().or_else(|| {
                let default_index = fandex_indexer::layout::default_index_dir();
                (nix::unistd::geteuid().is_root() && opts.index_dir.path() == default_index)
                    .then(|| PathBuf::from(fandex_indexer::config::SYSTEM_SOCKET))
            });
            if let Some(parent) = public.as_deref().and_then(Path::parent) {
                server::create_public_dir(parent)?;
            }
            let services = Services {
                searcher: searcher.clone(),
                catalog,
                settings: settings.clone(),
                status: status.clone(),
                sync: sync.clone(),
                roots: roots_watch.clone(),
                life: life.clone(),
                queue: queue.clone(),
                events: events.clone(),
            };
            let private = opts
                .config
                .daemon
                .socket
                .clone()
                .unwrap_or_else(|| opts.index_dir.socket_path());
            Some(Server::start(Arc::new(services), private, public)?)
        } else {
            None
        };
        let (guard_stop, guard_stopped) = crossbeam_channel::bounded(0);
        let guard = {
            let life = life.clone();
            spawn("fandex-guard", move || {
                lifecycle::guard_loop(&life, &guard_stopped)
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
            let (roots, life, mounts) = (roots_watch.clone(), life.clone(), mount_watch.clone());
            let settings = settings.clone();
            spawn("fandex-roots", move || {
                roots::monitor(&roots, &life, mounts, &settings)
            })?
        };
        let (power_stop, power_stopped) = crossbeam_channel::bounded(0);
        let power = {
            let (queue, events) = (queue.clone(), events.clone());
            spawn("fandex-power", move || {
                power::monitor(&power_source, &queue, &events, &power_stopped)
            })?
        };
        let backend = DaemonBackend {
            searcher: searcher.clone(),
            status: status.clone(),
            sync: sync.clone(),
            roots: roots_watch.clone(),
            life: life.clone(),
            queue: queue.clone(),
            events: events.clone(),
        };
        let mut daemon = Self {
            dir: opts.index_dir,
            searcher,
            board,
            queue,
            sync,
            roots: roots_watch,
            life,
            settings,
            status,
            intake: Some(intake),
            pipeline: Some(pipeline),
            close_error: None,
            server,
            guard: Some((guard_stop, guard)),
            monitor: Some(monitor),
            mount_watch,
            events,
            power: Some((power_stop, power)),
            bus: None,
        };
        if let Some(dbus) = opts.dbus {
            match Bus::start(backend, dbus.service, events_rx) {
                Ok(bus) => daemon.bus = Some(bus),
                Err(err) if !dbus.required => {
                    warn!("not serving D-Bus: {err}");
                }
                // Dropping the daemon stops what started.
                Err(err) => return Err(err),
            }
        }
        sdnotify::notify(&format!("READY=1\nSTATUS=watching {} roots", roots.len()));
        Ok(daemon)
    }

    /// Pauses applying changes (they keep being recorded) for `duration`, or until
    /// [`Daemon::resume`]; returns the pause now in force.
    pub fn pause(&self, duration: Option<Duration>) -> Option<PauseReport> {
        control::pause(&self.queue, &self.events, duration)
    }

    /// Ends a pause: the changes recorded meanwhile are applied. Returns the pause still in force
    /// (walks on battery), if any.
    pub fn resume(&self) -> Option<PauseReport> {
        control::resume(&self.queue, &self.events)
    }

    /// A searcher that sees every commit as it happens.
    pub fn searcher(&self) -> &QueryEngine {
        &self.searcher
    }

    /// The status report.
    pub fn status(&self) -> StatusReport {
        self.status.report()
    }

    /// Returns once every change made before the call is searchable (or the timeout passes).
    pub fn sync(&self, timeout: Duration) -> Result<u64, DaemonError> {
        self.sync.request(&self.roots, &self.life, timeout)
    }

    /// The socket the daemon serves, if it listens.
    pub fn socket_path(&self) -> Option<&Path> {
        self.server.as_ref().map(|s| s.path())
    }

    /// Applies a new configuration: exclusions, limits and batching take effect for the next batch, and
    /// the roots are rescanned so that changed exclusions converge. Roots and the watcher stay as they are
    /// (restart to change them).
    pub fn reload(&self, config: Config) -> Result<(), DaemonError> {
        let roots = lock(&self.board).roots.clone();
        let exclusions = Arc::new(Exclusions::new(&roots, &config.index, &pruned(&self.dir))?);
        {
            let mut q = self.queue.lock();
            let now = Instant::now();
            q.coalescer.set_limits(queue::batch_limits(&config));
            q.pause.set_policy(
                config.daemon.on_battery,
                Duration::from_secs(config.daemon.throttle_gap_secs),
            );
            for root in &roots {
                q.push_rescan(root.clone(), RescanKind::ConfigReloaded, now);
            }
        }
        self.searcher.set_rank(rank_weights(&config.rank));
        self.settings.replace(config, exclusions);
        self.queue.notify();
        info!("configuration reloaded");
        Ok(())
    }

    /// A handle whose [`FailureWatch::wait`] returns once the daemon fails by itself (its index
    /// directory was removed or replaced): then call [`Daemon::stop`], which reports why.
    pub fn failure_watch(&self) -> FailureWatch {
        FailureWatch {
            life: self.life.clone(),
        }
    }

    /// Stops: no new changes are accepted, the pending batch is applied and committed, the index is
    /// flushed and closed, the socket removed. Fails with [`DaemonError::IndexLost`] if the daemon had
    /// failed by itself, and with [`DaemonError::Index`] if the index could not be closed.
    pub fn stop(mut self) -> Result<(), DaemonError> {
        self.shutdown();
        if let Some(why) = self.life.failure() {
            return Err(DaemonError::IndexLost(why));
        }
        match self.close_error.take() {
            Some(err) => Err(DaemonError::Index(err)),
            None => Ok(()),
        }
    }

    /// [`Daemon::stop`], but gives up after `limit` (a writer stuck on a failing disk, say) with
    /// [`DaemonError::StopTimeout`]; the stop goes on in the background and the caller should exit.
    pub fn stop_within(self, limit: Duration) -> Result<(), DaemonError> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        spawn("fandex-stop", move || {
            let _ = tx.send(self.stop());
        })?;
        rx.recv_timeout(limit)
            .unwrap_or(Err(DaemonError::StopTimeout(limit)))
    }

    fn shutdown(&mut self) {
        sdnotify::notify("STOPPING=1");
        // An index lost just before the stop was asked for: do not try to commit into it.
        self.life.check_index();
        {
            let mut shared = lock(&self.board);
            if shared.state != State::Failed {
                shared.state = State::Stopping;
            }
        }
        self.life.stop();
        if let Some((stop, power)) = self.power.take() {
            drop(stop);
            if power.join().is_err() {
                warn!("power monitor thread panicked");
            }
        }
        if let Some((stop, guard)) = self.guard.take() {
            drop(stop);
            if guard.join().is_err() {
                warn!("index guard thread panicked");
            }
        }
        self.sync.wake_all();
        // The root monitor first: it may restart the watcher.
        if let Some(m) = &self.mount_watch {
            m.wake();
        }
        if let Some(monitor) = self.monitor.take()
            && monitor.join().is_err()
        {
            warn!("root monitor thread panicked");
        }
        // Stop accepting changes: the watcher's threads end and drop their sender.
        self.roots.stop_watching();
        if let Some(intake) = self.intake.take()
            && intake.join().is_err()
        {
            warn!("intake thread panicked");
        }
        self.queue.stop();
        if let Some(pipeline) = self.pipeline.take() {
            match pipeline.join() {
                Ok(closed) => self.close_error = closed.err(),
                Err(_) => warn!("pipeline thread panicked"),
            }
        }
        if let Some(server) = self.server.take() {
            server.stop();
        }
        if let Some(bus) = self.bus.take() {
            bus.stop();
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
