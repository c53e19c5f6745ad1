//! Argument parsing, logging setup and dispatch to the subcommands.
//!
//! Exit codes (grep-style for `search`): 0 success or something matched, 1 nothing matched, 2 error, 3
//! (`status` only) no daemon running. An error is one line on stderr that says what to do.

mod argv;
mod bridge;
mod common;
mod daemon;
mod docs;
mod extract;
mod extract_print;
mod follow;
mod index;
mod localtime;
mod output;
mod pause;
mod search;
mod status;
mod sync;
mod watch;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

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
    /// Serve desktop search on your session bus through the system daemon, which answers with only what
    /// you may read.
    Bridge(bridge::BridgeArgs),
    /// Search the index (through the daemon when one runs).
    Search(search::SearchArgs),
    /// Return once every change made before it is searchable.
    Sync(sync::SyncArgs),
    /// What the daemon is doing and why.
    Status(status::StatusArgs),
    /// Pause the daemon's work: changes keep being recorded and are applied on resume.
    Pause(pause::PauseArgs),
    /// Resume after `fandex pause`: apply the changes recorded meanwhile.
    Resume(pause::ResumeArgs),
    /// Stream the normalized change events (diagnostic).
    Watch(watch::WatchArgs),
    /// Print what would be indexed for files: type, metadata, notes, text and parts.
    Extract(extract::ExtractArgs),
    /// Print a shell completion script (bash, zsh or fish) to stdout.
    Completions(docs::CompletionsArgs),
    /// Write the shell completions and man pages into a directory (for packagers).
    GenerateDocs(docs::GenerateDocsArgs),
}

/// Sets glibc malloc's tunables for the work `command` does (`fandex_indexer::malloc` says which and
/// why), before this process starts any thread.
fn tune_allocator(command: &Command) {
    use fandex_indexer::malloc::{Profile, use_profile};
    match command {
        // The daemon starts with its walks; its pipeline switches to the live profile between them.
        Command::Index(_) | Command::Daemon(_) => use_profile(Profile::Bulk),
        Command::Search(_) => use_profile(Profile::Search),
        Command::Sync(_)
        | Command::Bridge(_)
        | Command::Status(_)
        | Command::Pause(_)
        | Command::Resume(_)
        | Command::Watch(_)
        | Command::Completions(_)
        | Command::GenerateDocs(_)
        | Command::Extract(_) => {}
    }
}

/// Parses the command line, runs the subcommand, and turns errors into exit code 2.
pub fn main() -> ExitCode {
    // The extraction workers fandex starts (`fandex extract-worker`): a subcommand of no use to people, so
    // not in clap's definition (help, man pages, completions), and served before anything else runs.
    let mut args = std::env::args_os().skip(1);
    if let (Some(first), None) = (args.next(), args.next())
        && first == extract::WORKER_SUBCOMMAND
    {
        return extract::run_worker();
    }
    let args = argv::separate_query(&Cli::command(), std::env::args_os().collect());
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err)
            if err.use_stderr()
                && err.kind()
                    != clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            eprintln!("fandex: error: {}", usage_error_line(&err));
            return ExitCode::from(2);
        }
        Err(err) => {
            // --help, --version, or the help of a bare `fandex`.
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
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
        Command::Bridge(args) => bridge::run(&cli.common, args),
        Command::Search(args) => search::run(&cli.common, args),
        Command::Sync(args) => sync::run(&cli.common, args),
        Command::Status(args) => status::run(&cli.common, args),
        Command::Pause(args) => pause::run_pause(&cli.common, args),
        Command::Resume(args) => pause::run_resume(&cli.common, args),
        Command::Watch(args) => watch::run(&cli.common, args),
        Command::Extract(args) => extract::run(&cli.common, args),
        Command::Completions(args) => docs::run(Cli::command(), args),
        Command::GenerateDocs(args) => docs::run_generate(Cli::command(), args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("fandex: error: {}", error_line(&err));
            ExitCode::from(2)
        }
    }
}

/// A command line clap refused, as one line: what is wrong (clap's first paragraph), and where to read
/// more.
fn usage_error_line(err: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let rendered = err.render().to_string();
    let what: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .take_while(|line| !line.is_empty())
        .collect();
    let what = what.join(" ");
    let what = what.strip_prefix("error: ").unwrap_or(&what);
    let in_search = rendered.contains("Usage: fandex search");
    let hint = match (err.kind(), err.get(ContextKind::InvalidArg)) {
        (ErrorKind::ValueValidation, _) => String::new(),
        (ErrorKind::UnknownArgument, Some(ContextValue::String(arg)))
            if in_search && arg.starts_with('-') =>
        {
            format!(" (a query word starting with '-' goes after `--`: `fandex search -- {arg}`)")
        }
        _ => " (see `fandex help`)".to_owned(),
    };
    format!("{what}{hint}")
}

/// An error as one line: the outermost context, then each cause that the text so far does not already
/// say (an error whose message includes its source's, like an I/O error naming the file, is not repeated).
fn error_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain().map(ToString::to_string) {
        if line.contains(&cause) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&cause);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// The one command that rewrites the committed completions and man pages.
    const REGENERATE: &str = "cargo run -j2 --bin fandex -- generate-docs doc";

    /// Issue 15: the completions and man pages committed under `doc/` are what the current command line
    /// generates (and no file is left over from a removed subcommand).
    #[test]
    fn committed_docs_are_current() {
        let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("doc");
        let files = docs::generated(&Cli::command()).unwrap();
        let mut stale = Vec::new();
        for (path, content) in &files {
            if std::fs::read(doc.join(path)).ok().as_ref() != Some(content) {
                stale.push(format!("doc/{}", path.display()));
            }
        }
        for dir in ["completions", "man"] {
            for entry in std::fs::read_dir(doc.join(dir)).into_iter().flatten() {
                let path = Path::new(dir).join(entry.unwrap().file_name());
                if !files.iter().any(|(p, _)| *p == path) {
                    stale.push(format!("doc/{} (no longer generated)", path.display()));
                }
            }
        }
        assert!(
            stale.is_empty(),
            "stale generated docs: {}; regenerate them with `{REGENERATE}`",
            stale.join(", ")
        );
    }

    #[test]
    fn the_worker_subcommand_is_hidden() {
        for (path, content) in docs::generated(&Cli::command()).unwrap() {
            let text = String::from_utf8_lossy(&content);
            assert!(
                !text.contains(extract::WORKER_SUBCOMMAND),
                "{} mentions it",
                path.display()
            );
        }
        assert!(Cli::try_parse_from(["fandex", extract::WORKER_SUBCOMMAND]).is_err());
    }

    #[test]
    fn every_visible_subcommand_has_a_man_page() {
        let names: Vec<String> = docs::man_pages(Cli::command())
            .unwrap()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        let mut expected = vec!["fandex.1".to_owned()];
        for sub in Cli::command()
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
        {
            expected.push(format!("fandex-{}.1", sub.get_name()));
        }
        expected.sort();
        assert_eq!(names, expected);
    }
}
