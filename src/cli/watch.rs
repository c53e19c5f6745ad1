//! `fandex watch`: stream the normalized change events, one per line, until interrupted (a diagnostic
//! like `inotifywait -m`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use crossbeam_channel::{bounded, select};
use fandex::watcher::{Backend, RenameSource, WatchConfig, Watcher};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use super::common::{Common, parse_choice};

/// Arguments of `fandex watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Directories to watch
    #[arg(value_name = "ROOT", required = true)]
    roots: Vec<PathBuf>,
    /// Where content changes come from
    #[arg(long, value_parser = parse_choice::<Backend>, value_name = "auto|fanotify|inotify", default_value = "auto")]
    backend: Backend,
    /// Where renames, creates and deletes come from
    #[arg(long, value_parser = parse_choice::<RenameSource>, value_name = "auto|fanotify|inotify", default_value = "auto")]
    rename_source: RenameSource,
    /// One JSON object per event
    #[arg(long)]
    json: bool,
}

/// Runs `fandex watch` until SIGINT or SIGTERM.
pub fn run(common: &Common, args: &WatchArgs) -> anyhow::Result<ExitCode> {
    let config = common.config()?;
    super::common::init_logging(config.log_level.as_deref(), "warn");
    let roots = args
        .roots
        .iter()
        .map(|r| fandex::indexer::engine::canonical_root(r))
        .collect::<Result<Vec<_>, _>>()?;
    let mut signals = Signals::new([SIGINT, SIGTERM]).context("cannot install signal handlers")?;
    let (stop_tx, stop_rx) = bounded::<()>(1);
    let signal_handle = signals.handle();
    let signal_thread = std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            let _ = stop_tx.send(());
        }
    });
    let (tx, rx) = bounded(1024);
    let watcher = Watcher::start(
        WatchConfig {
            roots,
            backend: args.backend,
            rename_source: args.rename_source,
            excluded: vec![],
            barrier_prefix: None,
        },
        tx,
    )
    .context("cannot start watching")?;
    for fs in &watcher.status().filesystems {
        eprintln!(
            "watching {}: content via {:?}, renames via {:?} ({})",
            fs.roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            fs.content,
            fs.namespace,
            fs.reason
        );
    }
    let mut out = std::io::stdout().lock();
    loop {
        select! {
            recv(rx) -> change => {
                let Ok(change) = change else { break };
                let line = if args.json { change.to_json().to_string() } else { change.to_string() };
                if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                    break; // stdout closed (e.g. piped into head)
                }
            }
            recv(stop_rx) -> _ => break,
        }
    }
    watcher.stop();
    signal_handle.close();
    let _ = signal_thread.join();
    Ok(ExitCode::SUCCESS)
}
