//! How to run the daemon: the options it starts with, and the settings a reload replaces while it runs.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use fandex_indexer::exclude::Exclusions;
use fandex_indexer::extract::DocumentParser;
use fandex_indexer::{Config, IndexDir};
use fandex_watcher::{Backend, RenameSource};

use crate::lock::lock;

pub use fandex_dbus::{configured_engine, open_searcher, rank_weights};

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
    /// The parser of complex documents (PDF, office, e-mail, archives, media tags): normally a
    /// [`crate::extraction::SandboxParser`]. `None` leaves such documents found by name only.
    pub parser: Option<Arc<dyn DocumentParser>>,
    /// Serve `org.fandex.Fandex` on D-Bus (desktop search providers and the API), when given.
    pub dbus: Option<DbusOptions>,
}

/// How the daemon serves D-Bus.
#[derive(Debug, Clone)]
pub struct DbusOptions {
    /// The bus, the desktop's programs and the deadlines.
    pub service: fandex_dbus::ServiceOptions,
    /// Whether a bus that cannot be served stops the start (else it is logged and the daemon runs
    /// without it, as `daemon.dbus = "auto"` does).
    pub required: bool,
}

/// The watcher's backend and rename source: the options first, then the configuration, else auto.
pub(crate) fn watch_choices(opts: &DaemonOptions) -> (Backend, RenameSource) {
    let watch = &opts.config.watch;
    (
        opts.backend.or(watch.backend).unwrap_or_default(),
        opts.rename_source
            .or(watch.rename_source)
            .unwrap_or_default(),
    )
}

/// What a reload replaces: the configuration and the exclusions built from it. Each batch takes the
/// settings current when it starts.
pub(crate) struct Settings {
    config: Mutex<Config>,
    exclusions: Mutex<Arc<Exclusions>>,
}

impl Settings {
    pub(crate) fn new(config: Config, exclusions: Arc<Exclusions>) -> Self {
        Self {
            config: Mutex::new(config),
            exclusions: Mutex::new(exclusions),
        }
    }

    /// The configuration now.
    pub(crate) fn config(&self) -> Config {
        lock(&self.config).clone()
    }

    /// The exclusions now.
    pub(crate) fn exclusions(&self) -> Arc<Exclusions> {
        lock(&self.exclusions).clone()
    }

    /// Replaces both.
    pub(crate) fn replace(&self, config: Config, exclusions: Arc<Exclusions>) {
        *lock(&self.exclusions) = exclusions;
        *lock(&self.config) = config;
    }
}
