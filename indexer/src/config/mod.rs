//! The configuration file (TOML) and its defaults.
//!
//! Every section rejects unknown keys, so a typo is an error that names the key instead of a setting that
//! silently does nothing.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

mod extract;
mod rank;

pub use extract::{ExtractConfig, MIN_WORKER_MEMORY};
pub use rank::{MAX_RANK_WEIGHT, RankConfig};

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
    /// The sandboxed extraction workers that parse documents (PDF, office, e-mail, archives, media).
    pub extract: ExtractConfig,
    /// How relevance blends the text score with a name match and recency.
    pub rank: RankConfig,
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
    /// At most this many parts (archive members, messages, attachments, nested ones included) of one
    /// file are indexed, each as its own document; the file's record notes the cut. Default 10,000.
    pub max_parts_per_file: u64,
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
    /// The languages whose word stems are indexed, so `running` finds `run` (ISO 639-1 codes: `ar da
    /// nl en fi fr de el hu it no pt ro ru es sv ta tr`); empty: no stemming. The index records them:
    /// changing them rebuilds the index at the next start.
    pub languages: Vec<String>,
}

/// Kernel change notification choices.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WatchConfig {
    /// Content change source: `auto`, `fanotify` or `inotify`.
    pub backend: Option<fandex_watcher::Backend>,
    /// Rename and namespace source: `auto`, `fanotify` or `inotify`.
    pub rename_source: Option<fandex_watcher::RenameSource>,
    /// Roots on network and FUSE filesystems (NFS, SMB, sshfs, 9p...) are walked this often (a
    /// stat-only walk: only files whose size or times changed are read), since changes made elsewhere
    /// are never notified. A duration such as `15m`, `90s` or `1h`; default 15 minutes.
    #[serde(with = "duration_text")]
    pub poll_interval: std::time::Duration,
}

impl Default for WatchConfig {
    fn default() -> Self {
        Self {
            backend: None,
            rename_source: None,
            poll_interval: std::time::Duration::from_secs(15 * 60),
        }
    }
}

/// A duration in the configuration file as text (`15m`, `90s`, `1h 30m`), at least one second.
pub(crate) mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        let duration = humantime::parse_duration(&text).map_err(|e| {
            D::Error::custom(format!("{text:?} is not a duration like 15m or 90s: {e}"))
        })?;
        if duration < Duration::from_secs(1) {
            return Err(D::Error::custom(format!("{text:?}: at least 1s")));
        }
        Ok(duration)
    }
}

/// The daemon's batching and timing.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonConfig {
    /// A batch is committed once it holds this many documents...
    pub batch_docs: usize,
    /// ...or at the latest this many milliseconds after its first change. Sooner when the daemon is
    /// idle: a batch is handed on as soon as the last commit is as long past as that commit took (so a
    /// lone change is committed at once, and batches grow with the arrival rate).
    pub batch_ms: u64,
    /// ...and never before its first change is this many milliseconds old (0: as soon as the pace
    /// allows; a larger value trades latency for fewer commits).
    pub batch_min_ms: u64,
    /// ...or once no change has come for this many milliseconds (a save burst is over), if the
    /// `batch_min_ms` floor has passed.
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
    /// Serve `org.fandex.Fandex` on the session bus (desktop search providers and the D-Bus API):
    /// `true`, `false`, or `"auto"` (the default: on when not root and `DBUS_SESSION_BUS_ADDRESS` is set).
    #[serde(deserialize_with = "dbus_setting")]
    pub dbus: DbusSetting,
    /// What bulk work (the start-up walk, rescans, rebuilds) does while the machine runs on battery:
    /// `pause` (the default: it waits for mains power; single live changes are still indexed), `throttle`
    /// (walks go on, one at a time, at most one starting every `throttle_gap_secs`) or `ignore`.
    pub on_battery: OnBattery,
    /// With `on_battery = "throttle"`, the shortest time in seconds between the starts of two walks on
    /// battery (default [`THROTTLE_GAP_SECS`]).
    pub throttle_gap_secs: u64,
    /// Where the power supplies are described; when set (or when the environment variable
    /// `FANDEX_POWER_SUPPLY_DIR`, which overrides it, is), this directory is read instead of asking
    /// UPower on the system bus. Unset: UPower's `OnBattery`, else `/sys/class/power_supply`.
    pub power_supply_dir: Option<PathBuf>,
    /// Bulk work (the walk at start, rescans, a rebuild's walk) runs on threads at idle CPU priority
    /// (`SCHED_IDLE`) and idle I/O priority (`IOPRIO_CLASS_IDLE`), so it takes only what nothing else
    /// wants; changes to single files are applied at the daemon's own priority.
    pub idle_priority: bool,
}

/// Whether the daemon serves the session bus (`daemon.dbus`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DbusSetting {
    /// Always (`true`); failing to take the name stops the start.
    On,
    /// Never (`false`).
    Off,
    /// When not root and a session bus is announced in `DBUS_SESSION_BUS_ADDRESS`; a bus that cannot
    /// be reached is logged and the daemon runs without it.
    #[default]
    Auto,
}

impl Serialize for DbusSetting {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Self::On => s.serialize_bool(true),
            Self::Off => s.serialize_bool(false),
            Self::Auto => s.serialize_str("auto"),
        }
    }
}

fn dbus_setting<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<DbusSetting, D::Error> {
    struct Visitor;
    impl serde::de::Visitor<'_> for Visitor {
        type Value = DbusSetting;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("true, false or \"auto\"")
        }
        fn visit_bool<E: serde::de::Error>(self, v: bool) -> std::result::Result<DbusSetting, E> {
            Ok(if v { DbusSetting::On } else { DbusSetting::Off })
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<DbusSetting, E> {
            match v {
                "auto" => Ok(DbusSetting::Auto),
                other => Err(E::custom(format!(
                    "daemon.dbus = {other:?}: expected true, false or \"auto\""
                ))),
            }
        }
    }
    d.deserialize_any(Visitor)
}

/// What bulk work does on battery power (`daemon.on_battery`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnBattery {
    /// Bulk work waits for mains power; live changes to single files are still indexed.
    #[default]
    Pause,
    /// Bulk work goes on slowly: one walk at a time, at most one starting every
    /// `daemon.throttle_gap_secs` ([`THROTTLE_GAP_SECS`] by default); live changes as always.
    Throttle,
    /// Power makes no difference.
    Ignore,
}

/// With `daemon.on_battery = "throttle"`, the default shortest time between the starts of two walks on
/// battery, in seconds (`daemon.throttle_gap_secs`).
pub const THROTTLE_GAP_SECS: u64 = 30;

/// The environment variable naming the power-supply directory (tests fake a battery with it).
pub const POWER_SUPPLY_DIR_ENV: &str = "FANDEX_POWER_SUPPLY_DIR";
/// The kernel's description of the power supplies.
pub const DEFAULT_POWER_SUPPLY_DIR: &str = "/sys/class/power_supply";

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
            max_parts_per_file: 10_000,
            exclude: Vec::new(),
            default_excludes: true,
            hidden: true,
            gitignore: false,
            one_file_system: true,
            languages: fandex_schema::DEFAULT_LANGUAGES
                .iter()
                .map(|l| l.code().to_owned())
                .collect(),
        }
    }
}

impl IndexConfig {
    /// The stemming languages of `languages`; an unknown code is an error naming it.
    pub fn stem_languages(&self) -> std::result::Result<Vec<fandex_schema::Language>, String> {
        self.languages
            .iter()
            .map(|code| {
                fandex_schema::Language::from_code(code).ok_or_else(|| {
                    format!(
                        "index.languages: unknown language '{code}'; the known ones are {}",
                        fandex_schema::Language::codes().join(", ")
                    )
                })
            })
            .collect()
    }
}

impl Default for DaemonConfig {
    fn default() -> Self {
        Self {
            batch_docs: 1000,
            batch_ms: 100,
            batch_min_ms: 0,
            settle_ms: 30,
            public_socket: None,
            socket: None,
            idle_timeout_ms: 10_000,
            stop_timeout_ms: 30_000,
            dbus: DbusSetting::Auto,
            on_battery: OnBattery::Pause,
            throttle_gap_secs: THROTTLE_GAP_SECS,
            power_supply_dir: None,
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
        config.index.stem_languages()?;
        config.extract.check(MAX_SETTING_MS / 1000)?;
        config.rank.check()?;
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
            ("batch_min_ms", self.batch_min_ms),
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
    fn dbus_and_battery_settings_are_read() {
        let c = Config::parse(
            "[daemon]\ndbus = false\non_battery = \"throttle\"\npower_supply_dir = \"/x\"\nthrottle_gap_secs = 5\n",
        )
        .unwrap();
        assert_eq!(c.daemon.throttle_gap_secs, 5);
        assert_eq!(c.daemon.dbus, DbusSetting::Off);
        assert_eq!(c.daemon.on_battery, OnBattery::Throttle);
        assert_eq!(c.daemon.power_supply_dir, Some(PathBuf::from("/x")));
        assert_eq!(
            Config::parse("[daemon]\ndbus = true").unwrap().daemon.dbus,
            DbusSetting::On
        );
        assert_eq!(
            Config::parse("[daemon]\ndbus = \"auto\"")
                .unwrap()
                .daemon
                .dbus,
            DbusSetting::Auto
        );
        let err = Config::parse("[daemon]\ndbus = \"yes\"").unwrap_err();
        assert!(err.contains("auto"), "{err}");
        assert!(Config::parse("[daemon]\non_battery = \"sleep\"").is_err());
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
    fn extract_section() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.extract.timeout, 30);
        assert_eq!(c.extract.memory_limit, 512 << 20);
        assert_eq!(c.extract.user, "nobody");
        assert!(c.extract.workers() >= 1);
        let c = Config::parse("[extract]\ntimeout = 2\nworkers = 3\nmemory_limit = 268435456\n")
            .unwrap();
        assert_eq!((c.extract.timeout, c.extract.workers()), (2, 3));
        assert_eq!(c.extract.memory_limit, 256 << 20);
        for (bad, key) in [
            ("timeout = 0", "extract.timeout"),
            ("workers = 0", "extract.workers"),
            ("memory_limit = 1000", "extract.memory_limit"),
            ("max_timeout = 0", "extract.max_timeout"),
            ("timeout_per_mib = 100000000", "extract.timeout_per_mib"),
            ("timout = 3", "timout"),
        ] {
            let err = Config::parse(&format!("[extract]\n{bad}\n")).unwrap_err();
            assert!(err.contains(key), "{bad}: {err}");
        }
    }

    #[test]
    fn wrong_types_are_errors() {
        assert!(Config::parse("[index]\nhidden = \"yes\"\n").is_err());
    }
}

#[cfg(test)]
mod poll_tests {
    use super::*;

    #[test]
    fn poll_interval_is_a_duration_with_a_default() {
        assert_eq!(
            Config::default().watch.poll_interval,
            std::time::Duration::from_secs(900)
        );
        let c = Config::parse("[watch]\npoll_interval = \"90s\"\n").unwrap();
        assert_eq!(c.watch.poll_interval, std::time::Duration::from_secs(90));
        let err = Config::parse("[watch]\npoll_interval = \"often\"\n").unwrap_err();
        assert!(err.contains("15m"), "{err}");
        assert!(Config::parse("[watch]\npoll_interval = \"10ms\"\n").is_err());
    }
}
