//! Matching text in every script (issue 13): folding, CJK bigrams, stemming with `=word`, "did you mean"
//! and highlights of folded and stemmed words, against oracles computed here from the files made here
//! (words drawn by a seeded generator from families the test defines, in several scripts).

use std::collections::BTreeSet;
use std::path::PathBuf;

use fandex_query::{QueryEngine, SearchRequest, SearchResults};
use fandex_schema::{self as schema, FileDoc};
use tantivy::{Index, IndexWriter};

/// Word families: every form of one family shares an English stem (the oracle of stemming).
const FAMILIES: &[&[&str]] = &[
    &["run", "runs", "running"],
    &["connect", "connection", "connected", "connecting"],
    &["receive", "received", "receiving"],
];
/// Words written in other scripts, with the form a query without accents or in another case uses.
const FOLDED: &[(&str, &str)] = &[
    ("καλημέρα", "καλημερα"),
    ("ΚΑΛΗΜΈΡΑ", "καλημερα"),
    ("ёлка", "елка"),
    ("Ёлка", "елка"),
    ("café", "cafe"),
    ("ＴＯＫＹＯ", "tokyo"),
    ("Straße", "strasse"),
];
/// CJK sentences and words inside them.
const CJK: &[&str] = &[
    "東京都の天気は晴れです",
    "京都に行きます",
    "서울에서 만나요",
    "カタカナ語",
];
const CJK_WORDS: &[&str] = &["東京", "京都", "天気は晴れ", "서울", "カタカナ", "京"];
const FILLER: &[&str] = &["alpha", "beta", "gamma"];

struct Rng(u64);

impl Rng {
    fn pick(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

struct File {
    id: u64,
    name: String,
    text: String,
}

fn corpus() -> Vec<File> {
    let mut rng = Rng(13);
    let mut files = Vec::new();
    for id in 1..=60u64 {
        let mut words: Vec<String> = Vec::new();
        for _ in 0..4 {
            let family = FAMILIES[rng.pick(FAMILIES.len())];
            words.push(family[rng.pick(family.len())].to_owned());
        }
        words.push(FOLDED[rng.pick(FOLDED.len())].0.to_owned());
        words.push(FILLER[rng.pick(FILLER.len())].to_owned());
        if rng.pick(3) == 0 {
            words.push(CJK[rng.pick(CJK.len())].to_owned());
        }
        let name = if id % 10 == 0 {
            format!("{}レポート.txt", CJK[rng.pick(CJK.len())])
        } else {
            format!("f{id}.txt")
        };
        files.push(File {
            id,
            name,
            text: words.join(" "),
        });
    }
    files
}

fn engine(files: &[File]) -> QueryEngine {
    let (schema, fields) = schema::build_schema();
    let index = Index::create_in_ram(schema);
    schema::register_analyzers(&index);
    let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
    for f in files {
        let doc = FileDoc {
            file_id: f.id,
            path: PathBuf::from(format!("/d/{}", f.name)),
            size: f.text.len() as u64,
            mtime_ns: 0,
            text: f.text.clone(),
        };
        writer.add_document(doc.to_document(&fields)).unwrap();
    }
    writer.commit().unwrap();
    QueryEngine::new(index.reader().unwrap(), fields)
}

fn run(engine: &QueryEngine, query: &str) -> SearchResults {
    let request = SearchRequest {
        query: query.into(),
        limit: 1000,
        ..SearchRequest::default()
    };
    engine
        .search(&request)
        .unwrap_or_else(|e| panic!("{query}: {e}"))
}

fn ids(engine: &QueryEngine, query: &str) -> BTreeSet<u64> {
    let hits = run(engine, query).hits;
    hits.iter().map(|h| h.file_id.unwrap()).collect()
}

fn words_of(text: &str) -> Vec<&str> {
    text.split(|c: char| c.is_whitespace() || c == '.')
        .collect()
}

fn expect(files: &[File], keep: impl Fn(&File) -> bool) -> BTreeSet<u64> {
    files.iter().filter(|f| keep(f)).map(|f| f.id).collect()
}

#[test]
fn folding_finds_every_script_and_case() {
    let files = corpus();
    let engine = engine(&files);
    for &(_, query) in FOLDED {
        // The oracle: files holding any written form listed with this folded form.
        let forms: Vec<&str> = FOLDED
            .iter()
            .filter(|(_, q)| *q == query)
            .map(|(w, _)| *w)
            .collect();
        let want = expect(&files, |f| {
            words_of(&f.text).iter().any(|w| forms.contains(w))
        });
        assert!(!want.is_empty(), "{query}");
        assert_eq!(ids(&engine, query), want, "{query}");
        // The written form finds the same files.
        assert_eq!(ids(&engine, forms[0]), want, "{}", forms[0]);
    }
}

#[test]
fn cjk_words_are_found_inside_runs_in_text_and_names() {
    let files = corpus();
    let engine = engine(&files);
    for &word in CJK_WORDS {
        let want = expect(&files, |f| f.text.contains(word) || f.name.contains(word));
        assert!(!want.is_empty(), "{word}");
        assert_eq!(ids(&engine, word), want, "{word}");
        let in_names = expect(&files, |f| f.name.contains(word));
        assert_eq!(
            ids(&engine, &format!("name:{word}")),
            in_names,
            "name:{word}"
        );
    }
    let want = expect(&files, |f| f.name.contains("レポート"));
    assert_eq!(ids(&engine, "レポート"), want);
    assert!(ids(&engine, "晴天").is_empty());
}

#[test]
fn stemming_finds_other_forms_and_exact_asks_for_one() {
    let files = corpus();
    let engine = engine(&files);
    for family in FAMILIES {
        for &form in *family {
            let has = |f: &File, w: &str| words_of(&f.text).contains(&w);
            let want = expect(&files, |f| family.iter().any(|w| has(f, w)));
            assert_eq!(ids(&engine, form), want, "{form}");
            let exact = expect(&files, |f| has(f, form));
            assert_eq!(ids(&engine, &format!("={form}")), exact, "={form}");
            assert_eq!(ids(&engine, &format!("\"{form}\"")), exact, "\"{form}\"");
            // The files holding the exact form come first.
            let hits = run(&engine, form).hits;
            let first: BTreeSet<u64> = hits[..exact.len()]
                .iter()
                .map(|h| h.file_id.unwrap())
                .collect();
            assert_eq!(first, exact, "{form}: exact forms first");
        }
    }
}

#[test]
fn exact_words_are_checked_with_positions() {
    let engine = engine(&corpus());
    for (query, at, needle) in [
        ("=", 1, "followed by the word"),
        ("a =", 3, "followed by the word"),
        ("=run*", 5, "cannot be combined"),
        ("x =run~", 7, "cannot be combined"),
    ] {
        let request = SearchRequest {
            query: query.into(),
            ..SearchRequest::default()
        };
        match engine.search(&request) {
            Err(fandex_query::QueryError::Syntax { message, position }) => {
                assert_eq!(position, at, "{query}: {message}");
                assert!(message.contains(needle), "{query}: {message}");
            }
            other => panic!("{query}: {other:?}"),
        }
    }
}

#[test]
fn did_you_mean_comes_from_what_the_caller_sees() {
    let files = corpus();
    let engine = engine(&files);
    let found = run(&engine, "recieve");
    assert_eq!(found.total, 0);
    assert_eq!(found.suggestion.as_deref(), Some("receive"));
    // With another word that narrows it: the corrected query still finds something.
    let found = run(&engine, "alpha recieve");
    assert_eq!(found.suggestion.as_deref(), Some("alpha receive"));
    assert!(run(&engine, "receive").suggestion.is_none());
    // A caller who cannot see any file that "receive" finds (any form of it: stemming) gets no
    // suggestion of it.
    let receivers = expect(&files, |f| {
        words_of(&f.text).iter().any(|w| FAMILIES[2].contains(w))
    });
    let request = SearchRequest {
        query: "recieve".into(),
        ..SearchRequest::default()
    };
    let hide_receivers =
        |ids: &[u64]| -> Vec<bool> { ids.iter().map(|id| !receivers.contains(id)).collect() };
    let found = engine.search_visible(&request, &hide_receivers).unwrap();
    assert_eq!(found.suggestion, None);
    let see_all = |ids: &[u64]| vec![true; ids.len()];
    let found = engine.search_visible(&request, &see_all).unwrap();
    assert_eq!(found.suggestion.as_deref(), Some("receive"));
}

#[test]
fn folded_stemmed_and_cjk_matches_are_highlighted() {
    let files = vec![
        File {
            id: 1,
            name: "a.txt".into(),
            text: "We went running. Then a connection failed.".into(),
        },
        File {
            id: 2,
            name: "b.txt".into(),
            text: "Χθες: ΚΑΛΗΜΈΡΑ κόσμε".into(),
        },
        File {
            id: 3,
            name: "c.txt".into(),
            text: "予報: 東京都の天気は晴れです".into(),
        },
    ];
    let engine = engine(&files);
    for (query, marked) in [
        ("run", vec!["running"]),
        ("connecting", vec!["connection"]),
        ("καλημερα", vec!["ΚΑΛΗΜΈΡΑ"]),
        ("東京", vec!["東京"]),
        ("天気は", vec!["天気は"]),
    ] {
        let hits = run(&engine, query).hits;
        assert_eq!(hits.len(), 1, "{query}");
        let s = &hits[0].snippet;
        let got: Vec<&str> = s.highlights.iter().map(|r| &s.text[r.clone()]).collect();
        assert_eq!(got, marked, "{query}: {}", s.text);
    }
}
