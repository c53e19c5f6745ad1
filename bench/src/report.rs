//! Turns the raw samples of a harness run into the tables of `BENCHMARKS.md`.
//!
//! Input: one sample per line, five tab-separated columns: `corpus measure tool metric value`. Several
//! lines with the same first four columns are repeated runs; tables show their median. Known measures:
//!
//! - `corpus` (tool `-`): `files`, `bytes`, `gz_files` of each corpus;
//! - `index` (tools `fandex`, `recollindex`, `tantivy-alone`, `read-floor`): `wall_s`, `rss_kb`,
//!   `rss_anon_kb`, `rss_file_kb`, `size_kb`, `docs`;
//! - `noop` and `change100` (tools `fandex`, `recollindex`): `wall_s`, `rss_kb`;
//! - `q:CLASS` (tools `fandex-cli`, `fandex-lib`, `fandex-lib-nosnip`, `recollq`, `rg`): `p50_ms`,
//!   `p99_ms`; files matched are `hits` for `fandex-lib` and `recollq` and `lines` (of `rg -l`) for
//!   `rg`; tool `-` metric `query` holds the fandex query text;
//! - `count:TERM` (tools `fandex`, `rg`, `rg-z`, `recollq`, `recollq-stem`): `files`;
//! - `run` (corpus `-`, tool `-`): facts about the run, printed as a list;
//! - the daemon's, tools `fandex-fanotify` and `fandex-inotify` (and `recoll-monitor` for latency):
//!   - `restart`: `first_start_s`, `restart_s`, `reconcile_s`, `reconcile_indexed`, `ready_rss_kb`,
//!     `stop_s`;
//!   - `latency:RATE`: `p50_ms`, `p95_ms`, `p99_ms`, `max_ms` (`inf` when changes were missed),
//!     `changes`, `created`, `rewritten`, `seen`, `missed`, `superseded`, `achieved_rate`, `poll_ms`,
//!     `poll_cycle_ms`, `timeout_s`;
//!   - `watchsetup` (corpus `dirs-N`): `dirs` (tool `-`), `first_start_s`, `restart_s`, `reconcile_s`,
//!     `ready_rss_kb`;
//!   - `burst` (corpus `files-N`): `files`, `create_s`, `sync_s`, `searchable_s`, `found`,
//!     `fds_before`, `peak_fds`, `hwm_before_kb`, `hwm_kb`, `rss_after_kb`;
//!   - `move`: `files`, `all_new_s`, `none_old_s` (`inf`: timed out), `found_new`, `left_old`,
//!     `poll_ms`;
//!   - `idle`: `seconds`, `cpu_pct`, `rss_kb`, `rss_max_kb`, `rss_anon_kb`.
//!
//! Any other measure is listed in a generic table, so new measurements (the daemon's) show up before
//! they get a table of their own.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use crate::error::{BenchError, Result};
use crate::stats::median;

/// One sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Corpus name (`-` for facts about the whole run).
    pub corpus: String,
    /// What was measured (`index`, `noop`, `q:rare`, ...).
    pub measure: String,
    /// Which program (`fandex`, `recollindex`, ...; `-` when none).
    pub tool: String,
    /// Which figure (`wall_s`, `rss_kb`, ...).
    pub metric: String,
    /// The value, as written.
    pub value: String,
}

/// Parses samples; `file` names the input in errors.
pub fn parse_samples(text: &str, file: &str) -> Result<Vec<Sample>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.splitn(5, '\t').collect();
        let [corpus, measure, tool, metric, value] = cols[..] else {
            return Err(BenchError::Parse {
                file: file.to_owned(),
                line: i + 1,
                message: format!("expected 5 tab-separated columns, found {}", cols.len()),
            });
        };
        out.push(Sample {
            corpus: corpus.to_owned(),
            measure: measure.to_owned(),
            tool: tool.to_owned(),
            metric: metric.to_owned(),
            value: value.to_owned(),
        });
    }
    Ok(out)
}

/// Reads and renders a samples file.
pub fn render_file(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| BenchError::io("cannot read", path, e))?;
    Ok(render(&parse_samples(&text, &path.display().to_string())?))
}

/// Samples with lookups by key.
struct Data<'a> {
    samples: &'a [Sample],
}

impl<'a> Data<'a> {
    fn matching(
        &self,
        corpus: &'a str,
        measure: &'a str,
        tool: &'a str,
        metric: &'a str,
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| {
            s.corpus == corpus && s.measure == measure && s.tool == tool && s.metric == metric
        })
    }

    fn values(&self, corpus: &str, measure: &str, tool: &str, metric: &str) -> Vec<f64> {
        self.samples
            .iter()
            .filter(|s| {
                s.corpus == corpus && s.measure == measure && s.tool == tool && s.metric == metric
            })
            .filter_map(|s| s.value.trim().parse::<f64>().ok())
            .collect()
    }

    fn med(&self, corpus: &str, measure: &str, tool: &str, metric: &str) -> Option<f64> {
        median(&self.values(corpus, measure, tool, metric))
    }

    fn text(
        &self,
        corpus: &'a str,
        measure: &'a str,
        tool: &'a str,
        metric: &'a str,
    ) -> Option<&'a str> {
        self.matching(corpus, measure, tool, metric)
            .next()
            .map(|s| s.value.as_str())
    }

    /// Distinct values of a column, in order of first appearance.
    fn ordered<F: Fn(&'a Sample) -> Option<&'a str>>(&self, pick: F) -> Vec<&'a str> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for s in self.samples {
            if let Some(v) = pick(s)
                && seen.insert(v)
            {
                out.push(v);
            }
        }
        out
    }

    fn corpora(&self) -> Vec<&'a str> {
        self.ordered(|s| (s.corpus != "-").then_some(s.corpus.as_str()))
    }

    fn has(&self, corpus: &str, measure: &str) -> bool {
        self.samples
            .iter()
            .any(|s| s.corpus == corpus && s.measure == measure)
    }
}

/// Formats a figure with 3 significant digits or so; `—` when absent.
fn fmt(x: Option<f64>) -> String {
    match x {
        None => "—".into(),
        Some(v) if !v.is_finite() => "—".into(),
        Some(v) if v.abs() >= 100.0 => format!("{v:.0}"),
        Some(v) if v.abs() >= 10.0 => format!("{v:.1}"),
        Some(v) if v.abs() >= 1.0 => format!("{v:.2}"),
        Some(v) => format!("{v:.3}"),
    }
}

/// Formats a count: whole numbers without decimals (a median of two counts may be a half).
fn count(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() && v.fract() == 0.0 => format!("{v:.0}"),
        other => fmt(other),
    }
}

fn ratio(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_finite() => format!("{}×", fmt(Some(v))),
        _ => "—".into(),
    }
}

fn div(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b != 0.0 => Some(a / b),
        _ => None,
    }
}

fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "met",
        Some(false) => "**not met**",
        None => "not measured",
    }
}

fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(
        out,
        "|{}",
        header.iter().map(|_| "---|").collect::<String>()
    );
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out.push('\n');
}

const KIB_PER_MIB: f64 = 1024.0;

/// Renders every section that has data, as Markdown.
pub fn render(samples: &[Sample]) -> String {
    let d = Data { samples };
    let mut out = String::new();
    run_facts(&d, &mut out);
    corpora(&d, &mut out);
    full_index(&d, &mut out);
    incremental(&d, &mut out);
    queries(&d, &mut out);
    counts(&d, &mut out);
    restart(&d, &mut out);
    latency(&d, &mut out);
    watch_setup(&d, &mut out);
    burst(&d, &mut out);
    moves(&d, &mut out);
    idle(&d, &mut out);
    others(&d, &mut out);
    out
}

fn run_facts(d: &Data, out: &mut String) {
    let facts: Vec<&Sample> = d
        .samples
        .iter()
        .filter(|s| s.corpus == "-" && s.measure == "run")
        .collect();
    if facts.is_empty() {
        return;
    }
    out.push_str("### Run\n\n");
    for f in facts {
        let _ = writeln!(out, "- {}: `{}`", f.metric, f.value);
    }
    out.push('\n');
}

fn corpora(d: &Data, out: &mut String) {
    let rows: Vec<Vec<String>> = d
        .corpora()
        .into_iter()
        .filter(|c| d.has(c, "corpus"))
        .map(|c| {
            let mib = d.med(c, "corpus", "-", "bytes").map(|b| b / 1048576.0);
            vec![
                c.to_owned(),
                count(d.med(c, "corpus", "-", "files")),
                fmt(mib),
                count(d.med(c, "corpus", "-", "gz_files")),
            ]
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    out.push_str("### Corpora\n\n");
    table(out, &["corpus", "files", "MiB", ".gz files"], &rows);
}

const INDEX_TOOLS: [&str; 4] = ["fandex", "recollindex", "tantivy-alone", "read-floor"];

fn full_index(d: &Data, out: &mut String) {
    let corpora: Vec<&str> = d
        .corpora()
        .into_iter()
        .filter(|c| d.has(c, "index"))
        .collect();
    if corpora.is_empty() {
        return;
    }
    let mut rows = Vec::new();
    let mut targets = Vec::new();
    for c in &corpora {
        let files = d.med(c, "corpus", "-", "files");
        let bytes = d.med(c, "corpus", "-", "bytes");
        let fandex_wall = d.med(c, "index", "fandex", "wall_s");
        for tool in INDEX_TOOLS {
            let wall = d.med(c, "index", tool, "wall_s");
            if wall.is_none() {
                continue;
            }
            let runs = d.values(c, "index", tool, "wall_s").len();
            rows.push(vec![
                c.to_string(),
                tool.to_owned(),
                fmt(wall),
                runs.to_string(),
                fmt(div(files, wall)),
                fmt(div(bytes.map(|b| b / 1e6), wall)),
                fmt(d.med(c, "index", tool, "rss_kb").map(|k| k / KIB_PER_MIB)),
                format!(
                    "{} / {}",
                    fmt(d
                        .med(c, "index", tool, "rss_anon_kb")
                        .map(|k| k / KIB_PER_MIB)),
                    fmt(d
                        .med(c, "index", tool, "rss_file_kb")
                        .map(|k| k / KIB_PER_MIB))
                ),
                fmt(d.med(c, "index", tool, "size_kb").map(|k| k / KIB_PER_MIB)),
                count(d.med(c, "index", tool, "docs")),
                ratio(div(wall, fandex_wall)),
            ]);
        }
        let recoll_x = div(d.med(c, "index", "recollindex", "wall_s"), fandex_wall);
        let engine_pct =
            div(d.med(c, "index", "tantivy-alone", "wall_s"), fandex_wall).map(|r| r * 100.0);
        let rss = d
            .med(c, "index", "fandex", "rss_kb")
            .map(|k| k / KIB_PER_MIB);
        targets.push(vec![
            c.to_string(),
            format!(
                "{} ({})",
                ratio(recoll_x),
                verdict(recoll_x.map(|r| r >= 3.0))
            ),
            format!(
                "{}% ({})",
                fmt(engine_pct),
                verdict(engine_pct.map(|p| p >= 60.0))
            ),
            format!("{} MiB ({})", fmt(rss), verdict(rss.map(|r| r < 150.0))),
        ]);
    }
    out.push_str("### 1. Full initial index\n\n");
    table(
        out,
        &[
            "corpus",
            "tool",
            "wall s (median)",
            "runs",
            "files/s",
            "MB/s",
            "peak RSS MiB",
            "anon / file MiB",
            "index MiB",
            "docs",
            "time ÷ fandex",
        ],
        &rows,
    );
    out.push_str(
        "files/s and MB/s divide the corpus's files and bytes by the wall time, for every tool. Peak \
         RSS is `/usr/bin/time`'s; anon / file are the peaks of anonymous and file-backed (mmap) \
         resident memory sampled every 20 ms from /proc (main process only). `docs` is what each \
         tool reports it holds.\n\n",
    );
    table(
        out,
        &[
            "corpus",
            "recollindex time ÷ fandex time (target ≥ 3×)",
            "fandex throughput as % of tantivy-alone (target ≥ 60%)",
            "fandex peak RSS (target < 150 MiB)",
        ],
        &targets,
    );
}

fn incremental(d: &Data, out: &mut String) {
    let mut rows = Vec::new();
    for c in d.corpora() {
        for tool in ["fandex", "recollindex"] {
            let noop = d.med(c, "noop", tool, "wall_s");
            let change = d.med(c, "change100", tool, "wall_s");
            if noop.is_none() && change.is_none() {
                continue;
            }
            rows.push(vec![
                c.to_owned(),
                tool.to_owned(),
                fmt(noop),
                fmt(d.med(c, "noop", tool, "rss_kb").map(|k| k / KIB_PER_MIB)),
                fmt(change),
                fmt(d
                    .med(c, "change100", tool, "rss_kb")
                    .map(|k| k / KIB_PER_MIB)),
                count(d.med(c, "change100", tool, "indexed")),
            ]);
        }
    }
    if rows.is_empty() {
        return;
    }
    out.push_str("### 2. Incremental index runs\n\n");
    table(
        out,
        &[
            "corpus",
            "tool",
            "nothing changed: wall s",
            "peak RSS MiB",
            "100 files changed: wall s",
            "peak RSS MiB",
            "files re-read",
        ],
        &rows,
    );
}

const QUERY_TOOLS: [&str; 5] = [
    "fandex-cli",
    "fandex-lib",
    "fandex-lib-nosnip",
    "recollq",
    "rg",
];

fn queries(d: &Data, out: &mut String) {
    let mut any = false;
    let mut largest: Option<(&str, f64)> = None;
    for c in d.corpora() {
        let classes = d.ordered(|s| {
            (s.corpus == c)
                .then(|| s.measure.strip_prefix("q:"))
                .flatten()
        });
        if classes.is_empty() {
            continue;
        }
        if !any {
            out.push_str("### 7. Query latency\n\n");
            any = true;
        }
        if let Some(bytes) = d.med(c, "corpus", "-", "bytes")
            && largest.is_none_or(|(_, b)| bytes > b)
        {
            largest = Some((c, bytes));
        }
        let mut rows = Vec::new();
        for class in classes {
            let m = format!("q:{class}");
            let mut row = vec![
                class.to_owned(),
                format!("`{}`", d.text(c, &m, "-", "query").unwrap_or("?")),
            ];
            for tool in QUERY_TOOLS {
                row.push(format!(
                    "{} / {}",
                    fmt(d.med(c, &m, tool, "p50_ms")),
                    fmt(d.med(c, &m, tool, "p99_ms"))
                ));
            }
            row.push(format!(
                "{} / {} / {}",
                count(d.med(c, &m, "fandex-lib", "hits")),
                count(d.med(c, &m, "recollq", "hits")),
                count(d.med(c, &m, "rg", "lines"))
            ));
            rows.push(row);
        }
        let _ = writeln!(out, "#### {c}\n");
        table(
            out,
            &[
                "class",
                "fandex query",
                "fandex CLI p50 / p99 ms",
                "fandex library p50 / p99 ms",
                "library, no snippets",
                "recollq p50 / p99 ms",
                "rg -l p50 / p99 ms",
                "files matched: fandex / recollq / rg",
            ],
            &rows,
        );
    }
    if let Some((c, _)) = largest {
        let worst = |tool: &str| {
            d.ordered(|s| {
                (s.corpus == c && s.tool == tool && s.metric == "p99_ms")
                    .then_some(s.measure.as_str())
            })
            .into_iter()
            .filter_map(|m| d.med(c, m, tool, "p99_ms"))
            .fold(None, |acc: Option<f64>, v| {
                Some(acc.map_or(v, |a| a.max(v)))
            })
        };
        let lib = worst("fandex-lib");
        let nosnip = worst("fandex-lib-nosnip");
        let cli = worst("fandex-cli");
        let _ = writeln!(
            out,
            "Target (query p99 < 10 ms for every class on the largest corpus measured, `{c}`): \
             library worst p99 {} ms ({}); without snippets {} ms ({}); CLI worst p99 {} ms ({}).\n",
            fmt(lib),
            verdict(lib.map(|v| v < 10.0)),
            fmt(nosnip),
            verdict(nosnip.map(|v| v < 10.0)),
            fmt(cli),
            verdict(cli.map(|v| v < 10.0)),
        );
    }
}

const COUNT_TOOLS: [&str; 5] = ["fandex", "rg", "rg-z", "recollq", "recollq-stem"];

fn counts(d: &Data, out: &mut String) {
    let mut rows = Vec::new();
    for c in d.corpora() {
        let terms = d.ordered(|s| {
            (s.corpus == c)
                .then(|| s.measure.strip_prefix("count:"))
                .flatten()
        });
        for term in terms {
            let m = format!("count:{term}");
            let mut row = vec![c.to_owned(), format!("`{term}`")];
            for tool in COUNT_TOOLS {
                row.push(count(d.med(c, &m, tool, "files")));
            }
            rows.push(row);
        }
    }
    if rows.is_empty() {
        return;
    }
    out.push_str("### Hit counts for single terms (files)\n\n");
    table(
        out,
        &[
            "corpus",
            "term",
            "fandex",
            "rg -l -i -w",
            "rg -z -l -i -w",
            "recollq (no stemming)",
            "recollq (default, stemmed)",
        ],
        &rows,
    );
}

fn is_known(measure: &str) -> bool {
    matches!(
        measure,
        "corpus"
            | "index"
            | "noop"
            | "change100"
            | "run"
            | "restart"
            | "watchsetup"
            | "burst"
            | "move"
            | "idle"
    ) || measure.starts_with("q:")
        || measure.starts_with("count:")
        || measure.starts_with("latency:")
}

const DAEMON_TOOLS: [&str; 2] = ["fandex-fanotify", "fandex-inotify"];

/// Like [`fmt`], but an infinite figure (a change never seen, a move never completed) says so.
fn fmt_or_missed(x: Option<f64>) -> String {
    match x {
        Some(v) if v.is_infinite() => "never (timeout)".into(),
        other => fmt(other),
    }
}

fn mib(kb: Option<f64>) -> Option<f64> {
    kb.map(|k| k / KIB_PER_MIB)
}

/// (corpus, tool) pairs with samples of `measure`, in order of appearance.
fn pairs<'a>(d: &Data<'a>, measure: &str, tools: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    let mut out = Vec::new();
    for c in d.ordered(|s| (s.measure == measure).then_some(s.corpus.as_str())) {
        for tool in tools {
            if d.samples
                .iter()
                .any(|s| s.corpus == c && s.measure == measure && s.tool == *tool)
            {
                out.push((c, *tool));
            }
        }
    }
    out
}

fn restart(d: &Data, out: &mut String) {
    let rows: Vec<Vec<String>> = pairs(d, "restart", &DAEMON_TOOLS)
        .into_iter()
        .map(|(c, tool)| {
            let m = "restart";
            vec![
                c.to_owned(),
                tool.to_owned(),
                fmt(d.med(c, m, tool, "first_start_s")),
                format!(
                    "{} ({})",
                    fmt(d.med(c, m, tool, "restart_s")),
                    d.values(c, m, tool, "restart_s").len()
                ),
                fmt(d.med(c, m, tool, "reconcile_s")),
                count(d.med(c, m, tool, "reconcile_indexed")),
                fmt(mib(d.med(c, m, tool, "ready_rss_kb"))),
                fmt(d.med(c, m, tool, "stop_s")),
            ]
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    out.push_str(
        "### 2b. Daemon start and restart

",
    );
    table(
        out,
        &[
            "corpus",
            "daemon",
            "first start, fresh index: s to ready",
            "restart after SIGTERM, unchanged corpus: s to ready (runs)",
            "of which reconcile s",
            "files re-read on restart",
            "RSS at ready MiB",
            "stop (SIGTERM to exit) s",
        ],
        &rows,
    );
    out.push_str(
        "Ready is the daemon's systemd notification: spawn to the `READY=1` datagram on \
         `NOTIFY_SOCKET`, sent once it watches, has reconciled the roots and listens on its \
         socket. The corpus is a copy on a private tmpfs; the index is on another filesystem. \
         Medians.\n\n",
    );
}

fn latency(d: &Data, out: &mut String) {
    let measures = d.ordered(|s| {
        s.measure
            .starts_with("latency:")
            .then_some(s.measure.as_str())
    });
    if measures.is_empty() {
        return;
    }
    let tools = ["fandex-fanotify", "fandex-inotify", "recoll-monitor"];
    let mut rows = Vec::new();
    let mut targets = Vec::new();
    for m in &measures {
        let rate = m.trim_start_matches("latency:");
        for (c, tool) in pairs(d, m, &tools) {
            let med = |metric: &str| d.med(c, m, tool, metric);
            rows.push(vec![
                c.to_owned(),
                rate.to_owned(),
                tool.to_owned(),
                fmt_or_missed(med("p50_ms")),
                fmt_or_missed(med("p95_ms")),
                fmt_or_missed(med("p99_ms")),
                fmt_or_missed(med("max_ms")),
                format!(
                    "{} ({} new, {} rewrites)",
                    count(med("changes")),
                    count(med("created")),
                    count(med("rewritten"))
                ),
                format!(
                    "{} / {} / {}",
                    count(med("seen")),
                    count(med("missed")),
                    count(med("superseded"))
                ),
                fmt(med("achieved_rate")),
                format!("{} ({})", fmt(med("poll_ms")), fmt(med("poll_cycle_ms"))),
            ]);
            let limit = match rate.parse::<f64>() {
                Ok(r) if r <= 100.0 => Some(300.0),
                Ok(r) if r <= 1000.0 => Some(1000.0),
                _ => None,
            };
            if let (Some(limit), true) = (limit, tool.starts_with("fandex-")) {
                let p99 = med("p99_ms");
                targets.push(format!(
                    "{c}, {rate}/s, {tool}: p99 {} ms (target < {limit} ms: {})",
                    fmt_or_missed(p99),
                    verdict(p99.map(|v| v < limit))
                ));
            }
        }
    }
    out.push_str(
        "### 3. Change-to-searchable latency under load

",
    );
    table(
        out,
        &[
            "corpus",
            "changes/s",
            "tool",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
            "changes",
            "seen / missed / superseded",
            "achieved changes/s",
            "poll interval ms (measured cycle)",
        ],
        &rows,
    );
    out.push_str(
        "A writer changes files at a steady rate on a private tmpfs holding a copy of the corpus \
         (every other change creates a file, the others rewrite an existing text file, by default \
         one of the extensions `fandex-bench latency --pool-ext` lists, with one line added, cycling \
         through them when there are fewer than the rewrites; each change holds a unique word and \
         its group's word, groups of 100 changes for fandex and of one second for recoll). Latency: end of the write to the first search \
         answer (no sync) that lists the path under its group's word; fandex is searched through \
         its daemon socket (the `fandex::query::client` the CLI uses, no snippets), recoll with \
         `recollq -b`, one process per search. A missed change (never seen before the timeout) \
         counts as infinite; a superseded one (rewritten again before it was seen) is left out. \
         Resolution: the measured poll cycle.\n\n",
    );
    if !targets.is_empty() {
        for t in targets {
            let _ = writeln!(out, "- {t}");
        }
        out.push('\n');
    }
}

fn watch_setup(d: &Data, out: &mut String) {
    let rows: Vec<Vec<String>> = pairs(d, "watchsetup", &DAEMON_TOOLS)
        .into_iter()
        .map(|(c, tool)| {
            let m = "watchsetup";
            vec![
                c.to_owned(),
                tool.to_owned(),
                count(d.med(c, m, "-", "dirs")),
                format!(
                    "{} ({})",
                    fmt(d.med(c, m, tool, "first_start_s")),
                    d.values(c, m, tool, "first_start_s").len()
                ),
                fmt(d.med(c, m, tool, "restart_s")),
                fmt(d.med(c, m, tool, "reconcile_s")),
                fmt(mib(d.med(c, m, tool, "ready_rss_kb"))),
            ]
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    out.push_str(
        "### 4. Watch setup and reconcile on a large tree

",
    );
    table(
        out,
        &[
            "tree",
            "daemon",
            "directories",
            "start, fresh index: s to ready (runs)",
            "restart: s to ready",
            "of which reconcile s",
            "RSS at ready MiB",
        ],
        &rows,
    );
    out.push_str(
        "Empty directories on a private tmpfs; ready as in 2b (watches placed and reconcile walk \
         done). Medians.\n\n",
    );
}

fn burst(d: &Data, out: &mut String) {
    let mut targets = Vec::new();
    let rows: Vec<Vec<String>> = pairs(d, "burst", &DAEMON_TOOLS)
        .into_iter()
        .map(|(c, tool)| {
            let m = "burst";
            let hwm = mib(d.med(c, m, tool, "hwm_kb"));
            targets.push(format!(
                "{c}, {tool}: peak RSS {} MiB (target < 150 MiB: {})",
                fmt(hwm),
                verdict(hwm.map(|v| v < 150.0))
            ));
            vec![
                c.to_owned(),
                tool.to_owned(),
                format!(
                    "{} / {}",
                    count(d.med(c, m, tool, "found")),
                    count(d.med(c, m, tool, "files"))
                ),
                fmt(d.med(c, m, tool, "create_s")),
                fmt(d.med(c, m, tool, "sync_s")),
                fmt(d.med(c, m, tool, "searchable_s")),
                format!(
                    "{} ({})",
                    count(d.med(c, m, tool, "peak_fds")),
                    count(d.med(c, m, tool, "fds_before"))
                ),
                format!(
                    "{} ({})",
                    fmt(hwm),
                    fmt(mib(d.med(c, m, tool, "hwm_before_kb")))
                ),
                fmt(mib(d.med(c, m, tool, "rss_after_kb"))),
            ]
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    out.push_str(
        "### 5. A burst of new files

",
    );
    table(
        out,
        &[
            "burst",
            "daemon",
            "found / created",
            "create s",
            "sync s",
            "until all searchable s",
            "peak fds (before)",
            "peak RSS (VmHWM) MiB (before)",
            "RSS after MiB",
        ],
        &rows,
    );
    out.push_str(
        "Small files created as fast as one thread can (1,000 per new subdirectory) under a \
         running daemon on a private tmpfs, then one sync through the daemon socket (what `fandex \
         sync` sends) and a count of the files holding the burst's word. Until all searchable: \
         first create to the count's answer. fds sampled every 10 ms from /proc/PID/fd during the \
         burst; VmHWM is the daemon's peak since it started.\n\n",
    );
    for t in targets {
        let _ = writeln!(out, "- {t}");
    }
    out.push('\n');
}

fn moves(d: &Data, out: &mut String) {
    let rows: Vec<Vec<String>> = pairs(d, "move", &DAEMON_TOOLS)
        .into_iter()
        .map(|(c, tool)| {
            let m = "move";
            vec![
                c.to_owned(),
                tool.to_owned(),
                count(d.med(c, m, tool, "files")),
                fmt_or_missed(d.med(c, m, tool, "all_new_s")),
                fmt_or_missed(d.med(c, m, tool, "none_old_s")),
                format!(
                    "{} / {}",
                    count(d.med(c, m, tool, "found_new")),
                    count(d.med(c, m, tool, "left_old"))
                ),
                fmt(d.med(c, m, tool, "poll_ms")),
            ]
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    out.push_str(
        "### 6. A directory move

",
    );
    table(
        out,
        &[
            "corpus",
            "daemon",
            "files in the directory",
            "rename to all found at the new path s",
            "rename to none left at the old path s",
            "at the end: new / old",
            "poll ms",
        ],
        &rows,
    );
    out.push_str(
        "The directory is created in the root of the corpus copy, synced, then renamed within the \
         root; two counts (`WORD path:NEW`, `WORD path:OLD`) through the daemon socket every \
         poll, no sync.\n\n",
    );
}

fn idle(d: &Data, out: &mut String) {
    let mut targets = Vec::new();
    let rows: Vec<Vec<String>> = pairs(d, "idle", &DAEMON_TOOLS)
        .into_iter()
        .map(|(c, tool)| {
            let m = "idle";
            let cpu = d.med(c, m, tool, "cpu_pct");
            let rss = mib(d.med(c, m, tool, "rss_kb"));
            targets.push(format!(
                "{c}, {tool}: idle CPU {}% (target < 0.5%: {}); idle RSS {} MiB (target < 50 MiB: {})",
                fmt(cpu),
                verdict(cpu.map(|v| v < 0.5)),
                fmt(rss),
                verdict(rss.map(|v| v < 50.0))
            ));
            vec![
                c.to_owned(),
                tool.to_owned(),
                fmt(d.med(c, m, tool, "seconds")),
                fmt(cpu),
                fmt(rss),
                fmt(mib(d.med(c, m, tool, "rss_max_kb"))),
                fmt(mib(d.med(c, m, tool, "rss_anon_kb"))),
            ]
        })
        .collect();
    if rows.is_empty() {
        return;
    }
    out.push_str(
        "### 8. Idle daemon

",
    );
    table(
        out,
        &[
            "corpus",
            "daemon",
            "seconds",
            "CPU % of one core",
            "RSS MiB (end)",
            "max RSS MiB (1 s samples)",
            "anonymous RSS MiB (end)",
        ],
        &rows,
    );
    out.push_str(
        "After indexing the corpus copy, a sync and 5 s of rest: utime + stime from \
         /proc/PID/stat over the period, VmRSS sampled every second.\n\n",
    );
    for t in targets {
        let _ = writeln!(out, "- {t}");
    }
    out.push('\n');
}

fn others(d: &Data, out: &mut String) {
    let keys = d.ordered(|s| (!is_known(&s.measure)).then_some(s.measure.as_str()));
    if keys.is_empty() {
        return;
    }
    let mut rows = Vec::new();
    for measure in keys {
        let combos = d.ordered(|s| (s.measure == measure).then_some(s.corpus.as_str()));
        for c in combos {
            let tools =
                d.ordered(|s| (s.measure == measure && s.corpus == c).then_some(s.tool.as_str()));
            for tool in tools {
                let metrics = d.ordered(|s| {
                    (s.measure == measure && s.corpus == c && s.tool == tool)
                        .then_some(s.metric.as_str())
                });
                for metric in metrics {
                    let n = d.values(c, measure, tool, metric).len();
                    rows.push(vec![
                        c.to_owned(),
                        measure.to_owned(),
                        tool.to_owned(),
                        metric.to_owned(),
                        fmt(d.med(c, measure, tool, metric)),
                        n.to_string(),
                    ]);
                }
            }
        }
    }
    out.push_str("### Other measurements\n\n");
    table(
        out,
        &["corpus", "measure", "tool", "metric", "median", "samples"],
        &rows,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tsv(rows: &[[&str; 5]]) -> String {
        rows.iter().map(|r| r.join("\t") + "\n").collect()
    }

    #[test]
    fn rejects_short_lines() {
        let err = parse_samples("a\tb\tc\n", "r.tsv").unwrap_err();
        assert!(err.to_string().starts_with("r.tsv:1:"), "{err}");
    }

    #[test]
    fn values_may_hold_tabs_in_the_last_column() {
        let s = parse_samples("-\trun\t-\tcommand\tbench/run\t--runs 3\n", "r").unwrap();
        assert_eq!(s[0].value, "bench/run\t--runs 3");
    }

    #[test]
    fn full_index_table_uses_medians_and_ratios() {
        let text = tsv(&[
            ["code", "corpus", "-", "files", "1000"],
            ["code", "corpus", "-", "bytes", "10000000"],
            ["code", "index", "fandex", "wall_s", "1.0"],
            ["code", "index", "fandex", "wall_s", "3.0"],
            ["code", "index", "fandex", "wall_s", "2.0"],
            ["code", "index", "fandex", "rss_kb", "102400"],
            ["code", "index", "fandex", "rss_anon_kb", "61440"],
            ["code", "index", "fandex", "rss_file_kb", "30720"],
            ["code", "index", "recollindex", "wall_s", "10.0"],
            ["code", "index", "tantivy-alone", "wall_s", "1.0"],
        ]);
        let out = render(&parse_samples(&text, "r").unwrap());
        // median 2.0 s: 500 files/s, 5.00 MB/s, 100 MiB; recoll 5x slower; tantivy 50% -> not met.
        assert!(
            out.contains(
                "| code | fandex | 2.00 | 3 | 500 | 5.00 | 100 | 60.0 / 30.0 | — | — | 1.00× |"
            ),
            "{out}"
        );
        assert!(out.contains("| code | recollindex | 10.0 | 1 |"), "{out}");
        assert!(out.contains("5.00× (met)"), "{out}");
        assert!(out.contains("50.0% (**not met**)"), "{out}");
        assert!(out.contains("100 MiB (met)"), "{out}");
    }

    #[test]
    fn query_and_count_tables_and_largest_corpus_target() {
        let text = tsv(&[
            ["small", "corpus", "-", "bytes", "10"],
            ["big", "corpus", "-", "bytes", "1000"],
            ["small", "q:rare", "-", "query", "zip"],
            ["small", "q:rare", "fandex-lib", "p99_ms", "50"],
            ["big", "q:rare", "-", "query", "zap"],
            ["big", "q:rare", "fandex-lib", "p50_ms", "0.5"],
            ["big", "q:rare", "fandex-lib", "p99_ms", "2.5"],
            ["big", "q:rare", "fandex-lib", "hits", "7"],
            ["big", "q:common", "fandex-lib", "p99_ms", "12"],
            ["big", "q:common", "fandex-cli", "p99_ms", "9"],
            ["big", "count:zap", "fandex", "files", "7"],
            ["big", "count:zap", "rg", "files", "6"],
        ]);
        let out = render(&parse_samples(&text, "r").unwrap());
        assert!(
            out.contains("| rare | `zap` | — / — | 0.500 / 2.50 | — / — |"),
            "{out}"
        );
        assert!(out.contains("| 7 / — / — |"), "{out}");
        // The largest corpus is `big`; its worst library p99 is 12 ms; `small`'s 50 ms is not counted.
        assert!(
            out.contains(
                "`big`): library worst p99 12.0 ms (**not met**); without snippets — ms \
                 (not measured); CLI worst p99 9.00 ms (met)"
            ),
            "{out}"
        );
        assert!(out.contains("| big | `zap` | 7 | 6 | — | — | — |"), "{out}");
    }

    #[test]
    fn unknown_measures_are_listed_not_dropped() {
        let text = tsv(&[
            ["code", "latency100", "fandex-inotify", "p99_ms", "120"],
            ["code", "latency100", "fandex-inotify", "p99_ms", "80"],
        ]);
        let out = render(&parse_samples(&text, "r").unwrap());
        assert!(out.contains("### Other measurements"), "{out}");
        assert!(
            out.contains("| code | latency100 | fandex-inotify | p99_ms | 100 | 2 |"),
            "{out}"
        );
    }

    #[test]
    fn daemon_tables_and_targets() {
        let text = tsv(&[
            ["code", "restart", "fandex-fanotify", "first_start_s", "1.5"],
            ["code", "restart", "fandex-fanotify", "restart_s", "0.05"],
            ["code", "restart", "fandex-fanotify", "restart_s", "0.07"],
            ["code", "restart", "fandex-fanotify", "restart_s", "0.06"],
            ["code", "latency:100", "fandex-inotify", "p99_ms", "120"],
            ["code", "latency:100", "fandex-inotify", "max_ms", "inf"],
            ["code", "latency:1000", "fandex-inotify", "p99_ms", "inf"],
            ["code", "latency:1000", "recoll-monitor", "p50_ms", "30000"],
            ["files-10", "burst", "fandex-fanotify", "hwm_kb", "204800"],
            ["files-10", "burst", "fandex-fanotify", "found", "10"],
            ["files-10", "burst", "fandex-fanotify", "files", "10"],
            ["code", "move", "fandex-inotify", "all_new_s", "inf"],
            ["code", "idle", "fandex-inotify", "cpu_pct", "0.1"],
            ["code", "idle", "fandex-inotify", "rss_kb", "40960"],
        ]);
        let out = render(&parse_samples(&text, "r").unwrap());
        assert!(!out.contains("### Other measurements"), "{out}");
        assert!(
            out.contains("| code | fandex-fanotify | 1.50 | 0.060 (3) |"),
            "{out}"
        );
        assert!(
            out.contains("| code | 100 | fandex-inotify | — | — | 120 | never (timeout) |"),
            "{out}"
        );
        assert!(
            out.contains("| code | 1000 | recoll-monitor | 30000 |"),
            "{out}"
        );
        assert!(
            out.contains("code, 100/s, fandex-inotify: p99 120 ms (target < 300 ms: met)"),
            "{out}"
        );
        assert!(
            out.contains(
                "code, 1000/s, fandex-inotify: p99 never (timeout) ms (target < 1000 ms: **not met**)"
            ),
            "{out}"
        );
        assert!(!out.contains("recoll-monitor: p99"), "{out}");
        assert!(
            out.contains("| files-10 | fandex-fanotify | 10 / 10 |"),
            "{out}"
        );
        assert!(
            out.contains("peak RSS 200 MiB (target < 150 MiB: **not met**)"),
            "{out}"
        );
        assert!(
            out.contains("| code | fandex-inotify | — | never (timeout) |"),
            "{out}"
        );
        assert!(
            out.contains(
                "idle CPU 0.100% (target < 0.5%: met); idle RSS 40.0 MiB (target < 50 MiB: met)"
            ),
            "{out}"
        );
    }

    #[test]
    fn incremental_rows_and_run_facts() {
        let text = tsv(&[
            ["-", "run", "-", "command", "bench/run --runs 3"],
            ["docs", "noop", "fandex", "wall_s", "0.25"],
            ["docs", "change100", "fandex", "wall_s", "0.5"],
            ["docs", "change100", "fandex", "indexed", "100"],
        ]);
        let out = render(&parse_samples(&text, "r").unwrap());
        assert!(out.contains("- command: `bench/run --runs 3`"), "{out}");
        assert!(
            out.contains("| docs | fandex | 0.250 | — | 0.500 | — | 100 |"),
            "{out}"
        );
        assert!(!out.contains("recollindex |"), "{out}");
    }
}
