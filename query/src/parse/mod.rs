//! The query language: a lexer and a recursive-descent parser that turn a query string into an [`Expr`].
//!
//! This module knows nothing of tantivy queries; the crate's compiler turns the tree into one. Words are
//! tokenized here, with [`fandex_schema::tokenize`], so that the tree holds exactly the terms
//! the index holds and so that a query left with nothing to search is reported as a syntax error.
//!
//! Grammar (`AND` binds loosest, then `OR`, then negation):
//!
//! ```text
//! query   := and EOF
//! and     := or ( "AND"? or )*
//! or      := unary ( "OR" unary )*
//! unary   := ( "-" | "NOT" ) unary | primary
//! primary := "(" and ")" | WORD | "PHRASE" | FIELD ":" VALUE
//! ```
//!
//! Error positions are 1-based character (not byte) indexes into the query; an error about the end of
//! the query points one past its last character.

use fandex_schema::tokenize;

use crate::{QueryError, limits};

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// Every child must match (`a b`, `a AND b`). Children that are [`Expr::Not`] exclude; when every
    /// child excludes, the node matches every document not excluded.
    And(Vec<Expr>),
    /// At least one child must match (`a OR b`).
    Or(Vec<Expr>),
    /// Documents that do not match the child (`-a`, `NOT a`).
    Not(Box<Expr>),
    /// A word, phrase or prefix search.
    Text(TextMatch),
    /// `ext:md,txt`: the file's extension is one of these (lowercased, without a leading dot).
    Ext(Vec<String>),
    /// `path:DIR`: the file lies somewhere under this directory.
    Path {
        /// The directory as written in the query (quotes removed); resolved against the request's
        /// working directory and `$HOME` when the query is compiled.
        dir: String,
        /// 1-based character position of the value in the query, for errors found while resolving it.
        position: usize,
    },
}

/// Where a [`TextMatch`] looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// A bare word or phrase: the content or the file name.
    ContentOrName,
    /// `name:`: the file name only.
    Name,
}

/// A sequence of analyzed terms that must appear in this order at consecutive positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextMatch {
    /// Which fields are searched.
    pub scope: Scope,
    /// The analyzed terms (lowercased, accents folded); never empty.
    pub terms: Vec<String>,
    /// When true, the last term is a prefix (`foo*`, `foo-ba*`).
    pub prefix: bool,
}

pub use crate::limits::MAX_NESTING;

/// The field filters the language knows, as written before the colon.
pub const KNOWN_FIELDS: [&str; 3] = ["name", "ext", "path"];

/// Parses a query string into an expression tree.
///
/// Returns [`QueryError::Syntax`] for an empty query, an unbalanced quote or parenthesis, a dangling
/// `OR`/`AND`/`NOT`/`-`, a misplaced `*`, an unknown or empty field, or a query in which no word has
/// anything to search (only punctuation). Returns [`QueryError::TooLarge`] for a query beyond one of the
/// bounds of [`crate::limits`] (its text before anything else is done).
pub fn parse(query: &str) -> Result<Expr, QueryError> {
    limits::check_query_text(query)?;
    let chars: Vec<char> = query.chars().collect();
    let tokens = lex(&chars)?;
    if tokens.is_empty() {
        return Err(syntax("empty query", 1));
    }
    let mut parser = Parser {
        tokens,
        next: 0,
        end: chars.len() + 1,
        depth: 0,
    };
    let expr = parser.parse_and()?;
    if let Some(tok) = parser.peek() {
        // parse_and only stops early at a ')'.
        return Err(syntax(
            "unbalanced ')': there is no '(' to close",
            tok.position,
        ));
    }
    let expr = expr.ok_or_else(|| {
        syntax(
            "nothing to search: the query has no letters or digits outside of exclusions",
            1,
        )
    })?;
    limits::check_expr(&expr)?;
    Ok(expr)
}

fn syntax(message: impl Into<String>, position: usize) -> QueryError {
    QueryError::Syntax {
        message: message.into(),
        position,
    }
}

/// A field filter recognized by the lexer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    Name,
    Ext,
    Path,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum TokKind {
    LParen,
    RParen,
    /// `-` directly before an item.
    Minus,
    And,
    Or,
    Not,
    /// An unquoted word, `*` included.
    Word(String),
    /// The text between double quotes.
    Quoted(String),
    /// `field:value`; `value_position` is where the value starts (after the quote when quoted).
    Field {
        field: FieldKind,
        value: String,
        quoted: bool,
        value_position: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Tok {
    kind: TokKind,
    /// 1-based character position of the token's first character.
    position: usize,
}

/// Characters that end an unquoted word.
fn ends_word(c: char) -> bool {
    c.is_whitespace() || c == '(' || c == ')' || c == '"'
}

/// Finds the closing quote for the quote at `open`; returns the text between and the index after it.
fn quoted(chars: &[char], open: usize) -> Result<(String, usize), QueryError> {
    let close = chars[open + 1..]
        .iter()
        .position(|&c| c == '"')
        .map(|off| open + 1 + off)
        .ok_or_else(|| syntax("unbalanced '\"': this quote is never closed", open + 1))?;
    Ok((chars[open + 1..close].iter().collect(), close + 1))
}

fn lex(chars: &[char]) -> Result<Vec<Tok>, QueryError> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let position = i + 1;
        let kind = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => {
                i += 1;
                TokKind::LParen
            }
            ')' => {
                i += 1;
                TokKind::RParen
            }
            '"' => {
                let (text, after) = quoted(chars, i)?;
                i = after;
                TokKind::Quoted(text)
            }
            '-' if chars
                .get(i + 1)
                .is_some_and(|&n| !n.is_whitespace() && n != ')') =>
            {
                i += 1;
                TokKind::Minus
            }
            _ => {
                let start = i;
                while i < chars.len() && !ends_word(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                match word.as_str() {
                    "AND" => TokKind::And,
                    "OR" => TokKind::Or,
                    "NOT" => TokKind::Not,
                    _ => match field_prefix(&word) {
                        Some(name_len) => {
                            let (kind, after) = lex_field(chars, start, name_len, i)?;
                            i = after;
                            kind
                        }
                        None => TokKind::Word(word),
                    },
                }
            }
        };
        tokens.push(Tok { kind, position });
    }
    Ok(tokens)
}

/// When `word` starts with ASCII letters followed by a colon, the number of letters.
fn field_prefix(word: &str) -> Option<usize> {
    let letters = word.bytes().take_while(u8::is_ascii_alphabetic).count();
    (letters > 0 && word.as_bytes().get(letters) == Some(&b':')).then_some(letters)
}

/// Lexes `field:value` starting at `start`; the unquoted word ends at `word_end`. Returns the token and
/// the index after it.
fn lex_field(
    chars: &[char],
    start: usize,
    name_len: usize,
    word_end: usize,
) -> Result<(TokKind, usize), QueryError> {
    let name: String = chars[start..start + name_len].iter().collect();
    let field = match name.to_ascii_lowercase().as_str() {
        "name" => FieldKind::Name,
        "ext" => FieldKind::Ext,
        "path" => FieldKind::Path,
        _ => {
            let word: String = chars[start..word_end].iter().collect();
            let known: Vec<String> = KNOWN_FIELDS.iter().map(|f| format!("{f}:")).collect();
            return Err(syntax(
                format!(
                    "unknown field '{name}:'; the known fields are {}; to search for the text \
                     itself, put it in double quotes: \"{word}\"",
                    known.join(", ")
                ),
                start + 1,
            ));
        }
    };
    let value_start = start + name_len + 1;
    if value_start == word_end && chars.get(word_end) == Some(&'"') {
        let (value, after) = quoted(chars, word_end)?;
        if value.is_empty() {
            return Err(syntax(format!("empty value for '{name}:'"), word_end + 1));
        }
        return Ok((
            TokKind::Field {
                field,
                value,
                quoted: true,
                value_position: word_end + 2,
            },
            after,
        ));
    }
    if value_start == word_end {
        return Err(syntax(
            format!("empty value for '{name}:': write the value right after the colon"),
            value_start + 1,
        ));
    }
    Ok((
        TokKind::Field {
            field,
            value: chars[value_start..word_end].iter().collect(),
            quoted: false,
            value_position: value_start + 1,
        },
        word_end,
    ))
}

struct Parser {
    tokens: Vec<Tok>,
    next: usize,
    /// Position one past the last character, for errors about the end of the query.
    end: usize,
    /// How many parentheses and negations enclose the current item.
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.next)
    }

    fn bump(&mut self) -> Option<Tok> {
        let tok = self.tokens.get(self.next).cloned();
        self.next += 1;
        tok
    }

    /// Enters one more level of nesting at the operator at `position`.
    fn nest(&mut self, position: usize) -> Result<(), QueryError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(syntax(
                format!("more than {MAX_NESTING} nested parentheses or negations"),
                position,
            ));
        }
        Ok(())
    }

    /// True when the next token can start an item (so an operator before it is not dangling).
    fn item_follows(&self) -> bool {
        !matches!(
            self.peek().map(|t| &t.kind),
            None | Some(TokKind::RParen | TokKind::Or | TokKind::And)
        )
    }

    /// `and := or ( "AND"? or )*`, stopping before a `)` or the end. `None` when every item was ignored.
    fn parse_and(&mut self) -> Result<Option<Expr>, QueryError> {
        let mut items = Vec::new();
        let mut seen_item = false;
        while let Some(tok) = self.peek() {
            match tok.kind {
                TokKind::RParen => break,
                TokKind::And => {
                    let position = tok.position;
                    self.bump();
                    if !seen_item || !self.item_follows() {
                        return Err(syntax(
                            "dangling AND: it must stand between two items",
                            position,
                        ));
                    }
                }
                TokKind::Or => {
                    return Err(syntax(
                        "dangling OR: it must stand between two items",
                        tok.position,
                    ));
                }
                _ => {
                    seen_item = true;
                    if let Some(expr) = self.parse_or()? {
                        items.push(expr);
                    }
                }
            }
        }
        Ok(combine(items, Expr::And))
    }

    /// `or := unary ( "OR" unary )*`
    fn parse_or(&mut self) -> Result<Option<Expr>, QueryError> {
        let mut alternatives: Vec<Expr> = self.parse_unary()?.into_iter().collect();
        while let Some(tok) = self.peek() {
            if tok.kind != TokKind::Or {
                break;
            }
            let position = tok.position;
            self.bump();
            if !self.item_follows() {
                return Err(syntax(
                    "dangling OR: it must stand between two items",
                    position,
                ));
            }
            alternatives.extend(self.parse_unary()?);
        }
        Ok(combine(alternatives, Expr::Or))
    }

    /// `unary := ( "-" | "NOT" ) unary | primary`
    fn parse_unary(&mut self) -> Result<Option<Expr>, QueryError> {
        let Some(tok) = self.peek() else {
            return Err(syntax(
                "the query ends where an item was expected",
                self.end,
            ));
        };
        match tok.kind {
            TokKind::Minus | TokKind::Not => {
                let position = tok.position;
                let what = if tok.kind == TokKind::Not {
                    "NOT"
                } else {
                    "'-'"
                };
                self.bump();
                if !self.item_follows() {
                    return Err(syntax(
                        format!("dangling {what}: it must be followed by the item to exclude"),
                        position,
                    ));
                }
                self.nest(position)?;
                let inner = self.parse_unary()?;
                self.depth -= 1;
                Ok(inner.map(|e| Expr::Not(Box::new(e))))
            }
            _ => self.parse_primary(),
        }
    }

    fn parse_primary(&mut self) -> Result<Option<Expr>, QueryError> {
        let Some(tok) = self.bump() else {
            return Err(syntax(
                "the query ends where an item was expected",
                self.end,
            ));
        };
        match tok.kind {
            TokKind::LParen => {
                if self.peek().is_some_and(|t| t.kind == TokKind::RParen) {
                    return Err(syntax("empty parentheses", tok.position));
                }
                self.nest(tok.position)?;
                let inner = self.parse_and()?;
                self.depth -= 1;
                match self.bump() {
                    Some(Tok {
                        kind: TokKind::RParen,
                        ..
                    }) => Ok(inner),
                    _ => Err(syntax("unbalanced '(': it is never closed", tok.position)),
                }
            }
            TokKind::RParen => Err(syntax(
                "unbalanced ')': there is no '(' to close",
                tok.position,
            )),
            TokKind::And | TokKind::Or | TokKind::Not | TokKind::Minus => Err(syntax(
                "an operator stands where an item was expected",
                tok.position,
            )),
            TokKind::Word(word) => word_match(&word, tok.position, Scope::ContentOrName),
            TokKind::Quoted(text) => Ok(phrase(&text, Scope::ContentOrName)),
            TokKind::Field {
                field,
                value,
                quoted,
                value_position,
            } => field_expr(field, &value, quoted, value_position),
        }
    }
}

/// Folds the children of an AND or OR: nothing left means the node is ignored, one child stands alone.
fn combine(mut items: Vec<Expr>, node: fn(Vec<Expr>) -> Expr) -> Option<Expr> {
    match items.len() {
        0 => None,
        1 => items.pop(),
        _ => Some(node(items)),
    }
}

/// A quoted phrase: all its tokens, in order; ignored when it has none.
fn phrase(text: &str, scope: Scope) -> Option<Expr> {
    let terms = tokenize(text);
    (!terms.is_empty()).then_some(Expr::Text(TextMatch {
        scope,
        terms,
        prefix: false,
    }))
}

/// An unquoted word, possibly ending with the prefix wildcard `*`.
fn word_match(word: &str, position: usize, scope: Scope) -> Result<Option<Expr>, QueryError> {
    let chars: Vec<char> = word.chars().collect();
    let stars: Vec<usize> = chars
        .iter()
        .enumerate()
        .filter(|&(_, &c)| c == '*')
        .map(|(i, _)| i)
        .collect();
    let Some(&last_star) = stars.last() else {
        return Ok(phrase(word, scope));
    };
    if chars.len() == 1 {
        return Err(syntax(
            "a lone '*' is not a search; to match every file, exclude something that no file \
             contains, or search a field such as path:/",
            position,
        ));
    }
    if stars.len() > 1 || last_star != chars.len() - 1 {
        return Err(syntax(
            "'*' is only allowed at the end of a word (prefix search); put the word in double \
             quotes to search it literally",
            position + stars[0],
        ));
    }
    let body = &chars[..last_star];
    if !body.last().is_some_and(|c| c.is_alphanumeric()) {
        return Err(syntax(
            "'*' must directly follow a letter or digit",
            position + last_star,
        ));
    }
    let body_text: String = body.iter().collect();
    let terms = tokenize(&body_text);
    // The last run of letters and digits is the prefix. When it is too long to be indexed, indexing
    // dropped it from documents too, so the rest of the word is searched as a plain phrase.
    let run_start = body
        .iter()
        .rposition(|c| !c.is_alphanumeric())
        .map_or(0, |i| i + 1);
    let run: String = body[run_start..].iter().collect();
    let prefix = !tokenize(&run).is_empty();
    Ok((!terms.is_empty()).then_some(Expr::Text(TextMatch {
        scope,
        terms,
        prefix,
    })))
}

fn field_expr(
    field: FieldKind,
    value: &str,
    quoted: bool,
    value_position: usize,
) -> Result<Option<Expr>, QueryError> {
    match field {
        FieldKind::Name if quoted => Ok(phrase(value, Scope::Name)),
        FieldKind::Name => word_match(value, value_position, Scope::Name),
        FieldKind::Ext => {
            if let Some(star) = value.chars().position(|c| c == '*') {
                return Err(syntax(
                    "ext: takes exact extensions (ext:md or ext:md,txt), not patterns",
                    value_position + star,
                ));
            }
            let exts: Vec<String> = value
                .split(',')
                .map(|e| e.strip_prefix('.').unwrap_or(e).to_lowercase())
                .filter(|e| !e.is_empty())
                .collect();
            if exts.is_empty() {
                return Err(syntax(
                    "empty value for 'ext:': give an extension such as ext:md",
                    value_position,
                ));
            }
            Ok(Some(Expr::Ext(exts)))
        }
        FieldKind::Path => {
            if !quoted && let Some(star) = value.chars().position(|c| c == '*') {
                return Err(syntax(
                    "path: takes a directory, not a pattern; put it in double quotes if the \
                     name really contains '*'",
                    value_position + star,
                ));
            }
            Ok(Some(Expr::Path {
                dir: value.to_owned(),
                position: value_position,
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(scope: Scope, terms: &[&str], prefix: bool) -> Expr {
        Expr::Text(TextMatch {
            scope,
            terms: terms.iter().map(|t| t.to_string()).collect(),
            prefix,
        })
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
            text(Scope::ContentOrName, &["hello", "world"], false)
        );
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
            not(text(Scope::ContentOrName, &["b", "c"], false))
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
            text(Scope::ContentOrName, &["foo"], false)
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
            text(Scope::Name, &["a", "b"], false)
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
            text(Scope::ContentOrName, &["http", "x"], false)
        );
    }

    #[test]
    fn syntax_errors_with_positions() {
        fails("", 1, "empty query");
        fails("   ", 1, "empty query");
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
        fails("name:*", 6, "lone '*'");
        fails("name:a*b", 7, "end of a word");
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
}
