//! `fandex status`: what the daemon is doing and why.

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::Common;
use super::output::human_bytes;

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
    super::init_logging(config.log_level.as_deref(), "warn");
    let dir = common.index_dir();
    let Some(mut client) = common.connect_daemon()? else {
        dir.check_format()
            .with_context(|| format!("no daemon and no index in {}", dir.path().display()))?;
        let searcher = fandex::open_searcher(&dir)?;
        let documents = searcher.num_docs();
        if args.json {
            println!(
                "{}",
                serde_json::json!({"state": "not_running", "index_dir": dir.path().display().to_string(), "documents": documents})
            );
        } else {
            println!("no daemon running on {}", dir.path().display());
            println!("{documents} documents searchable (as of the last `fandex index`)");
        }
        return Ok(ExitCode::from(3));
    };
    let status = client.status()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(ExitCode::SUCCESS);
    }
    print_human(&status);
    Ok(ExitCode::SUCCESS)
}

fn print_human(s: &serde_json::Value) {
    let str_of = |v: &serde_json::Value| v.as_str().unwrap_or("?").to_owned();
    println!(
        "fandex daemon (pid {}): {} for {} s",
        s["pid"],
        str_of(&s["state"]),
        s["uptime_seconds"]
    );
    println!("index: {}", str_of(&s["index_dir"]));
    for root in s["roots"].as_array().into_iter().flatten() {
        println!("root: {}", str_of(root));
    }
    for fs in s["watcher"]["filesystems"].as_array().into_iter().flatten() {
        println!(
            "watching dev {}: content via {}, renames via {} ({})",
            fs["dev"],
            str_of(&fs["content"]),
            str_of(&fs["namespace"]),
            str_of(&fs["reason"])
        );
    }
    if s["watcher"]["degraded"].as_bool() == Some(true) {
        println!("DEGRADED: {}", str_of(&s["watcher"]["degraded_reason"]));
    }
    println!(
        "documents: {}; catalog: {} records, {} failed",
        s["documents"], s["catalog"]["records"], s["catalog"]["failed"]
    );
    println!(
        "queue: {} events waiting, {} changes pending",
        s["queue"]["events"], s["queue"]["pending"]
    );
    if let Some(c) = s["last_commit"].as_object() {
        println!(
            "last commit: generation {} at {} ({} items, {} ms)",
            c["generation"],
            str_of(&c["at"]),
            c["items"],
            c["millis"]
        );
    }
    let t = &s["totals"];
    println!(
        "since start: {} indexed, {} moved, {} removed, {} failed, {} put off for want of resources",
        t["indexed"], t["moved"], t["removed"], t["failed"], t["deferred"]
    );
    let rescans: Vec<String> = t["rescans"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(reason, n)| format!("{n} for {reason}"))
        .collect();
    if !rescans.is_empty() {
        println!(
            "rescans: {} ({} postponed by the backoff)",
            rescans.join(", "),
            t["rescans_deferred"]
        );
    }
    for f in s["catalog"]["recent_failures"]
        .as_array()
        .into_iter()
        .flatten()
    {
        println!("failed: {}: {}", str_of(&f["path"]), str_of(&f["error"]));
    }
    for o in s["catalog"]["owners_over_budget"]
        .as_array()
        .into_iter()
        .flatten()
    {
        println!(
            "owner uid {}: text budget reached ({} of {} indexed; {} files by name only)",
            o["uid"],
            human_bytes(o["text_bytes"].as_u64().unwrap_or(0)),
            human_bytes(o["budget"].as_u64().unwrap_or(0)),
            o["files_without_text"]
        );
    }
    for f in s["walk_errors"].as_array().into_iter().flatten() {
        println!(
            "could not read: {}: {}",
            str_of(&f["path"]),
            str_of(&f["error"])
        );
    }
    if let Some(e) = s["last_error"].as_str() {
        println!("last error: {e}");
    }
    if let Some(rss) = s["rss_bytes"].as_u64() {
        println!("memory: {} resident", human_bytes(rss));
    }
}
