//! The `[extract]` section: the sandboxed extraction workers, the time a document may take (growing with
//! its size, up to a cap) and the user they run as.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The sandboxed extraction workers. Each document is parsed in a worker process; one that crashes, runs
/// out of memory or takes longer than its timeout ([`ExtractConfig::timeout_for`]) is killed and replaced,
/// and its file is recorded as failed with the reason. The text kept per document is `index.max_text_bytes`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExtractConfig {
    /// Seconds any document may take (wall clock) before its worker is killed: the whole timeout of a file
    /// under 1 MiB, so a small hostile file fails fast.
    pub timeout: u64,
    /// Seconds added per whole MiB of the file's size, so a large real document (a 1,500-page PDF of
    /// 7 MiB) is not failed on a slow or loaded machine.
    pub timeout_per_mib: u64,
    /// The most seconds any document may take, however large (never less than `timeout`).
    pub max_timeout: u64,
    /// Workers at most, parsing documents in parallel. Default: the number of CPUs.
    pub workers: Option<usize>,
    /// Address-space limit of each worker, in bytes (`RLIMIT_AS`). Default 512 MiB.
    pub memory_limit: u64,
    /// The user a root process runs its workers as (they get each file as a descriptor and need no access
    /// of their own); default `nobody`. Empty: workers keep the process's own user (root). Ignored when
    /// the process is not root (it cannot switch).
    pub user: String,
    /// Poppler's `pdftotext` (Debian `poppler-utils`), which workers run to extract PDFs: a name looked up
    /// in `PATH` (default `pdftotext`) or a path. Empty: PDFs are parsed by the built-in `pdf_oxide`,
    /// which is also used when the program is not found or cannot start.
    pub pdftotext: String,
}

impl Default for ExtractConfig {
    fn default() -> Self {
        Self {
            timeout: 30,
            timeout_per_mib: 10,
            max_timeout: 300,
            workers: None,
            memory_limit: 512 << 20,
            user: "nobody".to_owned(),
            pdftotext: "pdftotext".to_owned(),
        }
    }
}

/// Smallest `extract.memory_limit`: a worker's program and libraries alone need tens of MiB.
pub const MIN_WORKER_MEMORY: u64 = 64 << 20;

impl ExtractConfig {
    /// Workers at most: the setting, else the number of CPUs; at least 1.
    pub fn workers(&self) -> usize {
        self.workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
            .max(1)
    }

    /// The time a document of `size` bytes may take: `timeout` plus `timeout_per_mib` for each whole MiB,
    /// at most `max_timeout` (and never less than `timeout`). Whole seconds.
    pub fn timeout_for(&self, size: u64) -> Duration {
        let grown = self
            .timeout
            .saturating_add(self.timeout_per_mib.saturating_mul(size >> 20));
        Duration::from_secs(grown.min(self.longest_timeout()))
    }

    /// The longest any document may take: `max_timeout`, or `timeout` when that is longer.
    pub fn longest_timeout(&self) -> u64 {
        self.max_timeout.max(self.timeout)
    }

    /// Rejects values out of range, naming the key; `max_seconds` bounds the timeouts.
    pub(super) fn check(&self, max_seconds: u64) -> std::result::Result<(), String> {
        for (key, value) in [("timeout", self.timeout), ("max_timeout", self.max_timeout)] {
            if value == 0 || value > max_seconds {
                return Err(format!(
                    "extract.{key} = {value} is out of range: 1 to {max_seconds} seconds"
                ));
            }
        }
        if self.timeout_per_mib > max_seconds {
            return Err(format!(
                "extract.timeout_per_mib = {} is out of range: 0 to {max_seconds} seconds",
                self.timeout_per_mib
            ));
        }
        if self.workers == Some(0) {
            return Err("extract.workers must be at least 1".into());
        }
        if self.memory_limit < MIN_WORKER_MEMORY {
            return Err(format!(
                "extract.memory_limit = {} is too small: at least {MIN_WORKER_MEMORY} (64 MiB)",
                self.memory_limit
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeout_grows_with_the_size_up_to_the_cap() {
        let c = ExtractConfig::default();
        let secs = |size: u64| c.timeout_for(size).as_secs();
        // A small file, hostile or not, has the base timeout.
        assert_eq!(secs(0), 30);
        assert_eq!(secs(100 << 10), 30);
        assert_eq!(secs((1 << 20) - 1), 30);
        // 10 s more per whole MiB: the 7.3 MB (6.98 MiB) source3.pdf, 84 s in a debug build, gets 90 s.
        assert_eq!(secs(1 << 20), 40);
        assert_eq!(secs(7_320_187), 90);
        assert_eq!(secs(7 << 20), 100);
        // Capped, however large.
        assert_eq!(secs(27 << 20), 300);
        assert_eq!(secs(u64::MAX), 300);
        // A base above the cap is kept; no growth per MiB keeps the base.
        let c = ExtractConfig {
            timeout: 600,
            timeout_per_mib: 0,
            ..ExtractConfig::default()
        };
        assert_eq!(c.timeout_for(1 << 30).as_secs(), 600);
        assert_eq!(c.longest_timeout(), 600);
    }
}
