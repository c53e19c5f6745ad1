//! Tests of the query language: every construct, every syntax error and its position, and the bounds.

use super::*;

fn text(scope: Scope, terms: &[&str], prefix: bool) -> Expr {
    Expr::Text(TextMatch {
        scope,
        terms: terms.iter().map(|t| t.to_string()).collect(),
        prefix,
        exact: false,
        stems: Vec::new(),
    })
}

/// The same match, exact only (a quoted phrase, `=word`).
fn exact(e: Expr) -> Expr {
    match e {
        Expr::Text(m) => Expr::Text(TextMatch { exact: true, ..m }),
        other => other,
    }
}

fn w(t: &str) -> Expr {
    text(Scope::ContentOrName, &[t], false)
}

fn not(e: Expr) -> Expr {
    Expr::Not(Box::new(e))
}

/// Asserts that `query` fails with a syntax error at `position` whose message contains `needle`.
#[track_caller]
fn fails(query: &str, position: usize, needle: &str) {
    match parse(query) {
        Err(QueryError::Syntax {
            message,
            position: p,
        }) => {
            assert_eq!(p, position, "position for {query:?}: {message}");
            assert!(
                message.contains(needle),
                "message for {query:?} lacks {needle:?}: {message}"
            );
        }
        other => panic!("{query:?} should fail, got {other:?}"),
    }
}

#[test]
fn words_are_anded_and_analyzed() {
    assert_eq!(
        parse("Foo  CAFÉ").unwrap(),
        Expr::And(vec![w("foo"), w("cafe")])
    );
    assert_eq!(parse("foo").unwrap(), w("foo"));
    assert_eq!(parse("foo AND bar").unwrap(), parse("foo bar").unwrap());
}

#[test]
fn multi_token_word_is_a_phrase() {
    assert_eq!(
        parse("foo-bar").unwrap(),
        text(Scope::ContentOrName, &["foo", "bar"], false)
    );
    assert_eq!(
        parse("foo.txt").unwrap(),
        text(Scope::ContentOrName, &["foo", "txt"], false)
    );
    assert_eq!(
        parse("\"Hello,  World\"").unwrap(),
        exact(text(Scope::ContentOrName, &["hello", "world"], false))
    );
}

#[test]
fn exact_words_and_cjk_characters() {
    assert_eq!(parse("=Running").unwrap(), exact(w("running")));
    assert_eq!(
        parse("name:=Run").unwrap(),
        exact(text(Scope::Name, &["run"], false))
    );
    assert_eq!(parse("-=a").unwrap(), not(exact(w("a"))));
    // A CJK run is a phrase of its bigrams; one character is a prefix.
    assert_eq!(
        parse("東京都").unwrap(),
        text(Scope::ContentOrName, &["東京", "京都"], false)
    );
    assert_eq!(
        parse("京").unwrap(),
        text(Scope::ContentOrName, &["京"], true)
    );
    fails("=", 1, "followed by the word");
    fails("a =*", 4, "cannot be combined");
    fails("name:=x~", 8, "cannot be combined");
}

#[test]
fn words_without_tokens_are_ignored() {
    assert_eq!(parse("foo !!! bar").unwrap(), parse("foo bar").unwrap());
    assert_eq!(parse("foo OR ...").unwrap(), w("foo"));
    assert_eq!(parse("foo -").unwrap(), w("foo"));
    assert_eq!(parse("foo -,,").unwrap(), w("foo"));
}

#[test]
fn or_binds_tighter_than_and() {
    assert_eq!(
        parse("a b OR c").unwrap(),
        Expr::And(vec![w("a"), Expr::Or(vec![w("b"), w("c")])])
    );
    assert_eq!(
        parse("(a OR b) c").unwrap(),
        Expr::And(vec![Expr::Or(vec![w("a"), w("b")]), w("c")])
    );
    assert_eq!(
        parse("a OR b OR c").unwrap(),
        Expr::Or(vec![w("a"), w("b"), w("c")])
    );
    // Lowercase keywords are words.
    assert_eq!(
        parse("a or b").unwrap(),
        Expr::And(vec![w("a"), w("or"), w("b")])
    );
}

#[test]
fn negation() {
    assert_eq!(parse("-a").unwrap(), not(w("a")));
    assert_eq!(
        parse("a NOT b").unwrap(),
        Expr::And(vec![w("a"), not(w("b"))])
    );
    assert_eq!(
        parse("a -(b OR c)").unwrap(),
        Expr::And(vec![w("a"), not(Expr::Or(vec![w("b"), w("c")]))])
    );
    assert_eq!(
        parse("-\"b c\"").unwrap(),
        not(exact(text(Scope::ContentOrName, &["b", "c"], false)))
    );
    assert_eq!(parse("--a").unwrap(), not(not(w("a"))));
    assert_eq!(
        parse("a OR -b").unwrap(),
        Expr::Or(vec![w("a"), not(w("b"))])
    );
    // A hyphen inside a word is not a negation.
    assert_eq!(
        parse("a-b").unwrap(),
        text(Scope::ContentOrName, &["a", "b"], false)
    );
}

#[test]
fn prefixes() {
    assert_eq!(
        parse("Foo*").unwrap(),
        text(Scope::ContentOrName, &["foo"], true)
    );
    assert_eq!(
        parse("foo-ba*").unwrap(),
        text(Scope::ContentOrName, &["foo", "ba"], true)
    );
    // A prefix too long to be indexed: indexing dropped such tokens, so the rest is a phrase.
    let long = "a".repeat(fandex_schema::MAX_TOKEN_BYTES + 1);
    assert_eq!(
        parse(&format!("foo-{long}*")).unwrap(),
        text(Scope::ContentOrName, &["foo"], false)
    );
    assert_eq!(
        parse("\"foo*\"").unwrap(),
        exact(text(Scope::ContentOrName, &["foo"], false))
    );
}

#[test]
fn fields() {
    assert_eq!(
        parse("name:Foo.TXT").unwrap(),
        text(Scope::Name, &["foo", "txt"], false)
    );
    assert_eq!(
        parse("NAME:\"a b\"").unwrap(),
        exact(text(Scope::Name, &["a", "b"], false))
    );
    assert_eq!(
        parse("name:pre*").unwrap(),
        text(Scope::Name, &["pre"], true)
    );
    assert_eq!(parse("ext:.MD").unwrap(), Expr::Ext(vec!["md".into()]));
    assert_eq!(
        parse("ext:md,.TXT,").unwrap(),
        Expr::Ext(vec!["md".into(), "txt".into()])
    );
    assert_eq!(
        parse("path:\"/a b/c\" x").unwrap(),
        Expr::And(vec![
            Expr::Path {
                dir: "/a b/c".into(),
                position: 7
            },
            w("x")
        ])
    );
    assert_eq!(
        parse("-path:src").unwrap(),
        not(Expr::Path {
            dir: "src".into(),
            position: 7
        })
    );
    // Digits before a colon do not make a field.
    assert_eq!(
        parse("12:30").unwrap(),
        text(Scope::ContentOrName, &["12", "30"], false)
    );
    // A quoted field-like word is searched literally.
    assert_eq!(
        parse("\"http://x\"").unwrap(),
        exact(text(Scope::ContentOrName, &["http", "x"], false))
    );
}

#[test]
fn syntax_errors_with_positions() {
    fails("", 0, "empty query");
    fails("   ", 0, "empty query");
    assert_eq!(
        parse("").unwrap_err().to_string(),
        "empty query: give at least one word, phrase or field to search for"
    );
    fails("!!! ,", 1, "nothing to search");
    fails("-!!! ()", 6, "empty parentheses");
    fails("-!!!", 1, "nothing to search");
    fails("a \"b c", 3, "quote");
    fails("name:\"b c", 6, "quote");
    fails("(a b", 1, "'('");
    fails("a (b (c)", 3, "'('");
    fails("a b)", 4, "')'");
    fails(")", 1, "')'");
    fails("a ()", 3, "empty parentheses");
    fails("OR a", 1, "OR");
    fails("a OR", 3, "OR");
    fails("a OR OR b", 3, "OR");
    fails("(a OR) b", 4, "OR");
    fails("a OR AND b", 3, "OR");
    fails("AND a", 1, "AND");
    fails("a AND", 3, "AND");
    fails("a AND AND b", 3, "AND");
    fails("(AND a)", 2, "AND");
    fails("NOT", 1, "NOT");
    fails("a NOT", 3, "NOT");
    fails("a NOT OR b", 3, "NOT");
    fails("(-a NOT)", 5, "NOT");
    fails("*", 1, "lone '*'");
    fails("a *", 3, "lone '*'");
    fails("*foo", 1, "end of a word");
    fails("fo*o", 3, "end of a word");
    fails("foo**", 4, "end of a word");
    fails("foo-*", 5, "letter or digit");
    // In `name:` they are glob patterns over the whole name (issue 13).
    for pattern in ["name:*", "name:a*b", "name:*port", "name:a?", "name:[ab]c"] {
        assert!(
            matches!(parse(pattern), Ok(Expr::NamePattern(_))),
            "{pattern}"
        );
    }
    fails("name:ab[c", 8, "unclosed '['");
    fails("colour:red", 1, "unknown field 'colour:'");
    fails("x http://host", 3, "name:, ext:, path:");
    fails("x http://host", 3, "\"http://host\"");
    fails("name:", 6, "empty value");
    fails("a ext: b", 7, "empty value");
    fails("path:\"\"", 6, "empty value");
    fails("ext:.", 5, "empty value");
    fails("ext:,", 5, "empty value");
    fails("ext:m*", 6, "pattern");
    fails("path:/src/*", 11, "pattern");
    // Positions count characters, not bytes.
    fails("é ü (", 5, "'('");
}

#[test]
fn nesting_is_bounded() {
    let ok = format!("{}a{}", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
    assert_eq!(parse(&ok).unwrap(), w("a"));
    let deep = format!(
        "{}a{}",
        "(".repeat(MAX_NESTING + 1),
        ")".repeat(MAX_NESTING + 1)
    );
    fails(&deep, MAX_NESTING + 1, "nested");
    fails(
        &format!("{}a", "-".repeat(10_000)),
        MAX_NESTING + 1,
        "nested",
    );
    fails(
        &format!("{}a", "NOT ".repeat(MAX_NESTING + 1)),
        4 * MAX_NESTING + 1,
        "nested",
    );
    fails(&"(-".repeat(8_000), MAX_NESTING + 1, "nested");
    // Long flat queries are fine.
    assert!(parse(&vec!["a"; crate::limits::MAX_TERMS].join(" OR ")).is_ok());
}

/// Asserts that `query` is refused as too large for the bound named `what`.
#[track_caller]
fn too_large(query: &str, what: &str) {
    match parse(query) {
        Err(QueryError::TooLarge { what: w, .. }) => assert_eq!(w, what, "for {query:.60}"),
        other => panic!("{query:.60} should be too large ({what}), got {other:?}"),
    }
}

#[test]
fn query_text_is_bounded() {
    use crate::limits::MAX_QUERY_BYTES;
    let exact = format!("{}a", " ".repeat(MAX_QUERY_BYTES - 1));
    assert_eq!(parse(&exact).unwrap(), w("a"));
    too_large(&format!("{exact}b"), "query too long");
    // Bytes, not characters: 'é' is two.
    too_large(&"é".repeat(MAX_QUERY_BYTES / 2 + 1), "query too long");
    let err = parse(&"a ".repeat(1 << 20)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "query too long: {} bytes, the limit is {MAX_QUERY_BYTES}",
            2 << 20
        )
    );
}

#[test]
fn terms_are_bounded() {
    use crate::limits::MAX_TERMS;
    let words = |n: usize| vec!["a"; n].join(" ");
    assert!(parse(&words(MAX_TERMS)).is_ok());
    too_large(&words(MAX_TERMS + 1), "too many search terms");
    too_large(
        &vec!["a"; MAX_TERMS + 1].join(" OR "),
        "too many search terms",
    );
    // Phrase words, excluded words, extensions and paths count too.
    let quarter = words(MAX_TERMS / 4);
    let phrases = format!("\"{quarter}\" {quarter}-{quarter}");
    assert!(parse(&format!("{phrases} {quarter}")).is_ok());
    too_large(
        &format!("{phrases} -({quarter}) x"),
        "too many search terms",
    );
    let exts = vec!["md"; MAX_TERMS].join(",");
    assert!(parse(&format!("ext:{exts}")).is_ok());
    too_large(&format!("ext:{exts} path:/x"), "too many search terms");
    let err = parse(&words(MAX_TERMS + 1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "too many search terms: {} terms, the limit is {MAX_TERMS}",
            MAX_TERMS + 1
        )
    );
}

#[test]
fn phrases_are_bounded() {
    use crate::limits::MAX_PHRASE_WORDS;
    let phrase = |n: usize| vec!["a"; n].join(" ");
    assert!(parse(&format!("\"{}\"", phrase(MAX_PHRASE_WORDS))).is_ok());
    too_large(
        &format!("\"{}\"", phrase(MAX_PHRASE_WORDS + 1)),
        "phrase too long",
    );
    // A hyphenated word is a phrase too, and so is a name: phrase.
    too_large(
        &vec!["a"; MAX_PHRASE_WORDS + 1].join("-"),
        "phrase too long",
    );
    too_large(
        &format!("name:{}*", vec!["a"; MAX_PHRASE_WORDS + 1].join(".")),
        "phrase too long",
    );
}

#[test]
fn prefixes_are_bounded() {
    use crate::limits::MAX_PREFIXES;
    let prefixes = |n: usize| vec!["a*"; n].join(" OR ");
    assert!(parse(&prefixes(MAX_PREFIXES)).is_ok());
    too_large(&prefixes(MAX_PREFIXES + 1), "too many prefix searches");
    too_large(
        &format!("{} -b*", prefixes(MAX_PREFIXES)),
        "too many prefix searches",
    );
}

#[test]
fn error_display_includes_position() {
    let err = parse("a OR").unwrap_err();
    assert_eq!(
        err.to_string(),
        "dangling OR: it must stand between two items (at character 3 of the query)"
    );
}

#[test]
fn document_fields() {
    assert_eq!(
        parse("title:\"Annual Report\"").unwrap(),
        exact(text(Scope::Title, &["annual", "report"], false))
    );
    assert_eq!(
        parse("Author:Lovelace").unwrap(),
        text(Scope::Author, &["lovelace"], false)
    );
    assert_eq!(
        parse("subject:invo*").unwrap(),
        text(Scope::Subject, &["invo"], true)
    );
    assert_eq!(
        parse("mime:image/*").unwrap(),
        Expr::Mime {
            value: "image/".into(),
            prefix: true
        }
    );
    assert_eq!(
        parse("type:pdf,Code").unwrap(),
        Expr::Type(vec!["pdf".into(), "code".into()])
    );
    assert_eq!(
        parse("a type:folder").unwrap(),
        Expr::And(vec![
            Expr::Text(TextMatch {
                scope: Scope::ContentOrName,
                terms: vec!["a".into()],
                prefix: false,
                exact: false,
                stems: vec![],
            }),
            Expr::Type(vec!["folder".into()])
        ])
    );
    fails("type:pdf,movie", 10, "unknown type 'movie'");
    fails("mime:pdf", 6, "mime: takes a type");
    fails("colour:red", 1, "title:, author:, subject:, mime:, type:");
}
