//! `name:` glob patterns and the locate-style names mode (issue 13), against an oracle: the test makes
//! the file names and decides which ones a pattern matches with a matcher of its own (a recursive one
//! over characters, not the crate's), over two segments and a deleted document.

use std::collections::BTreeSet;
use std::path::PathBuf;

use fandex_query::{QueryEngine, QueryError, SearchRequest, SortBy};
use fandex_schema::{self as schema, FileDoc};
use tantivy::{Index, IndexWriter, Term};

/// Names in several scripts and cases, with dots, brackets and short names (below the n-gram length).
const NAMES: &[&str] = &[
    "Report-2024.pdf",
    "report-2025.PDF",
    "report-20245.pdf",
    "quarterly_report.odt",
    "export.tar.gz",
    "a.tar.gz.bak",
    "Bär.txt",
    "καλημέρα.md",
    "ΚΑΛΗΜΈΡΑ.txt",
    "東京都の天気.txt",
    "x1",
    "ab",
    "data[1].csv",
    "PORT",
    "sport.c",
    "a.c",
    "b.cc",
    "ёлка.txt",
    "deleted-report.pdf",
];

/// The id of the document deleted after indexing.
const DELETED: u64 = 19;

/// The oracle's glob matcher: recursive, on lowercased characters; `[...]` sets with `!` negation and
/// `a-z` ranges; `\` escapes.
fn oracle(pattern: &[char], name: &[char]) -> bool {
    match pattern.first() {
        None => name.is_empty(),
        Some('*') => (0..=name.len()).any(|skip| oracle(&pattern[1..], &name[skip..])),
        Some('?') => !name.is_empty() && oracle(&pattern[1..], &name[1..]),
        Some('\\') => {
            !name.is_empty()
                && pattern.get(1) == Some(&name[0])
                && oracle(&pattern[2..], &name[1..])
        }
        Some('[') => {
            let close = pattern.iter().skip(2).position(|&c| c == ']').unwrap() + 2;
            let body = &pattern[1..close];
            let (negated, body) = match body.first() {
                Some('!' | '^') => (true, &body[1..]),
                _ => (false, body),
            };
            let Some(&c) = name.first() else {
                return false;
            };
            let mut inside = false;
            let mut i = 0;
            while i < body.len() {
                if i + 2 < body.len() && body[i + 1] == '-' {
                    inside |= body[i] <= c && c <= body[i + 2];
                    i += 3;
                } else {
                    inside |= body[i] == c;
                    i += 1;
                }
            }
            inside != negated && oracle(&pattern[close + 1..], &name[1..])
        }
        Some(&p) => name.first() == Some(&p) && oracle(&pattern[1..], &name[1..]),
    }
}

fn expected(pattern: &str) -> BTreeSet<u64> {
    let pattern: Vec<char> = pattern.to_lowercase().chars().collect();
    NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| (i as u64 + 1, name))
        .filter(|&(id, name)| {
            id != DELETED && oracle(&pattern, &name.to_lowercase().chars().collect::<Vec<_>>())
        })
        .map(|(id, _)| id)
        .collect()
}

fn engine() -> QueryEngine {
    let (schema, fields) = schema::build_schema();
    let index = Index::create_in_ram(schema);
    schema::register_analyzers(&index);
    let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
    for (i, name) in NAMES.iter().enumerate() {
        let id = i as u64 + 1;
        let doc = FileDoc {
            file_id: id,
            path: PathBuf::from(format!("/d{}/{name}", id % 2)),
            size: id,
            mtime_ns: id as i64,
            text: format!("body{}", id % 3),
        };
        writer.add_document(doc.to_document(&fields)).unwrap();
        if i == NAMES.len() / 2 {
            writer.commit().unwrap();
        }
    }
    writer.commit().unwrap();
    writer.delete_term(Term::from_field_u64(fields.file_id, DELETED));
    writer.commit().unwrap();
    let reader = index.reader().unwrap();
    reader.reload().unwrap();
    assert!(reader.searcher().segment_readers().len() >= 2);
    QueryEngine::new(reader, fields)
}

fn request(query: &str, names: bool) -> SearchRequest {
    SearchRequest {
        query: query.into(),
        limit: 1000,
        snippets: false,
        names,
        ..SearchRequest::default()
    }
}

fn ids(engine: &QueryEngine, query: &str, names: bool) -> BTreeSet<u64> {
    let results = engine
        .search(&request(query, names))
        .unwrap_or_else(|e| panic!("{query}: {e}"));
    assert_eq!(results.total, results.hits.len(), "{query}");
    results.hits.iter().map(|h| h.file_id.unwrap()).collect()
}

const PATTERNS: &[&str] = &[
    "*port*",
    "report-202?.pdf",
    "*.tar.gz",
    "[abc]*",
    "[!abc]*.c",
    "*.c",
    "?",
    "??",
    "*ä*",
    "*ΚΑΛΗ*",
    "*天気*",
    "x[0-9]",
    "*\\[1\\]*",
    "*r*",
    "*.PDF",
    "*",
    "*ёл*",
    "r*-202[4-5]*",
];

#[test]
fn name_patterns_match_the_oracle() {
    let engine = engine();
    for pattern in PATTERNS {
        let want = expected(pattern);
        assert_eq!(
            ids(&engine, &format!("name:{pattern}"), false),
            want,
            "name:{pattern}"
        );
        // The same pattern quoted in the query's own quotes is still a pattern only without them.
        assert_eq!(ids(&engine, pattern, true), want, "--names {pattern}");
    }
    // Not empty answers, so the comparisons above mean something.
    assert_eq!(expected("*port*").len(), 7);
    assert_eq!(expected("report-202?.pdf"), BTreeSet::from([1, 2]));
    assert_eq!(expected("*.tar.gz"), BTreeSet::from([5]));
    assert_eq!(expected("*ΚΑΛΗ*"), BTreeSet::from([8, 9]));
}

#[test]
fn patterns_combine_with_other_items() {
    let engine = engine();
    let pdf_ports: BTreeSet<u64> = expected("*port*")
        .intersection(&expected("*.pdf"))
        .copied()
        .collect();
    assert_eq!(ids(&engine, "name:*port* ext:pdf", false), pdf_ports);
    let without_c: BTreeSet<u64> = expected("*")
        .difference(&expected("*.c"))
        .copied()
        .collect();
    assert_eq!(ids(&engine, "-name:*.c", false), without_c);
    let either: BTreeSet<u64> = expected("*.md").union(&expected("x?")).copied().collect();
    assert_eq!(ids(&engine, "name:*.md OR name:x?", false), either);
    // A pattern without wildcards keeps its word meaning: `name:report` is the word, `name:rep*` the prefix.
    assert_eq!(
        ids(&engine, "name:report", false),
        BTreeSet::from([1, 2, 3, 4])
    );
    assert_eq!(
        ids(&engine, "name:rep*", false),
        BTreeSet::from([1, 2, 3, 4])
    );
    // Names mode: a word without wildcards is contained; fields filter; quoted text is literal.
    assert_eq!(ids(&engine, "port", true), expected("*port*"));
    assert_eq!(ids(&engine, "port ext:pdf", true), pdf_ports);
    assert_eq!(ids(&engine, "\"[1]\"", true), BTreeSet::from([13]));
    assert_eq!(ids(&engine, "port path:/d0", true).len(), 3);
}

#[test]
fn pattern_errors_name_their_position() {
    let engine = engine();
    match engine.search(&request("x name:ab[cd", false)) {
        Err(QueryError::Syntax { position, message }) => {
            assert_eq!(position, 10, "{message}");
            assert!(message.contains('['), "{message}");
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn hidden_files_change_nothing_in_a_pattern_search() {
    let engine = engine();
    let all = engine.search(&request("name:*port*", false)).unwrap();
    let visible = engine
        .search_visible(&request("name:*port*", false), &|ids| {
            ids.iter().map(|id| id % 2 == 0).collect()
        })
        .unwrap();
    let want: Vec<u64> = all
        .hits
        .iter()
        .filter_map(|h| h.file_id.filter(|id| id % 2 == 0))
        .collect();
    assert_eq!(visible.total, want.len());
    let got: Vec<u64> = visible.hits.iter().map(|h| h.file_id.unwrap()).collect();
    assert_eq!(got, want);
    // A constant score, the same seen by anyone.
    assert!(visible.hits.iter().all(|h| h.score == 1.0));
}

#[test]
fn sort_by_name_uses_exact_name_bytes() {
    let engine = engine();
    let mut req = request("name:*", false);
    req.sort = SortBy::Name;
    let got: Vec<String> = engine
        .search(&req)
        .unwrap()
        .hits
        .iter()
        .map(|h| h.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut want: Vec<&str> = NAMES
        .iter()
        .enumerate()
        .filter(|&(i, _)| i as u64 + 1 != DELETED)
        .map(|(_, n)| *n)
        .collect();
    want.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    assert_eq!(got, want);
}
