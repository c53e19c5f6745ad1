//! The faster ways of a search (the top hits with a bound on the blend, block-max WAND over queries of
//! words, pages of other orders gathered by key and scored after they are cut) against the plain one that scores and blends every match first: on a generated
//! index (several segments, deleted documents, many equal scores, names holding query words, recent
//! and old files), random queries, weights, orders and pages must give the same hits in the same
//! order, with the same scores bit for bit, and the same totals.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fandex_schema::{self as schema, FileDoc};
use proptest::prelude::*;
use tantivy::{Index, IndexWriter, Term};

use crate::blend::RankWeights;
use crate::request::{SearchRequest, SearchResults, SortBy};
use crate::search::QueryEngine;

const WORDS: &[&str] = &[
    "alpha", "beta", "gamma", "delta", "report", "reports", "socket", "sockets", "buffer", "zeta",
];
const NAMES: &[&str] = &[
    "alpha",
    "report",
    "notes",
    "socket-buffer",
    "misc",
    "beta_gamma",
];
const EXTS: &[&str] = &["md", "txt", "rs"];
const HOUR_NS: i64 = 3_600_000_000_000;

/// A deterministic generator, so the index is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn pick(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// An engine of its own (its own weights) over the shared generated index.
fn engine() -> QueryEngine {
    let (reader, fields) = index();
    QueryEngine::new(reader.clone(), fields.clone())
}

fn index() -> &'static (tantivy::IndexReader, schema::Fields) {
    static INDEX: OnceLock<(tantivy::IndexReader, schema::Fields)> = OnceLock::new();
    INDEX.get_or_init(|| {
        let (schema, fields) = schema::build_schema();
        let index = Index::create_in_ram(schema);
        schema::register_analyzers(&index);
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        let mut rng = Lcg(11);
        let now = now_ns();
        let mut texts: Vec<String> = Vec::new();
        for i in 0..2_400u64 {
            // File ids out of the documents' order, so that equal scores are not already in id order.
            let file_id = (i * 389) % 2_500 + 1;
            // One file in four repeats an earlier text: equal text scores, ordered by the blend and
            // then by file id.
            let text = if i > 10 && rng.pick(4) == 0 {
                texts[rng.pick(texts.len())].clone()
            } else {
                let mut text = String::new();
                // Segments of short and of long texts: each segment's average length differs from
                // the index's, which block-max WAND's bounds must allow for.
                let longest = if (i / 600) % 2 == 0 { 12 } else { 60 };
                for _ in 0..1 + rng.pick(longest) {
                    text.push_str(WORDS[rng.pick(WORDS.len())]);
                    text.push(' ');
                }
                text
            };
            texts.push(text.clone());
            let name = format!(
                "{}-{file_id}.{}",
                NAMES[rng.pick(NAMES.len())],
                EXTS[rng.pick(EXTS.len())]
            );
            // Ages from this hour to two years, a few equal ones.
            let age = match rng.pick(5) {
                0 => 0,
                1 => rng.pick(48) as i64 * HOUR_NS,
                _ => rng.pick(17_000) as i64 * HOUR_NS,
            };
            let doc = FileDoc {
                file_id,
                path: PathBuf::from(format!("/r/d{}/{name}", rng.pick(7))),
                size: rng.pick(5) as u64 * 1_000,
                mtime_ns: now - age,
                text,
            };
            writer.add_document(doc.to_document(&fields)).unwrap();
            if i % 600 == 599 {
                writer.commit().unwrap();
            }
        }
        for file_id in (7..2_500u64).step_by(37) {
            writer.delete_term(Term::from_field_u64(fields.file_id, file_id));
        }
        writer.commit().unwrap();
        let reader = index.reader().unwrap();
        assert!(reader.searcher().segment_readers().len() > 1);
        (reader, fields)
    })
}

/// The search the fast way and the plain way, within one hour (scores change when the hour does:
/// ages count from its start).
fn both_ways(engine: &QueryEngine, request: &SearchRequest) -> (SearchResults, SearchResults) {
    loop {
        let hour = now_ns().div_euclid(HOUR_NS);
        let fast = engine.search_inner(request, None, false, false).unwrap();
        let plain = engine.search_inner(request, None, false, true).unwrap();
        if now_ns().div_euclid(HOUR_NS) == hour {
            return (fast, plain);
        }
    }
}

fn query() -> impl Strategy<Value = String> {
    let word = proptest::sample::select(WORDS).prop_map(str::to_owned);
    let item = prop_oneof![
        4 => word.clone(),
        1 => word.clone().prop_map(|w| format!("{}*", &w[..3])),
        1 => word.clone().prop_map(|w| format!("{}~", &w[..w.len() - 1])),
        1 => (word.clone(), word.clone()).prop_map(|(a, b)| format!("\"{a} {b}\"")),
        1 => word.clone().prop_map(|w| format!("-{w}")),
        1 => word.clone().prop_map(|w| format!("name:{w}")),
        1 => proptest::sample::select(EXTS).prop_map(|e| format!("ext:{e}")),
        1 => Just("size:<3k".to_owned()),
        1 => Just("modified:<30d".to_owned()),
        1 => Just("name:*port*".to_owned()),
    ];
    prop_oneof![
        3 => proptest::collection::vec(item.clone(), 1..4).prop_map(|v| v.join(" ")),
        1 => (item.clone(), item).prop_map(|(a, b)| format!("{a} OR {b}")),
        3 => words(),
    ]
}

/// Queries of words alone (each in one or every field), `OR`s of them and negations beside them: the
/// ones whose top hits block-max WAND finds.
fn words() -> impl Strategy<Value = String> {
    let word = proptest::sample::select(WORDS);
    let scoped = (word.clone(), 0..4usize).prop_map(|(w, scope)| match scope {
        0 => format!("name:{w}"),
        1 => format!("={w}"),
        _ => w.to_owned(),
    });
    let excluded = prop_oneof![
        word.clone().prop_map(|w| format!(" -{w}")),
        Just(" -ext:md".to_owned()),
        Just(" -name:*port*".to_owned()),
    ];
    (
        proptest::collection::vec(scoped, 1..4),
        proptest::collection::vec(excluded, 0..3),
    )
        .prop_map(|(words, excluded)| {
            let words = words.join(" OR ");
            let group = if excluded.is_empty() {
                words
            } else {
                format!("({words})")
            };
            format!("{group}{}", excluded.concat())
        })
}

fn weights() -> impl Strategy<Value = RankWeights> {
    prop_oneof![
        Just(RankWeights::TEXT_ONLY),
        Just(RankWeights::default()),
        (0.0f32..5.0, 0.0f32..3.0, 1u64..2_000).prop_map(|(name, recency, hours)| RankWeights {
            name,
            recency,
            recency_half_life: Duration::from_secs(hours * 3_600),
        }),
    ]
}

fn order() -> impl Strategy<Value = (SortBy, bool)> {
    (
        proptest::sample::select(&[
            SortBy::Relevance,
            SortBy::Relevance,
            SortBy::Modified,
            SortBy::Size,
            SortBy::Name,
        ]),
        proptest::bool::weighted(0.2),
    )
}

fn summary(results: &SearchResults) -> (usize, Vec<(u64, u32)>) {
    let hits = results
        .hits
        .iter()
        .map(|h| (h.file_id.unwrap(), h.score.to_bits()))
        .collect();
    (results.total, hits)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn faster_ways_give_what_scoring_every_match_gives(
        query in query(),
        weights in weights(),
        (sort, reverse) in order(),
        offset in prop_oneof![3 => 0usize..5, 1 => 0usize..400],
        limit in prop_oneof![3 => 1usize..25, 1 => 0usize..300],
    ) {
        let engine = engine();
        engine.set_rank(weights);
        let request = SearchRequest {
            query,
            limit,
            offset,
            sort,
            reverse,
            snippets: false,
            cwd: PathBuf::from("/"),
            ..SearchRequest::default()
        };
        let (fast, plain) = both_ways(&engine, &request);
        prop_assert_eq!(summary(&fast), summary(&plain), "{:?}", request);
    }
}

#[test]
fn broad_queries_fill_the_heap_and_still_agree() {
    // Pages deep in a broad answer, where the bound drops most matches before their blend and
    // block-max WAND skips most of them before their score; pages by date and size kept by key.
    let engine = engine();
    let queries = [
        "alpha",
        "alpha OR beta OR socket",
        "report -alpha",
        "report*",
        "buffer~",
    ];
    for weights in [RankWeights::default(), RankWeights::TEXT_ONLY] {
        engine.set_rank(weights);
        for query in queries {
            for sort in [SortBy::Relevance, SortBy::Modified, SortBy::Size] {
                for (offset, limit) in [(0, 1), (0, 20), (100, 20), (0, 300)] {
                    let request = SearchRequest {
                        query: query.into(),
                        limit,
                        offset,
                        sort,
                        snippets: false,
                        cwd: PathBuf::from("/"),
                        ..SearchRequest::default()
                    };
                    let (fast, plain) = both_ways(&engine, &request);
                    assert!(fast.total > 300, "{query}: {}", fast.total);
                    assert_eq!(summary(&fast), summary(&plain), "{request:?}");
                }
            }
        }
    }
}
