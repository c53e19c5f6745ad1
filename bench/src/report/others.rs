//! Measures without a table of their own, listed generically so new measurements show up at once.

use super::format::{fmt, table};
use super::samples::Data;

pub(super) fn is_known(measure: &str) -> bool {
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

pub(super) fn others(d: &Data, out: &mut String) {
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
