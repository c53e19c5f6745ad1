//! `fandex-bench`: the measuring half of `bench/run`. Every measuring subcommand prints samples, one per
//! line: `corpus measure tool metric value`, tab-separated, for `fandex-bench report`.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use fandex::IndexDir;
use fandex_bench::cmd::{Program, time_program};
use fandex_bench::engine::{self, Target};
use fandex_bench::{floor, queries, report, rss};

#[derive(Debug, Parser)]
#[command(about = "Measurements for fandex's benchmark harness (see bench/run)")]
struct Cli {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// Read every byte of a corpus from the page cache (after one warm-up pass), on one thread
    Floor {
        /// Corpus name for the samples
        #[arg(long)]
        corpus: String,
        /// Timed passes
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// The corpus directory
        root: PathBuf,
    },
    /// tantivy alone: extract a corpus into memory (untimed), then time indexing it with fandex's schema
    Engine {
        /// Corpus name for the samples
        #[arg(long)]
        corpus: String,
        /// Timed indexings
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Write each run's index to a new subdirectory of DIR (removed afterwards) [default: in RAM]
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// The corpus directory
        root: PathBuf,
    },
    /// Print a query file with `{C}` replaced: class, fandex, recollq, rg (tab-separated)
    Queries {
        /// The query file
        file: PathBuf,
        /// The corpus directory
        root: PathBuf,
    },
    /// Query latency through the library (`open_searcher` + `QueryEngine::search`), per query, with
    /// snippets (tool `fandex-lib`, what `fandex search` asks for) and without (`fandex-lib-nosnip`)
    LibQuery {
        /// Corpus name for the samples
        #[arg(long)]
        corpus: String,
        /// Timed searches per query
        #[arg(long, default_value_t = 200)]
        reps: usize,
        /// Hits asked for (fandex search's default is 20)
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// The fandex index directory
        #[arg(long)]
        index_dir: PathBuf,
        /// The query file
        file: PathBuf,
        /// The corpus directory
        root: PathBuf,
    },
    /// Time a command from spawn to exit, stdout read and its lines counted
    Cmd {
        /// Corpus name for the samples
        #[arg(long)]
        corpus: String,
        /// Measure name for the samples
        #[arg(long)]
        measure: String,
        /// Tool name for the samples
        #[arg(long)]
        tool: String,
        /// Timed runs
        #[arg(long, default_value_t = 20)]
        runs: usize,
        /// Untimed runs first
        #[arg(long, default_value_t = 2)]
        warmup: usize,
        /// Run the single ARG with `sh -c`
        #[arg(long)]
        shell: bool,
        /// The command
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Run a command (stdio inherited) sampling its resident memory; append the peaks as samples
    /// (`rss_anon_kb`, `rss_file_kb`) to a file; exit with the command's exit code
    WatchRss {
        /// Append the samples to this file
        #[arg(long)]
        samples: PathBuf,
        /// Corpus name for the samples
        #[arg(long)]
        corpus: String,
        /// Measure name for the samples
        #[arg(long)]
        measure: String,
        /// Tool name for the samples
        #[arg(long)]
        tool: String,
        /// Milliseconds between samples
        #[arg(long, default_value_t = 20)]
        every_ms: u64,
        /// The command
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Render the tables of a samples file as Markdown
    Report {
        /// The samples file (results.tsv of a run)
        file: PathBuf,
    },
}

fn sample(corpus: &str, measure: &str, tool: &str, metric: &str, value: impl std::fmt::Display) {
    println!("{corpus}\t{measure}\t{tool}\t{metric}\t{value}");
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Sub::Floor { corpus, runs, root } => {
            for r in floor::measure(&root, runs)? {
                sample(&corpus, "index", "read-floor", "wall_s", r.seconds);
                sample(&corpus, "index", "read-floor", "docs", r.files);
                sample(&corpus, "index", "read-floor", "bytes", r.bytes);
            }
        }
        Sub::Engine {
            corpus,
            runs,
            dir,
            root,
        } => {
            let loaded = engine::load(&root)?;
            let t = "tantivy-alone";
            sample(&corpus, "index", t, "load_s", loaded.load_seconds);
            sample(&corpus, "index", t, "text_bytes", loaded.text_bytes);
            sample(&corpus, "index", t, "failed", loaded.failed);
            for i in 0..runs {
                let target = match &dir {
                    Some(d) => Target::Dir(d.join(format!("tantivy-alone-{i}"))),
                    None => Target::Ram,
                };
                let r = engine::index(&loaded.docs, &target)?;
                if let Target::Dir(d) = &target {
                    std::fs::remove_dir_all(d)
                        .with_context(|| format!("cannot remove {}", d.display()))?;
                }
                sample(&corpus, "index", t, "wall_s", r.seconds);
                sample(&corpus, "index", t, "docs", r.docs);
                if let Some(kb) = r.size_kb {
                    sample(&corpus, "index", t, "size_kb", kb);
                }
            }
        }
        Sub::Queries { file, root } => {
            for q in queries::read_query_file(&file, &root)? {
                println!("{}\t{}\t{}\t{}", q.class, q.fandex, q.recoll, q.rg);
            }
        }
        Sub::LibQuery {
            corpus,
            reps,
            limit,
            index_dir,
            file,
            root,
        } => {
            let rows = queries::read_query_file(&file, &root)?;
            let engine = fandex::open_searcher(&IndexDir::at(index_dir))?;
            for (tool, snippets) in [("fandex-lib", true), ("fandex-lib-nosnip", false)] {
                for l in queries::measure(&engine, &rows, reps, limit, snippets)? {
                    let m = format!("q:{}", l.class);
                    sample(&corpus, &m, tool, "p50_ms", l.millis.p50);
                    sample(&corpus, &m, tool, "p99_ms", l.millis.p99);
                    sample(&corpus, &m, tool, "hits", l.total);
                }
            }
        }
        Sub::Cmd {
            corpus,
            measure,
            tool,
            runs,
            warmup,
            shell,
            args,
        } => {
            let program = if shell {
                let [line] = &args[..] else {
                    anyhow::bail!("--shell takes exactly one command-line argument");
                };
                Program::Shell(
                    line.to_str()
                        .context("a --shell command line must be UTF-8")?
                        .to_owned(),
                )
            } else {
                Program::Argv(args)
            };
            let t = time_program(&program, runs, warmup)?;
            sample(&corpus, &measure, &tool, "p50_ms", t.millis.p50);
            sample(&corpus, &measure, &tool, "p99_ms", t.millis.p99);
            sample(&corpus, &measure, &tool, "lines", t.lines);
            let status = t.status.map_or("signal".to_owned(), |c| c.to_string());
            sample(&corpus, &measure, &tool, "status", status);
        }
        Sub::WatchRss {
            samples,
            corpus,
            measure,
            tool,
            every_ms,
            args,
        } => {
            let (code, peaks) = rss::run_watched(&args, Duration::from_millis(every_ms))?;
            let mut out = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(&samples)
                .with_context(|| format!("cannot open {}", samples.display()))?;
            for (metric, value) in [
                ("rss_anon_kb", peaks.anon_kb),
                ("rss_file_kb", peaks.file_kb),
            ] {
                writeln!(out, "{corpus}\t{measure}\t{tool}\t{metric}\t{value}")
                    .with_context(|| format!("cannot write {}", samples.display()))?;
            }
            return Ok(match code {
                Some(c) => ExitCode::from(u8::try_from(c).unwrap_or(2)),
                None => ExitCode::from(2),
            });
        }
        Sub::Report { file } => print!("{}", report::render_file(&file)?),
    }
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("fandex-bench: {err:#}");
            ExitCode::from(2)
        }
    }
}
