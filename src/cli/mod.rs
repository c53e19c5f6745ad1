//! Argument parsing, logging setup and dispatch to the subcommands.
//!
//! Exit codes (grep-style for `search`): 0 success or something matched, 1 nothing matched, 2 error, 3
//! (`status` only) no daemon running. An error is one line on stderr that says what to do.

mod daemon;
mod index;
mod output;
mod search;
mod status;
mod sync;
mod watch;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use fandex::indexer::config::SYSTEM_SOCKET;
use fandex::query::client::{Client, ClientError};
use fandex::{Config, IndexDir};

/// fandex: a full-text index of your files, kept current by kernel change notifications.
#[derive(Debug, Parser)]
#[command(name = "fandex", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub struct Common {
    /// Where the index lives [default: /var/lib/fandex for root, else $XDG_DATA_HOME/fandex]
    #[arg(long, global = true, env = "FANDEX_INDEX_DIR", value_name = "DIR")]
    index_dir: Option<PathBuf>,
    /// Configuration file [default: /etc/fandex/config.toml for root, else $XDG_CONFIG_HOME/fandex/config.toml]
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The daemon's socket [default: the one in the index directory, else the system daemon's]
    #[arg(long, global = true, env = "FANDEX_SOCKET", value_name = "PATH")]
    socket: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Crawl once and bring the index up to date, then exit.
    Index(index::IndexArgs),
    /// Watch and keep the index current (foreground, systemd-friendly).
    Daemon(daemon::DaemonArgs),
    /// Search the index (through the daemon when one runs).
    Search(search::SearchArgs),
    /// Return once every change made before it is searchable.
    Sync(sync::SyncArgs),
    /// What the daemon is doing and why.
    Status(status::StatusArgs),
    /// Stream the normalized change events (diagnostic).
    Watch(watch::WatchArgs),
}

impl Common {
    /// The index directory chosen by --index-dir, FANDEX_INDEX_DIR, or the default.
    pub fn index_dir(&self) -> IndexDir {
        IndexDir::at(
            self.index_dir
                .clone()
                .unwrap_or_else(fandex::indexer::layout::default_index_dir),
        )
    }

    /// Connects to the daemon serving this index: `--socket` when given; else the socket in the index
    /// directory; else, when there is no index of one's own (or it is not readable), the system daemon's
    /// public socket. `Ok(None)` means no daemon: read the index directly.
    pub fn connect_daemon(&self) -> anyhow::Result<Option<Client>> {
        if let Some(socket) = &self.socket {
            return match Client::connect(socket)? {
                Some(client) => Ok(Some(client)),
                None => anyhow::bail!("no daemon listens on {}", socket.display()),
            };
        }
        let dir = self.index_dir();
        match Client::connect(&dir.socket_path()) {
            Ok(Some(client)) => return Ok(Some(client)),
            Ok(None) if dir.check_format().is_ok() => return Ok(None),
            Ok(None) => {}
            Err(ClientError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::PermissionDenied => {}
            Err(err) => return Err(err.into()),
        }
        Ok(Client::connect(Path::new(SYSTEM_SOCKET)).ok().flatten())
    }

    /// The same options with every path made absolute (for a process that then leaves its directory).
    pub fn absolute(&self) -> std::io::Result<Common> {
        let abs = |p: &Option<PathBuf>| p.as_deref().map(std::path::absolute).transpose();
        Ok(Common {
            index_dir: abs(&self.index_dir)?,
            config: abs(&self.config)?,
            socket: abs(&self.socket)?,
        })
    }

    /// The configuration from --config or the default location.
    pub fn config(&self) -> anyhow::Result<Config> {
        Ok(Config::load(self.config.as_deref())?)
    }
}

/// Longest duration a command line option takes: one day.
const MAX_SECONDS: f64 = 86_400.0;

/// Parses a duration given in seconds (`60`, `0.5`): a finite, non-negative number of at most a day.
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| "not a number of seconds".to_owned())?;
    if !seconds.is_finite() {
        return Err("not a finite number of seconds".into());
    }
    if seconds < 0.0 {
        return Err("a duration cannot be negative".into());
    }
    if seconds > MAX_SECONDS {
        return Err(format!("longer than a day ({MAX_SECONDS} s)"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Logs go to stderr; the level comes from RUST_LOG, else the config's `log_level`, else `default`.
/// On a terminal they are coloured; under systemd (`JOURNAL_STREAM` set) they carry no timestamp (the
/// journal adds its own) and no colour, one event per line.
pub fn init_logging(config_level: Option<&str>, default: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(config_level.unwrap_or(default)))
        .unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(output::stderr_color());
    let _ = if std::env::var_os("JOURNAL_STREAM").is_some() {
        builder.without_time().with_target(false).try_init()
    } else {
        builder.try_init()
    };
}

/// Sets glibc malloc's thresholds for the work `command` does, unless the user set them
/// (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`). Measured on this project's corpora:
///
/// - indexing and the daemon allocate and free many buffers of hundreds of KiB to MiB (file texts,
///   tantivy's store blocks) from several threads. glibc's dynamic threshold soon serves them from its
///   heaps, which then stay fragmented and resident: a fixed 256 KiB threshold maps them separately and
///   returns them on free (peak RSS indexing `docs` 348 -> 191 MiB, `big` 384 -> 263 MiB);
/// - `search` reads megabytes of stored text per hit and exits: serving those from the heap and never
///   trimming it avoids a page fault per 4 KiB on every fresh buffer (rare query on `big`, CLI p50
///   ~2 ms less).
fn tune_allocator(command: &Command) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let settings: &[(libc::c_int, libc::c_int, &str)] = match command {
            Command::Index(_) | Command::Daemon(_) => {
                &[(libc::M_MMAP_THRESHOLD, 256 << 10, "MALLOC_MMAP_THRESHOLD_")]
            }
            // 32 MiB is glibc's largest mmap threshold on 64-bit.
            Command::Search(_) => &[
                (libc::M_MMAP_THRESHOLD, 32 << 20, "MALLOC_MMAP_THRESHOLD_"),
                (libc::M_TRIM_THRESHOLD, 256 << 20, "MALLOC_TRIM_THRESHOLD_"),
            ],
            Command::Sync(_) | Command::Status(_) | Command::Watch(_) => &[],
        };
        for &(param, value, env) in settings {
            if std::env::var_os(env).is_some() {
                continue;
            }
            // SAFETY: mallopt only changes glibc malloc's tunables, takes plain integers, and is
            // called before this process starts any thread; a value it rejects is ignored (returns 0).
            unsafe {
                libc::mallopt(param, value);
            }
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = command;
}

/// Parses the command line, runs the subcommand, and turns errors into exit code 2.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if err.kind() == clap::error::ErrorKind::ValueValidation => {
            // A bad value is one line naming the option and what is wrong with it.
            let rendered = err.to_string();
            let line = rendered.lines().next().unwrap_or_default();
            eprintln!(
                "fandex: error: {}",
                line.strip_prefix("error: ").unwrap_or(line)
            );
            return ExitCode::from(2);
        }
        Err(err) => {
            let code = if err.use_stderr() { 2 } else { 0 };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    // Before any thread starts: everything this process creates (the index's files, written by sled and
    // tantivy with 0644) is private to its owner. Files meant for others (the public socket and its
    // directory) get their modes explicitly.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    tune_allocator(&cli.command);
    let result = match &cli.command {
        Command::Index(args) => index::run(&cli.common, args),
        Command::Daemon(args) => daemon::run(&cli.common, args),
        Command::Search(args) => search::run(&cli.common, args),
        Command::Sync(args) => sync::run(&cli.common, args),
        Command::Status(args) => status::run(&cli.common, args),
        Command::Watch(args) => watch::run(&cli.common, args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // One line: the outermost context, then the causes.
            let chain: Vec<String> = err.chain().map(|e| e.to_string()).collect();
            eprintln!("fandex: error: {}", chain.join(": "));
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_seconds_are_checked() {
        assert_eq!(parse_seconds("60"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_seconds("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_seconds("0"), Ok(Duration::ZERO));
        assert_eq!(parse_seconds("86400"), Ok(Duration::from_secs(86_400)));
        for bad in [
            "1e99",
            "inf",
            "-inf",
            "nan",
            "-0.5",
            "99999999999999999999",
            "86400.5",
            "",
            "5s",
        ] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
    }
}
