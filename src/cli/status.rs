//! `fandex status`: what the daemon is doing and why.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::common::Common;
use super::output::{human_bytes, write_stdout};

/// Arguments of `fandex status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print the full report as JSON
    #[arg(long)]
    json: bool,
}

/// Runs `fandex status`.
pub fn run(common: &Common, args: &StatusArgs) -> anyhow::Result<ExitCode> {
    let config = common.config()?;
    super::common::init_logging(config.log_level.as_deref(), "warn");
    let dir = common.index_dir();
    let Some(mut client) = common.connect_daemon()? else {
        dir.check_format()
            .with_context(|| format!("no daemon and no index in {}", dir.path().display()))?;
        let searcher = fandex::open_searcher(&dir)?;
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
/// a redacted report (no paths, counts or pid), so every field is optional here.
fn print_human(out: &mut impl Write, s: &serde_json::Value) -> std::io::Result<()> {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("?").to_owned();
    let mut head = String::from("fandex daemon");
    if let Some(version) = s["version"].as_str() {
        head.push_str(&format!(" {version}"));
    }
    if let Some(pid) = s["pid"].as_u64() {
        head.push_str(&format!(" (pid {pid})"));
    }
    head.push_str(&format!(": {}", text(&s["state"])));
    if let Some(up) = s["uptime_seconds"].as_u64() {
        head.push_str(&format!(" for {up} s"));
    }
    writeln!(out, "{head}")?;
    if let Some(dir) = s["index_dir"].as_str() {
        writeln!(out, "index: {dir}")?;
    }
    for root in s["roots"].as_array().into_iter().flatten() {
        writeln!(out, "root: {}", text(root))?;
    }
    for off in s["offline_roots"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "root offline since {}: {} ({}); its files are hidden until it returns",
            text(&off["since"]),
            text(&off["root"]),
            text(&off["reason"])
        )?;
    }
    for fs in s["watcher"]["filesystems"].as_array().into_iter().flatten() {
        let mut line = String::from("watching");
        if let Some(dev) = fs["dev"].as_u64() {
            line.push_str(&format!(" dev {dev}"));
        }
        line.push_str(&format!(
            ": content via {}, renames via {}",
            text(&fs["content"]),
            text(&fs["namespace"])
        ));
        if let Some(reason) = fs["reason"].as_str() {
            line.push_str(&format!(" ({reason})"));
        }
        writeln!(out, "{line}")?;
    }
    if s["watcher"]["degraded"].as_bool() == Some(true) {
        let why = s["watcher"]["degraded_reason"]
            .as_str()
            .unwrap_or("part of the tree is not watched; periodic rescans cover it");
        writeln!(out, "DEGRADED: {why}")?;
    }
    if let Some(documents) = s["documents"].as_u64() {
        let catalog = &s["catalog"];
        writeln!(
            out,
            "documents: {documents}; catalog: {} records, {} failed",
            catalog["records"], catalog["failed"]
        )?;
    }
    if let Some(queue) = s["queue"].as_object() {
        writeln!(
            out,
            "queue: {} events waiting, {} changes pending",
            queue.get("events").unwrap_or(&serde_json::Value::Null),
            queue.get("pending").unwrap_or(&serde_json::Value::Null)
        )?;
    }
    if let Some(c) = s["last_commit"].as_object() {
        writeln!(
            out,
            "last commit: generation {} at {} ({} items, {} ms)",
            c["generation"],
            text(&c["at"]),
            c["items"],
            c["millis"]
        )?;
    }
    let t = &s["totals"];
    if t.is_object() {
        writeln!(
            out,
            "since start: {} indexed, {} moved, {} removed, {} failed, {} put off for want of resources",
            t["indexed"], t["moved"], t["removed"], t["failed"], t["deferred"]
        )?;
    }
    let rescans: Vec<String> = t["rescans"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(reason, n)| format!("{n} for {reason}"))
        .collect();
    if !rescans.is_empty() {
        writeln!(
            out,
            "rescans: {} ({} postponed by the backoff)",
            rescans.join(", "),
            t["rescans_deferred"]
        )?;
    }
    for f in s["catalog"]["recent_failures"]
        .as_array()
        .into_iter()
        .flatten()
    {
        writeln!(out, "failed: {}: {}", text(&f["path"]), text(&f["error"]))?;
    }
    for o in s["catalog"]["owners_over_budget"]
        .as_array()
        .into_iter()
        .flatten()
    {
        writeln!(
            out,
            "owner uid {}: text budget reached ({} of {} indexed; {} files by name only)",
            o["uid"],
            human_bytes(o["text_bytes"].as_u64().unwrap_or(0)),
            human_bytes(o["budget"].as_u64().unwrap_or(0)),
            o["files_without_text"]
        )?;
    }
    for f in s["walk_errors"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "could not read: {}: {}",
            text(&f["path"]),
            text(&f["error"])
        )?;
    }
    if let Some(e) = s["last_error"].as_str() {
        writeln!(out, "last error: {e}")?;
    }
    if let Some(rss) = s["rss_bytes"].as_u64() {
        writeln!(out, "memory: {} resident", human_bytes(rss))?;
    }
    if s["redacted"].as_bool() == Some(true) {
        writeln!(
            out,
            "(paths, counts and errors are shown only to root and the daemon's own user)"
        )?;
    }
    Ok(())
}
