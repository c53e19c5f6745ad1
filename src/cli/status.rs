//! `fandex status`: what the daemon is doing and why.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use fandex::query::protocol::latency::LatencyReport;
use fandex::query::protocol::status::{
    CallerStatus, Failure, OwnerOverBudget, PublicStatus, Source, StatusReport,
};

use super::common::{Common, parse_seconds};
use super::output::{human_bytes, state_name, write_stdout};

/// Arguments of `fandex status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print the full report as JSON (with --follow: one JSON object per line)
    #[arg(long)]
    json: bool,
    /// Keep following: progress with rate and time left, queues, last changes; redrawn in place on a
    /// terminal, one line per change otherwise; ends on Ctrl-C or when the daemon stops
    #[arg(short, long)]
    follow: bool,
    /// Seconds between refreshes with --follow
    #[arg(long, value_name = "SECONDS", default_value = "1", value_parser = parse_interval, requires = "follow")]
    interval: Duration,
}

/// A refresh interval: a duration in seconds of at least 50 ms.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let interval = parse_seconds(text)?;
    if interval < Duration::from_millis(50) {
        return Err("shorter than 0.05 s".into());
    }
    Ok(interval)
}

/// Runs `fandex status`.
pub fn run(common: &Common, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let config = common.config()?;
    super::common::init_logging(config.log_level.as_deref(), "warn");
    let dir = common.index_dir();
    let Some(mut client) = common.connect_daemon()? else {
        let searcher = common.open_searcher().context("no daemon running")?;
        let documents = searcher.num_docs();
        write_stdout(|out| {
            if args.json {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({"state": "not_running", "index_dir": dir.path().display().to_string(), "documents": documents})
                )
            } else {
                writeln!(out, "no daemon running on {}", dir.path().display())?;
                writeln!(
                    out,
                    "{documents} documents searchable (as of the last `fandex index`)"
                )
            }
        })?;
        return Ok(ExitCode::from(3));
    };
    if args.follow {
        return super::follow::run(common, client, args.interval, args.json);
    }
    let status = client.status()?;
    write_stdout(|out| {
        if args.json {
            let text = serde_json::to_string_pretty(&status).map_err(std::io::Error::other)?;
            writeln!(out, "{text}")
        } else {
            print_human(out, &status)
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Prints the report for a human: one line per section present. A caller who does not own the index gets
/// a redacted report (no paths, counts or pid).
fn print_human(out: &mut impl Write, status: &CallerStatus) -> std::io::Result<()> {
    match status {
        CallerStatus::Owner(report) => print_owner(out, report),
        CallerStatus::Public(report) => print_public(out, report),
    }
}

fn print_owner(out: &mut impl Write, s: &StatusReport) -> std::io::Result<()> {
    writeln!(
        out,
        "fandex daemon {} (pid {}): {} for {} s",
        s.version,
        s.pid,
        state_name(s.state),
        s.uptime_seconds
    )?;
    if let Some(r) = &s.rebuild {
        writeln!(
            out,
            "rebuilding (format {} -> {}): {} files done, {} seen so far; searches answer from what is rebuilt",
            r.from, r.to, r.files_done, r.files_seen
        )?;
    }
    if let Some(p) = &s.paused {
        writeln!(out, "{}", super::pause::describe(p, true))?;
    } else if s.on_battery {
        writeln!(out, "on battery")?;
    }
    writeln!(out, "index: {}", s.index_dir)?;
    for root in &s.roots {
        writeln!(out, "root: {root}")?;
    }
    for off in &s.offline_roots {
        writeln!(
            out,
            "root offline since {}: {} ({}); its files are hidden until it returns",
            off.since, off.root, off.reason
        )?;
    }
    if let Some(watcher) = &s.watcher {
        for fs in &watcher.filesystems {
            writeln!(
                out,
                "watching dev {} ({}): content via {}, renames via {} ({})",
                fs.dev,
                fs.volume,
                source_name(fs.content),
                source_name(fs.namespace),
                fs.reason
            )?;
            if let Some(seconds) = fs.poll_interval_seconds {
                writeln!(
                    out,
                    "  {}: polled every {}: remote changes are not notified",
                    fs.roots.join(", "),
                    human_interval(seconds)
                )?;
            }
        }
        if watcher.degraded {
            let why = watcher
                .degraded_reason
                .as_deref()
                .unwrap_or("part of the tree is not watched; periodic rescans cover it");
            writeln!(out, "DEGRADED: {why}")?;
        }
    }
    writeln!(
        out,
        "documents: {}; catalog: {} records, {} failed; {} folders",
        s.documents, s.catalog.records, s.catalog.failed, s.catalog.folders
    )?;
    writeln!(
        out,
        "queue: {} events waiting, {} changes pending",
        s.queue.events, s.queue.pending
    )?;
    if let Some(c) = &s.last_commit {
        writeln!(
            out,
            "last commit: generation {} at {} ({} items, {} ms)",
            c.generation, c.at, c.items, c.millis
        )?;
    }
    if let Some(line) = s.latency.as_ref().and_then(latency_line) {
        writeln!(out, "{line}")?;
    }
    let t = &s.totals;
    writeln!(
        out,
        "since start: {} indexed, {} moved, {} removed, {} failed, {} put off for want of resources",
        t.indexed, t.moved, t.removed, t.failed, t.deferred
    )?;
    let rescans: Vec<String> = t
        .rescans
        .iter()
        .map(|(reason, n)| format!("{n} for {reason}"))
        .collect();
    if !rescans.is_empty() {
        writeln!(
            out,
            "rescans: {} ({} postponed by the backoff)",
            rescans.join(", "),
            t.rescans_deferred
        )?;
    }
    print_failures(out, s.catalog.failed, &s.catalog.recent_failures)?;
    print_notes(out, s.catalog.noted, &s.catalog.recent_notes)?;
    print_budgets(out, &s.catalog.owners_over_budget)?;
    for f in &s.walk_errors {
        writeln!(out, "could not read: {}: {}", f.path, f.error)?;
    }
    if let Some(e) = &s.last_error {
        writeln!(out, "last error: {e}")?;
    }
    if let Some(rss) = s.rss_bytes {
        writeln!(out, "memory: {} resident", human_bytes(rss))?;
    }
    Ok(())
}

fn print_public(out: &mut impl Write, s: &PublicStatus) -> std::io::Result<()> {
    writeln!(
        out,
        "fandex daemon {}: {} for {} s",
        s.version,
        state_name(s.state),
        s.uptime_seconds
    )?;
    if let Some(r) = &s.rebuild {
        writeln!(
            out,
            "rebuilding (format {} -> {}); searches answer from what is rebuilt",
            r.from, r.to
        )?;
    }
    if let Some(watcher) = &s.watcher {
        for fs in &watcher.filesystems {
            writeln!(
                out,
                "watching: content via {}, renames via {}",
                source_name(fs.content),
                source_name(fs.namespace)
            )?;
        }
        if watcher.degraded {
            writeln!(
                out,
                "DEGRADED: part of the tree is not watched; periodic rescans cover it"
            )?;
        }
    }
    if let Some(p) = &s.paused {
        let report = fandex::query::protocol::status::PauseReport {
            reason: p.reason,
            until_unix: p.until_unix,
            waiting: 0,
            held_walks: 0,
        };
        writeln!(out, "{}", super::pause::describe(&report, false))?;
    }
    print_budgets(out, &s.catalog.owners_over_budget)?;
    print_failures(out, s.catalog.failed, &s.catalog.recent_failures)?;
    print_notes(out, s.catalog.noted, &s.catalog.recent_notes)?;
    writeln!(
        out,
        "(other paths, counts and errors are shown only to root and the daemon's own user)"
    )
}

/// The files that failed to read or extract: how many, then the most recently modified with the reason
/// (`extractor crashed (SIGSEGV)`, `timed out after 30 s`, ...). A non-owner's report holds only their
/// own files.
fn print_failures(out: &mut impl Write, failed: u64, recent: &[Failure]) -> std::io::Result<()> {
    print_listing(
        out,
        "files that failed to read or extract",
        "failed",
        failed,
        recent,
    )
}

/// The documents indexed with something missing that their parser noted (`scanned: no text layer`, an
/// archive member's `encrypted: needs a password`, a cap reached), like [`print_failures`].
fn print_notes(out: &mut impl Write, noted: u64, recent: &[Failure]) -> std::io::Result<()> {
    print_listing(
        out,
        "documents indexed with something missing",
        "note",
        noted,
        recent,
    )
}

fn print_listing(
    out: &mut impl Write,
    heading: &str,
    tag: &str,
    count: u64,
    recent: &[Failure],
) -> std::io::Result<()> {
    if count == 0 {
        return Ok(());
    }
    let shown = if recent.len() as u64 == count {
        String::new()
    } else {
        format!(" (the {} most recently modified:)", recent.len())
    };
    writeln!(out, "{heading}: {count}{shown}")?;
    for f in recent {
        writeln!(out, "{tag}: {}: {}", f.path, f.error)?;
    }
    Ok(())
}

fn print_budgets(out: &mut impl Write, owners: &[OwnerOverBudget]) -> std::io::Result<()> {
    for o in owners {
        writeln!(
            out,
            "owner uid {}: text budget reached ({} of {} indexed; {} files by name only)",
            o.uid,
            human_bytes(o.text_bytes),
            human_bytes(o.budget),
            o.files_without_text
        )?;
    }
    Ok(())
}

/// The source's name, as in the JSON report.
fn source_name(source: Source) -> &'static str {
    match source {
        Source::Fanotify => "fanotify",
        Source::Inotify => "inotify",
    }
}

/// A poll interval in words: `15 min`, `90 s`, `2 h`.
fn human_interval(seconds: u64) -> String {
    match seconds {
        s if s >= 3600 && s % 3600 == 0 => format!("{} h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// Change-to-searchable time since start, with the stage that takes the most of it at p99 (issue 16):
/// `latency: p50 12.0 ms, p99 48.0 ms from event to searchable (1200 changes; p99 by stage: queued 9.00,
/// read 4.00, commit 30.0, reload 1.00 ms)`.
fn latency_line(l: &LatencyReport) -> Option<String> {
    let total = l.stage("total").filter(|h| h.count > 0)?;
    let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"));
    let stages: Vec<String> = ["queued", "read", "commit", "reload"]
        .iter()
        .filter_map(|name| {
            let h = l.stage(name)?;
            Some(format!("{name} {}", ms(h.percentile_ms(99.0))))
        })
        .collect();
    Some(format!(
        "latency: p50 {} ms, p99 {} ms from event to searchable ({} changes; p99 by stage: {} ms)",
        ms(total.percentile_ms(50.0)),
        ms(total.percentile_ms(99.0)),
        total.count,
        stages.join(", ")
    ))
}
