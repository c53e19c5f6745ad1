//! `fandex search`: run a query and print the hits, grep-style exit codes.

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::Context;
use base64::Engine as _;
use clap::Args;
use fandex::query::client::ClientError;
use fandex::query::protocol::ErrorKind;
use fandex::watcher::escape_path;
use fandex::{Hit, SearchRequest, SortBy};

use super::common::Common;
use super::output::ColorChoice;

/// Arguments of `fandex search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// The query: words (ANDed), OR, -word, "phrase", prefix*, name:, ext:, path:. Options may come
    /// before or after it; a word starting with `--` is an option, and after `--` every word is query text
    #[arg(value_name = "QUERY", required = true, num_args = 1..)]
    query: Vec<String>,
    /// At most this many hits
    #[arg(long, short = 'n', default_value_t = 20)]
    limit: usize,
    /// Skip this many hits first (the next page: --offset 20 --limit 20)
    #[arg(long, default_value_t = 0)]
    offset: usize,
    /// Order of the hits: relevance, modified (newest first), name (A to Z) or size (largest first)
    #[arg(long, value_enum, default_value_t = SortArg::Relevance)]
    sort: SortArg,
    /// Reverse the order
    #[arg(long)]
    reverse: bool,
    /// One JSON object per hit, one per line
    #[arg(long)]
    json: bool,
    /// Colour the output
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// First wait until every change made before this command is searchable (needs the daemon)
    #[arg(long)]
    sync: bool,
    /// Locate-style: match file names only and print paths. A word without wildcards is contained in
    /// the name (`port` finds `Report.pdf`); with `*`, `?` or `[...]` the whole name matches it
    /// (`'*.tar.gz'`); fields such as ext:, path:, modified: filter as usual
    #[arg(long)]
    names: bool,
}

/// `--sort`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SortArg {
    Relevance,
    Modified,
    Name,
    Size,
}

impl From<SortArg> for SortBy {
    fn from(sort: SortArg) -> Self {
        match sort {
            SortArg::Relevance => SortBy::Relevance,
            SortArg::Modified => SortBy::Modified,
            SortArg::Name => SortBy::Name,
            SortArg::Size => SortBy::Size,
        }
    }
}

const PATH_STYLE: &str = "\x1b[35m";
const MATCH_STYLE: &str = "\x1b[1;31m";
const RESET: &str = "\x1b[0m";

/// Runs `fandex search`.
pub fn run(common: &Common, args: &SearchArgs) -> anyhow::Result<ExitCode> {
    let config = common.config()?;
    super::common::init_logging(config.log_level.as_deref(), "warn");
    let request = SearchRequest {
        query: args.query.join(" "),
        limit: args.limit,
        cwd: std::env::current_dir().context("cannot read the current directory")?,
        snippets: !args.names,
        home: std::env::var_os("HOME").map(std::path::PathBuf::from),
        utc_offset_s: super::localtime::utc_offset_seconds(),
        sort: args.sort.into(),
        reverse: args.reverse,
        offset: args.offset,
        names: args.names,
    };
    let results = match common.connect_daemon()? {
        Some(mut client) => {
            if args.sync {
                client.sync(Duration::from_secs(60))?;
            }
            client.search(&request).map_err(|e| match e {
                ClientError::Remote {
                    kind: ErrorKind::Syntax,
                    message,
                } => anyhow::anyhow!("invalid query: {message}"),
                other => other.into(),
            })?
        }
        // `--sync` waits for the daemon's pending changes: without one, say so, as `fandex sync` does.
        None if args.sync => return Err(common.no_daemon()),
        None => {
            // No daemon: read the index directly (read-only; works while `fandex index` runs).
            let engine = common.open_searcher_with(&config)?;
            let results = engine
                .search(&request)
                .map_err(|e| anyhow::anyhow!("invalid query: {e}"));
            // This process exits right after printing: the kernel unmaps the index's files in one
            // sweep at exit, where dropping the searcher unmaps them one by one (six files a
            // segment; 12 ms of a 50 ms search at a million files).
            std::mem::forget(engine);
            results?
        }
    };
    let mut out = std::io::stdout().lock();
    let color = args.color.for_stdout();
    for hit in &results.hits {
        let written = if args.json {
            writeln!(out, "{}", hit_json(hit))
        } else if args.names {
            write_path(&mut out, hit, color)
        } else {
            write_human(&mut out, hit, color).and_then(|()| writeln!(out))
        };
        if let Err(err) = written {
            if err.kind() == std::io::ErrorKind::BrokenPipe {
                break;
            }
            return Err(err).context("cannot write to stdout");
        }
    }
    if let Some(suggestion) = &results.suggestion {
        // Nothing matched: a corrected query that finds something (a JSON line of its own).
        if args.json {
            let _ = writeln!(out, "{}", serde_json::json!({ "suggestion": suggestion }));
        } else {
            eprintln!("did you mean: {suggestion}");
        }
    }
    let _ = out.flush();
    let shown_to = args.offset.saturating_add(results.hits.len());
    if !args.json && (args.offset > 0 || results.total > shown_to) {
        eprintln!(
            "({} of {} matches shown{}; use --limit and --offset for more)",
            results.hits.len(),
            results.total,
            match (results.hits.is_empty(), args.offset) {
                (_, 0) => String::new(),
                (true, _) => format!(", none after the first {}", args.offset),
                (false, offset) => format!(", {} to {}", offset + 1, shown_to),
            }
        );
    }
    Ok(if results.total > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One hit's path (and part, `PATH » PART`) on its own line, escaped for the terminal.
fn write_path(out: &mut impl Write, hit: &Hit, color: bool) -> std::io::Result<()> {
    let path = shown_path(hit);
    if color {
        writeln!(out, "{PATH_STYLE}{path}{RESET}")
    } else {
        writeln!(out, "{path}")
    }
}

/// A hit's path, its snippet's line when it has one (matches coloured).
fn write_human(out: &mut impl Write, hit: &Hit, color: bool) -> std::io::Result<()> {
    write_path(out, hit, color)?;
    let snippet = &hit.snippet;
    if !snippet.text.is_empty() {
        let mut line = String::from("    ");
        let mut at = 0;
        for range in &snippet.highlights {
            let (Some(before), Some(word)) = (
                snippet.text.get(at..range.start),
                snippet.text.get(range.clone()),
            ) else {
                continue;
            };
            line.push_str(before);
            if color {
                line.push_str(MATCH_STYLE);
                line.push_str(word);
                line.push_str(RESET);
            } else {
                line.push_str(word);
            }
            at = range.end;
        }
        line.push_str(snippet.text.get(at..).unwrap_or_default());
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// The hit's path escaped for a terminal, and for a part `PATH » PART` (the part's name escaped alike:
/// member names come from the document and may hold control characters); a folder's with a trailing
/// `/`, as `ls -p` shows one.
fn shown_path(hit: &Hit) -> String {
    let path = escape_path(&hit.path);
    match &hit.part {
        Some(part) => format!("{path} » {}", escape_path(std::path::Path::new(part))),
        None if hit.mime.as_deref() == Some(fandex::indexer::schema::mime::DIRECTORY) => {
            format!("{path}/")
        }
        None => path,
    }
}

/// RFC 3339 UTC time of a nanosecond timestamp (before 1970 clamps to the epoch).
fn rfc3339(ns: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_nanos(u64::try_from(ns).unwrap_or(0));
    humantime::format_rfc3339_seconds(t).to_string()
}

fn hit_json(hit: &Hit) -> serde_json::Value {
    let bytes = hit.path.as_os_str().as_bytes();
    let mut v = serde_json::json!({
        "path": String::from_utf8_lossy(bytes),
        "score": hit.score,
        "size": hit.size,
        "mtime": rfc3339(hit.mtime_ns),
        "snippet": hit.snippet.text,
        "highlights": hit.snippet.highlights.iter().map(|r| [r.start, r.end]).collect::<Vec<_>>(),
    });
    for (key, value) in [
        ("part", &hit.part),
        ("mime", &hit.mime),
        ("title", &hit.title),
        ("author", &hit.author),
        ("subject", &hit.subject),
    ] {
        if let Some(value) = value {
            v[key] = value.as_str().into();
        }
    }
    if std::str::from_utf8(bytes).is_err() {
        v["path_b64"] = base64::engine::general_purpose::STANDARD
            .encode(bytes)
            .into();
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000_123_456_789), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn parts_are_shown_after_their_file_escaped() {
        let mut hit = Hit {
            file_id: None,
            path: "/m/box\n.mbox".into(),
            score: 0.0,
            size: 0,
            mtime_ns: 0,
            snippet: Default::default(),
            part: None,
            mime: Some("application/mbox".into()),
            title: None,
            author: None,
            subject: None,
        };
        assert_eq!(shown_path(&hit), "/m/box\\n.mbox");
        hit.part = Some("message 1: Hi\nthere » a.pdf".into());
        assert_eq!(
            shown_path(&hit),
            "/m/box\\n.mbox » message 1: Hi\\nthere » a.pdf"
        );
        let json = hit_json(&hit);
        assert_eq!(json["part"], "message 1: Hi\nthere » a.pdf");
        assert_eq!(json["mime"], "application/mbox");
        assert!(json.get("title").is_none());
        hit.part = None;
        hit.mime = Some("inode/directory".into());
        assert_eq!(shown_path(&hit), "/m/box\\n.mbox/");
        assert_eq!(hit_json(&hit)["path"], "/m/box\n.mbox");
    }
}
