//! The query set of a corpus, and query latency through the fandex library.
//!
//! A query file has one query per line, four tab-separated columns: the class (`rare`, `common`, `and`,
//! `phrase`, `prefix`, `ext`, `path`, or `term` for a word only used to compare hit counts), the fandex
//! query, the equivalent `recollq` query, and the equivalent `rg` command line (run by `sh -c`). `{C}` is
//! replaced by the corpus directory everywhere. Blank lines and lines starting with `#` are ignored.
//! Every class but `term` appears at most once (it names the latency measurement).

use std::path::{Path, PathBuf};
use std::time::Instant;

use fandex::{QueryEngine, SearchRequest};

use crate::error::{BenchError, Result};
use crate::stats::{Summary, summarize};

/// One line of a query file, `{C}` substituted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRow {
    /// The query class.
    pub class: String,
    /// The query in fandex's language.
    pub fandex: String,
    /// The same query for `recollq`.
    pub recoll: String,
    /// A shell command line for `rg` that lists the matching files.
    pub rg: String,
}

/// The class of rows used only to compare hit counts, never timed.
pub const COUNT_ONLY: &str = "term";

impl QueryRow {
    /// Whether the row is timed (every class but [`COUNT_ONLY`]).
    pub fn is_timed(&self) -> bool {
        self.class != COUNT_ONLY
    }

    /// Whether the fandex query is one plain word (its hit count is compared with `rg -w`).
    pub fn is_single_term(&self) -> bool {
        !self.fandex.is_empty() && self.fandex.chars().all(char::is_alphanumeric)
    }
}

/// Parses a query file's text; `file` names it in errors. `corpus` must be valid UTF-8 (it is pasted
/// into queries, which are text).
pub fn parse_query_file(text: &str, corpus: &Path, file: &str) -> Result<Vec<QueryRow>> {
    let corpus = corpus.to_str().ok_or_else(|| {
        BenchError::Invalid(format!(
            "the corpus path {} is not UTF-8; it cannot be put in a query",
            corpus.display()
        ))
    })?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let [class, fandex, recoll, rg] = cols[..] else {
            return Err(BenchError::Parse {
                file: file.to_owned(),
                line: i + 1,
                message: format!("expected 4 tab-separated columns, found {}", cols.len()),
            });
        };
        if class.is_empty() || fandex.is_empty() {
            return Err(BenchError::Parse {
                file: file.to_owned(),
                line: i + 1,
                message: "the class and the fandex query must not be empty".into(),
            });
        }
        if class != COUNT_ONLY && rows.iter().any(|r: &QueryRow| r.class == class) {
            return Err(BenchError::Parse {
                file: file.to_owned(),
                line: i + 1,
                message: format!("class `{class}` appears twice; only `{COUNT_ONLY}` may repeat"),
            });
        }
        let sub = |s: &str| s.replace("{C}", corpus);
        rows.push(QueryRow {
            class: class.to_owned(),
            fandex: sub(fandex),
            recoll: sub(recoll),
            rg: sub(rg),
        });
    }
    Ok(rows)
}

/// Reads and parses a query file.
pub fn read_query_file(path: &Path, corpus: &Path) -> Result<Vec<QueryRow>> {
    let text = std::fs::read_to_string(path).map_err(|e| BenchError::io("cannot read", path, e))?;
    parse_query_file(&text, corpus, &path.display().to_string())
}

/// Latency of one query through the library.
#[derive(Debug, Clone, PartialEq)]
pub struct Latency {
    /// The query class.
    pub class: String,
    /// The fandex query.
    pub query: String,
    /// Milliseconds per search.
    pub millis: Summary,
    /// Matching documents in all (`SearchResults::total`).
    pub total: usize,
}

/// Untimed searches of each query before timing it (first-touch costs: page faults, caches).
pub const WARMUP: usize = 3;

/// Runs every timed query (see [`QueryRow::is_timed`]) `reps` times through `engine`, after [`WARMUP`]
/// untimed runs, asking for `limit` hits, with snippets when `snippets` is set (as `fandex search`
/// does), and summarizes the latencies.
pub fn measure(
    engine: &QueryEngine,
    rows: &[QueryRow],
    reps: usize,
    limit: usize,
    snippets: bool,
) -> Result<Vec<Latency>> {
    if reps == 0 {
        return Err(BenchError::Invalid("--reps must be at least 1".into()));
    }
    let mut out = Vec::with_capacity(rows.len());
    for row in rows.iter().filter(|r| r.is_timed()) {
        let request = SearchRequest {
            query: row.fandex.clone(),
            limit,
            cwd: PathBuf::from("/"),
            snippets,
            home: None,
            ..SearchRequest::default()
        };
        let run = || {
            engine.search(&request).map_err(|source| BenchError::Query {
                query: row.fandex.clone(),
                source,
            })
        };
        let mut total = 0;
        for _ in 0..WARMUP {
            total = run()?.total;
        }
        let mut samples = Vec::with_capacity(reps);
        for _ in 0..reps {
            let started = Instant::now();
            let results = run()?;
            samples.push(started.elapsed().as_secs_f64() * 1e3);
            total = results.total;
        }
        let millis =
            summarize(&samples).ok_or_else(|| BenchError::Invalid("no latency samples".into()))?;
        out.push(Latency {
            class: row.class.clone(),
            query: row.fandex.clone(),
            millis,
            total,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fandex::indexer::engine::{Progress, UpdateRequest};
    use fandex::{Config, Engine, IndexDir};

    #[test]
    fn parses_substitutes_and_skips_comments() {
        let text = "# class\tfandex\trecoll\trg\n\nrare\tzip\tzip\trg -l zip {C}\n\
                    path\tpath:{C}/x a\tdir:{C}/x a\trg -l a {C}/x\n";
        let rows = parse_query_file(text, Path::new("/c"), "q.tsv").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].rg, "rg -l zip /c");
        assert!(rows[0].is_single_term());
        assert_eq!(rows[1].fandex, "path:/c/x a");
        assert_eq!(rows[1].recoll, "dir:/c/x a");
        assert!(!rows[1].is_single_term());
        assert!(rows[0].is_timed());
    }

    #[test]
    fn only_count_rows_may_repeat_a_class() {
        let twice = "term\ta\ta\trg\nterm\tb\tb\trg\nrare\tc\tc\trg\n";
        let rows = parse_query_file(twice, Path::new("/c"), "q").unwrap();
        assert_eq!(rows.iter().filter(|r| r.is_timed()).count(), 1);
        let err =
            parse_query_file("rare\ta\ta\trg\nrare\tb\tb\trg\n", Path::new("/c"), "q").unwrap_err();
        assert!(err.to_string().starts_with("q:2:"), "{err}");
    }

    #[test]
    fn rejects_wrong_column_counts_with_the_line() {
        let err = parse_query_file("rare\tzip\n", Path::new("/c"), "q.tsv").unwrap_err();
        assert!(err.to_string().starts_with("q.tsv:1:"), "{err}");
        let err = parse_query_file("\nx\t\t\t\n", Path::new("/c"), "q.tsv").unwrap_err();
        assert!(err.to_string().starts_with("q.tsv:2:"), "{err}");
    }

    #[test]
    fn measures_real_searches_and_counts_hits() {
        let corpus = tempfile::tempdir().unwrap();
        std::fs::write(corpus.path().join("a.txt"), "apple banana").unwrap();
        std::fs::write(corpus.path().join("b.txt"), "apple cherry").unwrap();
        let index = tempfile::tempdir().unwrap();
        let dir = IndexDir::at(index.path().join("i"));
        let mut engine = Engine::open(dir.clone(), Config::default()).unwrap();
        engine
            .update(
                &UpdateRequest {
                    add_roots: vec![corpus.path().to_path_buf()],
                    forget_roots: vec![],
                },
                &Progress::default(),
            )
            .unwrap();
        engine.close().unwrap();
        let searcher = fandex::open_searcher(&dir).unwrap();
        let rows = parse_query_file(
            "common\tapple\tapple\trg\nterm\tbanana\tbanana\trg\nand\tapple cherry\tapple cherry\trg\n",
            corpus.path(),
            "q",
        )
        .unwrap();
        let out = measure(&searcher, &rows, 5, 20, true).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].total, out[1].total), (2, 1));
        assert_eq!(out[0].millis.n, 5);
        assert!(out[0].millis.p50 > 0.0 && out[0].millis.p99 >= out[0].millis.p50);
        let bad = parse_query_file("x\t\"open\tx\trg\n", corpus.path(), "q").unwrap();
        assert!(matches!(
            measure(&searcher, &bad, 1, 1, true),
            Err(BenchError::Query { .. })
        ));
        assert!(measure(&searcher, &rows, 0, 1, true).is_err());
        let plain = measure(&searcher, &rows, 2, 20, false).unwrap();
        assert_eq!((plain[0].total, plain[1].total), (2, 1));
    }
}
