//! `fandex extract`: what would be indexed for a file (type, metadata, notes, text, parts), parsed by the
//! same sandboxed workers the daemon and `fandex index` use; and `fandex extract-worker`, the hidden
//! subcommand those workers run.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Seek};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use fandex::Config;
use fandex::formats::{Document, HEAD_LEN, Kind, detect};
use fandex::indexer::engine::is_document;
use fandex::indexer::extract::{DocumentParser, Format, Limits};
use fandex::service::extraction::{SandboxParser, WorkerCommand, serve_worker};
use fandex::watcher::beneath::RootDir;
use fandex::watcher::escape_path;

use super::common::Common;
use super::extract_print::{Extraction, print_human, print_json};
use super::output::write_stdout;

/// The hidden subcommand the extraction workers run.
pub const WORKER_SUBCOMMAND: &str = "extract-worker";

/// Arguments of `fandex extract`.
#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// Print one JSON object per file (mime, kind, meta, notes, text, parts)
    #[arg(long)]
    json: bool,
    /// The files to extract (never followed if a symlink)
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

/// The sandboxed parser of complex documents, with the settings of `config`, starting this binary's
/// `extract-worker` as its workers.
pub fn sandbox_parser(config: &Config) -> anyhow::Result<Arc<SandboxParser>> {
    let parser = SandboxParser::new(config, WorkerCommand::this_program(WORKER_SUBCOMMAND))
        .context("cannot start the extraction sandbox")?;
    Ok(Arc::new(parser))
}

/// Runs `fandex extract-worker`: serves one pool until it closes the socket. Exit code 2 (with one line
/// on stderr, which the pool reads) when the socket breaks or was never a pool's.
pub fn run_worker() -> ExitCode {
    match serve_worker() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("fandex: error: extraction worker: {err}");
            ExitCode::from(2)
        }
    }
}

/// Runs `fandex extract`. Exit code 1 when a file could not be extracted (each error is one line).
pub fn run(common: &Common, args: &ExtractArgs) -> anyhow::Result<ExitCode> {
    let config = common.config()?;
    // A replaced worker is reported as the file's error, not also as a log line.
    super::common::init_logging(config.log_level.as_deref(), "error");
    let parser = sandbox_parser(&config)?;
    let limits = text_limits(&config);
    let mut failed = false;
    for path in &args.files {
        match extract(path, parser.as_ref(), &limits) {
            Ok(extraction) => write_stdout(|out| {
                if args.json {
                    print_json(out, &extraction)
                } else {
                    print_human(out, &extraction)
                }
            })?,
            Err(err) => {
                failed = true;
                eprintln!("fandex: error: {}: {err:#}", escape_path(path));
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The in-process extractor's caps, from `index.*` as the indexer applies them.
fn text_limits(config: &Config) -> Limits {
    Limits {
        max_text_bytes: usize::try_from(config.index.max_text_bytes).unwrap_or(usize::MAX),
        max_read_bytes: config.index.max_read_bytes,
        max_decompressed_bytes: config.index.max_decompressed_bytes,
    }
}

/// Opens `path` without following a symlink at its end, without blocking (a FIFO is refused at once)
/// and never opening a device: the safe open the indexer uses, from the file's directory.
fn open(path: &Path) -> anyhow::Result<(File, &OsStr)> {
    let name = path
        .file_name()
        .context("not a file name (it ends in `..` or `/`)")?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let dir = std::path::absolute(dir).context("cannot resolve its directory")?;
    let root = RootDir::open(&dir).context("cannot open its directory")?;
    let (file, _) = root.open_regular(&dir.join(name))?;
    Ok((file, name))
}

/// Extracts one file: complex documents through `parser` (a sandboxed worker), the rest in-process.
fn extract(
    path: &Path,
    parser: &dyn DocumentParser,
    limits: &Limits,
) -> anyhow::Result<Extraction> {
    let (mut file, name) = open(path)?;
    let mut head = Vec::with_capacity(HEAD_LEN);
    (&file)
        .take(HEAD_LEN as u64)
        .read_to_end(&mut head)
        .context("read failed")?;
    let kind = detect(&head, name.as_bytes());
    file.rewind().context("read failed")?;
    // The engine's rule, with a parser: what `fandex index` and the daemon give their workers.
    let document = if is_document(kind, &head, true) {
        parser.parse(&file, name.as_bytes(), kind)?
    } else {
        in_process(&mut file, Path::new(name), limits)?
    };
    Ok(Extraction {
        path: path.to_owned(),
        kind,
        document,
    })
}

/// The in-process extractor's result as a document: its text, the type it found, and what it noted.
fn in_process(file: &mut File, name: &Path, limits: &Limits) -> anyhow::Result<Document> {
    let extracted = fandex::indexer::extract::extract(file, name, limits)?;
    let mime = match extracted.format {
        Format::Html => Kind::Html.mime(),
        Format::Text | Format::Empty => Kind::Text.mime(),
        Format::Binary => Kind::Unknown.mime(),
    };
    let mut document = Document::new(mime);
    if let Some(encoding) = extracted.encoding {
        document.notes.push(format!("encoding: {encoding}"));
    }
    if extracted.gzip {
        document.notes.push("gzip-compressed".into());
    }
    if extracted.format == Format::Binary {
        document
            .notes
            .push("binary content: indexed by name only".into());
    }
    if extracted.truncated {
        document
            .notes
            .push("cap reached: text cut (index.max_text_bytes, max_read_bytes)".into());
    }
    document.text = extracted.text;
    Ok(document)
}
