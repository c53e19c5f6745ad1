//! The filters `size:` and `modified:`, and sorting and paging, against an oracle: every file's size
//! and local modification time are chosen here, and the expected answer is computed from them with
//! calendar arithmetic of this test's own (a month-by-month walk, not the crate's formula).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use fandex_query::{QueryEngine, QueryError, SearchRequest, SortBy};
use fandex_schema::{self as schema, FileDoc};
use tantivy::{Index, IndexWriter};

const NS: i64 = 1_000_000_000;
const DAY: i64 = 86_400;
/// The caller's zone in these tests: UTC+5:30, so local days differ from UTC days.
const OFFSET: i64 = 5 * 3600 + 1800;

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a date on or after it, by walking months.
fn days_of(y: i64, m: i64, d: i64) -> i64 {
    let mut days = 0;
    for year in 1970..y {
        days += (1..=12).map(|mm| days_in_month(year, mm)).sum::<i64>();
    }
    days += (1..m).map(|mm| days_in_month(y, mm)).sum::<i64>();
    days + d - 1
}

/// The date of a day count (on or after 1970), by walking months.
fn date_of(mut days: i64) -> (i64, i64, i64) {
    let (mut y, mut m) = (1970, 1);
    while days >= days_in_month(y, m) {
        days -= days_in_month(y, m);
        m += 1;
        if m > 12 {
            m = 1;
            y += 1;
        }
    }
    (y, m, days + 1)
}

/// One file of the oracle.
#[derive(Debug, Clone)]
struct File {
    id: u64,
    name: String,
    size: u64,
    mtime_ns: i64,
}

impl File {
    /// The local day (days since 1970-01-01) of the modification time.
    fn local_day(&self) -> i64 {
        (self.mtime_ns.div_euclid(NS) + OFFSET).div_euclid(DAY)
    }
    fn date(&self) -> (i64, i64, i64) {
        date_of(self.local_day())
    }
}

/// Which files a query should find.
type Keep<'a> = Box<dyn Fn(&File) -> bool + 'a>;

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// Files at fixed local dates in 2025 and 2026, files hours before now, and sizes around unit bounds.
fn files(now: i64) -> Vec<File> {
    let sizes: [u64; 14] = [
        0,
        100,
        4095,
        4096,
        4097,
        1 << 20,
        (1 << 20) + 1,
        3 << 20,
        5 << 20,
        (5 << 20) + 1,
        (10 << 20) - 1,
        10 << 20,
        (10 << 20) + 1,
        4096,
    ];
    let mut out = Vec::new();
    let dates = [
        (2025, 12, 31, 23),
        (2026, 1, 1, 0),
        (2026, 1, 15, 12),
        (2026, 2, 28, 23),
        (2026, 3, 1, 0),
        (2026, 3, 31, 23),
        (2026, 4, 1, 1),
        (2026, 10, 31, 23),
        (2026, 11, 1, 0),
        (2026, 11, 30, 0),
        (2026, 11, 30, 23),
        (2026, 12, 1, 0),
    ];
    for (i, &(y, m, d, h)) in dates.iter().enumerate() {
        let local = days_of(y, m, d) * DAY + h * 3600 + 59 * 60;
        out.push((local - OFFSET) * NS);
        let _ = i;
    }
    // Hours before now, away from any local midnight by more than a minute (so the engine's clock,
    // read a moment later, agrees on the day).
    for hours in [1, 5, 20, 30, 47, 60, 100, 150, 167, 169, 200, 400] {
        let t = now - hours * 3600 * NS;
        let seconds_into_day = (t.div_euclid(NS) + OFFSET).rem_euclid(DAY);
        if (60..DAY - 60).contains(&seconds_into_day) {
            out.push(t);
        }
    }
    // Two files with the same time and size, for stable tie-breaks.
    out.push(out[2]);
    out.iter()
        .enumerate()
        .map(|(i, &mtime_ns)| File {
            id: i as u64 + 1,
            // Names in another order than ids, one repeated.
            name: format!("f{:02}.txt", (i * 7) % 13),
            size: sizes[i % sizes.len()],
            mtime_ns,
        })
        .collect()
}

fn engine(files: &[File]) -> QueryEngine {
    let (schema, fields) = schema::build_schema();
    let index = Index::create_in_ram(schema);
    schema::register_analyzers(&index);
    let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
    for (i, f) in files.iter().rev().enumerate() {
        let doc = FileDoc {
            file_id: f.id,
            path: PathBuf::from(format!("/d{}/{}", f.id % 3, f.name)),
            size: f.size,
            mtime_ns: f.mtime_ns,
            text: format!("common word{}", f.id % 2),
        };
        writer.add_document(doc.to_document(&fields)).unwrap();
        if i == files.len() / 2 {
            writer.commit().unwrap();
        }
    }
    writer.commit().unwrap();
    QueryEngine::new(index.reader().unwrap(), fields)
}

fn request(query: &str) -> SearchRequest {
    SearchRequest {
        query: query.into(),
        limit: 1000,
        snippets: false,
        utc_offset_s: OFFSET as i32,
        ..SearchRequest::default()
    }
}

fn ids(engine: &QueryEngine, query: &str) -> BTreeSet<u64> {
    let results = engine
        .search(&request(query))
        .unwrap_or_else(|e| panic!("{query}: {e}"));
    assert_eq!(results.total, results.hits.len(), "{query}");
    results.hits.iter().map(|h| h.file_id.unwrap()).collect()
}

fn expect(files: &[File], keep: impl Fn(&File) -> bool) -> BTreeSet<u64> {
    files.iter().filter(|f| keep(f)).map(|f| f.id).collect()
}

#[test]
fn size_filters_match_the_oracle() {
    let files = files(now_ns());
    let engine = engine(&files);
    let m = 1u64 << 20;
    let cases: Vec<(&str, Keep)> = vec![
        ("size:>10M", Box::new(|f| f.size > 10 * m)),
        ("size:>=10m", Box::new(|f| f.size >= 10 * m)),
        ("size:<4k", Box::new(|f| f.size < 4096)),
        ("size:<=4KiB", Box::new(|f| f.size <= 4096)),
        ("size:4096", Box::new(|f| f.size == 4096)),
        ("size:1M..5M", Box::new(|f| (m..=5 * m).contains(&f.size))),
        ("size:5mb..", Box::new(|f| f.size >= 5 * m)),
        ("size:..100b", Box::new(|f| f.size <= 100)),
        (
            "size:>4k size:<10M",
            Box::new(|f| f.size > 4096 && f.size < 10 * m),
        ),
        ("common size:<4k", Box::new(|f| f.size < 4096)),
        (
            "word1 -size:<4k",
            Box::new(|f| f.id % 2 == 1 && f.size >= 4096),
        ),
        (
            "size:0 OR size:>10M",
            Box::new(|f| f.size == 0 || f.size > 10 * m),
        ),
    ];
    for (query, keep) in cases {
        let expected = expect(&files, keep);
        assert!(!expected.is_empty(), "{query} tests nothing");
        assert_eq!(ids(&engine, query), expected, "{query}");
    }
}

#[test]
fn calendar_filters_match_the_oracle_in_the_callers_zone() {
    let files = files(now_ns());
    let engine = engine(&files);
    let cases: Vec<(&str, Keep)> = vec![
        (
            "modified:2026-11-30",
            Box::new(|f| f.date() == (2026, 11, 30)),
        ),
        (
            "mtime:2026-11",
            Box::new(|f| (f.date().0, f.date().1) == (2026, 11)),
        ),
        ("modified:2025", Box::new(|f| f.date().0 == 2025)),
        (
            "modified:>=2026-11-01",
            Box::new(|f| f.date() >= (2026, 11, 1)),
        ),
        (
            "modified:>2026-11-01",
            Box::new(|f| f.date() > (2026, 11, 1)),
        ),
        ("modified:<2026-01", Box::new(|f| f.date() < (2026, 1, 1))),
        ("modified:<=2026-02", Box::new(|f| f.date() < (2026, 3, 1))),
        (
            "modified:2026-01..2026-03",
            Box::new(|f| f.date() >= (2026, 1, 1) && f.date() < (2026, 4, 1)),
        ),
        (
            "modified:2026-03-01..",
            Box::new(|f| f.date() >= (2026, 3, 1)),
        ),
        (
            "MODIFIED:2026 -modified:2026-11..2026-12",
            Box::new(|f| f.date().0 == 2026 && f.date() < (2026, 11, 1)),
        ),
    ];
    for (query, keep) in cases {
        let expected = expect(&files, keep);
        assert!(!expected.is_empty(), "{query} tests nothing");
        assert_eq!(ids(&engine, query), expected, "{query}");
    }
}

#[test]
fn relative_filters_match_the_oracle() {
    let now = now_ns();
    let files = files(now);
    let engine = engine(&files);
    let today = (now.div_euclid(NS) + OFFSET).div_euclid(DAY);
    // Monday: 1970-01-01 was a Thursday.
    let monday = today - (today + 3).rem_euclid(7);
    let cases: Vec<(&str, Keep)> = vec![
        (
            "modified:<7d",
            Box::new(|f| f.mtime_ns > now - 7 * DAY * NS),
        ),
        ("modified:7d", Box::new(|f| f.mtime_ns > now - 7 * DAY * NS)),
        (
            "modified:>7d",
            Box::new(|f| f.mtime_ns < now - 7 * DAY * NS),
        ),
        (
            "modified:<48h",
            Box::new(|f| f.mtime_ns > now - 48 * 3600 * NS),
        ),
        (
            "modified:>1w",
            Box::new(|f| f.mtime_ns < now - 7 * DAY * NS),
        ),
        ("modified:today", Box::new(|f| f.local_day() == today)),
        (
            "modified:yesterday",
            Box::new(|f| f.local_day() == today - 1),
        ),
        (
            "modified:thisweek",
            Box::new(|f| (monday..monday + 7).contains(&f.local_day())),
        ),
        (
            "modified:lastweek",
            Box::new(|f| (monday - 7..monday).contains(&f.local_day())),
        ),
        (
            "modified:>=yesterday",
            Box::new(|f| f.local_day() >= today - 1),
        ),
    ];
    for (query, keep) in cases {
        let expected = expect(&files, keep);
        assert_eq!(ids(&engine, query), expected, "{query}");
    }
}

#[test]
fn malformed_values_name_their_position() {
    let engine = engine(&files(now_ns()));
    for (query, position) in [
        ("a size:10Q", 10),
        ("size:x", 6),
        ("a modified:2026-13", 17),
        ("modified:2026-02-30", 18),
        ("mtime:2026-01..2026-1x", 16),
        ("modified:7fortnights", 11),
        ("modified:2026-03..2026-01", 10),
        ("size:5M..1M", 6),
    ] {
        match engine.search(&request(query)) {
            Err(QueryError::Syntax { position: at, .. }) => assert_eq!(at, position, "{query}"),
            other => panic!("{query}: expected a syntax error, got {other:?}"),
        }
    }
}

/// The oracle's order for `sort`: the key (descending, but names ascending; `reverse` turns it),
/// then ascending id.
fn oracle_order(
    files: &[File],
    sort: SortBy,
    reverse: bool,
    keep: &dyn Fn(&File) -> bool,
) -> Vec<u64> {
    let mut kept: Vec<&File> = files.iter().filter(|f| keep(f)).collect();
    kept.sort_by(|a, b| {
        let by_key = match sort {
            SortBy::Modified => b.mtime_ns.cmp(&a.mtime_ns),
            SortBy::Size => b.size.cmp(&a.size),
            SortBy::Name => a.name.cmp(&b.name),
            SortBy::Relevance => unreachable!(),
        };
        let by_key = if reverse { by_key.reverse() } else { by_key };
        by_key.then(a.id.cmp(&b.id))
    });
    kept.iter().map(|f| f.id).collect()
}

#[test]
fn sorted_pages_follow_the_oracle_and_stay_stable() {
    let files = files(now_ns());
    let engine = engine(&files);
    for sort in [SortBy::Modified, SortBy::Size, SortBy::Name] {
        for reverse in [false, true] {
            for (query, keep) in [
                ("common", &(|_: &File| true) as &dyn Fn(&File) -> bool),
                ("word1 size:<10M", &|f: &File| {
                    f.id % 2 == 1 && f.size < 10 << 20
                }),
            ] {
                let expected = oracle_order(&files, sort, reverse, keep);
                let mut paged = Vec::new();
                for offset in (0..expected.len() + 3).step_by(4) {
                    let results = engine
                        .search(&SearchRequest {
                            sort,
                            reverse,
                            offset,
                            limit: 4,
                            ..request(query)
                        })
                        .unwrap();
                    assert_eq!(results.total, expected.len(), "{query} {sort:?}");
                    paged.extend(results.hits.iter().map(|h| h.file_id.unwrap()));
                }
                assert_eq!(paged, expected, "{query} by {sort:?} reverse {reverse}");
            }
        }
    }
}

#[test]
fn relevance_pages_concatenate_to_the_full_answer() {
    let files = files(now_ns());
    let engine = engine(&files);
    for reverse in [false, true] {
        let full: Vec<(u64, f32)> = engine
            .search(&SearchRequest {
                reverse,
                ..request("common OR word1")
            })
            .unwrap()
            .hits
            .iter()
            .map(|h| (h.file_id.unwrap(), h.score))
            .collect();
        assert_eq!(full.len(), files.len());
        let mut paged = Vec::new();
        for offset in (0..full.len()).step_by(5) {
            let page = engine
                .search(&SearchRequest {
                    reverse,
                    offset,
                    limit: 5,
                    ..request("common OR word1")
                })
                .unwrap();
            paged.extend(page.hits.iter().map(|h| (h.file_id.unwrap(), h.score)));
        }
        assert_eq!(paged, full, "reverse {reverse}");
        let scores: Vec<f32> = full.iter().map(|h| h.1).collect();
        let mut sorted = scores.clone();
        sorted.sort_by(|a, b| {
            if reverse {
                a.total_cmp(b)
            } else {
                b.total_cmp(a)
            }
        });
        assert_eq!(scores, sorted);
    }
    let past_the_end = engine
        .search(&SearchRequest {
            offset: 500,
            ..request("common")
        })
        .unwrap();
    assert!(past_the_end.hits.is_empty());
    assert_eq!(past_the_end.total, files.len());
}

#[test]
fn hidden_files_are_filtered_before_counting_and_paging() {
    let files = files(now_ns());
    let engine = engine(&files);
    let visible = |ids: &[u64]| {
        ids.iter()
            .map(|id| !id.is_multiple_of(3))
            .collect::<Vec<bool>>()
    };
    let keep = |f: &File| !f.id.is_multiple_of(3) && f.size > 4096;
    let expected = oracle_order(&files, SortBy::Size, false, &keep);
    let mut paged = Vec::new();
    for offset in (0..expected.len()).step_by(3) {
        let results = engine
            .search_visible(
                &SearchRequest {
                    sort: SortBy::Size,
                    offset,
                    limit: 3,
                    ..request("common size:>4k")
                },
                &visible,
            )
            .unwrap();
        assert_eq!(results.total, expected.len());
        paged.extend(results.hits.iter().map(|h| h.file_id.unwrap()));
    }
    assert_eq!(paged, expected);
}

/// Optimal string alignment distance (edits, adjacent transpositions counting one), the oracle of `~`.
fn edits(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[test]
fn fuzzy_words_match_the_edit_distance_oracle() {
    let words = [
        "receive", "recieve", "deceive", "receiver", "relieve", "perceive", "cat", "cut", "cast",
        "act", "coat", "dog", "document", "documnet", "docments", "monument",
    ];
    let (schema, fields) = schema::build_schema();
    let index = Index::create_in_ram(schema);
    schema::register_analyzers(&index);
    let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
    for (i, word) in words.iter().enumerate() {
        let doc = FileDoc {
            file_id: i as u64 + 1,
            path: PathBuf::from(format!("/f/{i}.txt")),
            size: 1,
            mtime_ns: 0,
            text: format!("some {word} text"),
        };
        writer.add_document(doc.to_document(&fields)).unwrap();
    }
    writer.commit().unwrap();
    let engine = QueryEngine::new(index.reader().unwrap(), fields);
    for (query, word, distance) in [
        ("recieve~", "recieve", 2),
        ("recieve~1", "recieve", 1),
        ("cat~", "cat", 1),
        ("cat~0", "cat", 0),
        ("ca~", "ca", 0),
        ("documnet~1", "documnet", 1),
        ("Documnet~", "documnet", 2),
        ("dgo~1", "dgo", 1),
    ] {
        let expected: BTreeSet<u64> = words
            .iter()
            .enumerate()
            .filter(|(_, w)| edits(w, word) <= distance)
            .map(|(i, _)| i as u64 + 1)
            .collect();
        assert_eq!(ids(&engine, query), expected, "{query}");
    }
    assert!(ids(&engine, "recieve~1 -receive").contains(&2));
    for (query, position) in [("a word~3", 8), ("foo-bar~", 8)] {
        match engine.search(&request(query)) {
            Err(QueryError::Syntax { position: at, .. }) => assert_eq!(at, position, "{query}"),
            other => panic!("{query}: expected a syntax error, got {other:?}"),
        }
    }
}
