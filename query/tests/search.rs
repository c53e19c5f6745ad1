//! End-to-end searches on a small in-memory index: exact result sets for every construct of the
//! language, ranking, totals and snippets.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use fandex_query::{QueryEngine, QueryError, SearchRequest, SearchResults};
use fandex_schema::{self as schema, FileDoc};
use tantivy::{Index, IndexWriter};

/// A path whose directory and name are not UTF-8 and whose name holds a newline.
const ODD_PATH: &[u8] = b"/data/\xff\n/odd\nname.txt";

/// (file id, path, text). Committed in two batches so the index has two segments.
const DOCS: &[(u64, &[u8], &str)] = &[
    (
        1,
        b"/home/u/notes/alpha.txt",
        "The quick brown fox jumps over the lazy dog.",
    ),
    (
        2,
        b"/home/u/notes/beta.md",
        "Brown bread and butter.\nMeet me at the Caf\u{e9} Noir at noon.",
    ),
    (
        3,
        b"/home/u/notes/fox.txt",
        "An animal story without the word.",
    ),
    (
        4,
        b"/home/u/src/main.rs",
        "fn main() {\n    println!(\"hello world\");\n}\n",
    ),
    (
        5,
        b"/home/u/src/lib.rs",
        "pub fn helper() -> u32 { 42 }\n// test the helper with a mock",
    ),
    (6, b"/home/u/srcfoo/other.rs", "fn main in another crate"),
    (
        7,
        b"/home/u/docs/README.MD",
        "Install with cargo. The foo-bar tool and the bar foo tool.",
    ),
    (8, b"/home/u/docs/report-2024.pdf", ""),
    (9, b"/home/u/notes/dog days.txt", "summer heat"),
    (10, ODD_PATH, "quick non utf8 directory"),
    (
        11,
        b"/home/u/notes/misc.txt",
        "foo and bar are apart; food in the barn",
    ),
];

/// Text of the long document (id 12): many lines, the word "needle" far from the start.
fn long_text() -> String {
    let mut text = String::new();
    for i in 0..60 {
        text.push_str(&format!("line {i}\tof filler\r\n"));
    }
    text.push_str("here is the needle in the haystack\n");
    text
}

const LONG_PATH: &[u8] = b"/home/u/logs/long.log";

fn p(bytes: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(bytes))
}

fn engine() -> QueryEngine {
    let (schema, fields) = schema::build_schema();
    let index = Index::create_in_ram(schema);
    schema::register_analyzers(&index);
    let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
    let mut docs: Vec<FileDoc> = DOCS
        .iter()
        .map(|&(file_id, path, text)| FileDoc {
            file_id,
            path: p(path),
            size: text.len() as u64,
            mtime_ns: 1_700_000_000_000_000_000 + file_id as i64,
            text: text.into(),
        })
        .collect();
    docs.push(FileDoc {
        file_id: 12,
        path: p(LONG_PATH),
        size: 0,
        mtime_ns: -1,
        text: long_text(),
    });
    // Add in reverse id order, so tie-breaks by file id cannot come from insertion order.
    docs.reverse();
    for (i, doc) in docs.iter().enumerate() {
        writer.add_document(doc.to_document(&fields)).unwrap();
        if i == docs.len() / 2 {
            writer.commit().unwrap();
        }
    }
    writer.commit().unwrap();
    let reader = index.reader().unwrap();
    assert_eq!(reader.searcher().segment_readers().len(), 2);
    QueryEngine::new(reader, fields)
}

fn run(
    engine: &QueryEngine,
    query: &str,
    cwd: &str,
    limit: usize,
    snippets: bool,
) -> SearchResults {
    engine
        .search(&SearchRequest {
            query: query.into(),
            limit,
            cwd: PathBuf::from(cwd),
            snippets,
            home: None,
            ..SearchRequest::default()
        })
        .unwrap_or_else(|e| panic!("{query:?} failed: {e}"))
}

/// The ids of every file matching `query` (run from `cwd`), checking that `total` agrees.
fn ids_in(engine: &QueryEngine, query: &str, cwd: &str) -> BTreeSet<u64> {
    let results = run(engine, query, cwd, 100, false);
    assert_eq!(results.total, results.hits.len(), "total for {query:?}");
    results.hits.iter().map(|h| h.file_id.unwrap()).collect()
}

/// Asserts that `query` finds exactly the files with these ids, comparing paths byte for byte.
#[track_caller]
fn finds_in(engine: &QueryEngine, query: &str, cwd: &str, expected: &[u64]) {
    let results = run(engine, query, cwd, 100, false);
    assert_eq!(results.total, results.hits.len(), "total for {query:?}");
    let got: BTreeSet<PathBuf> = results.hits.iter().map(|h| h.path.clone()).collect();
    let want: BTreeSet<PathBuf> = expected.iter().map(|&id| path_of(id)).collect();
    assert_eq!(got, want, "results of {query:?}");
}

#[track_caller]
fn finds(engine: &QueryEngine, query: &str, expected: &[u64]) {
    finds_in(engine, query, "/", expected);
}

fn path_of(id: u64) -> PathBuf {
    if id == 12 {
        return p(LONG_PATH);
    }
    DOCS.iter()
        .find(|d| d.0 == id)
        .map(|d| p(d.1))
        .unwrap_or_else(|| panic!("no fixture doc {id}"))
}

fn all_except(excluded: &[u64]) -> Vec<u64> {
    (1..=12).filter(|id| !excluded.contains(id)).collect()
}

#[test]
fn single_word_in_content_or_name() {
    let e = engine();
    finds(&e, "quick", &[1, 10]);
    // fox: in the text of 1, only in the name of 3.
    finds(&e, "fox", &[1, 3]);
    finds(&e, "dog", &[1, 9]);
    finds(&e, "README", &[7]);
    finds(&e, "absent", &[]);
}

#[test]
fn implicit_and() {
    let e = engine();
    finds(&e, "quick brown", &[1]);
    finds(&e, "brown fox", &[1]);
    finds(&e, "brown AND fox", &[1]);
    finds(&e, "quick absent", &[]);
}

#[test]
fn or_and_precedence() {
    let e = engine();
    finds(&e, "bread OR heat", &[2, 9]);
    // brown AND (bread OR fox): 3 has fox but no brown.
    finds(&e, "brown bread OR fox", &[1, 2]);
    finds(&e, "(brown bread) OR fox", &[1, 2, 3]);
    finds(&e, "(fox OR heat) -brown", &[3, 9]);
}

#[test]
fn exclusion() {
    let e = engine();
    finds(&e, "fox -lazy", &[3]);
    finds(&e, "fox NOT lazy", &[3]);
    finds(&e, "fox -(lazy OR story)", &[]);
    finds(&e, "fox -name:fox", &[1]);
}

/// Excluding a phrase walks an exhausted phrase scorer; tantivy 0.27 asserts on that in debug builds
/// unless the phrase is wrapped (see the crate's `guard` module).
#[test]
fn excluded_phrases() {
    let e = engine();
    finds(&e, "brown -\"bread butter\"", &[1, 2]);
    finds(&e, "brown -\"bread and butter\"", &[1]);
    finds(&e, "fox -\"lazy dog\"", &[3]);
    finds(&e, "-\"quick brown\"", &all_except(&[1]));
    finds(&e, "-foo-ba*", &all_except(&[7]));
    finds(
        &e,
        "path:/home -\"fn main\" -\"hello world\"",
        &all_except(&[4, 6, 10]),
    );
    finds(&e, "\"quick brown\" \"lazy dog\" -\"brown dog\"", &[1]);
}

#[test]
fn only_negative_means_everything_except() {
    let e = engine();
    finds(&e, "-fox", &all_except(&[1, 3]));
    finds(&e, "-fox -brown", &all_except(&[1, 2, 3]));
    finds(&e, "NOT ext:txt", &[2, 4, 5, 6, 7, 8, 12]);
    finds(&e, "heat OR -path:/home", &[9, 10]);
}

#[test]
fn phrases_keep_order() {
    let e = engine();
    finds(&e, "\"quick brown\"", &[1]);
    finds(&e, "\"brown quick\"", &[]);
    finds(&e, "brown quick", &[1]);
    finds(&e, "\"dog days\"", &[9]);
    // A word with punctuation is a phrase: 7 has "foo-bar" and "bar foo", 11 has both words apart.
    finds(&e, "foo-bar", &[7]);
    finds(&e, "foo bar", &[7, 11]);
    finds(&e, "\"hello world\"", &[4]);
}

#[test]
fn prefixes() {
    let e = engine();
    finds(&e, "hel*", &[4, 5]);
    finds(&e, "BUTT*", &[2]);
    finds(&e, "foo*", &[7, 11]);
    finds(&e, "rep*", &[8]);
    finds(&e, "zz*", &[]);
}

#[test]
fn multi_token_prefix() {
    let e = engine();
    // "foo" followed by a word starting with "ba": 11 has "food in the barn" and "foo and bar".
    finds(&e, "foo-ba*", &[7]);
    finds(&e, "foo-bar*", &[7]);
    finds(&e, "bar-fo*", &[7]);
    finds(&e, "food-in*", &[11]);
    finds(&e, "fox-ju*", &[1]);
    finds(&e, "fox-x*", &[]);
}

#[test]
fn name_field() {
    let e = engine();
    finds(&e, "name:fox", &[3]);
    finds(&e, "name:\"dog days\"", &[9]);
    finds(&e, "name:\"days dog\"", &[]);
    finds(&e, "name:rep*", &[8]);
    finds(&e, "name:main.rs", &[4]);
    // "main" is in the text of 6, not its name.
    finds(&e, "name:main", &[4]);
    finds(&e, "main", &[4, 6]);
    finds(&e, "name:heat", &[]);
}

#[test]
fn ext_field() {
    let e = engine();
    finds(&e, "ext:md", &[2, 7]);
    finds(&e, "ext:.md", &[2, 7]);
    finds(&e, "ext:MD", &[2, 7]);
    finds(&e, "ext:.Md", &[2, 7]);
    finds(&e, "ext:rs,pdf", &[4, 5, 6, 8]);
    finds(&e, "ext:rs,.PDF", &[4, 5, 6, 8]);
    finds(&e, "ext:log", &[12]);
    finds(&e, "ext:m", &[]);
}

#[test]
fn path_field() {
    let e = engine();
    finds(&e, "path:/home/u/src", &[4, 5]);
    // Trailing and doubled slashes, dot components.
    finds(&e, "path:/home/u/src/", &[4, 5]);
    finds(&e, "path://home//u/./src//", &[4, 5]);
    finds(&e, "path:/home/u/notes/../src", &[4, 5]);
    // A sibling sharing a string prefix is not in the subtree; a partial name matches nothing.
    finds(&e, "path:/home/u/srcfoo", &[6]);
    finds(&e, "path:/home/u/sr", &[]);
    finds(&e, "path:\"/home/u/notes\" fox", &[1, 3]);
    finds(&e, "path:/", &all_except(&[]));
    finds(&e, "path:/home", &all_except(&[10]));
    // The file itself is not its own subtree.
    finds(&e, "path:/home/u/src/main.rs", &[]);
}

#[test]
fn relative_path_uses_cwd() {
    let e = engine();
    finds_in(&e, "path:src", "/home/u", &[4, 5]);
    finds_in(&e, "path:src/", "/home/u", &[4, 5]);
    finds_in(&e, "path:./src", "/home/u", &[4, 5]);
    finds_in(&e, "path:.", "/home/u/src", &[4, 5]);
    finds_in(&e, "path:..", "/home/u/src", &all_except(&[10]));
    finds_in(&e, "path:../notes fox", "/home/u/src", &[1, 3]);
    finds_in(&e, "path:src", "/home", &[]);
}

#[test]
fn filters_combine() {
    let e = engine();
    finds_in(&e, "ext:rs path:src -test \"fn main\"", "/home/u", &[4]);
    finds_in(&e, "ext:rs path:src", "/home/u", &[4, 5]);
    finds_in(&e, "ext:rs \"fn main\"", "/home/u", &[4, 6]);
    finds_in(&e, "ext:rs -path:src", "/home/u", &[6]);
    finds(&e, "(name:fox OR ext:pdf) -quick", &[3, 8]);
}

#[test]
fn non_utf8_path_round_trips() {
    let e = engine();
    let results = run(&e, "utf8", "/", 10, true);
    assert_eq!(results.total, 1);
    let hit = &results.hits[0];
    assert_eq!(hit.path.as_os_str().as_bytes(), ODD_PATH);
    assert_eq!(hit.file_id, Some(10));
    assert_eq!(hit.size, "quick non utf8 directory".len() as u64);
    assert_eq!(hit.mtime_ns, 1_700_000_000_000_000_010);
    // Its name is searchable despite the newline, and the directory by the part that is UTF-8.
    finds(&e, "name:odd", &[10]);
    finds(&e, "path:/data", &[10]);
    // A directory that cannot be typed is reached through a working directory that is not UTF-8.
    let results = e
        .search(&SearchRequest {
            query: "path:. quick".into(),
            limit: 10,
            cwd: p(b"/data/\xff\n"),
            snippets: false,
            home: None,
            ..SearchRequest::default()
        })
        .unwrap();
    let ids: Vec<u64> = results.hits.iter().map(|h| h.file_id.unwrap()).collect();
    assert_eq!(ids, [10]);
}

#[test]
fn accents_fold() {
    let e = engine();
    finds(&e, "cafe", &[2]);
    finds(&e, "CAF\u{c9}", &[2]);
    finds(&e, "\"caf\u{e9} noir\"", &[2]);
    finds(&e, "caf*", &[2]);
}

#[test]
fn total_counts_beyond_limit_and_ties_break_by_file_id() {
    let e = engine();
    // Every score is 0 for a pure exclusion, so the order is the file id.
    let results = run(&e, "-absent", "/", 3, false);
    assert_eq!(results.total, 12);
    let ids: Vec<u64> = results.hits.iter().map(|h| h.file_id.unwrap()).collect();
    assert_eq!(ids, [1, 2, 3]);
    let results = run(&e, "ext:txt", "/", 0, false);
    assert_eq!(results.total, 5);
    assert!(results.hits.is_empty());
    // Enough hits to be loaded on two threads: still in order, each with its own snippet.
    for snippets in [false, true] {
        let results = run(&e, "-absent", "/", 100, snippets);
        let ids: Vec<u64> = results.hits.iter().map(|h| h.file_id.unwrap()).collect();
        assert_eq!(ids, (1..=12).collect::<Vec<u64>>());
        for hit in &results.hits {
            assert_eq!(hit.path, path_of(hit.file_id.unwrap()));
        }
        if snippets {
            assert!(
                results.hits[0]
                    .snippet
                    .text
                    .starts_with("The quick brown fox")
            );
            assert!(
                results.hits[11]
                    .snippet
                    .text
                    .starts_with("line 0 of filler")
            );
        }
    }
}

#[test]
fn hits_are_ordered_by_score() {
    let e = engine();
    let results = run(&e, "fox OR quick OR brown OR main", "/", 100, false);
    assert_eq!(results.total, 6);
    // 1 matches three of the words, so it ranks first.
    assert_eq!(results.hits[0].file_id, Some(1));
    for pair in results.hits.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            a.score > b.score || (a.score == b.score && a.file_id < b.file_id),
            "{:?} ({}) before {:?} ({})",
            a.file_id,
            a.score,
            b.file_id,
            b.score
        );
    }
    let limited = run(&e, "fox OR quick OR brown OR main", "/", 2, false);
    assert_eq!(limited.total, 6);
    assert_eq!(limited.hits[..], results.hits[..2]);
}

/// The snippet of file `id` for `query`, checking that every highlight is one of `terms` (compared after
/// analysis, so `Café` counts as `cafe`) and that every term is highlighted at least once.
#[track_caller]
fn snippet_highlights(
    e: &QueryEngine,
    query: &str,
    id: u64,
    terms: &[&str],
) -> fandex_query::Snippet {
    let results = run(e, query, "/", 100, true);
    let hit = results
        .hits
        .iter()
        .find(|h| h.file_id == Some(id))
        .unwrap_or_else(|| panic!("{query:?} did not find {id}"));
    let snippet = hit.snippet.clone();
    assert!(!snippet.text.contains(['\n', '\r', '\t']), "{snippet:?}");
    assert!(snippet.text.len() <= fandex_query::MAX_FRAGMENT_BYTES);
    let mut seen = BTreeSet::new();
    for range in &snippet.highlights {
        let word = &snippet.text[range.clone()];
        let analyzed = schema::tokenize(word);
        assert_eq!(analyzed.len(), 1, "highlight {word:?} in {snippet:?}");
        assert!(
            terms.contains(&analyzed[0].as_str()),
            "highlight {word:?} is not one of {terms:?}"
        );
        seen.insert(analyzed[0].clone());
    }
    let want: BTreeSet<String> = terms.iter().map(|t| t.to_string()).collect();
    assert_eq!(seen, want, "highlighted words of {snippet:?}");
    snippet
}

#[test]
fn snippets_highlight_matched_words() {
    let e = engine();
    let s = snippet_highlights(&e, "lazy fox", 1, &["lazy", "fox"]);
    assert_eq!(s.text, "The quick brown fox jumps over the lazy dog.");
    assert_eq!(&s.text[s.highlights[0].clone()].to_lowercase(), "fox");
    assert_eq!(&s.text[s.highlights[1].clone()].to_lowercase(), "lazy");

    // Newlines become spaces, and the ranges still point at the words.
    let s = snippet_highlights(&e, "noon butter", 2, &["butter", "noon"]);
    assert_eq!(
        s.text,
        "Brown bread and butter. Meet me at the Caf\u{e9} Noir at noon."
    );
    let s = snippet_highlights(&e, "cafe", 2, &["cafe"]);
    assert_eq!(&s.text[s.highlights[0].clone()], "Caf\u{e9}");

    // Prefixes highlight the words they expanded to.
    snippet_highlights(&e, "hel*", 4, &["hello"]);
    let s = snippet_highlights(&e, "hel*", 5, &["helper"]);
    assert_eq!(s.highlights.len(), 2);
    snippet_highlights(&e, "foo-ba*", 7, &["foo", "bar"]);

    // Excluded words and name-only terms are not highlighted.
    snippet_highlights(&e, "brown -\"bread butter\"", 2, &["brown"]);
    snippet_highlights(&e, "brown name:beta", 2, &["brown"]);
    snippet_highlights(&e, "name:fox OR story", 3, &["story"]);
}

#[test]
fn snippet_of_a_far_match_is_a_bounded_fragment() {
    let e = engine();
    let s = snippet_highlights(&e, "needle", 12, &["needle"]);
    assert!(
        s.text.contains("here is the needle in the haystack"),
        "{s:?}"
    );
    assert!(!s.text.starts_with("line 0 "), "{s:?}");
}

#[test]
fn snippet_without_content_match_is_the_start_of_the_text() {
    let e = engine();
    // Matched by name only.
    let results = run(&e, "name:long", "/", 10, true);
    let s = &results.hits[0].snippet;
    assert!(s.highlights.is_empty());
    assert!(
        s.text.starts_with("line 0 of filler line 1 of filler"),
        "{s:?}"
    );
    assert!(s.text.len() <= fandex_query::LEAD_BYTES);
    assert!(s.text.len() > fandex_query::LEAD_BYTES - 20, "{s:?}");
    assert!(!s.text.ends_with(' '));
    // Matched by a filter, with an empty text.
    let results = run(&e, "ext:pdf", "/", 10, true);
    assert_eq!(results.hits[0].snippet, fandex_query::Snippet::default());
    // A bare word found in the name only.
    let results = run(&e, "fox -lazy", "/", 10, true);
    assert_eq!(
        results.hits[0].snippet.text,
        "An animal story without the word."
    );
    assert!(results.hits[0].snippet.highlights.is_empty());
}

#[test]
fn snippets_only_when_asked() {
    let e = engine();
    let results = run(&e, "lazy", "/", 10, false);
    assert_eq!(results.hits[0].snippet, fandex_query::Snippet::default());
}

#[test]
fn syntax_errors_come_back_as_errors() {
    let e = engine();
    for (query, position) in [("a OR", 3), ("(a", 1), ("bad:x", 1), ("", 0), ("*", 1)] {
        let err = e
            .search(&SearchRequest {
                query: query.into(),
                limit: 10,
                cwd: PathBuf::from("/"),
                snippets: true,
                home: None,
                ..SearchRequest::default()
            })
            .unwrap_err();
        match err {
            QueryError::Syntax { position: p, .. } => assert_eq!(p, position, "{query:?}"),
            other => panic!("{query:?}: unexpected {other:?}"),
        }
    }
    // A relative path: with a relative working directory is an error at the value.
    let err = e
        .search(&SearchRequest {
            query: "x path:src".into(),
            limit: 10,
            cwd: PathBuf::from("relative"),
            snippets: false,
            home: None,
            ..SearchRequest::default()
        })
        .unwrap_err();
    assert!(
        matches!(err, QueryError::Syntax { position: 8, .. }),
        "{err:?}"
    );
}

#[test]
fn ids_helper_agrees_with_paths() {
    // Guards the fixture itself: every id maps to its own path and every doc is indexed once.
    let e = engine();
    assert_eq!(ids_in(&e, "path:/", "/"), (1..=12).collect());
    assert_eq!(path_of(10), Path::new(OsStr::from_bytes(ODD_PATH)));
}

#[test]
fn tilde_is_the_callers_home_when_the_request_names_it() {
    let e = engine();
    let with_home = |home: &str| {
        let results = e
            .search(&SearchRequest {
                query: "path:~/src".into(),
                limit: 100,
                cwd: PathBuf::from("/"),
                snippets: false,
                home: Some(PathBuf::from(home)),
                ..SearchRequest::default()
            })
            .unwrap();
        let mut ids: Vec<u64> = results.hits.iter().map(|h| h.file_id.unwrap()).collect();
        ids.sort();
        ids
    };
    assert_eq!(with_home("/home/u"), [4, 5]);
    assert!(with_home("/home/nobody").is_empty());
}

/// An engine over `docs` (file id, text), each at `/long/ID.txt` (`/long/needle.txt` for id 5), in one
/// segment.
fn engine_of(docs: &[(u64, String)]) -> QueryEngine {
    let (schema, fields) = schema::build_schema();
    let index = Index::create_in_ram(schema);
    schema::register_analyzers(&index);
    let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
    for (file_id, text) in docs {
        let doc = FileDoc {
            file_id: *file_id,
            path: PathBuf::from(match file_id {
                5 => "/long/needle.txt".to_owned(),
                _ => format!("/long/{file_id}.txt"),
            }),
            size: text.len() as u64,
            mtime_ns: 0,
            text: text.clone(),
        };
        writer.add_document(doc.to_document(&fields)).unwrap();
    }
    writer.commit().unwrap();
    QueryEngine::new(index.reader().unwrap(), fields)
}

/// `n` bytes (rounded up to whole repetitions) of `unit` repeated.
fn filler(unit: &str, n: usize) -> String {
    unit.repeat(n.div_ceil(unit.len()))
}

#[test]
fn snippets_of_long_documents_find_far_matches() {
    let plain = filler("some filler words here ", 3 << 20);
    let docs = vec![
        // Far into a 3 MiB text, mid-line, in capitals.
        (1, format!("{plain}then the NEEDLE shows up {plain}")),
        // At the very end, no trailing blank; earlier near-misses are not matches.
        (
            2,
            format!("needles xneedle needle9 {plain}ends with needle"),
        ),
        // Multibyte text on both sides, so window edges fall inside characters and words.
        (
            3,
            format!(
                "{}needle{}",
                filler("日本語のテキストé ", 1 << 20),
                filler(" ünïcödé漢字", 1 << 20)
            ),
        ),
        // Only written with an accent: no byte scan finds it, the index says it is there.
        (4, format!("{plain}le Café {plain}")),
        // Matched by its name only, with a long text that lacks the word.
        (5, plain.clone()),
    ];
    let e = engine_of(&docs);
    let s = snippet_highlights(&e, "needle", 1, &["needle"]);
    assert!(s.text.contains("then the NEEDLE shows up"), "{s:?}");
    // `needles` is another form of the word (stemming): the exact form is asked for here.
    let s = snippet_highlights(&e, "=needle", 2, &["needle"]);
    assert!(s.text.ends_with("ends with needle"), "{s:?}");
    // The near-misses at the start are not what was highlighted: the highlight is the last word.
    assert_eq!(s.highlights.last().map(|r| r.end), Some(s.text.len()));
    let s = snippet_highlights(&e, "needle", 3, &["needle"]);
    assert!(s.text.contains("needle ünïcödé漢字"), "{s:?}");
    assert!(s.text.contains("テキストé needle"), "{s:?}");
    let s = snippet_highlights(&e, "cafe", 4, &["cafe"]);
    assert!(s.text.contains("le Café"), "{s:?}");
    let results = run(&e, "needle", "/", 10, true);
    assert_eq!(results.total, 4);
    let s = &results
        .hits
        .iter()
        .find(|h| h.file_id == Some(5))
        .unwrap()
        .snippet;
    assert!(s.highlights.is_empty(), "{s:?}");
    assert!(s.text.starts_with("some filler words here"), "{s:?}");
    assert!(s.text.len() <= fandex_query::LEAD_BYTES);
}

#[test]
fn snippets_never_highlight_part_of_a_word() {
    // Words that contain the query word, or that a window edge could cut, around the real match: each
    // highlight must analyze to exactly the query word (checked by `snippet_highlights`).
    let long_word = "needle".repeat(30); // longer than any indexed word
    let docs = vec![(
        1,
        format!(
            "{}{long_word} needlework aneedle {} Needle.",
            filler("x ", 500),
            filler("abcdefghij", 300)
        ),
    )];
    let e = engine_of(&docs);
    let s = snippet_highlights(&e, "needle", 1, &["needle"]);
    assert_eq!(s.highlights.len(), 1, "{s:?}");
    assert!(s.text.ends_with("Needle."), "{s:?}");
}

/// An in-memory index of `(file id, path, text)`, one segment per batch.
fn segmented_engine(batches: &[Vec<(u64, String, String)>]) -> QueryEngine {
    let (schema, fields) = schema::build_schema();
    let index = Index::create_in_ram(schema);
    schema::register_analyzers(&index);
    let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
    for batch in batches {
        for (file_id, path, text) in batch {
            let doc = FileDoc {
                file_id: *file_id,
                path: PathBuf::from(path),
                size: text.len() as u64,
                mtime_ns: *file_id as i64,
                text: text.clone(),
            };
            writer.add_document(doc.to_document(&fields)).unwrap();
        }
        writer.commit().unwrap();
    }
    QueryEngine::new(index.reader().unwrap(), fields)
}

/// Files of the caller (odd ids) and of somebody else (even ids), the latter hidden from the caller.
fn files(
    ids: impl IntoIterator<Item = u64>,
    text: impl Fn(u64) -> String,
) -> Vec<(u64, String, String)> {
    ids.into_iter()
        .map(|id| {
            let owner = if id % 2 == 1 { "caller" } else { "victim" };
            (id, format!("/{owner}/f{id}.txt"), text(id))
        })
        .collect()
}

/// A search by a caller who sees the files with odd ids only.
fn search_as_caller(engine: &QueryEngine, query: &str) -> SearchResults {
    engine
        .search_visible(
            &SearchRequest {
                query: query.into(),
                limit: 50,
                cwd: PathBuf::from("/"),
                snippets: true,
                home: None,
                ..SearchRequest::default()
            },
            &|ids: &[u64]| ids.iter().map(|id| id % 2 == 1).collect(),
        )
        .unwrap_or_else(|e| panic!("{query:?} failed: {e}"))
}

/// Issue 10 item 2: BM25 over the whole index let a caller's own scores count files they cannot see.
#[test]
fn hidden_files_change_nothing_a_filtered_caller_receives() {
    let own = files([1, 3, 5, 7, 9], |id| match id {
        1 => "zebra notes about the quokka".into(),
        3 => "zebra zebra zebra and a quokka rarely seen".into(),
        5 => format!(
            "{} quokka zebra notes at the end",
            "filler words ".repeat(40)
        ),
        7 => "alpha yak and zebra".into(),
        _ => "beta notes without the animals".into(),
    });
    // Hidden files holding the same words, in the caller's segment (ids in between) and in segments of
    // their own, in numbers that would change every document frequency, average length and the order
    // in which tantivy intersects posting lists.
    let mixed: Vec<_> = own
        .iter()
        .cloned()
        .chain(files([2, 4, 6, 8], |id| {
            format!("zebra quokka notes {id} alpha alpha")
        }))
        .collect();
    let crowd = files((10..400).step_by(2), |id| match id % 3 {
        0 => "zebra zebra secret alpha".into(),
        1 => "quokka notes alpha alpha alpha".into(),
        _ => format!("{} zebra", "long hidden text ".repeat(50)),
    });
    let before = segmented_engine(std::slice::from_ref(&own));
    let (first, rest) = crowd.split_at(50);
    let after = segmented_engine(&[mixed, rest.to_vec(), first.to_vec()]);
    for query in [
        "zebra",
        "zebra quokka",
        "zebra quokka notes",
        "quokka notes zebra the",
        "zebra OR alpha",
        "alpha OR beta",
        "\"zebra notes\"",
        "zeb*",
        "zebra-no*",
        "zebra -yak",
        "(zebra OR notes) -\"about the\"",
        "name:f1 OR zebra",
        "notes ext:txt",
    ] {
        let (was, is) = (
            search_as_caller(&before, query),
            search_as_caller(&after, query),
        );
        assert!(was.total > 0, "{query:?} finds the caller's files");
        assert_eq!(was, is, "{query:?}");
        let bits = |r: &SearchResults| r.hits.iter().map(|h| h.score.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&was), bits(&is), "scores of {query:?}, bit for bit");
    }
    // The hidden files are there: unfiltered, they change the caller's file's score.
    let score_of_1 = |engine: &QueryEngine| {
        run(engine, "zebra", "/", 1000, false)
            .hits
            .iter()
            .find(|h| h.file_id == Some(1))
            .unwrap()
            .score
    };
    assert_ne!(score_of_1(&before), score_of_1(&after));
}

/// Among the visible matches, the rarer word still weighs more, whatever hidden files hold.
#[test]
fn rare_visible_words_weigh_more_for_a_filtered_caller() {
    let own = files([1, 3, 5, 7], |id| {
        if id == 1 {
            "alpha common filler"
        } else {
            "beta common filler"
        }
        .into()
    });
    // Hidden, alpha is everywhere: by whole-index statistics beta would be the rare word.
    let hidden = files((2..200).step_by(2), |_| "alpha alpha common filler".into());
    let engine = segmented_engine(&[own, hidden]);
    let results = search_as_caller(&engine, "alpha OR beta");
    assert_eq!(results.total, 4);
    assert_eq!(results.hits[0].file_id, Some(1), "{results:?}");
    assert!(results.hits[0].score > results.hits[1].score);
    let unfiltered = run(&engine, "alpha OR beta", "/", 200, false);
    assert_ne!(
        unfiltered.hits[0].file_id,
        Some(1),
        "whole-index statistics differ"
    );
}

/// Issue 10 item 6: a 1 MB query took 9 s and 2.3 GB, an 8 MB one over a minute, a 1M-term OR 16.7 GB.
#[test]
fn oversized_queries_are_refused_quickly() {
    use fandex_query::limits::{MAX_LIMIT, MAX_QUERY_BYTES, MAX_TERMS};
    let engine = engine();
    let cases = [
        ("a ".repeat(512 << 10), "query too long"),
        ("a ".repeat(4 << 20), "query too long"),
        (vec!["a"; 100_000].join(" OR "), "query too long"),
        ("a ".repeat(MAX_QUERY_BYTES / 2), "too many search terms"),
        (
            vec!["quick"; MAX_TERMS + 1].join(" OR "),
            "too many search terms",
        ),
    ];
    for (query, what) in cases {
        let started = std::time::Instant::now();
        let err = engine
            .search(&SearchRequest {
                query: query.clone(),
                limit: 20,
                cwd: PathBuf::from("/"),
                snippets: true,
                home: None,
                ..SearchRequest::default()
            })
            .unwrap_err();
        let elapsed = started.elapsed();
        assert!(
            matches!(err, QueryError::TooLarge { what: w, .. } if w == what),
            "{} bytes: {err}",
            query.len()
        );
        assert!(
            elapsed.as_millis() < 500,
            "{} bytes took {elapsed:?}",
            query.len()
        );
    }
    let asking = |limit: usize| SearchRequest {
        query: "quick".into(),
        limit,
        cwd: PathBuf::from("/"),
        snippets: true,
        home: None,
        ..SearchRequest::default()
    };
    assert_eq!(engine.search(&asking(MAX_LIMIT)).unwrap().total, 2);
    let err = engine.search(&asking(MAX_LIMIT + 1)).unwrap_err();
    assert!(
        err.to_string().starts_with("too many hits asked for"),
        "{err}"
    );
    // The filtered search is bounded the same way.
    let err = engine
        .search_visible(&asking(usize::MAX), &|ids: &[u64]| vec![true; ids.len()])
        .unwrap_err();
    assert!(matches!(err, QueryError::TooLarge { .. }), "{err}");
}

#[test]
fn hidden_subtrees_are_neither_returned_nor_counted_and_scores_stay() {
    let engine = engine();
    let before = run(&engine, "brown OR main", "/", 100, false);
    let score_of = |r: &SearchResults, id: u64| {
        r.hits
            .iter()
            .find(|h| h.file_id == Some(id))
            .map(|h| h.score)
            .unwrap()
    };
    // A clone shares the hidden set (the daemon hands clones to its connection threads).
    let clone = engine.clone();
    engine.set_hidden_subtrees(vec![p(b"/home/u/src"), p(b"/data/\xff\n")]);
    assert_eq!(clone.hidden_subtrees().len(), 2);
    // `/home/u/srcfoo` is a sibling, not inside `/home/u/src`.
    finds_in(&clone, "main", "/", &[6]);
    finds_in(&clone, "quick", "/", &[1]);
    let after = run(&clone, "brown OR main", "/", 100, false);
    assert_eq!(after.total, before.total - 1);
    for id in [1, 2, 6] {
        assert_eq!(score_of(&after, id), score_of(&before, id));
    }
    engine.set_hidden_subtrees(Vec::new());
    finds_in(&clone, "main", "/", &[4, 6]);
}

/// A search's [`fandex_query::LaterSnippets`] make the snippets that search would have made, from what
/// it compiled and the index as it saw it: after the files changed, a second compile on the new index
/// (what [`QueryEngine::snippets`] does) gives other snippets; the kept search does not.
#[test]
fn later_snippets_come_from_what_the_search_compiled() {
    let (schema, fields) = schema::build_schema();
    let index = Index::create_in_ram(schema);
    schema::register_analyzers(&index);
    let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
    let doc = |file_id: u64, path: &str, text: &str| {
        FileDoc {
            file_id,
            path: PathBuf::from(path),
            size: text.len() as u64,
            mtime_ns: 1_700_000_000_000_000_000,
            text: text.into(),
        }
        .to_document(&fields)
    };
    writer
        .add_document(doc(1, "/a/one.txt", "The quick brown fox."))
        .unwrap();
    writer
        .add_document(doc(2, "/a/two.txt", "Quickly written notes."))
        .unwrap();
    writer.commit().unwrap();
    let reader = index
        .reader_builder()
        .reload_policy(tantivy::ReloadPolicy::Manual)
        .try_into()
        .unwrap();
    let engine = QueryEngine::new(reader.clone(), fields.clone());
    let request = SearchRequest {
        query: "quick*".into(),
        limit: 10,
        cwd: PathBuf::from("/"),
        snippets: false,
        ..SearchRequest::default()
    };
    let (results, later) = engine.search_later(&request).unwrap();
    assert_eq!(results.hits.len(), 2);
    assert!(results.hits.iter().all(|h| h.snippet.text.is_empty()));
    let with = SearchRequest {
        snippets: true,
        ..request.clone()
    };
    let expected: Vec<_> = engine
        .search(&with)
        .unwrap()
        .hits
        .into_iter()
        .map(|h| h.snippet)
        .collect();
    assert!(expected[0].text.contains("uick"), "{expected:?}");
    assert_eq!(
        later.snippets(&[1, 0]).unwrap(),
        [expected[1].clone(), expected[0].clone()]
    );
    assert_eq!(
        later.snippets(&[7]).unwrap(),
        [fandex_query::Snippet::default()]
    );

    // Both files change (still matching), and a new word extends the prefix.
    writer.delete_term(tantivy::Term::from_field_u64(fields.file_id, 1));
    writer.delete_term(tantivy::Term::from_field_u64(fields.file_id, 2));
    writer
        .add_document(doc(1, "/a/one.txt", "Nothing here but quicksand."))
        .unwrap();
    writer
        .add_document(doc(2, "/a/two.txt", "Notes, written quickly."))
        .unwrap();
    writer.commit().unwrap();
    reader.reload().unwrap();
    let recompiled = engine.snippets(&request, &results.hits).unwrap();
    assert_ne!(recompiled, expected, "a second compile sees the new index");
    assert_eq!(later.snippets(&[0, 1]).unwrap(), expected);
}
