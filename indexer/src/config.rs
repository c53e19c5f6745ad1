//! The configuration file (TOML) and its defaults.
//!
//! Every section rejects unknown keys, so a typo is an error that names the key instead of a setting that
//! silently does nothing.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Directories to index when none are given on the command line and none are remembered yet.
    pub roots: Vec<PathBuf>,
    /// What to index and how much of it.
    pub index: IndexConfig,
    /// Kernel change notification choices (used by the daemon and `fandex watch`).
    pub watch: WatchConfig,
    /// The daemon's batching and timing.
    pub daemon: DaemonConfig,
    /// Log filter (`error`, `warn`, `info`, `debug`, `trace`, or a tracing filter directive); overridden by
    /// `RUST_LOG`.
    pub log_level: Option<String>,
}

/// What to index and how much of it.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct IndexConfig {
    /// At most this many bytes of text are indexed per file; the rest is cut and the cut is recorded.
    pub max_text_bytes: u64,
    /// At most this many raw bytes are read from one file.
    pub max_read_bytes: u64,
    /// At most this many bytes are decompressed from one `.gz` file.
    pub max_decompressed_bytes: u64,
    /// At most this many bytes of text are indexed for all the files of one owner (uid) together; 0 means
    /// no limit. Further files of an owner at the limit are indexed by name only, with the reason in their
    /// record, and `status` names the owner. This bounds how much one user's files can grow a shared
    /// index: the per-file caps do not, since a 1 KB `.gz` can inflate to `max_text_bytes` of text and a
    /// user can write many. Measured, the index grows by 0.2 (repetitive text) to 1.5 (random words)
    /// times the text it holds. The default, 4 GiB, is above the text of a large home directory or
    /// several big source trees (a Linux kernel checkout is about 1.3 GB), so no ordinary owner meets it,
    /// while one user can make the index grow by at most about 6 GiB.
    pub max_text_bytes_per_owner: u64,
    /// Extra exclusions, gitignore-style globs matched relative to each root (`*.log`, `build/`, `/tmp`).
    pub exclude: Vec<String>,
    /// Apply the built-in exclusions (VCS internals, caches, editor swap files): see [`DEFAULT_EXCLUDES`].
    pub default_excludes: bool,
    /// Index hidden files and directories (names starting with a dot).
    pub hidden: bool,
    /// Also honour `.gitignore` files (`.fandexignore` files are always honoured).
    pub gitignore: bool,
    /// Stay on the filesystem of each root: do not descend into other mounts (like `updatedb`'s prune rules).
    pub one_file_system: bool,
}

/// Kernel change notification choices.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WatchConfig {
    /// Content change source: `auto`, `fanotify` or `inotify`.
    pub backend: Option<fandex_watcher::Backend>,
    /// Rename and namespace source: `auto`, `fanotify` or `inotify`.
    pub rename_source: Option<fandex_watcher::RenameSource>,
}

/// The daemon's batching and timing.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonConfig {
    /// A batch is committed once it holds this many documents...
    pub batch_docs: usize,
    /// ...or this many milliseconds after its first change, whichever comes first.
    pub batch_ms: u64,
    /// Changes to one file are held this long to absorb save bursts.
    pub settle_ms: u64,
    /// A second socket any local user may connect to (mode 0666, in a directory created 0755). Callers
    /// are identified by their credentials and see only files they may read. Default: for a root daemon
    /// on the default index, `/run/fandex/fandex.sock`; otherwise none.
    pub public_socket: Option<PathBuf>,
    /// The daemon's own socket (mode 0600, for its owner and root; a missing directory is created
    /// 0700). Default: `fandex.sock` in the index directory; `fandex daemon --user` (the default for a
    /// user other than root) listens on `$XDG_RUNTIME_DIR/fandex/socket` when the session has a runtime
    /// directory. Read at start.
    pub socket: Option<PathBuf>,
    /// A client of the daemon's sockets must send each complete request within this many milliseconds
    /// of connecting or of its previous answer, or the connection is closed (handling a request, a long
    /// `sync` included, does not count).
    pub idle_timeout_ms: u64,
    /// On SIGTERM the daemon commits its pending batch; if that has not finished after this many
    /// milliseconds (a writer stuck on a broken disk), it exits anyway with an error.
    pub stop_timeout_ms: u64,
    /// Bulk work (the walk at start, rescans, a rebuild's walk) runs on threads at idle CPU priority
    /// (`SCHED_IDLE`) and idle I/O priority (`IOPRIO_CLASS_IDLE`), so it takes only what nothing else
    /// wants; changes to single files are applied at the daemon's own priority.
    pub idle_priority: bool,
}

/// Built-in exclusions (gitignore syntax): version-control internals, caches, trash and editor temporaries.
pub const DEFAULT_EXCLUDES: &[&str] = &[
    ".git/",
    ".hg/",
    ".svn/",
    ".bzr/",
    "_darcs/",
    "CVS/",
    ".cache/",
    "__pycache__/",
    "node_modules/",
    ".Trash-*/",
    "lost+found/",
    "*.swp",
    // libfuse keeps a file unlinked while open under this name until the last descriptor closes, and
    // then deletes it behind the FUSE mount's back (no event reports it).
    ".fuse_hidden*",
    "*.swx",
    "*~",
    ".#*",
];

/// Where a root daemon on the default index listens for every local user.
pub const SYSTEM_SOCKET: &str = "/run/fandex/fandex.sock";

/// File names starting with this are the daemon's sync cookies: never indexed.
pub const SYNC_COOKIE_PREFIX: &str = ".fandex-sync-";

/// Name of the per-directory ignore file (gitignore syntax).
pub const IGNORE_FILE_NAME: &str = ".fandexignore";

impl Default for IndexConfig {
    fn default() -> Self {
        Self {
            max_text_bytes: 10 << 20,
            max_read_bytes: 64 << 20,
            max_decompressed_bytes: 64 << 20,
            max_text_bytes_per_owner: 4 << 30,
            exclude: Vec::new(),
            default_excludes: true,
            hidden: true,
            gitignore: false,
            one_file_system: true,
        }
    }
}

impl Default for DaemonConfig {
    fn default() -> Self {
        Self {
            batch_docs: 1000,
            batch_ms: 100,
            settle_ms: 30,
            public_socket: None,
            socket: None,
            idle_timeout_ms: 10_000,
            stop_timeout_ms: 30_000,
            idle_priority: true,
        }
    }
}

impl Config {
    /// Loads the configuration: `explicit` must exist when given; otherwise the default location is used
    /// when it exists, and built-in defaults when not.
    pub fn load(explicit: Option<&Path>) -> Result<Self> {
        match explicit {
            Some(path) => Self::from_file(path),
            None => match default_config_path() {
                Some(path) if path.exists() => Self::from_file(&path),
                _ => Ok(Self::default()),
            },
        }
    }

    /// Parses one configuration file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            what: format!("cannot read config file {}", path.display()),
            source,
        })?;
        Self::parse(&text).map_err(|message| Error::Config {
            path: path.to_owned(),
            message,
        })
    }

    /// Parses configuration text; the error is one line naming the offending key or value.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let config: Self = toml::from_str(text).map_err(|e| e.message().trim().to_owned())?;
        config.daemon.check()?;
        Ok(config)
    }
}

/// Longest time a setting in milliseconds may hold: one day. Longer ones are mistakes, and would overflow
/// the clock arithmetic they feed.
pub const MAX_SETTING_MS: u64 = 24 * 3600 * 1000;

impl DaemonConfig {
    /// Rejects durations out of range, naming the key.
    fn check(&self) -> std::result::Result<(), String> {
        for (key, ms) in [
            ("batch_ms", self.batch_ms),
            ("settle_ms", self.settle_ms),
            ("idle_timeout_ms", self.idle_timeout_ms),
        ] {
            if ms > MAX_SETTING_MS {
                return Err(format!(
                    "daemon.{key} = {ms} is too long: at most {MAX_SETTING_MS} (one day)"
                ));
            }
        }
        if self.idle_timeout_ms == 0 {
            return Err("daemon.idle_timeout_ms must be at least 1".into());
        }
        Ok(())
    }
}

/// `/etc/fandex/config.toml` for root, `$XDG_CONFIG_HOME/fandex/config.toml` (default
/// `~/.config/fandex/config.toml`) for other users.
pub fn default_config_path() -> Option<PathBuf> {
    if nix::unistd::geteuid().is_root() {
        return Some(PathBuf::from("/etc/fandex/config.toml"));
    }
    crate::user::config_path()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_defaults() {
        assert_eq!(Config::parse("").unwrap(), Config::default());
    }

    #[test]
    fn values_are_read() {
        let c = Config::parse(
            "roots = [\"/srv\"]\n[index]\nexclude = [\"*.log\"]\nmax_text_bytes = 5\nmax_text_bytes_per_owner = 0\n[daemon]\nbatch_ms = 7\n",
        )
        .unwrap();
        assert_eq!(c.index.max_text_bytes_per_owner, 0);
        assert_eq!(c.roots, [PathBuf::from("/srv")]);
        assert_eq!(c.index.exclude, ["*.log"]);
        assert_eq!(c.index.max_text_bytes, 5);
        assert!(c.index.default_excludes);
        assert_eq!(c.daemon.batch_ms, 7);
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = Config::parse("[index]\nexclud = []\n").unwrap_err();
        assert!(err.contains("exclud"), "{err}");
        let err = Config::parse("colour = true\n").unwrap_err();
        assert!(err.contains("colour"), "{err}");
    }

    #[test]
    fn durations_out_of_range_are_named() {
        let err = Config::parse("[daemon]\nbatch_ms = 18446744073709551615\n").unwrap_err();
        assert!(err.contains("daemon.batch_ms"), "{err}");
        let err = Config::parse("[daemon]\nidle_timeout_ms = 0\n").unwrap_err();
        assert!(err.contains("daemon.idle_timeout_ms"), "{err}");
        assert!(Config::parse("[daemon]\nidle_timeout_ms = 500\n").is_ok());
    }

    #[test]
    fn wrong_types_are_errors() {
        assert!(Config::parse("[index]\nhidden = \"yes\"\n").is_err());
    }
}
