//! `fandex index`: crawl once and bring the index up to date.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use fandex::indexer::engine::{Progress, UpdateRequest, canonical_root};
use fandex::{Config, Engine, IndexDir};

use fandex::watcher::escape_path;

use super::common::Common;
use super::output::{human_bytes, write_stdout};

/// Arguments of `fandex index`.
#[derive(Debug, Args)]
pub struct IndexArgs {
    /// Directories to add to the index and crawl now [default: the remembered roots]
    #[arg(value_name = "ROOT")]
    roots: Vec<PathBuf>,
    /// Remove a root (and its files) from the index
    #[arg(long, value_name = "ROOT")]
    forget: Vec<PathBuf>,
    /// Print the summary as one JSON object
    #[arg(long)]
    json: bool,
    /// No progress bar (it is shown only when stderr is a terminal)
    #[arg(short, long)]
    quiet: bool,
}

fn no_roots() -> anyhow::Error {
    anyhow::anyhow!(
        "no roots to index: give one or more directories, e.g. `fandex index ~/Documents`"
    )
}

/// Refuses, before anything is created, a run that would fail on a new index: no root to add, or a root
/// that is missing or not a directory. (Opening the engine creates the index directory.)
fn check_before_creating(dir: &IndexDir, config: &Config, args: &IndexArgs) -> anyhow::Result<()> {
    let exists = !matches!(dir.check_format(), Err(fandex::Error::NoIndex(_)));
    let to_add = match (args.roots.is_empty(), exists) {
        (false, _) => &args.roots,
        (true, false) => &config.roots,
        (true, true) => return Ok(()),
    };
    if !exists && to_add.is_empty() {
        if args.forget.is_empty() {
            return Err(no_roots());
        }
        return Err(fandex::Error::NoIndex(dir.path().to_owned()).into());
    }
    for root in to_add {
        canonical_root(root)?;
    }
    Ok(())
}

/// Draws the progress of an update on stderr until `done`: while the walk goes on, the files found and
/// done with their rate; once it is over (the total is known), a bar with the time left. Bytes read and
/// their rate throughout.
fn show_progress(progress: &Progress, done: &AtomicBool) {
    let bar = indicatif::ProgressBar::new_spinner();
    let bar_style =
        indicatif::ProgressStyle::with_template("{wide_bar} {pos}/{len} files, {msg}, ETA {eta}")
            .expect("a valid progress template");
    let started = Instant::now();
    let mut counting = false;
    while !done.load(Ordering::Relaxed) {
        let seen = progress.seen.load(Ordering::Relaxed);
        let decided = progress.done.load(Ordering::Relaxed);
        let bytes = progress.bytes.load(Ordering::Relaxed);
        let seconds = started.elapsed().as_secs_f64().max(1e-3);
        let rates = format!(
            "{} read, {:.0} files/s, {}/s",
            human_bytes(bytes),
            decided as f64 / seconds,
            human_bytes((bytes as f64 / seconds) as u64)
        );
        if !counting && progress.walked.load(Ordering::Relaxed) {
            bar.set_style(bar_style.clone());
            counting = true;
        }
        if counting {
            bar.set_length(seen);
            bar.set_position(decided);
            bar.set_message(rates);
        } else {
            bar.set_position(decided);
            bar.set_message(format!("{seen} files found, {decided} done, {rates}"));
            bar.tick();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bar.finish_and_clear();
}

/// Runs `fandex index`.
pub fn run(common: &Common, args: &IndexArgs) -> anyhow::Result<ExitCode> {
    let config = common.config()?;
    super::common::init_logging(config.log_level.as_deref(), "warn");
    let dir = common.index_dir();
    check_before_creating(&dir, &config, args)?;
    let parser = super::extract::sandbox_parser(&config)?;
    let mut engine = Engine::open(dir.clone(), config)
        .with_context(|| format!("cannot open the index in {}", dir.path().display()))?;
    engine.set_parser(parser);
    if args.roots.is_empty()
        && args.forget.is_empty()
        && engine.roots()?.is_empty()
        && engine.config().roots.is_empty()
    {
        return Err(no_roots());
    }
    let request = UpdateRequest {
        add_roots: args.roots.clone(),
        forget_roots: args.forget.clone(),
    };
    let progress = Progress::default();
    let done = AtomicBool::new(false);
    let show_bar = !args.quiet && std::io::stderr().is_terminal();
    let summary = std::thread::scope(|s| {
        if show_bar {
            let (progress, done) = (&progress, &done);
            s.spawn(move || show_progress(progress, done));
        }
        let result = engine.update(&request, &progress);
        done.store(true, Ordering::Relaxed);
        result
    })?;
    engine.close()?;
    write_stdout(|out| {
        if args.json {
            let json = serde_json::to_string(&summary).map_err(std::io::Error::other)?;
            return writeln!(out, "{json}");
        }
        writeln!(out, "{summary}")?;
        if summary.deferred > 0 {
            writeln!(
                out,
                "{} files could not be opened for want of system resources (descriptors or memory); \
                 the next run reads them",
                summary.deferred
            )?;
        }
        if !summary.offline_roots.is_empty() {
            let roots: Vec<String> = summary
                .offline_roots
                .iter()
                .map(|o| format!("{} ({})", escape_path(&o.path), o.reason))
                .collect();
            writeln!(
                out,
                "offline, not indexed, records kept: {}",
                roots.join("; ")
            )?;
        }
        if summary.over_budget > 0 {
            writeln!(
                out,
                "{} files indexed by name only: their owner's text budget \
                 (index.max_text_bytes_per_owner) was reached",
                summary.over_budget
            )?;
        }
        Ok(())
    })?;
    // Offline roots are no failure (an unplugged disk is normal) while another root was indexed; when
    // every root was offline nothing was brought up to date: exit 1 (records kept, said above).
    if summary.roots_walked == 0 && !summary.offline_roots.is_empty() && args.forget.is_empty() {
        eprintln!("fandex: every root is offline: nothing was indexed (their records are kept)");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
