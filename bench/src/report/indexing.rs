//! The indexing sections: facts about the run, the corpora, a full index and incremental updates.

use std::fmt::Write as _;

use super::format::{KIB_PER_MIB, count, div, fmt, ratio, table, verdict};
use super::samples::{Data, Sample};

pub(super) fn run_facts(d: &Data, out: &mut String) {
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

pub(super) fn corpora(d: &Data, out: &mut String) {
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

/// The full-index rows, in table order: `tracker` and `baloo` are the desktop indexers (bench/desktop.sh).
const INDEX_TOOLS: [&str; 6] = [
    "fandex",
    "recollindex",
    "tracker",
    "baloo",
    "tantivy-alone",
    "read-floor",
];

pub(super) fn full_index(d: &Data, out: &mut String) {
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
         tool reports it holds. tracker (Tracker/LocalSearch 3) and baloo (KDE Baloo) run as \
         daemons: their time is spawn to their own status reporting idle (the first poll of 5 s of \
         idleness, polled every 0.2 s), their peak RSS the largest sum over those polls of the \
         indexer processes (miner and extractor), their index the database directory.\n\n",
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

pub(super) fn incremental(d: &Data, out: &mut String) {
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
