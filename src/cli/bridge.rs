//! `fandex bridge`: desktop search for a user whom a system daemon serves. It owns `org.fandex.Fandex`
//! on the user's session bus and answers the GNOME and KRunner providers and `org.fandex.Fandex1` by
//! forwarding each call to the daemon's socket (the system daemon's public socket unless `--socket`
//! names another) as this user, so the daemon answers with only what the user may read.
//!
//! With `--or-daemon` (what D-Bus activation and the user unit run) it decides: a user with an index of
//! their own (`$XDG_DATA_HOME/fandex`), or whom no daemon answers on the socket, gets their own daemon
//! instead (`fandex daemon --user`, which then serves the bus itself); otherwise the bridge.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use fandex::indexer::config::SYSTEM_SOCKET;
use fandex::service::dbus::socket_backend::DEFAULT_TIMEOUT;
use fandex::service::dbus::{Service, ServiceOptions, SocketBackend};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tracing::{info, warn};

use super::common::Common;

/// Arguments of `fandex bridge`.
#[derive(Debug, Args)]
pub struct BridgeArgs {
    /// When you have an index of your own ($XDG_DATA_HOME/fandex), or no daemon answers on the socket,
    /// run your own daemon instead (`fandex daemon --user`, serving the bus itself): what D-Bus
    /// activation and the user unit run
    #[arg(long)]
    or_daemon: bool,
}

/// Runs the bridge until SIGTERM or SIGINT (or, with `--or-daemon`, becomes the user's daemon).
pub fn run(common: &Common, args: &BridgeArgs) -> anyhow::Result<ExitCode> {
    super::common::init_logging(None, "info");
    let socket = common
        .socket()
        .map_or_else(|| PathBuf::from(SYSTEM_SOCKET), ToOwned::to_owned);
    let own_index = common.for_user().index_dir();
    let backend = if args.or_daemon && own_index.path().exists() {
        info!(index = %own_index.path().display(), "an index of your own: running your daemon");
        None
    } else {
        match SocketBackend::connect(&socket, DEFAULT_TIMEOUT) {
            Ok(backend) => backend,
            Err(e) if args.or_daemon => {
                warn!(socket = %socket.display(), "cannot reach the daemon, running yours: {e}");
                None
            }
            Err(e) => anyhow::bail!("cannot reach the daemon on {}: {e}", socket.display()),
        }
    };
    let Some(backend) = backend else {
        if args.or_daemon {
            return Err(become_daemon(common));
        }
        anyhow::bail!(
            "no daemon listens on {}: start the system daemon (systemctl start fandex), or run your own with `fandex daemon --user --dbus`",
            socket.display()
        );
    };
    let mut signals = Signals::new([SIGTERM, SIGINT]).context("cannot install signal handlers")?;
    let options = ServiceOptions {
        bus: super::daemon::session_bus(),
        ..ServiceOptions::default()
    };
    let service =
        Service::start(Arc::new(backend), options).context("cannot serve org.fandex.Fandex")?;
    info!(socket = %socket.display(), "serving desktop search through the daemon's socket");
    fandex::service::sdnotify::notify(&format!("READY=1\nSTATUS=bridging to {}", socket.display()));
    let _ = signals.forever().next();
    fandex::service::sdnotify::notify("STOPPING=1");
    drop(service);
    Ok(ExitCode::SUCCESS)
}

/// Replaces this process with `fandex daemon --user` (the same pid: a service manager waiting for it
/// sees the daemon), serving the bus (`--dbus`) when D-Bus activation started us. Returns only on
/// failure.
fn become_daemon(common: &Common) -> anyhow::Error {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return anyhow::anyhow!("cannot find the fandex binary: {e}"),
    };
    let mut cmd = std::process::Command::new(exe);
    cmd.args(common.index_and_config_args())
        .args(["daemon", "--user"])
        // To the bridge, the socket is the daemon to reach; to a daemon, where to listen.
        .env_remove("FANDEX_SOCKET");
    if std::env::var_os("DBUS_STARTER_ADDRESS").is_some() {
        cmd.arg("--dbus");
    }
    let error = cmd.exec();
    anyhow::anyhow!("cannot start `fandex daemon --user`: {error}")
}
