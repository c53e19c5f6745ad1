//! Relevance blends the text score with a name match and recency ([`RankWeights`]), against an oracle:
//! each hit's expected score is its text-only score (the same engine with [`RankWeights::TEXT_ONLY`])
//! times the factor this test computes from the file's name and modification time, which it chose.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fandex_query::{QueryEngine, RankWeights, SearchRequest, SearchResults, SortBy};
use fandex_schema::{self as schema, FileDoc};
use tantivy::{Index, IndexWriter};

const NS: i64 = 1_000_000_000;
const HOUR: i64 = 3_600 * NS;
const DAY: i64 = 24 * HOUR;

struct File {
    id: u64,
    name: &'static str,
    text: &'static str,
    /// How long before now it was modified.
    age_ns: i64,
}

/// Two files with the same text (1 and 3, 3 recent), files whose name alone holds `invoice` (2, 4),
/// files with both words of `invoice total` in various places, old and new.
const FILES: &[File] = &[
    File {
        id: 1,
        name: "misc.txt",
        text: "invoice invoice invoice invoice invoice invoice for the shop",
        age_ns: 400 * DAY,
    },
    File {
        id: 2,
        name: "invoice.txt",
        text: "a letter to the shop",
        age_ns: 400 * DAY,
    },
    File {
        id: 3,
        name: "notes.txt",
        text: "invoice invoice invoice invoice invoice invoice for the shop",
        age_ns: 2 * HOUR,
    },
    File {
        id: 4,
        name: "invoice-total.md",
        text: "the total is due",
        age_ns: 20 * DAY,
    },
    File {
        id: 5,
        name: "total.md",
        text: "invoice total invoice total",
        age_ns: 45 * DAY,
    },
    File {
        id: 6,
        name: "other.md",
        text: "nothing here but the shop",
        age_ns: 0,
    },
];

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

fn engine(now: i64) -> QueryEngine {
    let (schema, fields) = schema::build_schema();
    let index = Index::create_in_ram(schema);
    schema::register_analyzers(&index);
    let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
    for (i, f) in FILES.iter().enumerate() {
        let doc = FileDoc {
            file_id: f.id,
            path: PathBuf::from(format!("/d/{}", f.name)),
            size: f.text.len() as u64,
            mtime_ns: now - f.age_ns,
            text: f.text.into(),
        };
        writer.add_document(doc.to_document(&fields)).unwrap();
        // Two segments.
        if i == 2 {
            writer.commit().unwrap();
        }
    }
    writer.commit().unwrap();
    QueryEngine::new(index.reader().unwrap(), fields)
}

fn request(query: &str) -> SearchRequest {
    SearchRequest {
        query: query.into(),
        limit: 100,
        snippets: false,
        ..SearchRequest::default()
    }
}

fn ids(results: &SearchResults) -> Vec<u64> {
    results.hits.iter().map(|h| h.file_id.unwrap()).collect()
}

fn file(id: u64) -> &'static File {
    FILES.iter().find(|f| f.id == id).unwrap()
}

/// The oracle's factor: `1 + name * share of words in the name + recency * 2^(-age / half-life)`, the
/// age measured from the start of the current hour.
fn factor(weights: &RankWeights, words: &[&str], f: &File, now: i64) -> f64 {
    let name = f.name.to_lowercase();
    let in_name = words.iter().filter(|w| name.contains(*w)).count() as f64;
    let hour_start = now.div_euclid(HOUR) * HOUR;
    let age = (hour_start - (now - f.age_ns)).max(0) as f64;
    let half_life = weights.recency_half_life.as_nanos() as f64;
    1.0 + f64::from(weights.name) * in_name / words.len() as f64
        + f64::from(weights.recency) * (-age / half_life).exp2()
}

/// Checks `engine` (set to `weights`) against the oracle for `query`, with and without a visibility
/// filter: the scores, the order (descending expected score, then file id) and the total.
fn check(engine: &QueryEngine, weights: RankWeights, query: &str, now: i64) -> Vec<u64> {
    let words: Vec<&str> = query.split_whitespace().collect();
    engine.set_rank(RankWeights::TEXT_ONLY);
    let plain = engine.search(&request(query)).unwrap();
    let all = |ids: &[u64]| vec![true; ids.len()];
    let plain_visible = engine.search_visible(&request(query), &all).unwrap();
    engine.set_rank(weights);
    for (text, results) in [
        (&plain, engine.search(&request(query)).unwrap()),
        (
            &plain_visible,
            engine.search_visible(&request(query), &all).unwrap(),
        ),
    ] {
        let mut expected: Vec<(f64, u64)> = text
            .hits
            .iter()
            .map(|h| {
                let id = h.file_id.unwrap();
                (
                    f64::from(h.score) * factor(&weights, &words, file(id), now),
                    id,
                )
            })
            .collect();
        expected.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        assert_eq!(results.total, text.total, "{query}: totals");
        assert_eq!(
            ids(&results),
            expected.iter().map(|e| e.1).collect::<Vec<_>>(),
            "{query} with {weights:?}: order; expected {expected:?}"
        );
        for (hit, (score, _)) in results.hits.iter().zip(&expected) {
            let err = (f64::from(hit.score) - score).abs();
            assert!(
                err <= 1e-4 * score.max(1.0),
                "{query}: {} vs {score}",
                hit.score
            );
        }
    }
    ids(&engine.search(&request(query)).unwrap())
}

#[test]
fn equal_text_the_recent_file_first() {
    let now = now_ns();
    let engine = engine(now);
    engine.set_rank(RankWeights::TEXT_ONLY);
    let text = engine.search(&request("shop")).unwrap();
    let score = |id| {
        text.hits
            .iter()
            .find(|h| h.file_id == Some(id))
            .unwrap()
            .score
    };
    assert_eq!(score(1), score(3), "the oracle's premise: equal text");
    let order = ids(&text);
    let at = |order: &[u64], id| order.iter().position(|&x| x == id).unwrap();
    assert!(at(&order, 1) < at(&order, 3), "text alone: ties by file id");
    let recency = RankWeights {
        name: 0.0,
        ..RankWeights::default()
    };
    let order = check(&engine, recency, "shop", now);
    assert!(at(&order, 3) < at(&order, 1), "{order:?}");
    let order = check(&engine, RankWeights::default(), "shop", now);
    assert!(at(&order, 3) < at(&order, 1), "{order:?}");
}

#[test]
fn a_name_match_comes_first() {
    let now = now_ns();
    let engine = engine(now);
    engine.set_rank(RankWeights::TEXT_ONLY);
    let text = ids(&engine.search(&request("invoice")).unwrap());
    // The premise: by text alone, files with more of the word outrank those named after it (2, 4).
    let named = |id: u64| file(id).name.contains("invoice");
    assert!(!named(text[0]), "{text:?}");
    let name = RankWeights {
        name: 5.0,
        recency: 0.0,
        ..RankWeights::default()
    };
    let order = check(&engine, name, "invoice", now);
    assert!(named(order[0]) && named(order[1]), "{order:?}");
    // Both words in the name (4) before one of them (5), other things equal enough.
    let order = check(&engine, name, "invoice total", now);
    assert_eq!(order[0], 4, "{order:?}");
    // The default blend: checked against the oracle.
    check(&engine, RankWeights::default(), "invoice", now);
    check(&engine, RankWeights::default(), "invoice total", now);
}

#[test]
fn zero_weights_are_the_text_score_bit_for_bit() {
    let now = now_ns();
    let engine = engine(now);
    for query in ["invoice", "shop", "invoice total", "invoice OR shop -total"] {
        engine.set_rank(RankWeights::TEXT_ONLY);
        let text = engine.search(&request(query)).unwrap();
        engine.set_rank(RankWeights {
            name: 0.0,
            recency: 0.0,
            recency_half_life: Duration::from_secs(1),
        });
        assert_eq!(engine.search(&request(query)).unwrap(), text, "{query}");
        engine.set_rank(RankWeights::default());
        assert_eq!(engine.search(&request(query)).unwrap().total, text.total);
    }
}

#[test]
fn pages_of_the_blend_join_to_the_whole_order() {
    let now = now_ns();
    let engine = engine(now);
    engine.set_rank(RankWeights::default());
    let whole = ids(&engine.search(&request("shop OR invoice")).unwrap());
    assert_eq!(whole.len(), 6);
    for sort in [SortBy::Relevance] {
        for reverse in [false, true] {
            let all = ids(&engine
                .search(&SearchRequest {
                    sort,
                    reverse,
                    ..request("shop OR invoice")
                })
                .unwrap());
            let mut paged = Vec::new();
            for offset in (0..6).step_by(2) {
                paged.extend(ids(&engine
                    .search(&SearchRequest {
                        sort,
                        reverse,
                        offset,
                        limit: 2,
                        ..request("shop OR invoice")
                    })
                    .unwrap()));
            }
            assert_eq!(paged, all, "reverse {reverse}");
            if !reverse {
                assert_eq!(all, whole);
            }
        }
    }
    // Filters alone score 0 and keep the file-id order.
    assert_eq!(
        ids(&engine.search(&request("ext:md")).unwrap()),
        vec![4, 5, 6]
    );
}
