//! `fandex-bench`: the measuring half of `bench/run`. Every measuring subcommand prints samples, one per
//! line: `corpus measure tool metric value`, tab-separated, for `fandex-bench report`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use fandex::IndexDir;
use fandex_bench::children::DescendantPeaks;
use fandex_bench::cmd::{Program, time_program};
use fandex_bench::engine::{self, Target};
use fandex_bench::{burst, daemon, fidelity, floor, latency, queries, report, rss};

mod args;
use args::{Sub, SynthArgs};

#[derive(Debug, Parser)]
#[command(about = "Measurements for fandex's benchmark harness (see bench/run)")]
struct Cli {
    #[command(subcommand)]
    command: Sub,
}

fn synth(a: SynthArgs) -> anyhow::Result<()> {
    use fandex_bench::synth;
    let vocab = synth::Vocabulary::from_dirs(&a.vocab, a.vocab_mib << 20, 2)?;
    let threads = a.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
    });
    let spec = synth::Spec {
        files: a.files,
        seed: a.seed,
        planted: a.planted,
        threads,
    };
    let made = synth::generate(&spec, &vocab, &a.root)?;
    synth::write_oracle(&spec, &vocab, &a.root, &a.oracle)?;
    let m = "synth";
    let t = "fandex-bench";
    sample(&a.corpus, m, t, "files", made.files);
    sample(&a.corpus, m, t, "dirs", made.dirs);
    sample(&a.corpus, m, t, "bytes", made.bytes);
    sample(&a.corpus, m, t, "seconds", made.seconds);
    sample(&a.corpus, m, t, "threads", threads);
    sample(&a.corpus, m, t, "vocab_words", vocab.words.len());
    sample(
        &a.corpus,
        m,
        t,
        "vocab_tokens",
        vocab.counts.iter().sum::<u64>(),
    );
    sample(&a.corpus, m, t, "planted", a.planted);
    Ok(())
}

fn sample(corpus: &str, measure: &str, tool: &str, metric: &str, value: impl std::fmt::Display) {
    println!("{corpus}\t{measure}\t{tool}\t{metric}\t{value}");
}

type SearchFn =
    Box<dyn FnMut(&fandex::SearchRequest) -> fandex_bench::Result<fandex::SearchResults>>;

/// Searches through the daemon at `socket` when given, else in the index at `index_dir`.
fn searcher(
    socket: Option<&std::path::Path>,
    index_dir: Option<PathBuf>,
    text_only: bool,
) -> anyhow::Result<SearchFn> {
    use fandex_bench::BenchError;
    if let Some(s) = socket {
        let mut client = fandex::query::client::Client::connect(s)?
            .with_context(|| format!("no daemon listens on {}", s.display()))?;
        return Ok(Box::new(move |r| {
            client
                .search(r)
                .map_err(|e| BenchError::Invalid(format!("query {:?}: {e}", r.query)))
        }));
    }
    let dir = index_dir.context("--index-dir or --socket is required")?;
    let engine = fandex::open_searcher(&IndexDir::at(dir))?;
    if text_only {
        engine.set_rank(fandex::RankWeights::TEXT_ONLY);
    }
    Ok(Box::new(move |r| {
        engine.search(r).map_err(|source| BenchError::Query {
            query: r.query.clone(),
            source,
        })
    }))
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
                let options = q.options.join(" ");
                let (c, f, r, g, p) = (q.class, q.fandex, q.recoll, q.rg, q.plocate);
                println!("{c}\t{f}\t{r}\t{g}\t{p}\t{options}");
            }
        }
        Sub::LibQuery {
            corpus,
            socket,
            reps,
            limit,
            text_only,
            index_dir,
            file,
            root,
        } => {
            let rows = queries::read_query_file(&file, &root)?;
            let mut search = searcher(socket.as_deref(), Some(index_dir), text_only)?;
            let suffix = if text_only { "-textonly" } else { "" };
            let tools = match socket {
                Some(_) => [
                    ("fandex-daemon-lib", true),
                    ("fandex-daemon-lib-nosnip", false),
                ],
                None => [("fandex-lib", true), ("fandex-lib-nosnip", false)],
            };
            for (tool, snippets) in tools {
                let tool = format!("{tool}{suffix}");
                let tool = tool.as_str();
                for l in queries::measure_with(&mut search, &rows, reps, limit, snippets)? {
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
        Sub::Synth(args) => synth(args)?,
        Sub::Oracle {
            corpus,
            tool,
            oracle,
            socket,
            index_dir,
        } => {
            let mut search = searcher(socket.as_deref(), index_dir, false)?;
            let c = fandex_bench::synth::check::check(&oracle, &mut search)?;
            for m in &c.mismatches {
                tracing::warn!("oracle mismatch: {m}");
            }
            let m = "oracle";
            sample(&corpus, m, &tool, "words", c.words);
            sample(&corpus, m, &tool, "exact", c.exact);
            sample(&corpus, m, &tool, "expected_files", c.expected);
            sample(&corpus, m, &tool, "found_files", c.found);
            sample(&corpus, m, &tool, "extra_files", c.extra);
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
