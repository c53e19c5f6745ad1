//! Property tests: arbitrary input never panics, and random queries built from the language find
//! exactly what a brute-force evaluation of the parsed tree over the same documents finds.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::ops::RangeBounds;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::OnceLock;

use fandex_query::parse::{Expr, Scope, TextMatch, parse};
use fandex_query::{QueryEngine, QueryError, SearchRequest};
use fandex_schema::{self as schema, FileDoc};
use proptest::prelude::*;
use tantivy::{Index, IndexWriter};

const VOCAB: &[&str] = &[
    "apple",
    "apricot",
    "banana",
    "band",
    "cafe",
    "Caf\u{e9}",
    "delta",
    "del",
    "echo",
];
const DIRS: &[&[u8]] = &[b"/r/a", b"/r/ab", b"/r/a/b", b"/r/b c", b"/s", b"/s/\xff"];
const EXTS: &[&str] = &["md", "TXT", "rs", ""];
const SEPARATORS: &[&str] = &[" ", "\n", "-", ", ", "\t", ". "];

struct Fixture {
    engine: QueryEngine,
    docs: Vec<FileDoc>,
}

/// A deterministic generator, so the fixture is the same on every run.
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

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut rng = Lcg(7);
        let mut docs = Vec::new();
        for file_id in 1..=48u64 {
            let mut text = String::new();
            for i in 0..(rng.pick(12)) {
                if i > 0 {
                    text.push_str(SEPARATORS[rng.pick(SEPARATORS.len())]);
                }
                text.push_str(VOCAB[rng.pick(VOCAB.len())]);
            }
            let mut path = DIRS[rng.pick(DIRS.len())].to_vec();
            path.extend_from_slice(
                format!("/{}_{file_id}", VOCAB[rng.pick(VOCAB.len())]).as_bytes(),
            );
            let ext = EXTS[rng.pick(EXTS.len())];
            if !ext.is_empty() {
                path.extend_from_slice(format!(".{ext}").as_bytes());
            }
            docs.push(FileDoc {
                file_id,
                path: PathBuf::from(OsStr::from_bytes(&path)),
                size: text.len() as u64,
                mtime_ns: file_id as i64,
                text,
            });
        }
        let (schema, fields) = schema::build_schema();
        let index = Index::create_in_ram(schema);
        schema::register_analyzers(&index);
        let mut writer: IndexWriter = index
            .writer_with_num_threads(1, 15_000_000)
            .expect("writer");
        for (i, doc) in docs.iter().enumerate() {
            writer
                .add_document(doc.to_document(&fields))
                .expect("add document");
            if i % 20 == 19 {
                writer.commit().expect("commit");
            }
        }
        writer.commit().expect("commit");
        let engine = QueryEngine::new(index.reader().expect("reader"), fields);
        Fixture { engine, docs }
    })
}

fn request(query: &str, snippets: bool) -> SearchRequest {
    SearchRequest {
        query: query.into(),
        limit: 1000,
        cwd: PathBuf::from("/r"),
        snippets,
        home: None,
        ..SearchRequest::default()
    }
}

// ---- brute-force evaluation of a parsed query ----

fn contains_sequence(tokens: &[String], m: &TextMatch) -> bool {
    let n = m.terms.len();
    tokens.windows(n).any(|w| {
        w[..n - 1] == m.terms[..n - 1]
            && if m.prefix {
                w[n - 1].starts_with(&m.terms[n - 1])
            } else {
                w[n - 1] == m.terms[n - 1]
            }
    })
}

fn name_of(doc: &FileDoc) -> String {
    let name = doc
        .path
        .file_name()
        .map(OsStr::as_bytes)
        .unwrap_or_default();
    String::from_utf8_lossy(name).into_owned()
}

/// Normalizes an absolute `path:` value the simple way the generated queries allow.
fn normalized(dir: &str) -> Vec<u8> {
    let parts: Vec<&str> = dir
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() {
        return b"/".to_vec();
    }
    parts
        .iter()
        .flat_map(|p| format!("/{p}").into_bytes())
        .collect()
}

fn eval(expr: &Expr, doc: &FileDoc) -> bool {
    match expr {
        Expr::And(children) => children.iter().all(|c| eval(c, doc)),
        Expr::Or(children) => children.iter().any(|c| eval(c, doc)),
        Expr::Not(inner) => !eval(inner, doc),
        Expr::Text(m) => {
            let in_name = contains_sequence(&schema::tokenize(&name_of(doc)), m);
            match m.scope {
                Scope::Name => in_name,
                Scope::ContentOrName => {
                    in_name || contains_sequence(&schema::tokenize(&doc.text), m)
                }
                // The generated documents have no metadata.
                Scope::Title | Scope::Author | Scope::Subject => false,
            }
        }
        Expr::Ext(exts) => exts.contains(&schema::extension_of(&doc.path)),
        Expr::Path { dir, .. } => {
            let dir = normalized(dir);
            schema::ancestor_dirs(&doc.path).contains(&dir.as_slice())
        }
        Expr::Size(range) => (range.lower, range.upper).contains(&doc.size),
        Expr::Modified(_)
        | Expr::Fuzzy { .. }
        | Expr::Mime { .. }
        | Expr::Type(_)
        | Expr::NamePattern(_) => {
            unreachable!("not generated")
        }
    }
}

// ---- query generation ----

fn word() -> impl Strategy<Value = String> {
    prop::sample::select(VOCAB).prop_map(str::to_owned)
}

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => word(),
        1 => (word(), word()).prop_map(|(a, b)| format!("\"{a} {b}\"")),
        1 => (word(), word()).prop_map(|(a, b)| format!("{a}-{b}")),
        2 => (word(), 1..4usize).prop_map(|(w, n)| format!("{}*", w.chars().take(n).collect::<String>())),
        1 => (word(), word(), 1..4usize)
            .prop_map(|(a, b, n)| format!("{a}-{}*", b.chars().take(n).collect::<String>())),
        1 => word().prop_map(|w| format!("name:{w}")),
        1 => (word(), 1..4usize).prop_map(|(w, n)| format!("name:{}*", w.chars().take(n).collect::<String>())),
        1 => (prop::sample::select(&[">", "<", ">=", "<=", ""][..]), 0..80u64)
            .prop_map(|(op, n)| format!("size:{op}{n}")),
        1 => prop::sample::select(&["ext:md", "ext:.txt", "ext:RS,md", "ext:txt,rs"][..]).prop_map(str::to_owned),
        1 => prop::sample::select(&["path:/r/a", "path:/r/a/", "path://r//ab", "path:/r", "path:/s",
            "path:\"/r/b c\"", "path:/", "path:/r/./a/b"][..]).prop_map(str::to_owned),
    ]
}

fn query() -> impl Strategy<Value = String> {
    leaf().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(|v| format!("({})", v.join(" "))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} AND {b}")),
            prop::collection::vec(inner.clone(), 2..4)
                .prop_map(|v| format!("({})", v.join(" OR "))),
            inner.clone().prop_map(|a| format!("-{a}")),
            inner.prop_map(|a| format!("NOT {a}")),
        ]
    })
}

/// Words, operators and punctuation of the language, in any order: reaches the parser's error paths.
fn token_soup() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(
        &[
            "a", "apple", "OR", "AND", "NOT", "-", "(", ")", "\"", "*", "name:", "ext:", "path:",
            "ext:md,", "path:..", "~", "~/x", "ap*", "-(", "\u{e9}", "\n", ":", "x:y", "\u{0}",
            ",", ".", "*a",
        ][..],
    );
    (
        prop::collection::vec(pieces, 0..12),
        prop::collection::vec(any::<bool>(), 12),
    )
        .prop_map(|(pieces, spaces)| {
            let mut out = String::new();
            for (piece, space) in pieces.iter().zip(spaces) {
                out.push_str(piece);
                if space {
                    out.push(' ');
                }
            }
            out
        })
}

/// Searches `query` and checks what must hold for any input: no panic, only syntax errors, and
/// well-formed results.
fn check_any(query: &str) -> Result<(), TestCaseError> {
    let parsed = parse(query);
    let result = fixture().engine.search(&request(query, true));
    match (&parsed, result) {
        (_, Ok(results)) => {
            prop_assert!(parsed.is_ok(), "{query:?} searched but did not parse");
            prop_assert!(results.total >= results.hits.len());
            for hit in &results.hits {
                let s = &hit.snippet;
                prop_assert!(!s.text.chars().any(char::is_control), "{s:?}");
                for r in &s.highlights {
                    prop_assert!(
                        s.text.get(r.clone()).is_some_and(|t| !t.is_empty()),
                        "{s:?}"
                    );
                }
            }
        }
        (Err(_), Err(QueryError::Syntax { .. })) => {}
        (Ok(_), Err(QueryError::Syntax { message, .. })) => {
            // Only resolving a path can fail after parsing (e.g. `~` without $HOME).
            prop_assert!(
                query.to_lowercase().contains("path:"),
                "{query:?}: {message}"
            );
        }
        (_, Err(e)) => prop_assert!(false, "{query:?}: unexpected error {e}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(query in any::<String>()) {
        check_any(&query)?;
    }

    #[test]
    fn token_soup_never_panics(query in token_soup()) {
        check_any(&query)?;
    }

    #[test]
    fn queries_find_what_brute_force_finds(query in query()) {
        let f = fixture();
        let expr = parse(&query).map_err(|e| TestCaseError::fail(format!("{query:?}: {e}")))?;
        let results = f.engine.search(&request(&query, true))
            .map_err(|e| TestCaseError::fail(format!("{query:?}: {e}")))?;
        let got: BTreeSet<u64> = results.hits.iter().map(|h| h.file_id.unwrap()).collect();
        let want: BTreeSet<u64> = f.docs.iter().filter(|d| eval(&expr, d)).map(|d| d.file_id).collect();
        prop_assert_eq!(&got, &want, "{:?} parsed as {:?}", query, expr);
        prop_assert_eq!(results.total, want.len());
        for pair in results.hits.windows(2) {
            prop_assert!(
                pair[0].score > pair[1].score
                    || (pair[0].score == pair[1].score && pair[0].file_id < pair[1].file_id),
                "order of {:?}", query
            );
        }
    }
}

#[test]
fn the_fixture_is_varied() {
    // Guards the generator: the differential test means little if every doc is alike.
    let f = fixture();
    let with = |q: &str| {
        f.docs
            .iter()
            .filter(|d| eval(&parse(q).unwrap(), d))
            .count()
    };
    for q in [
        "apple",
        "cafe",
        "ext:md",
        "path:/r/a",
        "\"apple banana\"",
        "ba*",
        "del-e*",
    ] {
        let n = with(q);
        assert!(
            n > 0 && n < f.docs.len(),
            "{q:?} matches {n} of {}",
            f.docs.len()
        );
    }
}
