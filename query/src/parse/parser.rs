//! The recursive-descent parser: tokens to an [`Expr`], words analyzed into terms, with the nesting bound
//! and every syntax error found after lexing.

use fandex_schema::{is_cjk_unigram, tokenize};

use super::ast::{Expr, Scope, TextMatch};
use super::glob::{self, NamePattern};
use super::lex::{FieldKind, Tok, TokKind};
use super::{doctype, filter};
use crate::error::{QueryError, syntax};
use crate::limits::MAX_NESTING;

/// The parser's state: the tokens and how far it has read them.
pub(super) struct Parser {
    pub(super) tokens: Vec<Tok>,
    pub(super) next: usize,
    /// Position one past the last character, for errors about the end of the query.
    pub(super) end: usize,
    /// How many parentheses and negations enclose the current item.
    pub(super) depth: usize,
    /// The names mode of [`super::parse_names`]: bare words and quoted texts are name patterns.
    pub(super) names: bool,
}

impl Parser {
    pub(super) fn peek(&self) -> Option<&Tok> {
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
    pub(super) fn parse_and(&mut self) -> Result<Option<Expr>, QueryError> {
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
            TokKind::Word(word) if self.names => {
                let pattern = if glob::is_pattern(&word) || word.contains('*') {
                    NamePattern::parse(&word, tok.position)?
                } else {
                    NamePattern::containing(&word)
                };
                Ok(Some(Expr::NamePattern(pattern)))
            }
            TokKind::Quoted(text) if self.names => {
                Ok(Some(Expr::NamePattern(NamePattern::containing(&text))))
            }
            TokKind::Word(word) => word_match(&word, tok.position, Scope::ContentOrName),
            TokKind::Quoted(text) => Ok(phrase(&text, Scope::ContentOrName, true)),
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

/// A phrase (quoted, or a word split by punctuation): all its tokens, in order; ignored when it has
/// none. One CJK character is searched as a prefix (see [`is_cjk_unigram`]).
fn phrase(text: &str, scope: Scope, exact: bool) -> Option<Expr> {
    let terms = tokenize(text);
    let prefix = terms.len() == 1 && is_cjk_unigram(&terms[0]);
    (!terms.is_empty()).then_some(Expr::Text(TextMatch {
        scope,
        terms,
        prefix,
        exact,
        stems: Vec::new(),
    }))
}

/// `=word`: the exact form of the word only (no stems).
fn exact_word(body: &str, position: usize, scope: Scope) -> Result<Option<Expr>, QueryError> {
    if body.is_empty() {
        return Err(syntax(
            "'=' must be followed by the word to match exactly (=word)",
            position,
        ));
    }
    if let Some(at) = body.chars().position(|c| c == '*' || c == '~') {
        return Err(syntax(
            "'=' asks for the exact form of a word; it cannot be combined with '*' or '~'",
            position + 1 + at,
        ));
    }
    Ok(phrase(body, scope, true))
}

/// An unquoted word, possibly starting with the exact marker `=` or ending with the prefix wildcard
/// `*` or the fuzzy marker `~`/`~N`.
fn word_match(word: &str, position: usize, scope: Scope) -> Result<Option<Expr>, QueryError> {
    if let Some(body) = word.strip_prefix('=') {
        return exact_word(body, position, scope);
    }
    if let Some(fuzzy) = fuzzy_match(word, position, scope) {
        return fuzzy.map(Some);
    }
    let chars: Vec<char> = word.chars().collect();
    let stars: Vec<usize> = chars
        .iter()
        .enumerate()
        .filter(|&(_, &c)| c == '*')
        .map(|(i, _)| i)
        .collect();
    let Some(&last_star) = stars.last() else {
        return Ok(phrase(word, scope, false));
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
        exact: false,
        stems: Vec::new(),
    })))
}

/// `word~` or `word~N` (N from 0 to 2); `None` when `word` does not end that way. Without N the distance
/// follows the length of the word in characters, as Elasticsearch's `AUTO`: 0 up to 2 characters, 1
/// from 3 to 5, 2 from 6 on.
fn fuzzy_match(word: &str, position: usize, scope: Scope) -> Option<Result<Expr, QueryError>> {
    let tilde = word.rfind('~')?;
    let (body, marker) = (&word[..tilde], &word[tilde + 1..]);
    let tilde_at = position + word[..tilde].chars().count();
    if !(marker.is_empty() || marker.len() == 1 && marker.as_bytes()[0].is_ascii_digit()) {
        return None;
    }
    let mut terms = tokenize(body);
    match terms.len() {
        0 => None,
        1 => Some(fuzzy_expr(terms.remove(0), marker, tilde_at, scope)),
        _ => Some(Err(syntax(
            "'~' makes one word fuzzy; it cannot follow punctuation or a phrase",
            tilde_at,
        ))),
    }
}

fn fuzzy_expr(
    term: String,
    marker: &str,
    tilde_at: usize,
    scope: Scope,
) -> Result<Expr, QueryError> {
    let distance = match marker.parse::<u8>() {
        Ok(d) if d <= 2 => d,
        Ok(_) => {
            return Err(syntax(
                "a fuzzy word allows at most 2 edits (word~2)",
                tilde_at + 1,
            ));
        }
        Err(_) => match term.chars().count() {
            0..=2 => 0,
            3..=5 => 1,
            _ => 2,
        },
    };
    Ok(Expr::Fuzzy {
        scope,
        term,
        distance,
    })
}

fn field_expr(
    field: FieldKind,
    value: &str,
    quoted: bool,
    value_position: usize,
) -> Result<Option<Expr>, QueryError> {
    let text_scope = match field {
        FieldKind::Name => Some(Scope::Name),
        FieldKind::Title => Some(Scope::Title),
        FieldKind::Author => Some(Scope::Author),
        FieldKind::Subject => Some(Scope::Subject),
        _ => None,
    };
    match field {
        FieldKind::Name if !quoted && glob::is_pattern(value) => Ok(Some(Expr::NamePattern(
            NamePattern::parse(value, value_position)?,
        ))),
        FieldKind::Name | FieldKind::Title | FieldKind::Author | FieldKind::Subject => {
            let scope = text_scope.unwrap_or(Scope::Name);
            if quoted {
                Ok(phrase(value, scope, true))
            } else {
                word_match(value, value_position, scope)
            }
        }
        FieldKind::Mime => doctype::mime(value, value_position).map(Some),
        FieldKind::Type => doctype::types(value, value_position).map(Some),
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
        FieldKind::Size => Ok(Some(Expr::Size(filter::size_range(value, value_position)?))),
        FieldKind::Modified => Ok(Some(Expr::Modified(filter::time_range(
            value,
            value_position,
        )?))),
    }
}
