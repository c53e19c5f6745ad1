//! `org.fandex.Fandex1` at [`crate::names::FANDEX_PATH`]: fandex's API for any desktop program.
//!
//! `Search(s query, a{sv} options) -> (t total, aa{sv} hits)` (see [`crate::wire`]), `Status() -> a{sv}`,
//! `Sync(u timeout_ms) -> t generation`, `Pause(u seconds)` (0: until `Resume`), `Resume()`; signals
//! `StatusChanged()` (call `Status` for the new report) and `IndexUpdated(t generation)` after each
//! commit. Every call runs off the bus thread under [`ApiDeadlines`].

use std::sync::Arc;
use std::time::Duration;

use zbus::object_server::SignalEmitter;
use zbus::{fdo, interface};

use crate::backend::{Backend, BackendError};
use crate::deadline::{Outcome, Runner};
use crate::errors::{deadline_passed, to_dbus};
use crate::wire::{self, Dict};

/// How long `org.fandex.Fandex1` calls may take.
#[derive(Debug, Clone, Copy)]
pub struct ApiDeadlines {
    /// `Search`, `Status`, `Pause` and `Resume`.
    pub call: Duration,
    /// Added to the caller's own timeout for `Sync`.
    pub sync_margin: Duration,
}

impl Default for ApiDeadlines {
    fn default() -> Self {
        Self {
            call: Duration::from_secs(5),
            sync_margin: Duration::from_secs(1),
        }
    }
}

/// The `org.fandex.Fandex1` object.
pub struct FandexApi {
    backend: Arc<dyn Backend>,
    runner: Runner,
    deadlines: ApiDeadlines,
}

impl FandexApi {
    /// The API over `backend`, its calls run by `runner`.
    pub fn new(backend: Arc<dyn Backend>, runner: Runner, deadlines: ApiDeadlines) -> Self {
        Self {
            backend,
            runner,
            deadlines,
        }
    }

    async fn call<T, W>(&self, what: &str, deadline: Duration, work: W) -> fdo::Result<T>
    where
        T: Send + 'static,
        W: FnOnce(&dyn Backend) -> Result<T, BackendError> + Send + 'static,
    {
        let backend = self.backend.clone();
        match self
            .runner
            .run(deadline, move || work(backend.as_ref()))
            .await
        {
            Outcome::Done(answer) => answer.map_err(to_dbus),
            Outcome::Late => Err(deadline_passed(what)),
            Outcome::Busy => Err(fdo::Error::LimitsExceeded(format!(
                "{what}: too many calls still running, try again"
            ))),
        }
    }
}

#[interface(name = "org.fandex.Fandex1")]
impl FandexApi {
    /// Runs `query` with `options`; answers how many files match in all and the best hits.
    #[zbus(out_args("total", "hits"))]
    async fn search(&self, query: String, options: Dict) -> fdo::Result<(u64, Vec<Dict>)> {
        let request = wire::request(query, &options)?;
        let results = self
            .call("Search", self.deadlines.call, move |b| b.search(&request))
            .await?;
        let hits = results.hits.iter().map(|h| wire::hit(h, true)).collect();
        Ok((results.total as u64, hits))
    }

    /// The status report.
    async fn status(&self) -> fdo::Result<Dict> {
        let report = self
            .call("Status", self.deadlines.call, |b| b.status())
            .await?;
        Ok(wire::status(&report))
    }

    /// Returns, with the commit generation, once every change made before the call is searchable.
    #[zbus(out_args("generation"))]
    async fn sync(&self, timeout_ms: u32) -> fdo::Result<u64> {
        let timeout = Duration::from_millis(u64::from(timeout_ms));
        let deadline = timeout + self.deadlines.sync_margin;
        self.call("Sync", deadline, move |b| b.sync(timeout)).await
    }

    /// Stops applying changes for `seconds` (0: until `Resume`); changes are still recorded.
    async fn pause(&self, seconds: u32) -> fdo::Result<()> {
        let duration = (seconds > 0).then(|| Duration::from_secs(u64::from(seconds)));
        self.call("Pause", self.deadlines.call, move |b| b.pause(duration))
            .await
    }

    /// Applies the changes recorded while paused and carries on.
    async fn resume(&self) -> fdo::Result<()> {
        self.call("Resume", self.deadlines.call, |b| b.resume())
            .await
    }

    /// The status changed: call `Status` for the new report.
    #[zbus(signal)]
    pub async fn status_changed(emitter: &SignalEmitter<'_>) -> zbus::Result<()>;

    /// A commit made changes searchable, as of `generation`.
    #[zbus(signal)]
    pub async fn index_updated(emitter: &SignalEmitter<'_>, generation: u64) -> zbus::Result<()>;
}
