//! `fandex sync`: return once every change made before it is searchable.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::Common;

/// Arguments of `fandex sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Give up after this many seconds
    #[arg(long, default_value_t = 60.0)]
    timeout: f64,
}

/// Runs `fandex sync`.
pub fn run(common: &Common, args: &SyncArgs) -> anyhow::Result<ExitCode> {
    let config = common.config()?;
    super::init_logging(config.log_level.as_deref(), "warn");
    let dir = common.index_dir();
    let Some(mut client) = common.connect_daemon()? else {
        anyhow::bail!(
            "no daemon is running on {}: start `fandex daemon`, or run `fandex index` to update the index once",
            dir.path().display()
        );
    };
    client.sync(Duration::from_secs_f64(args.timeout.max(0.0)))?;
    Ok(ExitCode::SUCCESS)
}
