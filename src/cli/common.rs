//! What every subcommand shares: the global options (index, config, socket) and what they resolve to,
//! logging, and the parser of durations given in seconds.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use fandex::indexer::config::SYSTEM_SOCKET;
use fandex::indexer::user;
use fandex::query::client::{Client, ClientError};
use fandex::{Config, Error, IndexDir, QueryEngine};

use super::output;

/// Options every subcommand takes.
#[derive(Debug, Args)]
pub struct Common {
    /// Where the index lives [default: /var/lib/fandex for root, else $XDG_DATA_HOME/fandex]
    #[arg(long, global = true, env = "FANDEX_INDEX_DIR", value_name = "DIR")]
    index_dir: Option<PathBuf>,
    /// Configuration file [default: /etc/fandex/config.toml for root, else $XDG_CONFIG_HOME/fandex/config.toml]
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The daemon's socket (where `daemon` listens) [default: for a user other than root on their
    /// default index, $XDG_RUNTIME_DIR/fandex/socket; else the one in the index directory; clients
    /// then try the system daemon's]
    #[arg(long, global = true, env = "FANDEX_SOCKET", value_name = "PATH")]
    socket: Option<PathBuf>,
}

/// Whether this process runs for a user other than root: its defaults are then that user's places
/// (see [`user`]).
pub fn is_user() -> bool {
    !nix::unistd::geteuid().is_root()
}

impl Common {
    /// The same options with a user's defaults where none was given (for `daemon --user`, also run by
    /// root): the index in `$XDG_DATA_HOME/fandex`, the configuration in
    /// `$XDG_CONFIG_HOME/fandex/config.toml` when it exists.
    pub fn for_user(&self) -> Common {
        Common {
            index_dir: Some(self.index_dir.clone().unwrap_or_else(user::index_dir)),
            config: self
                .config
                .clone()
                .or_else(|| user::config_path().filter(|p| p.exists())),
            socket: self.socket.clone(),
        }
    }

    /// The options that choose the index and the configuration, for a `fandex` this one starts (not the
    /// socket: to a client it names the daemon to talk to, to a daemon where to listen).
    pub fn index_and_config_args(&self) -> Vec<std::ffi::OsString> {
        let mut args = Vec::new();
        if let Some(dir) = &self.index_dir {
            args.extend(["--index-dir".into(), dir.clone().into_os_string()]);
        }
        if let Some(config) = &self.config {
            args.extend(["--config".into(), config.clone().into_os_string()]);
        }
        args
    }

    /// The socket `--socket` or `FANDEX_SOCKET` names.
    pub fn socket(&self) -> Option<&Path> {
        self.socket.as_deref()
    }

    /// Whether the index is a user's default one (`$XDG_DATA_HOME/fandex`), served by the user's daemon
    /// on [`user::runtime_socket`].
    pub fn is_user_index(&self) -> bool {
        self.index_dir().path() == user::index_dir()
    }

    /// The index directory chosen by --index-dir, FANDEX_INDEX_DIR, or the default.
    pub fn index_dir(&self) -> IndexDir {
        IndexDir::at(
            self.index_dir
                .clone()
                .unwrap_or_else(fandex::indexer::layout::default_index_dir),
        )
    }

    /// Connects to the daemon serving this index: `--socket` when given; else, for a user on their
    /// default index, their daemon's socket in `$XDG_RUNTIME_DIR`; else the socket in the index
    /// directory; else, when there is no index of one's own (or it is not readable), the system daemon's
    /// public socket. `Ok(None)` means no daemon: read the index directly.
    pub fn connect_daemon(&self) -> anyhow::Result<Option<Client>> {
        if let Some(socket) = &self.socket {
            return match Client::connect(socket)? {
                Some(client) => Ok(Some(client)),
                None => anyhow::bail!("no daemon listens on {}", socket.display()),
            };
        }
        // Not there, or not answering: the user's daemon may listen in the index directory.
        if is_user()
            && self.is_user_index()
            && let Some(Ok(Some(client))) = user::runtime_socket().map(|s| Client::connect(&s))
        {
            return Ok(Some(client));
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

    /// The index opened for reading, for when no daemon runs. An error that already names the index
    /// directory (none there, another format) is not wrapped again.
    pub fn open_searcher(&self) -> anyhow::Result<QueryEngine> {
        self.open_searcher_with(&fandex::Config::default())
    }

    /// The index, opened for searching only, relevance blended as `config`'s `[rank]` says.
    pub fn open_searcher_with(&self, config: &fandex::Config) -> anyhow::Result<QueryEngine> {
        let dir = self.index_dir();
        fandex::open_searcher_with(&dir, config).map_err(|err| match err {
            Error::NoIndex(_) | Error::IncompatibleIndex { .. } => err.into(),
            other => anyhow::Error::new(other)
                .context(format!("cannot open the index in {}", dir.path().display())),
        })
    }

    /// The error of a command that needs the daemon when none runs.
    pub fn no_daemon(&self) -> anyhow::Error {
        anyhow::anyhow!(
            "no daemon is running on {}: start `fandex daemon`, or run `fandex index` to update the index once",
            self.index_dir().path().display()
        )
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

/// Parses a choice the configuration file also takes (the watcher's `Backend` and `RenameSource`) from
/// its name there, so the option and the file accept the same words with the same message for others.
pub fn parse_choice<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::from(text)).map_err(|e| e.to_string())
}

/// Logs go to stderr, or to the journal when stderr is the journal's stream (as under systemd); the level
/// comes from RUST_LOG, else the config's `log_level`, else `default`. In the journal every event keeps
/// its fields as journal fields, prefixed `FANDEX_` (`FANDEX_FILE`, `FANDEX_ROOT`, `FANDEX_ERROR_KIND`:
/// `journalctl -u fandex FANDEX_ERROR_KIND=extract`). On a terminal lines are coloured; with
/// `JOURNAL_STREAM` set but no journal to talk to, they carry no timestamp and no colour.
pub fn init_logging(config_level: Option<&str>, default: &str) {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::prelude::*;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(config_level.unwrap_or(default)))
        .unwrap_or_else(|_| EnvFilter::new(default));
    if log_target() == LogTarget::Journal
        && let Ok(journal) = tracing_journald::layer()
    {
        let journal = journal
            .with_field_prefix(Some("FANDEX".into()))
            .with_syslog_identifier("fandex".into());
        let _ = tracing_subscriber::registry()
            .with(filter)
            .with(journal)
            .try_init();
        return;
    }
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

/// Where log events go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    /// The journal, with fields.
    Journal,
    /// Lines on stderr.
    Stderr,
}

/// The journal when stderr is the stream systemd connected to it: `JOURNAL_STREAM` names that stream's
/// `device:inode`, and a process whose stderr was redirected elsewhere (`fandex daemon 2>log` in a
/// unit's shell) must not log to the journal.
pub fn log_target() -> LogTarget {
    use std::os::unix::fs::MetadataExt;
    let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
        return LogTarget::Stderr;
    };
    let named = stream
        .to_str()
        .and_then(|s| s.split_once(':'))
        .and_then(|(dev, ino)| Some((dev.parse::<u64>().ok()?, ino.parse::<u64>().ok()?)));
    let stderr = std::fs::metadata("/proc/self/fd/2").map(|m| (m.dev(), m.ino()));
    match (named, stderr) {
        (Some(named), Ok(stderr)) if named == stderr => LogTarget::Journal,
        _ => LogTarget::Stderr,
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
