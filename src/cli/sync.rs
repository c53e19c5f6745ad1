//! `fandex sync`: return once every change made before it is searchable.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::common::Common;

/// Arguments of `fandex sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Give up after this many seconds (at most a day)
    #[arg(
        long,
        default_value = "60",
        value_name = "SECONDS",
        value_parser = super::common::parse_seconds,
        allow_negative_numbers = true
    )]
    timeout: Duration,
}

/// Runs `fandex sync`.
pub fn run(common: &Common, args: &SyncArgs) -> anyhow::Result<ExitCode> {
    let config = common.config()?;
    super::common::init_logging(config.log_level.as_deref(), "warn");
    let Some(mut client) = common.connect_daemon()? else {
        return Err(common.no_daemon());
    };
    client.sync(args.timeout)?;
    Ok(ExitCode::SUCCESS)
}
