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
use fandex_bench::children::DescendantPeaks;
use fandex_bench::cmd::{Program, time_program};
use fandex_bench::engine::{self, Target};
use fandex_bench::{burst, daemon, fidelity, floor, latency, queries, report, rss};

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
    /// `name:` patterns over COUNT synthetic file names indexed in memory (tool `fandex-lib`, measures
    /// `names:CLASS`), and the indexing time
    Names {
        /// How many names
        #[arg(long, default_value_t = 1_000_000)]
        count: usize,
        /// Timed searches per pattern
        #[arg(long, default_value_t = 50)]
        reps: usize,
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
    /// Text fidelity per document against reference texts (`REL_PATH.txt` under REFS for each corpus file
    /// REL_PATH): median and worst-decile share of the reference's words the index holds, per kind
    /// (file extension); the worst documents go to `--worst FILE` with their shares
    Fidelity {
        /// Corpus name for the samples
        #[arg(long)]
        corpus: String,
        /// The fandex index directory
        #[arg(long)]
        index_dir: PathBuf,
        /// Directory of reference texts
        #[arg(long)]
        refs: PathBuf,
        /// Write every document's share, worst first, to this file
        #[arg(long)]
        worst: PathBuf,
        /// The corpus directory, as indexed
        root: PathBuf,
    },
    /// Run a command (stdio inherited) sampling its resident memory; append the peaks as samples
    /// (`rss_anon_kb`, `rss_file_kb`, and when it had child processes `worker_rss_kb` = the largest
    /// child's peak, `workers_rss_sum_kb`, `workers`) to a file; exit with the command's exit code
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
    /// Spawn a daemon with `NOTIFY_SOCKET` set, wait for `READY=1`, print `PID<TAB>SECONDS` (spawn to
    /// ready), then wait for the daemon to exit and exit with its status (2 when killed by a signal).
    /// Its stdout and stderr go to the log. Run it in the background and read its first line.
    DaemonStart {
        /// Append the daemon's stdout and stderr to this file
        #[arg(long)]
        log: PathBuf,
        /// Kill it and fail if it is not ready after this many seconds
        #[arg(long, default_value_t = 600.0)]
        timeout_s: f64,
        /// The daemon's command line
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Change-to-searchable latency: write changes at a steady rate and poll searches (no sync) for
    /// each one, through a fandex daemon's socket (--socket), recollq (--recoll-config) or another
    /// indexer's search command (--search-cmd)
    Latency {
        /// Corpus name for the samples
        #[arg(long)]
        corpus: String,
        /// Tool name for the samples
        #[arg(long)]
        tool: String,
        /// Changes per second
        #[arg(long)]
        rate: f64,
        /// Seconds of writing
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Every Nth change creates a new file, the others rewrite an existing one (0: rewrites only)
        #[arg(long, default_value_t = 2)]
        new_every: u64,
        /// Changes sharing one group token (one search per group with unseen changes) [default: 100,
        /// or the rate with --recoll-config or --search-cmd]
        #[arg(long)]
        group: Option<u64>,
        /// Least milliseconds between the starts of two polling rounds
        #[arg(long, default_value_t = 10)]
        poll_ms: u64,
        /// Count changes not seen this many seconds after the last write as missed
        #[arg(long, default_value_t = 60.0)]
        timeout_s: f64,
        /// Directory for the new files (under a watched root)
        #[arg(long)]
        new_dir: PathBuf,
        /// Rewrite files found under this directory (not .gz, at most 1 MiB, not under --new-dir)
        #[arg(long)]
        pool_root: PathBuf,
        /// Only rewrite files with these extensions (comma-separated; empty: any)
        #[arg(long, default_value = latency::DEFAULT_POOL_EXTENSIONS)]
        pool_ext: String,
        /// Search through the fandex daemon listening here
        #[arg(long, required_unless_present_any = ["recoll_config", "search_cmd"])]
        socket: Option<PathBuf>,
        /// Search with `recollq -c DIR`
        #[arg(long, conflicts_with = "socket")]
        recoll_config: Option<PathBuf>,
        /// Search by running this command (split at whitespace, `{limit}` replaced) with the word
        /// appended, reading `file://` URLs or absolute paths from its output (`tracker3 search`,
        /// `baloosearch`)
        #[arg(long, conflicts_with_all = ["socket", "recoll_config"])]
        search_cmd: Option<String>,
    },
    /// Create many small files under a running daemon as fast as possible, then one sync and a count;
    /// samples the daemon's descriptors and memory meanwhile
    Burst {
        /// Corpus name for the samples
        #[arg(long)]
        corpus: String,
        /// Tool name for the samples
        #[arg(long)]
        tool: String,
        /// Files to create
        #[arg(long, default_value_t = 100_000)]
        files: u64,
        /// Files per new subdirectory
        #[arg(long, default_value_t = 1000)]
        per_dir: u64,
        /// Where to create them (under a watched root)
        #[arg(long)]
        dir: PathBuf,
        /// The daemon's pid (for /proc)
        #[arg(long)]
        pid: u32,
        /// The daemon's socket
        #[arg(long)]
        socket: PathBuf,
        /// Milliseconds between /proc samples
        #[arg(long, default_value_t = 10)]
        every_ms: u64,
        /// Seconds the sync may take
        #[arg(long, default_value_t = 600.0)]
        sync_timeout_s: f64,
    },
    /// Move a directory of many files within a watched root and poll (no sync) until every file is
    /// found at its new path and none at the old one
    Move {
        /// Corpus name for the samples
        #[arg(long)]
        corpus: String,
        /// Tool name for the samples
        #[arg(long)]
        tool: String,
        /// Files in the moved directory
        #[arg(long, default_value_t = 10_000)]
        files: u64,
        /// The watched root to create and move the directory in
        #[arg(long)]
        root: PathBuf,
        /// The daemon's socket
        #[arg(long)]
        socket: PathBuf,
        /// Least milliseconds between the starts of two counting rounds
        #[arg(long, default_value_t = 10)]
        poll_ms: u64,
        /// Give up after this many seconds
        #[arg(long, default_value_t = 120.0)]
        timeout_s: f64,
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

fn secs(s: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s).map_err(|e| anyhow::anyhow!("bad number of seconds {s}: {e}"))
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
        Sub::Names { count, reps } => {
            let corpus = format!("synthetic-{count}");
            let (indexed, measured) = fandex_bench::names::measure(count, reps)?;
            sample(&corpus, "names:index", "fandex-lib", "seconds", indexed);
            for m in measured {
                let measure = format!("names:{} {}", m.class, m.query);
                sample(&corpus, &measure, "fandex-lib", "p50_ms", m.millis.p50);
                sample(&corpus, &measure, "fandex-lib", "p99_ms", m.millis.p99);
                sample(&corpus, &measure, "fandex-lib", "hits", m.total);
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
            let mut workers = DescendantPeaks::default();
            let (code, peaks) =
                rss::run_watched_with(&args, Duration::from_millis(every_ms), &mut |pid| {
                    workers.sample(pid)
                })?;
            let mut out = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(&samples)
                .with_context(|| format!("cannot open {}", samples.display()))?;
            let mut figures = vec![
                ("rss_anon_kb", peaks.anon_kb),
                ("rss_file_kb", peaks.file_kb),
            ];
            if workers.most > 0 {
                figures.extend([
                    ("worker_rss_kb", workers.largest_hwm_kb),
                    ("workers_rss_sum_kb", workers.sum_rss_kb),
                    ("workers", workers.most),
                ]);
            }
            for (metric, value) in figures {
                writeln!(out, "{corpus}\t{measure}\t{tool}\t{metric}\t{value}")
                    .with_context(|| format!("cannot write {}", samples.display()))?;
            }
            return Ok(match code {
                Some(c) => ExitCode::from(u8::try_from(c).unwrap_or(2)),
                None => ExitCode::from(2),
            });
        }
        Sub::DaemonStart {
            log,
            timeout_s,
            args,
        } => {
            let mut ready = daemon::start_until_ready(&args, &log, secs(timeout_s)?)?;
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{}\t{}", ready.child.id(), ready.seconds)
                .and_then(|()| stdout.flush())
                .context("cannot write to stdout")?;
            drop(stdout);
            let status = ready.child.wait().context("waiting for the daemon")?;
            if !status.success() {
                tracing::warn!("the daemon exited with {status}");
            }
            return Ok(match status.code() {
                Some(c) => ExitCode::from(u8::try_from(c).unwrap_or(2)),
                None => ExitCode::from(2),
            });
        }
        Sub::Latency {
            corpus,
            tool,
            rate,
            seconds,
            new_every,
            group,
            poll_ms,
            timeout_s,
            new_dir,
            pool_root,
            pool_ext,
            socket,
            recoll_config,
            search_cmd,
        } => {
            let exts: Vec<String> = pool_ext
                .split(',')
                .filter(|e| !e.is_empty())
                .map(|e| e.trim_start_matches('.').to_owned())
                .collect();
            let group = group.unwrap_or(if recoll_config.is_some() || search_cmd.is_some() {
                (rate.round() as u64).max(1)
            } else {
                100
            });
            let load = latency::Load {
                rate,
                seconds,
                new_every,
                group,
                pool: latency::rewrite_pool(&pool_root, &new_dir, &exts)?,
                new_dir,
            };
            let poll = latency::Poll {
                every: Duration::from_millis(poll_ms),
                timeout: secs(timeout_s)?,
            };
            let stages_before = socket.as_deref().map(latency::daemon_stages).transpose()?;
            let mut searcher: Box<dyn latency::Searcher> =
                match (&socket, recoll_config, search_cmd) {
                    (Some(s), _, _) => Box::new(latency::DaemonSearcher::connect(s)?),
                    (None, Some(config), _) => Box::new(latency::RecollSearcher { config }),
                    (None, None, Some(cmd)) => Box::new(latency::CommandSearcher::new(&cmd)?),
                    (None, None, None) => {
                        anyhow::bail!("--socket, --recoll-config or --search-cmd is required")
                    }
                };
            let pool_len = load.pool.len();
            let o = latency::run(&load, poll, searcher.as_mut())?;
            let m = format!("latency:{rate}");
            for (metric, p) in [("p50_ms", 50.0), ("p95_ms", 95.0), ("p99_ms", 99.0)] {
                if let Some(v) = o.percentile_ms(p) {
                    sample(&corpus, &m, &tool, metric, v);
                }
            }
            let max = if o.missed > 0 {
                Some(f64::INFINITY)
            } else {
                o.seen_ms.last().copied()
            };
            if let Some(v) = max {
                sample(&corpus, &m, &tool, "max_ms", v);
            }
            sample(&corpus, &m, &tool, "changes", o.changes);
            sample(&corpus, &m, &tool, "created", o.created);
            sample(&corpus, &m, &tool, "rewritten", o.rewritten);
            sample(&corpus, &m, &tool, "rewrite_pool", pool_len);
            sample(&corpus, &m, &tool, "seen", o.seen_ms.len());
            sample(&corpus, &m, &tool, "missed", o.missed);
            sample(&corpus, &m, &tool, "superseded", o.superseded);
            sample(&corpus, &m, &tool, "achieved_rate", o.achieved_rate);
            sample(&corpus, &m, &tool, "poll_ms", poll_ms);
            sample(&corpus, &m, &tool, "poll_cycle_ms", o.mean_poll_ms);
            sample(&corpus, &m, &tool, "group", group);
            sample(&corpus, &m, &tool, "searches", o.searches);
            sample(&corpus, &m, &tool, "timeout_s", timeout_s);
            if let (Some(before), Some(socket)) = (stages_before, &socket) {
                let after = latency::daemon_stages(socket)?;
                for (metric, v) in latency::stage_metrics(&before, &after) {
                    sample(&corpus, &m, &tool, &metric, v);
                }
            }
        }
        Sub::Burst {
            corpus,
            tool,
            files,
            per_dir,
            dir,
            pid,
            socket,
            every_ms,
            sync_timeout_s,
        } => {
            let mut searcher = latency::DaemonSearcher::connect(&socket)?;
            let o = burst::burst(
                &dir,
                files,
                per_dir,
                pid,
                &mut searcher,
                secs(sync_timeout_s)?,
                Duration::from_millis(every_ms),
            )?;
            let m = "burst";
            sample(&corpus, m, &tool, "files", o.files);
            sample(&corpus, m, &tool, "create_s", o.create_s);
            sample(&corpus, m, &tool, "sync_s", o.sync_s);
            sample(&corpus, m, &tool, "searchable_s", o.searchable_s);
            sample(&corpus, m, &tool, "found", o.found);
            sample(&corpus, m, &tool, "fds_before", o.fds_before);
            sample(&corpus, m, &tool, "peak_fds", o.peaks.fds);
            sample(&corpus, m, &tool, "hwm_before_kb", o.hwm_before_kb);
            sample(&corpus, m, &tool, "hwm_kb", o.peaks.rss.hwm_kb);
            sample(&corpus, m, &tool, "rss_anon_kb", o.peaks.rss.anon_kb);
            sample(&corpus, m, &tool, "rss_after_kb", o.rss_after_kb);
            sample(&corpus, m, &tool, "proc_samples", o.peaks.rss.samples);
        }
        Sub::Move {
            corpus,
            tool,
            files,
            root,
            socket,
            poll_ms,
            timeout_s,
        } => {
            let mut searcher = latency::DaemonSearcher::connect(&socket)?;
            let o = burst::move_dir(
                &root,
                files,
                &mut searcher,
                Duration::from_millis(poll_ms),
                secs(timeout_s)?,
            )?;
            let m = "move";
            sample(&corpus, m, &tool, "files", o.files);
            let or_inf = |v: Option<f64>| v.unwrap_or(f64::INFINITY);
            sample(&corpus, m, &tool, "all_new_s", or_inf(o.all_new_s));
            sample(&corpus, m, &tool, "none_old_s", or_inf(o.none_old_s));
            sample(&corpus, m, &tool, "found_new", o.found_new);
            sample(&corpus, m, &tool, "left_old", o.left_old);
            sample(&corpus, m, &tool, "polls", o.polls);
            sample(&corpus, m, &tool, "poll_ms", poll_ms);
            sample(&corpus, m, &tool, "timeout_s", timeout_s);
        }
        Sub::Fidelity {
            corpus,
            index_dir,
            refs,
            worst,
            root,
        } => print!(
            "{}",
            fidelity::report(
                &corpus,
                &IndexDir::at(index_dir).tantivy_dir(),
                &refs,
                &worst,
                &root
            )?
        ),
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
