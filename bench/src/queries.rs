//! The query set of a corpus, and query latency through the fandex library.
//!
//! A query file has one query per line, four to six tab-separated columns: the class (`rare`, `common`,
//! `and`, `phrase`, `prefix`, `ext`, `path`, the classes of issue 13 such as `time-range` or `name-glob`,
//! or `term` for a word only used to compare hit counts), the fandex query, the equivalent `recollq`
//! query, the equivalent `rg` (or `fdfind`, `find`) command line listing the matching files (run by
//! `sh -c`; its first word names the tool), optionally the equivalent `plocate` command line, and
//! optionally fandex's search options (`--sort modified`, `--reverse`, `--offset 1000`, `--names`), used
//! by the CLI and the library alike. An anchor column holding `-` means that tool cannot answer the same
//! question. `{C}` is replaced by the corpus directory everywhere, `{DB}` by the plocate database. Blank
//! lines and lines starting with `#` are ignored. Every class but `term` appears at most once (it names
//! the latency measurement).

use std::path::{Path, PathBuf};
use std::time::Instant;

use fandex::{QueryEngine, SearchRequest, SearchResults, SortBy};

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
    /// A shell command line for `rg` (or `fdfind`, `find`) that lists the matching files.
    pub rg: String,
    /// A shell command line for `plocate` that lists the matching files, or `-`.
    pub plocate: String,
    /// fandex's search options, as command-line words (`--sort`, `modified`).
    pub options: Vec<String>,
}

/// An anchor column's value for "this tool cannot answer the same question".
pub const NO_ANCHOR: &str = "-";

/// The class of rows used only to compare hit counts, never timed.
pub const COUNT_ONLY: &str = "term";

impl QueryRow {
    /// Whether the row is timed (every class but [`COUNT_ONLY`]).
    pub fn is_timed(&self) -> bool {
        self.class != COUNT_ONLY
    }

    /// Whether the fandex query is one plain word (its hit count is compared with `rg -w`).
    pub fn is_single_term(&self) -> bool {
        !self.fandex.is_empty()
            && self.fandex.chars().all(char::is_alphanumeric)
            && self.options.is_empty()
    }

    /// The request this row asks of the library: its query with its options applied.
    pub fn request(&self, limit: usize, snippets: bool) -> Result<SearchRequest> {
        let mut request = SearchRequest {
            query: self.fandex.clone(),
            limit,
            cwd: PathBuf::from("/"),
            snippets,
            home: None,
            ..SearchRequest::default()
        };
        let bad =
            |what: &str| BenchError::Invalid(format!("query {:?}: bad option {what}", self.fandex));
        let mut words = self.options.iter();
        while let Some(w) = words.next() {
            match w.as_str() {
                "--reverse" => request.reverse = true,
                "--names" => request.names = true,
                "--offset" => {
                    let v = words
                        .next()
                        .ok_or_else(|| bad("--offset without a value"))?;
                    request.offset = v.parse().map_err(|_| bad(v))?;
                }
                "--sort" => {
                    request.sort = match words.next().map(String::as_str) {
                        Some("relevance") => SortBy::Relevance,
                        Some("modified") => SortBy::Modified,
                        Some("name") => SortBy::Name,
                        Some("size") => SortBy::Size,
                        other => return Err(bad(&format!("--sort {other:?}"))),
                    }
                }
                other => return Err(bad(other)),
            }
        }
        Ok(request)
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
        let (class, fandex, recoll, rg, plocate, options) = match cols[..] {
            [a, b, c, d] => (a, b, c, d, NO_ANCHOR, ""),
            [a, b, c, d, e] => (a, b, c, d, e, ""),
            [a, b, c, d, e, f] => (a, b, c, d, e, f),
            _ => {
                return Err(BenchError::Parse {
                    file: file.to_owned(),
                    line: i + 1,
                    message: format!(
                        "expected 4 to 6 tab-separated columns, found {}",
                        cols.len()
                    ),
                });
            }
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
            plocate: sub(plocate),
            options: options.split_whitespace().map(str::to_owned).collect(),
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
    let mut search = |r: &SearchRequest| {
        engine.search(r).map_err(|source| BenchError::Query {
            query: r.query.clone(),
            source,
        })
    };
    measure_with(&mut search, rows, reps, limit, snippets)
}

/// [`measure`] through any search function: the library in this process, or a daemon's client.
pub fn measure_with(
    search: &mut dyn FnMut(&SearchRequest) -> Result<SearchResults>,
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
        let request = row.request(limit, snippets)?;
        let mut run = || search(&request);
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
    fn optional_columns_give_plocate_and_search_options() {
        let text = "sorted\terror\t-\trg -l error {C}\t-\t--sort modified --offset 5 --reverse\n\
                    name\tname:*x*\t-\tfdfind -g '*x*' {C}\tplocate -d {DB} -b x\n";
        let rows = parse_query_file(text, Path::new("/c"), "q").unwrap();
        assert_eq!(rows[1].plocate, "plocate -d {DB} -b x");
        assert_eq!(rows[1].options, Vec::<String>::new());
        let r = rows[0].request(20, false).unwrap();
        assert_eq!((r.sort, r.offset, r.reverse), (SortBy::Modified, 5, true));
        assert!(!rows[0].is_single_term());
        let bad =
            parse_query_file("a\tb\t-\t-\t-\t--sort sideways\n", Path::new("/c"), "q").unwrap();
        assert!(bad[0].request(1, false).is_err());
        let seven = parse_query_file("a\tb\tc\td\te\tf\tg\n", Path::new("/c"), "q");
        assert!(seven.is_err());
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
