//! How to run the daemon: the options it starts with, and the settings a reload replaces while it runs.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use fandex_indexer::exclude::Exclusions;
use fandex_indexer::{Config, IndexDir};
use fandex_watcher::{Backend, RenameSource};

use crate::error::DaemonError;
use crate::lock::lock;

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

/// The watcher's backend and rename source: the options first, then the configuration, else auto.
pub(crate) fn watch_choices(opts: &DaemonOptions) -> Result<(Backend, RenameSource), DaemonError> {
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
