//! Argument parsing, logging setup and dispatch to the subcommands.
//!
//! Exit codes (grep-style for `search`): 0 success or something matched, 1 nothing matched, 2 error, 3
//! (`status` only) no daemon running. An error is one line on stderr that says what to do.

mod common;
mod daemon;
mod index;
mod localtime;
mod output;
mod search;
mod status;
mod sync;
mod watch;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use common::Common;

/// fandex: a full-text index of your files, kept current by kernel change notifications.
#[derive(Debug, Parser)]
#[command(name = "fandex", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Crawl once and bring the index up to date, then exit.
    Index(index::IndexArgs),
    /// Watch and keep the index current (foreground, systemd-friendly).
    Daemon(daemon::DaemonArgs),
    /// Search the index (through the daemon when one runs).
    Search(search::SearchArgs),
    /// Return once every change made before it is searchable.
    Sync(sync::SyncArgs),
    /// What the daemon is doing and why.
    Status(status::StatusArgs),
    /// Stream the normalized change events (diagnostic).
    Watch(watch::WatchArgs),
}

/// Sets glibc malloc's thresholds for the work `command` does, unless the user set them
/// (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`). Measured on this project's corpora:
///
/// - indexing and the daemon allocate and free many buffers of hundreds of KiB to MiB (file texts,
///   tantivy's store blocks) from several threads. glibc's dynamic threshold soon serves them from its
///   heaps, which then stay fragmented and resident: a fixed 256 KiB threshold maps them separately and
///   returns them on free (peak RSS indexing `docs` 348 -> 191 MiB, `big` 384 -> 263 MiB);
/// - `search` reads megabytes of stored text per hit and exits: serving those from the heap and never
///   trimming it avoids a page fault per 4 KiB on every fresh buffer (rare query on `big`, CLI p50
///   ~2 ms less).
fn tune_allocator(command: &Command) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let settings: &[(libc::c_int, libc::c_int, &str)] = match command {
            Command::Index(_) | Command::Daemon(_) => {
                &[(libc::M_MMAP_THRESHOLD, 256 << 10, "MALLOC_MMAP_THRESHOLD_")]
            }
            // 32 MiB is glibc's largest mmap threshold on 64-bit.
            Command::Search(_) => &[
                (libc::M_MMAP_THRESHOLD, 32 << 20, "MALLOC_MMAP_THRESHOLD_"),
                (libc::M_TRIM_THRESHOLD, 256 << 20, "MALLOC_TRIM_THRESHOLD_"),
            ],
            Command::Sync(_) | Command::Status(_) | Command::Watch(_) => &[],
        };
        for &(param, value, env) in settings {
            if std::env::var_os(env).is_some() {
                continue;
            }
            // SAFETY: mallopt only changes glibc malloc's tunables, takes plain integers, and is
            // called before this process starts any thread; a value it rejects is ignored (returns 0).
            unsafe {
                libc::mallopt(param, value);
            }
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = command;
}

/// Parses the command line, runs the subcommand, and turns errors into exit code 2.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if err.kind() == clap::error::ErrorKind::ValueValidation => {
            // A bad value is one line naming the option and what is wrong with it.
            let rendered = err.to_string();
            let line = rendered.lines().next().unwrap_or_default();
            eprintln!(
                "fandex: error: {}",
                line.strip_prefix("error: ").unwrap_or(line)
            );
            return ExitCode::from(2);
        }
        Err(err) => {
            let code = if err.use_stderr() { 2 } else { 0 };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    // Before any thread starts: everything this process creates (the index's files, written by sled and
    // tantivy with 0644) is private to its owner. Files meant for others (the public socket and its
    // directory) get their modes explicitly.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    tune_allocator(&cli.command);
    let result = match &cli.command {
        Command::Index(args) => index::run(&cli.common, args),
        Command::Daemon(args) => daemon::run(&cli.common, args),
        Command::Search(args) => search::run(&cli.common, args),
        Command::Sync(args) => sync::run(&cli.common, args),
        Command::Status(args) => status::run(&cli.common, args),
        Command::Watch(args) => watch::run(&cli.common, args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // One line: the outermost context, then the causes.
            let chain: Vec<String> = err.chain().map(|e| e.to_string()).collect();
            eprintln!("fandex: error: {}", chain.join(": "));
            ExitCode::from(2)
        }
    }
}
