//! Documents parsed in sandboxed worker processes: [`SandboxParser`], the [`DocumentParser`] the daemon and
//! `fandex index` give their engine, and [`serve_worker`], the worker's side.
//!
//! Each complex document (PDF, office, EPUB, RTF, e-mail, archives, media tags: see [`runs_in_sandbox`])
//! goes to a worker of a `fandex_sandbox::Pool` with the file's open descriptor (the worker never opens a
//! path) and comes back as a [`fandex_formats::Document`] ([`wire`]). A worker that crashes, exceeds its
//! memory limit or the timeout is killed and replaced; the document fails with the reason
//! (`extractor crashed (SIGSEGV)`, `timed out after 30 s`, `memory limit (512 MiB)`), as a [`ParseError`].
//! Settings come from the configuration's `[extract]` section and `index.max_text_bytes`.
//!
//! An embedding application does what the `fandex` binary does: its `main` first runs [`serve_worker`]
//! when started as a worker (e.g. with the argument `extract-worker`, before starting any thread), and its
//! engine or daemon gets a parser that starts workers that way:
//!
//! ```no_run
//! use std::sync::Arc;
//! use fandex_daemon::extraction::{SandboxParser, WorkerCommand, serve_worker};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! if std::env::args().nth(1).as_deref() == Some("extract-worker") {
//!     serve_worker()?;
//!     return Ok(());
//! }
//! let config = fandex_indexer::Config::default();
//! let parser = SandboxParser::new(&config, WorkerCommand::this_program("extract-worker"))?;
//! let mut engine = fandex_indexer::Engine::open(fandex_indexer::IndexDir::at("/tmp/index"), config)?;
//! engine.set_parser(Arc::new(parser));
//! // or: DaemonOptions { parser: Some(Arc::new(parser)), .. }
//! # Ok(()) }
//! ```

mod wire;
mod worker;

use std::ffi::OsString;
use std::fs::File;
use std::path::PathBuf;
use std::time::Duration;

use fandex_formats::{Document, Kind, Limits as FormatLimits};
use fandex_indexer::Config;
use fandex_indexer::extract::{DocumentParser, ParseError};
use fandex_sandbox::{Lockdown, Pool, PoolConfig, WorkerLimits};

pub use worker::{TEST_TRIGGER_ENV, serve_worker};

use wire::Request;

/// Smallest response a pool accepts: room for a document of `index.max_text_bytes` several times over
/// (parts, metadata), and at least this much.
const MIN_RESPONSE_BYTES: usize = 64 << 20;

/// Whether a file of `kind` starting with `head` (its first [`fandex_formats::HEAD_LEN`] bytes) is
/// parsed by a [`DocumentParser`] (in a sandboxed worker). Plain text, HTML, unknown contents and gzip
/// (except a compressed tar archive) stay with the indexer's own in-process decoders.
pub fn runs_in_sandbox(kind: Kind, head: &[u8]) -> bool {
    // The engine's own rule, with a parser present: one place decides what is a document.
    fandex_indexer::engine::is_document(kind, head, true)
}

/// The program a pool starts as its workers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerCommand {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
}

impl WorkerCommand {
    /// The running program itself (`/proc/self/exe`, so a binary replaced on disk by an upgrade still
    /// starts the same code) with the one argument `arg`, e.g. `extract-worker` for the `fandex` binary.
    pub fn this_program(arg: &str) -> Self {
        WorkerCommand {
            program: PathBuf::from("/proc/self/exe"),
            args: vec![OsString::from(arg)],
        }
    }
}

/// Parses documents in a pool of sandboxed worker processes (see the module documentation).
pub struct SandboxParser {
    pool: Pool,
    limits: FormatLimits,
}

impl std::fmt::Debug for SandboxParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxParser")
            .field("config", self.pool.config())
            .field("limits", &self.limits)
            .finish()
    }
}

impl SandboxParser {
    /// A parser with the settings of `config` (`[extract]`, `index.max_text_bytes`) starting `worker`.
    /// No worker starts until the first document.
    pub fn new(config: &Config, worker: WorkerCommand) -> std::io::Result<Self> {
        let (pool_config, limits) = Self::settings(config, worker);
        Ok(SandboxParser {
            pool: Pool::new(pool_config)?,
            limits,
        })
    }

    /// The pool's configuration and the caps on each document that `config` gives.
    pub fn settings(config: &Config, worker: WorkerCommand) -> (PoolConfig, FormatLimits) {
        let extract = &config.extract;
        let max_text_bytes = usize::try_from(config.index.max_text_bytes).unwrap_or(usize::MAX);
        let mut pool = PoolConfig::new(worker.program, worker.args);
        pool.workers = extract.workers();
        pool.timeout = Duration::from_secs(extract.timeout);
        pool.limits = WorkerLimits {
            memory_bytes: Some(extract.memory_limit),
            // The wall-clock timeout decides; the CPU allowance only stops a worker the clock missed.
            cpu_seconds_per_request: Some(extract.timeout + 1),
            ..WorkerLimits::default()
        };
        pool.max_response_bytes = max_text_bytes
            .saturating_mul(4)
            .saturating_add(1 << 20)
            .max(MIN_RESPONSE_BYTES);
        let limits = FormatLimits {
            max_text_bytes,
            ..FormatLimits::default()
        };
        (pool, limits)
    }

    /// What the workers' lock-down enforced, once one has started.
    pub fn lockdown(&self) -> Option<Lockdown> {
        self.pool.lockdown()
    }
}

impl DocumentParser for SandboxParser {
    fn parse(&self, file: &File, name: &[u8], kind: Kind) -> Result<Document, ParseError> {
        let request = wire::encode_request(&Request {
            name: name.to_vec(),
            kind,
            limits: self.limits.clone(),
        })
        .map_err(ParseError)?;
        let response = self
            .pool
            .run(file, &request)
            .map_err(|failure| ParseError(failure.to_string()))?;
        let limit = self.pool.config().max_response_bytes as u64;
        wire::decode_response(&response, limit)
            .map_err(ParseError)?
            .map_err(ParseError)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn documents_and_compressed_tars_go_to_the_sandbox() {
        for kind in [
            Kind::Pdf,
            Kind::Docx,
            Kind::Mbox,
            Kind::Zip,
            Kind::Xz,
            Kind::LegacyOffice,
        ] {
            assert!(runs_in_sandbox(kind, b""), "{kind:?}");
        }
        for kind in [Kind::Text, Kind::Html, Kind::Unknown] {
            assert!(!runs_in_sandbox(kind, b""), "{kind:?}");
        }
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert!(runs_in_sandbox(Kind::Gzip, &gzip(&tar)));
        assert!(!runs_in_sandbox(Kind::Gzip, &gzip(&[b'x'; 600])));
    }

    #[test]
    fn settings_follow_the_configuration() {
        let mut config = Config::default();
        config.extract.timeout = 7;
        config.extract.workers = Some(3);
        config.extract.memory_limit = 256 << 20;
        config.index.max_text_bytes = 1 << 20;
        let (pool, limits) = SandboxParser::settings(&config, WorkerCommand::this_program("w"));
        assert_eq!(pool.program, PathBuf::from("/proc/self/exe"));
        assert_eq!(pool.args, [OsString::from("w")]);
        assert_eq!(pool.timeout, Duration::from_secs(7));
        assert_eq!(pool.workers, 3);
        assert_eq!(pool.limits.memory_bytes, Some(256 << 20));
        assert_eq!(limits.max_text_bytes, 1 << 20);
        assert!(pool.max_response_bytes >= MIN_RESPONSE_BYTES);
    }
}
