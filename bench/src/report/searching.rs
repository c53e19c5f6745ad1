//! The search sections: query latency per class, and files counted per term against other tools.

use std::fmt::Write as _;

use super::format::{count, fmt, table, verdict};
use super::samples::Data;

const QUERY_TOOLS: [&str; 5] = [
    "fandex-cli",
    "fandex-lib",
    "fandex-lib-nosnip",
    "recollq",
    "rg",
];

pub(super) fn queries(d: &Data, out: &mut String) {
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

pub(super) fn counts(d: &Data, out: &mut String) {
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
