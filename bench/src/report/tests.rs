//! Tests of the report: parsing and every table, on small hand-written sample sets.

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
        ["code", "index", "tracker", "wall_s", "20.0"],
        ["code", "index", "baloo", "wall_s", "50.0"],
        ["code", "index", "baloo", "docs", "999"],
        ["code", "index", "tantivy-alone", "wall_s", "1.0"],
    ]);
    let out = render(&parse_samples(&text, "r").unwrap());
    assert!(
        out.contains("| code | tracker | 20.0 | 1 | 50.0 |"),
        "{out}"
    );
    assert!(
        out.contains("| code | baloo | 50.0 | 1 | 20.0 | 0.200 | — | — / — | — | 999 | 25.0× |"),
        "{out}"
    );
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
        ["big", "q:rare", "fandex-daemon-cli", "p99_ms", "11"],
        ["big", "q:rare", "plocate", "p99_ms", "3"],
        ["big", "q:rare", "plocate", "lines", "8"],
        ["big", "count:zap", "fandex", "files", "7"],
        ["big", "count:zap", "rg", "files", "6"],
    ]);
    let out = render(&parse_samples(&text, "r").unwrap());
    // Columns only for the tools measured on that corpus, in a fixed order.
    assert!(
        out.contains("| rare | `zap` | — / — | 0.500 / 2.50 | — / 11.0 | — / 3.00 | 7 / — / 8 |"),
        "{out}"
    );
    assert!(
        out.contains(
            "| fandex CLI p50 / p99 ms | fandex library p50 / p99 ms | CLI through the daemon"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "through a running daemon, p99 < 10 ms, `big`): worst p99 11.0 ms (**not met**)"
        ),
        "{out}"
    );
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
        ["code", "restart", "fandex-fanotify", "reconciled_s", "0.5"],
        ["code", "latency:100", "fandex-inotify", "p99_ms", "120"],
        ["code", "latency:100", "fandex-inotify", "max_ms", "inf"],
        ["code", "latency:1000", "fandex-inotify", "p99_ms", "inf"],
        ["code", "latency:1000", "recoll-monitor", "p50_ms", "30000"],
        ["code", "latency:100", "tracker", "p50_ms", "900"],
        ["code", "latency:100", "baloo", "p50_ms", "700"],
        ["code", "latency:100", "fandex-fanotify-new", "p50_ms", "40"],
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
        out.contains("| code | fandex-fanotify | 1.50 | 0.060 (3) | 0.500 |"),
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
    assert!(out.contains("| code | 100 | tracker | 900 |"), "{out}");
    assert!(out.contains("| code | 100 | baloo | 700 |"), "{out}");
    assert!(
        out.contains("| code | 100 | fandex-fanotify-new | 40.0 |"),
        "{out}"
    );
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

/// Issue 16: the daemon's per-stage account is a table of its own, p50 / p99 per stage.
#[test]
fn latency_stages_table() {
    let text = tsv(&[
        ["code", "latency:100", "fandex-fanotify", "p99_ms", "40"],
        [
            "code",
            "latency:100",
            "fandex-fanotify",
            "stage_queued_p50_ms",
            "1.5",
        ],
        [
            "code",
            "latency:100",
            "fandex-fanotify",
            "stage_queued_p99_ms",
            "9",
        ],
        [
            "code",
            "latency:100",
            "fandex-fanotify",
            "stage_commit_p50_ms",
            "6",
        ],
        [
            "code",
            "latency:100",
            "fandex-fanotify",
            "stage_commit_p99_ms",
            "30",
        ],
        [
            "code",
            "latency:100",
            "fandex-fanotify",
            "stage_total_p50_ms",
            "12",
        ],
        [
            "code",
            "latency:100",
            "fandex-fanotify",
            "stage_total_p99_ms",
            "45",
        ],
        [
            "code",
            "latency:100",
            "fandex-fanotify",
            "stage_total_count",
            "1010",
        ],
    ]);
    let out = render(&parse_samples(&text, "r").unwrap());
    assert!(out.contains("#### Where the time goes"), "{out}");
    assert!(
        out.contains("| code | 100 | fandex-fanotify | 1.50 / 9.00 | — / — | 6.00 / 30.0 | — / — | 12.0 / 45.0 | 1010 |"),
        "{out}"
    );
}
