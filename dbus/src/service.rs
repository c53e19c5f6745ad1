//! Puts the three objects on a bus under [`BUS_NAME`] and keeps them served; the handle the daemon holds
//! to emit `IndexUpdated` and `StatusChanged`.
//!
//! The connection runs on zbus's own runtime (no tokio): [`Service::start`] builds it on the calling
//! thread, then a zbus helper thread serves it while the caller carries on. Backend calls run on worker
//! threads ([`crate::deadline`]), never on that thread.

use std::sync::Arc;
use std::time::Duration;

use zbus::object_server::SignalEmitter;

use crate::api::{ApiDeadlines, FandexApi};
use crate::backend::Backend;
use crate::deadline::Runner;
use crate::gnome::GnomeProvider;
use crate::hit_cache::HitCache;
use crate::krunner::KRunner;
use crate::names::{BUS_NAME, FANDEX_PATH, KRUNNER_PATH, SEARCH_PROVIDER_PATH};
use crate::opener::Desktop;
use crate::provider_search::ProviderSearch;

/// Which bus to serve on.
#[derive(Debug, Clone)]
pub enum Bus {
    /// The user's session bus (`DBUS_SESSION_BUS_ADDRESS`).
    Session,
    /// The bus at this D-Bus address (e.g. `unix:path=/run/user/1000/bus`).
    Address(String),
}

/// How the service runs.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// The bus.
    pub bus: Bus,
    /// The programs that open files and copy paths.
    pub desktop: Desktop,
    /// The longest a shell provider query waits for the backend before answering with nothing.
    pub provider_deadline: Duration,
    /// The deadlines of `org.fandex.Fandex1` calls.
    pub api_deadlines: ApiDeadlines,
    /// The most backend calls running at once (late ones included); more are refused.
    pub max_in_flight: usize,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        Self {
            bus: Bus::Session,
            desktop: Desktop::from_env(),
            provider_deadline: Duration::from_millis(500),
            api_deadlines: ApiDeadlines::default(),
            max_in_flight: 8,
        }
    }
}

/// Why the service could not start or signal.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The bus refused or failed (connection, name already owned, ...).
    #[error("D-Bus: {0}")]
    Bus(#[from] zbus::Error),
}

/// The running service. Dropping it leaves the bus (the name and objects go away).
#[derive(Debug)]
pub struct Service {
    connection: zbus::Connection,
}

impl Service {
    /// Connects, serves the three objects and takes [`BUS_NAME`]; fails if another process owns it.
    ///
    /// Call from an ordinary thread, not from inside a zbus call.
    pub fn start(backend: Arc<dyn Backend>, options: ServiceOptions) -> Result<Self, ServiceError> {
        let runner = Runner::new(options.max_in_flight);
        let provider_search = || ProviderSearch {
            backend: backend.clone(),
            runner: runner.clone(),
            deadline: options.provider_deadline,
            cache: HitCache::default(),
        };
        let builder = match &options.bus {
            Bus::Session => zbus::connection::Builder::session(),
            Bus::Address(address) => zbus::connection::Builder::address(address.as_str()),
        };
        let builder = builder
            .serve_at(
                SEARCH_PROVIDER_PATH,
                GnomeProvider::new(provider_search(), options.desktop.clone()),
            )
            .serve_at(
                KRUNNER_PATH,
                KRunner::new(provider_search(), options.desktop.clone()),
            )
            .serve_at(
                FANDEX_PATH,
                FandexApi::new(backend.clone(), runner.clone(), options.api_deadlines),
            )
            .name(BUS_NAME)
            // The name stays with the first service: a second one fails instead of taking it over.
            .allow_name_replacements(false)
            .replace_existing_names(false);
        let connection = zbus::block_on(builder.build())?;
        tracing::info!(name = BUS_NAME, "serving desktop search on D-Bus");
        Ok(Self { connection })
    }

    /// Emits `IndexUpdated(generation)`: call after each commit. Call from an ordinary thread.
    pub fn index_updated(&self, generation: u64) -> Result<(), ServiceError> {
        let emitter = SignalEmitter::new(&self.connection, FANDEX_PATH)?;
        zbus::block_on(FandexApi::index_updated(&emitter, generation))?;
        Ok(())
    }

    /// Emits `StatusChanged()`: call when the status report changes (paused, resumed, crawl done, ...).
    pub fn status_changed(&self) -> Result<(), ServiceError> {
        let emitter = SignalEmitter::new(&self.connection, FANDEX_PATH)?;
        zbus::block_on(FandexApi::status_changed(&emitter))?;
        Ok(())
    }

    /// The bus connection (its unique name, for tests and diagnostics).
    pub fn connection(&self) -> &zbus::Connection {
        &self.connection
    }
}
