//! Turns the raw samples of a harness run into the tables of `BENCHMARKS.md`.
//!
//! Input: one sample per line, five tab-separated columns: `corpus measure tool metric value`. Several
//! lines with the same first four columns are repeated runs; tables show their median. Known measures:
//!
//! - `corpus` (tool `-`): `files`, `bytes`, `gz_files` of each corpus;
//! - `index` (tools `fandex`, `recollindex`, `tantivy-alone`, `read-floor`): `wall_s`, `rss_kb`,
//!   `rss_anon_kb`, `rss_file_kb`, `size_kb`, `docs`;
//! - `noop` and `change100` (tools `fandex`, `recollindex`): `wall_s`, `rss_kb`;
//! - `q:CLASS` (tools `fandex-cli`, `fandex-lib`, `fandex-lib-nosnip`, `recollq`, `rg`): `p50_ms`,
//!   `p99_ms`; files matched are `hits` for `fandex-lib` and `recollq` and `lines` (of `rg -l`) for
//!   `rg`; tool `-` metric `query` holds the fandex query text;
//! - `count:TERM` (tools `fandex`, `rg`, `rg-z`, `recollq`, `recollq-stem`): `files`;
//! - `run` (corpus `-`, tool `-`): facts about the run, printed as a list;
//! - the daemon's, tools `fandex-fanotify` and `fandex-inotify` (and `recoll-monitor` for latency):
//!   - `restart`: `first_start_s`, `first_reconciled_s`, `restart_s`, `reconciled_s`, `reconcile_s`,
//!     `reconcile_indexed`, `ready_rss_kb`, `stop_s`;
//!   - `latency:RATE`: `p50_ms`, `p95_ms`, `p99_ms`, `max_ms` (`inf` when changes were missed),
//!     `changes`, `created`, `rewritten`, `seen`, `missed`, `superseded`, `achieved_rate`, `poll_ms`,
//!     `poll_cycle_ms`, `timeout_s`;
//!   - `watchsetup` (corpus `dirs-N`): `dirs` (tool `-`), `first_start_s`, `restart_s`, `reconcile_s`,
//!     `ready_rss_kb`;
//!   - `burst` (corpus `files-N`): `files`, `create_s`, `sync_s`, `searchable_s`, `found`,
//!     `fds_before`, `peak_fds`, `hwm_before_kb`, `hwm_kb`, `rss_after_kb`;
//!   - `move`: `files`, `all_new_s`, `none_old_s` (`inf`: timed out), `found_new`, `left_old`,
//!     `poll_ms`;
//!   - `idle`: `seconds`, `cpu_pct`, `rss_kb`, `rss_max_kb`, `rss_anon_kb`.
//!
//! Any other measure is listed in a generic table, so new measurements (the daemon's) show up before
//! they get a table of their own.

mod daemon;
mod format;
mod indexing;
mod others;
mod samples;
mod searching;
#[cfg(test)]
mod tests;

use std::path::Path;

use crate::error::{BenchError, Result};

use daemon::{burst, idle, latency, moves, restart, watch_setup};
use indexing::{corpora, full_index, incremental, run_facts};
use others::others;
use samples::Data;
pub use samples::{Sample, parse_samples};
use searching::{counts, queries};

/// Reads and renders a samples file.
pub fn render_file(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| BenchError::io("cannot read", path, e))?;
    Ok(render(&parse_samples(&text, &path.display().to_string())?))
}

/// Renders every section that has data, as Markdown.
pub fn render(samples: &[Sample]) -> String {
    let d = Data { samples };
    let mut out = String::new();
    run_facts(&d, &mut out);
    corpora(&d, &mut out);
    full_index(&d, &mut out);
    incremental(&d, &mut out);
    queries(&d, &mut out);
    counts(&d, &mut out);
    restart(&d, &mut out);
    latency(&d, &mut out);
    watch_setup(&d, &mut out);
    burst(&d, &mut out);
    moves(&d, &mut out);
    idle(&d, &mut out);
    others(&d, &mut out);
    out
}
