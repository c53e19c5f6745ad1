//! The search sections: query latency per class, and files counted per term against other tools.

use std::fmt::Write as _;

use super::format::{count, fmt, table, verdict};
use super::samples::Data;

/// The query table's tools, in column order, with their headings; a column is shown for a corpus only
/// when that tool has samples there (the daemon's, fd and plocate only in some runs).
const QUERY_TOOLS: [(&str, &str); 10] = [
    ("fandex-cli", "fandex CLI"),
    ("fandex-lib", "fandex library"),
    ("fandex-lib-nosnip", "library, no snippets"),
    ("fandex-daemon-cli", "CLI through the daemon"),
    ("fandex-daemon-lib", "daemon client"),
    ("fandex-daemon-lib-nosnip", "daemon client, no snippets"),
    ("recollq", "recollq"),
    ("rg", "rg -l"),
    ("fd", "fd"),
    ("plocate", "plocate"),
];

/// Anchors whose output lines are the files they matched.
const LISTING_TOOLS: [&str; 4] = ["rg", "fd", "find", "plocate"];

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
        let present = |tool: &str| {
            d.samples.iter().any(|s| {
                s.corpus == c
                    && s.tool == tool
                    && s.measure.starts_with("q:")
                    && s.metric == "p99_ms"
            })
        };
        let tools: Vec<(&str, &str)> = QUERY_TOOLS
            .iter()
            .copied()
            .chain(std::iter::once(("find", "find")))
            .filter(|(t, _)| present(t))
            .collect();
        let mut rows = Vec::new();
        for class in classes {
            let m = format!("q:{class}");
            let mut row = vec![
                class.to_owned(),
                format!("`{}`", d.text(c, &m, "-", "query").unwrap_or("?")),
            ];
            for (tool, _) in &tools {
                row.push(format!(
                    "{} / {}",
                    fmt(d.med(c, &m, tool, "p50_ms")),
                    fmt(d.med(c, &m, tool, "p99_ms"))
                ));
            }
            let mut matched = vec![count(d.med(c, &m, "fandex-lib", "hits"))];
            matched.push(count(d.med(c, &m, "recollq", "hits")));
            for tool in LISTING_TOOLS {
                if present(tool) {
                    matched.push(count(d.med(c, &m, tool, "lines")));
                }
            }
            row.push(matched.join(" / "));
            rows.push(row);
        }
        let _ = writeln!(out, "#### {c}\n");
        let mut head: Vec<String> = vec!["class".into(), "fandex query".into()];
        head.extend(tools.iter().map(|(_, h)| format!("{h} p50 / p99 ms")));
        let listing: Vec<&str> = LISTING_TOOLS.into_iter().filter(|t| present(t)).collect();
        head.push(format!(
            "files matched: fandex / recollq{}",
            listing
                .iter()
                .map(|t| format!(" / {t}"))
                .collect::<String>()
        ));
        let head: Vec<&str> = head.iter().map(String::as_str).collect();
        table(out, &head, &rows);
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
        let daemon_cli = worst("fandex-daemon-cli");
        if daemon_cli.is_some() {
            let _ = writeln!(
                out,
                "Target (a CLI search through a running daemon, p99 < 10 ms, `{c}`): worst p99 {} ms ({}).\n",
                fmt(daemon_cli),
                verdict(daemon_cli.map(|v| v < 10.0)),
            );
        }
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
