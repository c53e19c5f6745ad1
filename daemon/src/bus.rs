//! The daemon on the D-Bus session bus: `org.fandex.Fandex` (the GNOME and KRunner search providers and
//! `org.fandex.Fandex1`, from the `fandex-dbus` crate) answered in-process by [`DaemonBackend`], and the
//! thread that turns the daemon's [`Event`]s into the API's signals, rate-limited.
//!
//! Searches run on the live searcher as the daemon's own user (the session bus is that user's); they
//! never wait for the pipeline. Status is the owner's full report, `Sync` the socket's read-your-writes,
//! `Pause` and `Resume` the same as `fandex pause` and `fandex resume`.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use fandex_dbus::{Backend, BackendError, Service, ServiceOptions};
use fandex_query::{Hit, LaterSnippets, QueryEngine, SearchRequest, SearchResults, Snippet};
use tracing::{debug, warn};

use crate::control;
use crate::error::DaemonError;
use crate::events::{Event, Events};
use crate::lifecycle::Lifecycle;
use crate::queue::WorkQueue;
use crate::roots::RootWatch;
use crate::status::StatusSource;
use crate::sync::Syncer;

/// The shortest time between two signals of one kind: a burst of commits is one `IndexUpdated` with the
/// newest generation.
pub(crate) const SIGNAL_GAP: Duration = Duration::from_millis(250);

/// The daemon's parts the bus answers from.
pub(crate) struct DaemonBackend {
    pub(crate) searcher: QueryEngine,
    pub(crate) status: Arc<StatusSource>,
    pub(crate) sync: Arc<Syncer>,
    pub(crate) roots: Arc<RootWatch>,
    pub(crate) life: Arc<Lifecycle>,
    pub(crate) queue: Arc<WorkQueue>,
    pub(crate) events: Events,
}

impl Backend for DaemonBackend {
    fn search(&self, request: &SearchRequest) -> Result<SearchResults, BackendError> {
        Ok(self.searcher.search(request)?)
    }

    fn search_later(
        &self,
        request: &SearchRequest,
    ) -> Result<(SearchResults, Option<Arc<LaterSnippets>>), BackendError> {
        let (results, later) = self.searcher.search_later(request)?;
        Ok((results, Some(Arc::new(later))))
    }

    fn snippets(
        &self,
        request: &SearchRequest,
        hits: &[Hit],
    ) -> Result<Vec<Snippet>, BackendError> {
        Ok(self.searcher.snippets(request, hits)?)
    }

    fn status(&self) -> Result<serde_json::Value, BackendError> {
        serde_json::to_value(self.status.report())
            .map_err(|e| BackendError::Internal(e.to_string()))
    }

    fn sync(&self, timeout: Duration) -> Result<u64, BackendError> {
        self.sync
            .request(&self.roots, &self.life, timeout)
            .map_err(|e| match e {
                e @ DaemonError::SyncTimeout(_) => BackendError::Timeout(e.to_string()),
                e @ DaemonError::Stopping => BackendError::Unavailable(e.to_string()),
                e => BackendError::Internal(e.to_string()),
            })
    }

    fn pause(&self, duration: Option<Duration>) -> Result<(), BackendError> {
        control::pause(&self.queue, &self.events, duration);
        Ok(())
    }

    fn resume(&self) -> Result<(), BackendError> {
        control::resume(&self.queue, &self.events);
        Ok(())
    }
}

/// The service on the bus and the thread emitting its signals.
pub(crate) struct Bus {
    events: Events,
    thread: JoinHandle<()>,
}

impl Bus {
    /// Serves `backend` with `options` and starts emitting the signals for `rx`'s events.
    pub(crate) fn start(
        backend: DaemonBackend,
        options: ServiceOptions,
        rx: Receiver<Event>,
    ) -> Result<Self, DaemonError> {
        let events = backend.events.clone();
        let service = Service::start(Arc::new(backend), options)
            .map_err(|e| DaemonError::Bus(e.to_string()))?;
        let thread = std::thread::Builder::new()
            .name("fandex-dbus".into())
            .spawn(move || signal_loop(&service, &rx))
            .map_err(|e| DaemonError::Bus(format!("cannot start a thread: {e}")))?;
        Ok(Self { events, thread })
    }

    /// Emits what is pending and leaves the bus.
    pub(crate) fn stop(self) {
        self.events.stop();
        if self.thread.join().is_err() {
            warn!("D-Bus signal thread panicked");
        }
    }
}

/// Emits a signal per kind at most every [`SIGNAL_GAP`], the newest generation for a burst of commits,
/// until [`Event::Stop`] (then what is pending goes out first).
fn signal_loop(service: &Service, rx: &Receiver<Event>) {
    let mut generation: Option<u64> = None;
    // The newest generation announced: a batch that committed nothing new is not announced again.
    let mut announced = 0;
    let mut status = false;
    let mut last = Instant::now()
        .checked_sub(SIGNAL_GAP)
        .unwrap_or_else(Instant::now);
    let mut stopping = false;
    while !stopping {
        let pending = generation.is_some() || status;
        let event = if pending {
            rx.recv_timeout((last + SIGNAL_GAP).saturating_duration_since(Instant::now()))
        } else {
            rx.recv().map_err(|_| RecvTimeoutError::Disconnected)
        };
        match event {
            Ok(Event::Committed(g)) if g > announced => {
                generation = Some(generation.map_or(g, |old| old.max(g)));
            }
            Ok(Event::Committed(_)) => {}
            Ok(Event::StatusChanged) => status = true,
            Ok(Event::Stop) | Err(RecvTimeoutError::Disconnected) => stopping = true,
            Err(RecvTimeoutError::Timeout) => {}
        }
        if !stopping && Instant::now() < last + SIGNAL_GAP {
            continue;
        }
        if let Some(g) = generation.take() {
            announced = g;
            debug!(generation = g, "IndexUpdated");
            if let Err(e) = service.index_updated(g) {
                warn!("cannot emit IndexUpdated: {e}");
            }
            last = Instant::now();
        }
        if std::mem::take(&mut status) {
            if let Err(e) = service.status_changed() {
                warn!("cannot emit StatusChanged: {e}");
            }
            last = Instant::now();
        }
    }
}
