//! `fandex daemon`: watch the roots and keep the index current, in the foreground. `--user` (the default
//! for a user other than root) is the per-user service: a user's index, configuration and socket, with
//! inotify, on the configured roots or else the XDG user directories.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use fandex::indexer::config::DbusSetting;
use fandex::service::dbus::{Bus, ServiceOptions};
use fandex::service::{Daemon, DaemonError, DaemonOptions, DbusOptions};
use fandex::watcher::{Backend, RenameSource};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tracing::{error, info};

use super::common::{Common, parse_choice};

/// Arguments of `fandex daemon`.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Directories to add to the index and watch [default: the remembered roots, else config `roots`,
    /// else (--user) the XDG user directories that exist: Documents, Pictures, ...]
    #[arg(value_name = "ROOT")]
    roots: Vec<PathBuf>,
    /// Run as a user's service (the default for a user other than root): index in
    /// $XDG_DATA_HOME/fandex, config $XDG_CONFIG_HOME/fandex/config.toml, socket
    /// $XDG_RUNTIME_DIR/fandex/socket, inotify, roots default to the XDG user directories
    #[arg(long)]
    user: bool,
    /// Where content changes come from [default: config `watch.backend`, else auto]
    #[arg(long, value_parser = parse_choice::<Backend>, value_name = "auto|fanotify|inotify")]
    backend: Option<Backend>,
    /// Where renames, creates and deletes come from [default: config `watch.rename_source`, else auto]
    #[arg(long, value_parser = parse_choice::<RenameSource>, value_name = "auto|fanotify|inotify")]
    rename_source: Option<RenameSource>,
    /// Serve desktop search and the API on the D-Bus session bus as org.fandex.Fandex [default: config `daemon.dbus`, else when not root and a session bus is set]
    #[arg(long)]
    dbus: bool,
}

/// Whether and how to serve D-Bus: `--dbus` or `daemon.dbus = true` require it; `"auto"` serves when not
/// root and `DBUS_SESSION_BUS_ADDRESS` is set, and carries on without the bus if it cannot be reached.
fn dbus_options(flag: bool, setting: DbusSetting) -> Option<DbusOptions> {
    let (serve, required) = match (flag, setting) {
        (true, _) | (false, DbusSetting::On) => (true, true),
        (false, DbusSetting::Off) => (false, false),
        (false, DbusSetting::Auto) => (
            !nix::unistd::geteuid().is_root()
                && std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|a| !a.is_empty()),
            false,
        ),
    };
    serve.then(|| DbusOptions {
        service: ServiceOptions {
            bus: session_bus(),
            ..ServiceOptions::default()
        },
        required,
    })
}

/// The session bus: the one that started this daemon by D-Bus activation (`DBUS_STARTER_ADDRESS` with
/// `DBUS_STARTER_BUS_TYPE=session`), else `DBUS_SESSION_BUS_ADDRESS`.
pub(super) fn session_bus() -> Bus {
    match (
        std::env::var("DBUS_STARTER_BUS_TYPE").as_deref(),
        std::env::var("DBUS_STARTER_ADDRESS"),
    ) {
        (Ok("session"), Ok(address)) if !address.is_empty() => Bus::Address(address),
        _ => Bus::Session,
    }
}

/// Exit code of a daemon that stopped abnormally: its index was lost, or stopping hung.
const EXIT_ABNORMAL: u8 = 4;

/// Runs `fandex daemon` until SIGTERM or SIGINT, or until its index directory is lost; SIGHUP reloads the
/// configuration.
pub fn run(common: &Common, args: &DaemonArgs) -> anyhow::Result<ExitCode> {
    // Leave the starting directory: a daemon whose working directory is inside a root would keep that
    // root's filesystem busy (no plain `umount`). Paths given relative to it are made absolute first.
    let user = args.user || super::common::is_user();
    let common = common
        .absolute()
        .context("cannot resolve the index or config path")?;
    let common = &if user { common.for_user() } else { common };
    let roots = args
        .roots
        .iter()
        .map(std::path::absolute)
        .collect::<std::io::Result<Vec<_>>>()
        .context("cannot resolve a root")?;
    std::env::set_current_dir("/").context("cannot change to /")?;
    let mut config = common.config()?;
    super::common::init_logging(config.log_level.as_deref(), "info");
    if let Some(socket) = common.socket() {
        config.daemon.socket = Some(socket.to_owned());
    } else if user && config.daemon.socket.is_none() && common.is_user_index() {
        config.daemon.socket = fandex::indexer::user::runtime_socket();
    }
    if user && roots.is_empty() && config.roots.is_empty() {
        // Used only when the index remembers no roots yet.
        config.roots = fandex::indexer::user::user_dirs();
    }
    let (backend, rename_source) = if user {
        // A user's daemon watches with inotify (fanotify needs CAP_SYS_ADMIN), also when root runs it.
        let watch = &config.watch;
        (
            Some(args.backend.or(watch.backend).unwrap_or(Backend::Inotify)),
            Some((args.rename_source.or(watch.rename_source)).unwrap_or(RenameSource::Inotify)),
        )
    } else {
        (args.backend, args.rename_source)
    };
    let mut stop_timeout = Duration::from_millis(config.daemon.stop_timeout_ms);
    // Register signal handlers before starting, so an early SIGTERM still stops cleanly.
    let mut signals =
        Signals::new([SIGTERM, SIGINT, SIGHUP]).context("cannot install signal handlers")?;
    let dir = common.index_dir();
    let parser = super::extract::sandbox_parser(&config)?;
    let dbus = dbus_options(args.dbus, config.daemon.dbus);
    let daemon = Daemon::start(DaemonOptions {
        index_dir: dir.clone(),
        config,
        roots,
        backend,
        rename_source,
        listen: true,
        parser: Some(parser),
        dbus,
    })
    .with_context(|| format!("cannot start the daemon on {}", dir.path().display()))?;
    info!(socket = ?daemon.socket_path(), "ready");
    // A daemon that fails by itself (its index removed) ends the wait for signals.
    let failures = daemon.failure_watch();
    let signal_handle = signals.handle();
    std::thread::Builder::new()
        .name("fandex-failure".into())
        .spawn(move || {
            if failures.wait().is_some() {
                signal_handle.close();
            }
        })
        .context("cannot start a thread")?;
    for signal in signals.forever() {
        match signal {
            SIGHUP => match common.config() {
                Ok(config) => {
                    let timeout = Duration::from_millis(config.daemon.stop_timeout_ms);
                    match daemon.reload(config) {
                        Ok(()) => stop_timeout = timeout,
                        Err(err) => error!("reload failed, keeping the old configuration: {err}"),
                    }
                }
                Err(err) => error!("reload failed, keeping the old configuration: {err:#}"),
            },
            _ => break,
        }
    }
    info!("stopping: committing the last batch");
    match daemon.stop_within(stop_timeout) {
        Ok(()) => {
            info!("stopped");
            Ok(ExitCode::SUCCESS)
        }
        Err(err @ (DaemonError::IndexLost(_) | DaemonError::StopTimeout(_))) => {
            eprintln!("fandex: error: {err}");
            Ok(ExitCode::from(EXIT_ABNORMAL))
        }
        Err(err) => Err(anyhow::Error::new(err).context("stopping the daemon")),
    }
}
