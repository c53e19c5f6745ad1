//! fandex on the D-Bus session bus: desktop search for GNOME Shell and KRunner, and an API for any
//! program, under the well-known name `org.fandex.Fandex`.
//!
//! - `/org/fandex/SearchProvider`: `org.gnome.Shell.SearchProvider2` ([`gnome`]).
//! - `/org/fandex/KRunner`: `org.kde.krunner1` ([`krunner`]).
//! - `/org/fandex/Fandex`: `org.fandex.Fandex1` ([`api`], types in [`wire`]).
//!
//! The objects answer from a [`Backend`]: the daemon implements it over its in-process searcher;
//! [`IndexBackend`] searches an index directory without the daemon (relevance as the configuration's
//! `[rank]` says, through [`searcher`], the one place that builds a query engine from the configuration); [`SocketBackend`] forwards to a
//! daemon's socket as the user running it (`fandex bridge`: desktop search served by a system daemon). [`Service::start`] serves them; the
//! returned [`Service`] emits the API's signals. Backend calls run on worker threads under a deadline
//! ([`deadline`]), so a slow index never blocks the bus: a provider answers within its deadline with
//! what is ready.
//!
//! ```no_run
//! use std::sync::Arc;
//! use fandex_dbus::{IndexBackend, Service, ServiceOptions};
//!
//! let dir = fandex_indexer::IndexDir::at("/home/me/.local/share/fandex");
//! let backend = IndexBackend::open(dir, &fandex_indexer::Config::default())?;
//! let service = Service::start(Arc::new(backend), ServiceOptions::default())?;
//! service.index_updated(42)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod api;
pub mod backend;
pub mod deadline;
pub mod errors;
pub mod gnome;
pub mod hit_cache;
pub mod icon;
pub mod index_backend;
pub mod krunner;
pub mod names;
pub mod opener;
pub mod provider_search;
pub mod result_id;
pub mod searcher;
pub mod service;
pub mod socket_backend;
pub mod terms;
pub mod wire;

pub use backend::{Backend, BackendError};
pub use index_backend::IndexBackend;
pub use opener::Desktop;
pub use searcher::{configured_engine, open_searcher, rank_weights};
pub use service::{Bus, Service, ServiceError, ServiceOptions};
pub use socket_backend::SocketBackend;
