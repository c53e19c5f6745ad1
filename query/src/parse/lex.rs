//! The lexer: query characters to tokens (parentheses, operators, words, quoted text, `field:value`).

use crate::error::{QueryError, syntax};

/// The field filters the language knows, as written before the colon.
pub const KNOWN_FIELDS: [&str; 11] = [
    "name", "ext", "path", "size", "modified", "mtime", "title", "author", "subject", "mime",
    "type",
];

/// A field filter recognized by the lexer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FieldKind {
    Name,
    Ext,
    Path,
    Size,
    /// `modified:` or its alias `mtime:`.
    Modified,
    Title,
    Author,
    Subject,
    Mime,
    Type,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TokKind {
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
pub(super) struct Tok {
    pub(super) kind: TokKind,
    /// 1-based character position of the token's first character.
    pub(super) position: usize,
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

pub(super) fn lex(chars: &[char]) -> Result<Vec<Tok>, QueryError> {
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
        "size" => FieldKind::Size,
        "modified" | "mtime" => FieldKind::Modified,
        "title" => FieldKind::Title,
        "author" => FieldKind::Author,
        "subject" => FieldKind::Subject,
        "mime" => FieldKind::Mime,
        "type" => FieldKind::Type,
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
