//! Documents parsed in sandboxed worker processes: [`SandboxParser`], the [`DocumentParser`] the daemon and
//! `fandex index` give their engine, and [`serve_worker`], the worker's side.
//!
//! Each complex document (PDF, office, EPUB, RTF, e-mail, archives, media tags: which files are is the
//! engine's rule, `fandex_indexer::engine::is_document`)
//! goes to a worker of a `fandex_sandbox::Pool` with the file's open descriptor (the worker never opens a
//! path) and comes back as a [`fandex_formats::Document`] ([`wire`]). A worker that crashes, exceeds its
//! memory limit or its timeout is killed and replaced; the document fails with the reason
//! (`extractor crashed (SIGSEGV)`, `timed out after 30 s`, `memory limit (512 MiB)`), as a [`ParseError`].
//! Settings come from the configuration's `[extract]` section and `index.max_text_bytes`: the timeout of
//! each document grows with its size (`ExtractConfig::timeout_for`), and a root process runs its workers
//! as `extract.user` (default `nobody`): they read each file through its descriptor and need no access of
//! their own, and have no capabilities left.
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
use fandex_indexer::config::ExtractConfig;
use fandex_indexer::extract::{DocumentParser, ParseError};
use fandex_sandbox::{Credentials, Lockdown, Pool, PoolConfig, WorkerLimits};

pub use worker::{TEST_TRIGGER_ENV, serve_worker};

use wire::Request;

/// Smallest response a pool accepts: room for a document of `index.max_text_bytes` several times over
/// (parts, metadata), and at least this much.
const MIN_RESPONSE_BYTES: usize = 64 << 20;

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
    /// The `[extract]` settings: each document's timeout.
    extract: ExtractConfig,
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
    /// No worker starts until the first document. Fails when `extract.user` is not a user (a root
    /// process never falls back to running its workers as root).
    pub fn new(config: &Config, worker: WorkerCommand) -> std::io::Result<Self> {
        let (pool_config, limits) = Self::settings(config, worker)?;
        Ok(SandboxParser {
            pool: Pool::new(pool_config)?,
            limits,
            extract: config.extract.clone(),
        })
    }

    /// The pool's configuration and the caps on each document that `config` gives.
    pub fn settings(
        config: &Config,
        worker: WorkerCommand,
    ) -> std::io::Result<(PoolConfig, FormatLimits)> {
        let extract = &config.extract;
        let max_text_bytes = usize::try_from(config.index.max_text_bytes).unwrap_or(usize::MAX);
        let mut pool = PoolConfig::new(worker.program, worker.args);
        pool.workers = extract.workers();
        // Bounds a worker's start; each document has its own timeout (`timeout_for`).
        pool.timeout = Duration::from_secs(extract.timeout);
        pool.run_as = worker_user(extract)?;
        let pdftotext = pdftotext(extract);
        pool.limits = WorkerLimits {
            memory_bytes: Some(extract.memory_limit),
            // The wall-clock timeout decides; the CPU allowance only stops a worker the clock missed.
            cpu_seconds_per_request: Some(extract.longest_timeout() + 1),
            // What running pdftotext needs, and only then.
            exec_paths: pdftotext
                .as_deref()
                .map(fandex_formats::helper_paths)
                .unwrap_or_default(),
            ..WorkerLimits::default()
        };
        pool.max_response_bytes = max_text_bytes
            .saturating_mul(4)
            .saturating_add(1 << 20)
            .max(MIN_RESPONSE_BYTES);
        let limits = FormatLimits {
            max_text_bytes,
            pdftotext,
            ..FormatLimits::default()
        };
        Ok((pool, limits))
    }

    /// What the workers' lock-down enforced, once one has started.
    pub fn lockdown(&self) -> Option<Lockdown> {
        self.pool.lockdown()
    }
}

/// The `pdftotext` program `extract.pdftotext` names, found now (in `PATH` for a bare name): `None` when it
/// is empty, or not found (then logged once: PDFs are read by `pdf_oxide` in the workers, nothing is lost).
fn pdftotext(extract: &ExtractConfig) -> Option<PathBuf> {
    if extract.pdftotext.is_empty() {
        return None;
    }
    let found = fandex_formats::find_program(extract.pdftotext.as_ref());
    if found.is_none() {
        tracing::warn!(
            program = %extract.pdftotext,
            "extract.pdftotext not found (Debian: install poppler-utils): PDFs are read by the built-in parser"
        );
    }
    found
}

/// Whom a root process runs its workers as: `extract.user` (its uid and primary group), unless that is
/// empty; `None` for a process that is not root (it cannot switch users).
fn worker_user(extract: &ExtractConfig) -> std::io::Result<Option<Credentials>> {
    if !nix::unistd::geteuid().is_root() || extract.user.is_empty() {
        return Ok(None);
    }
    let not_found = || {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "extract.user: no user {:?} to run extraction workers as",
                extract.user
            ),
        )
    };
    let user = nix::unistd::User::from_name(&extract.user)
        .map_err(std::io::Error::from)?
        .ok_or_else(not_found)?;
    Ok(Some(Credentials {
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
    }))
}

impl DocumentParser for SandboxParser {
    fn parse(&self, file: &File, name: &[u8], kind: Kind) -> Result<Document, ParseError> {
        let size = file.metadata().map_or(0, |meta| meta.len());
        let request = wire::encode_request(&Request {
            name: name.to_vec(),
            kind,
            limits: self.limits.clone(),
        })
        .map_err(ParseError)?;
        let response = self
            .pool
            .run_within(file, &request, self.extract.timeout_for(size))
            .map_err(|failure| ParseError(failure.to_string()))?;
        let limit = self.pool.config().max_response_bytes as u64;
        wire::decode_response(&response, limit)
            .map_err(ParseError)?
            .map_err(ParseError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_follow_the_configuration() {
        let mut config = Config::default();
        config.extract.timeout = 7;
        config.extract.workers = Some(3);
        config.extract.memory_limit = 256 << 20;
        config.index.max_text_bytes = 1 << 20;
        config.extract.user = String::new();
        let (pool, limits) =
            SandboxParser::settings(&config, WorkerCommand::this_program("w")).unwrap();
        assert_eq!(pool.program, PathBuf::from("/proc/self/exe"));
        assert_eq!(pool.args, [OsString::from("w")]);
        assert_eq!(pool.timeout, Duration::from_secs(7));
        assert_eq!(pool.workers, 3);
        assert_eq!(pool.limits.memory_bytes, Some(256 << 20));
        assert_eq!(limits.max_text_bytes, 1 << 20);
        assert!(pool.max_response_bytes >= MIN_RESPONSE_BYTES);
        assert_eq!(
            pool.run_as, None,
            "an empty extract.user keeps the process's user"
        );
        // The CPU allowance covers the longest timeout a large file may get.
        assert_eq!(pool.limits.cpu_seconds_per_request, Some(301));
        // pdftotext (installed by the setup script) is found, and the workers may run it.
        let program = limits.pdftotext.expect("pdftotext in PATH");
        assert!(program.is_absolute(), "{program:?}");
        assert!(pool.limits.exec_paths.contains(&PathBuf::from("/usr")));
    }

    #[test]
    fn without_pdftotext_workers_run_nothing() {
        for program in ["", "/nonexistent/pdftotext", "no-such-pdftotext-fandex"] {
            let mut config = Config::default();
            config.extract.pdftotext = program.into();
            let (pool, limits) =
                SandboxParser::settings(&config, WorkerCommand::this_program("w")).unwrap();
            assert_eq!(limits.pdftotext, None, "{program}");
            assert!(pool.limits.exec_paths.is_empty(), "{program}");
        }
    }

    #[test]
    fn a_root_process_runs_its_workers_as_the_configured_user() {
        let mut config = Config::default();
        let (pool, _) = SandboxParser::settings(&config, WorkerCommand::this_program("w")).unwrap();
        if nix::unistd::geteuid().is_root() {
            let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
            assert_eq!(
                pool.run_as,
                Some(Credentials {
                    uid: nobody.uid.as_raw(),
                    gid: nobody.gid.as_raw()
                })
            );
            config.extract.user = "no-such-user-fandex".into();
            let err =
                SandboxParser::settings(&config, WorkerCommand::this_program("w")).unwrap_err();
            assert!(err.to_string().contains("extract.user"), "{err}");
        } else {
            assert_eq!(pool.run_as, None, "only root can switch users");
        }
    }
}
