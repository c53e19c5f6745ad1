//! Measurements for fandex's benchmark harness (`bench/run`) that a shell cannot take honestly:
//!
//! - [`engine`]: tantivy alone indexing already-extracted text held in memory (the engine's limit);
//! - [`floor`]: reading every byte of a corpus from the page cache (the I/O floor);
//! - [`queries`]: query latency through the library, per query class;
//! - [`cmd`]: latency of whole commands (CLI searches, `recollq`, `rg`), p50/p99 over many runs;
//! - [`rss`]: anonymous and file-backed peaks of a process's resident memory;
//! - [`daemon`]: a daemon's time from spawn to `READY=1` (systemd's readiness notification);
//! - [`latency`]: change-to-searchable latency under a steady write load, polled without sync;
//! - [`burst`]: a burst of new files and a directory move under a running daemon;
//! - [`children`]: memory of a process's descendants (the extraction workers);
//! - [`fidelity`]: how much of a reference extractor's text a search finds in each document;
//! - [`synth`]: the deterministic synthetic tree of a million files, and its oracle check;
//! - [`procfs`]: descriptors, memory and CPU time of a running process;
//! - [`report`]: the tables of `BENCHMARKS.md` from the raw samples of a run.

pub mod burst;
pub mod children;
pub mod cmd;
pub mod corpus;
pub mod daemon;
pub mod engine;
pub mod error;
pub mod fidelity;
pub mod floor;
pub mod latency;
pub mod names;
pub mod procfs;
pub mod queries;
pub mod report;
pub mod rss;
pub mod stats;
pub mod synth;

pub use error::{BenchError, Result};
