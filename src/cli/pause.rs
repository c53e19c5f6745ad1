//! `fandex pause [--for DURATION]` and `fandex resume`: hold the daemon's work back (changes keep being
//! recorded) and let it go on. Also used by `status` to describe a pause.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use fandex::query::protocol::status::{PauseReason, PauseReport};

use super::common::Common;
use super::output::write_stdout;

/// Longest pause `--for` takes (longer: pause without `--for`, until `fandex resume`).
const MAX_PAUSE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Arguments of `fandex pause`.
#[derive(Debug, Args)]
pub struct PauseArgs {
    /// Resume by itself after this long (`90s`, `10m`, `2h`; at most a week) [default: until `fandex resume`]
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
    duration: Option<Duration>,
}

/// Arguments of `fandex resume`.
#[derive(Debug, Args)]
pub struct ResumeArgs {}

fn parse_duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|e| format!("{e} (examples: 90s, 10m, 2h)"))?;
    if d < Duration::from_secs(1) {
        return Err("a pause lasts at least one second".into());
    }
    if d > MAX_PAUSE {
        return Err("longer than a week: pause without --for and run `fandex resume`".into());
    }
    Ok(d)
}

/// Runs `fandex pause`.
pub fn run_pause(common: &Common, args: &PauseArgs) -> anyhow::Result<ExitCode> {
    let config = common.config()?;
    super::common::init_logging(config.log_level.as_deref(), "warn");
    let Some(mut client) = common.connect_daemon()? else {
        return Err(common.no_daemon());
    };
    let paused = client.pause(args.duration)?;
    write_stdout(|out| match &paused {
        Some(p) => writeln!(out, "{}", describe(p, true)),
        None => writeln!(out, "not paused"),
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `fandex resume`.
pub fn run_resume(common: &Common, _args: &ResumeArgs) -> anyhow::Result<ExitCode> {
    let config = common.config()?;
    super::common::init_logging(config.log_level.as_deref(), "warn");
    let Some(mut client) = common.connect_daemon()? else {
        return Err(common.no_daemon());
    };
    let still = client.resume()?;
    write_stdout(|out| {
        writeln!(
            out,
            "resumed: the changes recorded while paused are being applied"
        )?;
        match &still {
            Some(p) => writeln!(out, "{}", describe(p, true)),
            None => Ok(()),
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// A pause in words: `paused until 14:05 (12 changes waiting)`, `paused indefinitely ...`, or the
/// battery's. `counts` false leaves out what waits (a caller who does not own the index).
pub fn describe(p: &PauseReport, counts: bool) -> String {
    let waiting = if counts {
        format!(" ({} changes waiting)", p.waiting)
    } else {
        String::new()
    };
    match p.reason {
        PauseReason::User => match p.until_unix {
            Some(until) => format!("paused until {}{waiting}", local_hh_mm(until)),
            None => format!("paused indefinitely{waiting}; `fandex resume` applies them"),
        },
        PauseReason::Battery => {
            let walks = if counts {
                format!(" ({} walks waiting)", p.held_walks)
            } else {
                String::new()
            };
            format!(
                "paused on battery: walks (start-up, rescans, rebuild) wait for mains power{walks}; single changes are still indexed (daemon.on_battery)"
            )
        }
    }
}

/// `HH:MM` in local time of a moment in seconds since the epoch.
fn local_hh_mm(unix: u64) -> String {
    let offset = i64::from(super::localtime::utc_offset_seconds());
    let local = i64::try_from(unix)
        .unwrap_or(i64::MAX)
        .saturating_add(offset);
    let minutes = local.rem_euclid(86_400) / 60;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_checked() {
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("9 days").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn pauses_are_described() {
        let mut p = PauseReport {
            reason: PauseReason::User,
            until_unix: None,
            waiting: 3,
            held_walks: 0,
        };
        assert!(describe(&p, true).starts_with("paused indefinitely (3 changes waiting)"));
        p.until_unix = Some(3600);
        let text = describe(&p, false);
        assert!(text.starts_with("paused until "), "{text}");
        assert_eq!(text.len(), "paused until 01:00".len(), "{text}");
        p.reason = PauseReason::Battery;
        assert!(describe(&p, true).contains("battery"));
    }
}
