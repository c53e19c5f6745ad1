//! Turns a parsed [`Expr`] into a tantivy query.
//!
//! Scoring: word, phrase and prefix matches score with BM25 (a bare word sums its content and name
//! scores, its part-name and metadata scores, and those of its stems in the stem fields, so a file
//! holding the exact form ranks above one holding another form of the word); a name pattern scores a
//! constant 1; `ext:`, `path:`, `size:`, `modified:`, `mime:`, `type:` and the "every document" clause
//! of a purely negative group score 0, so
//! filters narrow the results without reordering them.

use std::ffi::OsStr;
use std::ops::Bound;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use fandex_schema::Fields;
use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, FuzzyTermQuery, Occur, PhrasePrefixQuery, PhraseQuery,
    Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};

use crate::clock::Clock;
use crate::error::QueryError;
use crate::guard::ForwardOnly;
use crate::limits::MAX_PHRASE_PREFIX_EXPANSIONS;
use crate::name_query::NameQuery;
use crate::parse::ast::{Expr, Scope, TextMatch};

/// Compiles `expr` for the given fields. Relative `path:` directories are joined to `cwd`; `~` expands
/// to `home`. Fails (with the value's position) when a directory cannot be made absolute.
pub(crate) fn compile(
    expr: &Expr,
    fields: &Fields,
    env: &Env<'_>,
) -> Result<Box<dyn Query>, QueryError> {
    let (cwd, home) = (env.cwd, env.home);
    Ok(match expr {
        Expr::And(children) => {
            let mut clauses = Vec::with_capacity(children.len() + 1);
            for child in children {
                clauses.push(match child {
                    Expr::Not(inner) => (Occur::MustNot, compile(inner, fields, env)?),
                    _ => (Occur::Must, compile(child, fields, env)?),
                });
            }
            if !clauses.iter().any(|(occur, _)| *occur == Occur::Must) {
                clauses.push((Occur::Must, everything()));
            }
            Box::new(BooleanQuery::new(clauses))
        }
        Expr::Or(children) => {
            let clauses = children
                .iter()
                .map(|child| Ok((Occur::Should, compile(child, fields, env)?)))
                .collect::<Result<Vec<_>, QueryError>>()?;
            Box::new(BooleanQuery::new(clauses))
        }
        Expr::Not(inner) => Box::new(BooleanQuery::new(vec![
            (Occur::Must, everything()),
            (Occur::MustNot, compile(inner, fields, env)?),
        ])),
        Expr::Fuzzy { scope, .. } => {
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for q in fuzzy_queries(expr, fields) {
                clauses.push((Occur::Should, q));
            }
            if *scope == Scope::Name && clauses.len() == 1 {
                return Ok(clauses.remove(0).1);
            }
            Box::new(BooleanQuery::new(clauses))
        }
        Expr::NamePattern(pattern) => Box::new(NameQuery::new(pattern, fields)),
        Expr::Text(m) => {
            let mut leaves = text_leaves(m, fields);
            if leaves.len() == 1 {
                return Ok(leaves.remove(0));
            }
            Box::new(BooleanQuery::new(
                leaves.into_iter().map(|q| (Occur::Should, q)).collect(),
            ))
        }
        Expr::Mime { value, prefix } => {
            if *prefix {
                // Every term from `value` up to (excluding) `value` with its last character
                // incremented (`image/` to `image0`); past any continuation of a non-ASCII one.
                let mut upper = value.clone();
                let bound = match upper.pop() {
                    Some(last) if last.is_ascii() && last != '\x7f' => {
                        upper.push(char::from(last as u8 + 1));
                        Bound::Excluded(Term::from_field_text(fields.mime, &upper))
                    }
                    _ => Bound::Included(Term::from_field_text(
                        fields.mime,
                        &format!("{value}{}", char::MAX),
                    )),
                };
                filter(Box::new(RangeQuery::new(
                    Bound::Included(Term::from_field_text(fields.mime, value)),
                    bound,
                )))
            } else {
                let term = Term::from_field_text(fields.mime, value);
                filter(Box::new(TermQuery::new(term, IndexRecordOption::Basic)))
            }
        }
        Expr::Type(classes) => {
            let clauses = classes
                .iter()
                .map(|class| {
                    let term = Term::from_field_text(fields.kind, class);
                    let q: Box<dyn Query> =
                        Box::new(TermQuery::new(term, IndexRecordOption::Basic));
                    (Occur::Should, q)
                })
                .collect();
            filter(Box::new(BooleanQuery::new(clauses)))
        }
        Expr::Ext(exts) => {
            let clauses = exts
                .iter()
                .map(|ext| {
                    let term = Term::from_field_text(fields.ext, ext);
                    let q: Box<dyn Query> =
                        Box::new(TermQuery::new(term, IndexRecordOption::Basic));
                    (Occur::Should, q)
                })
                .collect();
            filter(Box::new(BooleanQuery::new(clauses)))
        }
        Expr::Path { dir, position } => {
            let dir = resolve_dir(dir, cwd, home, *position)?;
            let term = Term::from_field_bytes(fields.dirs, &dir);
            filter(Box::new(TermQuery::new(term, IndexRecordOption::Basic)))
        }
        Expr::Size(range) => {
            let term = |n: u64| Term::from_field_u64(fields.size, n);
            filter(Box::new(RangeQuery::new(
                range.lower.map(term),
                range.upper.map(term),
            )))
        }
        Expr::Modified(range) => {
            let term = |p| Term::from_field_i64(fields.mtime, env.clock.resolve(p));
            let from = range
                .from
                .map_or(Bound::Unbounded, |p| Bound::Included(term(p)));
            let until = range
                .until
                .map_or(Bound::Unbounded, |p| Bound::Excluded(term(p)));
            filter(Box::new(RangeQuery::new(from, until)))
        }
    })
}

/// What a query is compiled against besides the index: where relative `path:` values start, what `~` is,
/// and the clock and time zone of `modified:`.
pub(crate) struct Env<'a> {
    /// The caller's working directory.
    pub(crate) cwd: &'a Path,
    /// The caller's home directory.
    pub(crate) home: Option<&'a OsStr>,
    /// Now, and the caller's offset from UTC.
    pub(crate) clock: Clock,
}

/// The fields a text match of `scope` searches, in the order their scores add up: a bare word the
/// content, the file name, the part's name, then the title, author, subject and other metadata.
fn scope_fields(scope: Scope, fields: &Fields) -> Vec<Field> {
    match scope {
        Scope::ContentOrName => vec![
            fields.content,
            fields.name,
            fields.part,
            fields.title,
            fields.author,
            fields.subject,
            fields.meta,
        ],
        Scope::Name => vec![fields.name],
        Scope::Title => vec![fields.title],
        Scope::Author => vec![fields.author],
        Scope::Subject => vec![fields.subject],
    }
}

/// The queries whose scores add up to a document's score under [`compile`]'s query, in the query's order:
/// each word, phrase or prefix not under a negation, on each field of its scope (see [`scope_fields`]). Filters and exclusions score 0 and have none. A matching document's score is the sum of
/// the scores of the leaves it matches.
pub(crate) fn scoring_leaves(expr: &Expr, fields: &Fields) -> Vec<Box<dyn Query>> {
    fn add(expr: &Expr, fields: &Fields, leaves: &mut Vec<Box<dyn Query>>) {
        match expr {
            Expr::And(children) | Expr::Or(children) => {
                for child in children {
                    add(child, fields, leaves);
                }
            }
            Expr::Text(m) => leaves.extend(text_leaves(m, fields)),
            Expr::Fuzzy { .. } => leaves.extend(fuzzy_queries(expr, fields)),
            Expr::NamePattern(pattern) => leaves.push(Box::new(NameQuery::new(pattern, fields))),
            Expr::Not(_)
            | Expr::Ext(_)
            | Expr::Path { .. }
            | Expr::Size(_)
            | Expr::Modified(_)
            | Expr::Mime { .. }
            | Expr::Type(_) => {}
        }
    }
    let mut leaves = Vec::new();
    add(expr, fields, &mut leaves);
    leaves
}

/// For the name boost of [`crate::blend`]: one group of queries per word or phrase of `expr` that is
/// searched in the content and the name (a bare one, not under a negation), matching the file names
/// that hold it: its exact form in `name`, its stems in `name_stem`.
pub(crate) fn name_words(expr: &Expr, fields: &Fields) -> Vec<Vec<Box<dyn Query>>> {
    fn add(expr: &Expr, fields: &Fields, groups: &mut Vec<Vec<Box<dyn Query>>>) {
        match expr {
            Expr::And(children) | Expr::Or(children) => {
                for child in children {
                    add(child, fields, groups);
                }
            }
            Expr::Text(m) if m.scope == Scope::ContentOrName => {
                let mut group = vec![text_query(fields.name, m)];
                for stem in &m.stems {
                    let term = Term::from_field_text(fields.name_stem, stem);
                    group.push(Box::new(TermQuery::new(term, IndexRecordOption::Basic)));
                }
                groups.push(group);
            }
            _ => {}
        }
    }
    let mut groups = Vec::new();
    add(expr, fields, &mut groups);
    groups
}

/// `query` without the documents under any of `dirs` (one must-not term per directory on the indexed
/// ancestor directories, as `path:` uses), nor the chunk documents that store long texts (a query such
/// as `-word` starts from every document: see `fandex_schema::chunks`); scores are unchanged.
pub(crate) fn without_subtrees(
    query: Box<dyn Query>,
    fields: &Fields,
    dirs: &[std::path::PathBuf],
) -> Box<dyn Query> {
    let mut clauses = vec![(Occur::Must, query)];
    clauses.extend(
        subtree_exclusions(fields, dirs)
            .into_iter()
            .map(|q| (Occur::MustNot, q)),
    );
    Box::new(BooleanQuery::new(clauses))
}

/// What [`without_subtrees`] excludes: the chunk documents, then the documents under each of `dirs`.
pub(crate) fn subtree_exclusions(
    fields: &Fields,
    dirs: &[std::path::PathBuf],
) -> Vec<Box<dyn Query>> {
    let mut excluded = Vec::with_capacity(dirs.len() + 1);
    let chunks = fandex_schema::chunks::chunk_marker(fields);
    excluded.push(filter(Box::new(TermQuery::new(
        chunks,
        IndexRecordOption::Basic,
    ))));
    for dir in dirs {
        let term = Term::from_field_bytes(fields.dirs, dir.as_os_str().as_bytes());
        let q: Box<dyn Query> = Box::new(TermQuery::new(term, IndexRecordOption::Basic));
        excluded.push(q);
    }
    excluded
}

/// The queries of a fuzzy word: on the content then the name (the name only for `name:`). A fuzzy match
/// scores a constant 1 per field (tantivy's automaton queries do not use BM25), so nothing about other
/// documents enters its score. Transposing two adjacent characters is one edit.
fn fuzzy_queries(expr: &Expr, fields: &Fields) -> Vec<Box<dyn Query>> {
    let Expr::Fuzzy {
        scope,
        term,
        distance,
    } = expr
    else {
        return Vec::new();
    };
    let mut out: Vec<Box<dyn Query>> = Vec::new();
    let searched: &[Field] = match scope {
        Scope::ContentOrName => &[fields.content, fields.name],
        Scope::Name => &[fields.name],
        Scope::Title => &[fields.title],
        Scope::Author => &[fields.author],
        Scope::Subject => &[fields.subject],
    };
    for &field in searched {
        let term = Term::from_field_text(field, term);
        out.push(Box::new(FuzzyTermQuery::new(term, *distance, true)));
    }
    out
}

/// The queries a text match is the union of, in scoring order: the exact terms on each field of its scope
/// (see [`scope_fields`]), then, for a bare word or `name:`, each stem on the content's then the name's
/// stem field.
fn text_leaves(m: &TextMatch, fields: &Fields) -> Vec<Box<dyn Query>> {
    let mut leaves: Vec<Box<dyn Query>> = scope_fields(m.scope, fields)
        .into_iter()
        .map(|field| text_query(field, m))
        .collect();
    leaves.extend(stem_terms(m, fields).into_iter().map(term_query));
    leaves
}

/// The stem terms of a text match, in [`text_leaves`]' order: for a bare word or `name:`, each stem on
/// the content's (a bare word only) then the name's stem field.
fn stem_terms(m: &TextMatch, fields: &Fields) -> Vec<Term> {
    let content = m.scope == Scope::ContentOrName;
    let stemmed = matches!(m.scope, Scope::ContentOrName | Scope::Name);
    let mut terms = Vec::new();
    for stem in m.stems.iter().filter(|_| stemmed) {
        for field in [fields.content_stem, fields.name_stem] {
            if field == fields.content_stem && !content {
                continue;
            }
            terms.push(Term::from_field_text(field, stem));
        }
    }
    terms
}

/// A scored single term, as a word is searched on one field.
fn term_query(term: Term) -> Box<dyn Query> {
    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))
}

/// How the text score of a match adds up from the scores of single terms, in the order and grouping
/// tantivy adds them for [`compile`]'s query: a word's score is the sum of its terms' in
/// [`text_leaves`]' order (a union of term scorers sums the ones on the document, in clause order,
/// starting from 0), an `OR` the sum of its branches' that match, in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TermSum {
    /// The score of the term at this index of [`WordQuery::terms`] (when the document holds it).
    Term(usize),
    /// The sum of the parts that match, in order, from 0 (none matching: no match).
    Sum(Vec<TermSum>),
}

/// A query made of single words alone (bare or in one field), joined by `OR`, with excluded parts
/// beside them at the top: the shape whose matches are exactly the documents holding one of its
/// `terms` and none of its `excluded` queries, scored as `sum` adds the terms' scores up (see
/// `crate::prune`).
pub(crate) struct WordQuery {
    /// Every scored term, in the order [`compile`]'s query scores them (a term may come twice).
    pub(crate) terms: Vec<Term>,
    pub(crate) sum: TermSum,
    /// The negated parts of the top-level `AND`, compiled as [`compile`] compiles them.
    pub(crate) excluded: Vec<Box<dyn Query>>,
}

/// `expr` as a [`WordQuery`] when it is one: words (one term each, neither a phrase nor a prefix),
/// `OR`s of them, and at the top an `AND` of one such part with negations; `None` for anything else
/// (filters, phrases, prefixes, fuzzy words, name patterns, an `AND` of several words).
pub(crate) fn word_query(
    expr: &Expr,
    fields: &Fields,
    env: &Env<'_>,
) -> Result<Option<WordQuery>, QueryError> {
    fn sum(expr: &Expr, fields: &Fields, terms: &mut Vec<Term>) -> Option<TermSum> {
        match expr {
            Expr::Text(m) if m.terms.len() == 1 && !m.prefix => {
                let mut words: Vec<Term> = scope_fields(m.scope, fields)
                    .into_iter()
                    .map(|field| Term::from_field_text(field, &m.terms[0]))
                    .collect();
                words.extend(stem_terms(m, fields));
                let first = terms.len();
                terms.extend(words);
                Some(TermSum::Sum(
                    (first..terms.len()).map(TermSum::Term).collect(),
                ))
            }
            Expr::Or(children) => children
                .iter()
                .map(|child| sum(child, fields, terms))
                .collect::<Option<Vec<_>>>()
                .map(TermSum::Sum),
            _ => None,
        }
    }
    let (positive, negated): (Vec<&Expr>, Vec<&Expr>) = match expr {
        Expr::And(children) => children.iter().partition(|c| !matches!(c, Expr::Not(_))),
        other => (vec![other], Vec::new()),
    };
    let [positive] = positive.as_slice() else {
        return Ok(None);
    };
    let mut terms = Vec::new();
    let Some(sum) = sum(positive, fields, &mut terms) else {
        return Ok(None);
    };
    let mut excluded = Vec::with_capacity(negated.len());
    for not in negated {
        if let Expr::Not(inner) = not {
            excluded.push(compile(inner, fields, env)?);
        }
    }
    Ok(Some(WordQuery {
        terms,
        sum,
        excluded,
    }))
}

/// Every document, scoring 0.
fn everything() -> Box<dyn Query> {
    filter(Box::new(AllQuery))
}

/// A query that selects documents without adding to their score.
fn filter(query: Box<dyn Query>) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(query, 0.0))
}

/// A term, phrase or (phrase) prefix query on one text field.
fn text_query(field: Field, m: &TextMatch) -> Box<dyn Query> {
    let terms: Vec<Term> = m
        .terms
        .iter()
        .map(|t| Term::from_field_text(field, t))
        .collect();
    // Phrase scorers go through `ForwardOnly`: see the `guard` module.
    if m.prefix {
        let mut q = PhrasePrefixQuery::new(terms);
        q.set_max_expansions(MAX_PHRASE_PREFIX_EXPANSIONS);
        return Box::new(ForwardOnly(q));
    }
    match <[Term; 1]>::try_from(terms) {
        Ok([term]) => term_query(term),
        Err(terms) => Box::new(ForwardOnly(PhraseQuery::new(terms))),
    }
}

/// Makes a `path:` value absolute and lexically normal, as the exact bytes the `dirs` field holds.
///
/// `~` and `~/x` expand to `home`; any other relative value is joined to `cwd`. `.` components,
/// duplicate and trailing slashes are dropped and `..` removes the previous component (never going above
/// `/`).
pub(crate) fn resolve_dir(
    dir: &str,
    cwd: &Path,
    home: Option<&OsStr>,
    position: usize,
) -> Result<Vec<u8>, QueryError> {
    let error = |message: &str| QueryError::Syntax {
        message: message.to_owned(),
        position,
    };
    let absolute = |base: &[u8], rest: &[u8], what: &str| {
        if !base.starts_with(b"/") {
            return Err(error(what));
        }
        let mut joined = base.to_vec();
        joined.push(b'/');
        joined.extend_from_slice(rest);
        Ok(joined)
    };
    let joined = if dir == "~" || dir.starts_with("~/") {
        let home = home
            .filter(|h| !h.is_empty())
            .ok_or_else(|| error("'~' cannot be expanded: $HOME is not set"))?;
        absolute(
            home.as_bytes(),
            &dir.as_bytes()[1..],
            "'~' cannot be expanded: $HOME is not an absolute path",
        )?
    } else if dir.starts_with('/') {
        dir.as_bytes().to_vec()
    } else {
        absolute(
            cwd.as_os_str().as_bytes(),
            dir.as_bytes(),
            "this path is relative and the working directory of the search is not absolute",
        )?
    };
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in joined.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    if parts.is_empty() {
        return Ok(b"/".to_vec());
    }
    let mut out = Vec::with_capacity(joined.len());
    for part in parts {
        out.push(b'/');
        out.extend_from_slice(part);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(dir: &str, cwd: &[u8], home: Option<&[u8]>) -> Result<Vec<u8>, QueryError> {
        resolve_dir(
            dir,
            Path::new(OsStr::from_bytes(cwd)),
            home.map(OsStr::from_bytes),
            9,
        )
    }

    #[test]
    fn absolute_paths_are_normalized() {
        assert_eq!(resolve("/a/b", b"/x", None).unwrap(), b"/a/b");
        assert_eq!(resolve("/a//b/", b"/x", None).unwrap(), b"/a/b");
        assert_eq!(resolve("/a/./b/../c", b"/x", None).unwrap(), b"/a/c");
        assert_eq!(resolve("/../..", b"/x", None).unwrap(), b"/");
        assert_eq!(resolve("/", b"/x", None).unwrap(), b"/");
        assert_eq!(resolve("//", b"/x", None).unwrap(), b"/");
    }

    #[test]
    fn relative_paths_join_the_working_directory() {
        assert_eq!(resolve("src", b"/w/p", None).unwrap(), b"/w/p/src");
        assert_eq!(resolve("./src/", b"/w/p/", None).unwrap(), b"/w/p/src");
        assert_eq!(resolve("..", b"/w/p", None).unwrap(), b"/w");
        assert_eq!(resolve(".", b"/w/p", None).unwrap(), b"/w/p");
        assert_eq!(resolve("~x", b"/w", None).unwrap(), b"/w/~x");
        // The working directory's bytes need not be UTF-8.
        assert_eq!(resolve("a", b"/w/\xff", None).unwrap(), b"/w/\xff/a");
    }

    #[test]
    fn tilde_expands_to_home() {
        assert_eq!(resolve("~", b"/w", Some(b"/home/u")).unwrap(), b"/home/u");
        assert_eq!(
            resolve("~/d/", b"/w", Some(b"/home/u/")).unwrap(),
            b"/home/u/d"
        );
        match resolve("~/d", b"/w", None) {
            Err(QueryError::Syntax { message, position }) => {
                assert_eq!(position, 9);
                assert!(message.contains("HOME"), "{message}");
            }
            other => panic!("expected an error, got {other:?}"),
        }
        assert!(resolve("~", b"/w", Some(b"")).is_err());
    }

    #[test]
    fn relative_to_a_relative_directory_is_an_error() {
        assert!(resolve("src", b"", None).is_err());
        assert!(resolve("src", b"rel", None).is_err());
        assert!(resolve("~", b"/w", Some(b"rel")).is_err());
    }
}
