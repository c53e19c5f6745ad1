//! The raw samples of a harness run: parsing the tab-separated lines, and lookups by key (medians of
//! repeated runs, distinct values in order of appearance) for the tables.

use std::collections::BTreeSet;

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

/// Samples with lookups by key.
pub(super) struct Data<'a> {
    pub(super) samples: &'a [Sample],
}

impl<'a> Data<'a> {
    pub(super) fn matching(
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

    pub(super) fn values(&self, corpus: &str, measure: &str, tool: &str, metric: &str) -> Vec<f64> {
        self.samples
            .iter()
            .filter(|s| {
                s.corpus == corpus && s.measure == measure && s.tool == tool && s.metric == metric
            })
            .filter_map(|s| s.value.trim().parse::<f64>().ok())
            .collect()
    }

    pub(super) fn med(&self, corpus: &str, measure: &str, tool: &str, metric: &str) -> Option<f64> {
        median(&self.values(corpus, measure, tool, metric))
    }

    pub(super) fn text(
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
    pub(super) fn ordered<F: Fn(&'a Sample) -> Option<&'a str>>(&self, pick: F) -> Vec<&'a str> {
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

    pub(super) fn corpora(&self) -> Vec<&'a str> {
        self.ordered(|s| (s.corpus != "-").then_some(s.corpus.as_str()))
    }

    pub(super) fn has(&self, corpus: &str, measure: &str) -> bool {
        self.samples
            .iter()
            .any(|s| s.corpus == corpus && s.measure == measure)
    }
}

/// (corpus, tool) pairs with samples of `measure`, in order of appearance.
pub(super) fn pairs<'a>(d: &Data<'a>, measure: &str, tools: &[&'a str]) -> Vec<(&'a str, &'a str)> {
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
