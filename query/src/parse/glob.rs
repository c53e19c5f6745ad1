//! `name:` glob patterns: `*` (any run of characters), `?` (one character), `[abc]`, `[a-z]`, `[!x]`
//! (`[^x]`) classes and `\` escaping the next character; matched case-insensitively against the whole
//! [folded](fandex_schema::fold_name) file name. Also the literal runs whose n-grams narrow a pattern to
//! its candidates.

use fandex_schema::{NAME_GRAM_CHARS, fold_name};

use crate::error::{QueryError, syntax};

/// One element of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// This character (already lowercased).
    Char(char),
    /// `?`: any one character.
    One,
    /// `*`: any run of characters, empty included.
    Star,
    /// `[...]`: one character in (or, when `negated`, not in) these inclusive ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A parsed, lowercased glob pattern over a whole file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamePattern {
    pieces: Vec<Piece>,
}

/// True when `value` (a `name:` value as written) uses glob syntax beyond today's trailing prefix `*`:
/// a `?`, a `[`, a `\`, a `*` anywhere but at the end, or a final `*` after a character that is not a
/// letter or digit (`name:*`, `name:report-*`).
pub(crate) fn is_pattern(value: &str) -> bool {
    let chars: Vec<char> = value.chars().collect();
    if chars.iter().any(|&c| c == '?' || c == '[' || c == '\\') {
        return true;
    }
    let stars = chars.iter().filter(|&&c| c == '*').count();
    match stars {
        0 => false,
        1 => {
            chars.last() != Some(&'*')
                || !chars
                    .len()
                    .checked_sub(2)
                    .is_some_and(|i| chars[i].is_alphanumeric())
        }
        _ => true,
    }
}

impl NamePattern {
    /// Parses `pattern`; `position` is where it starts in the query (1-based), for errors.
    pub fn parse(pattern: &str, position: usize) -> Result<Self, QueryError> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut pieces = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '*' => {
                    if pieces.last() != Some(&Piece::Star) {
                        pieces.push(Piece::Star);
                    }
                    i += 1;
                }
                '?' => {
                    pieces.push(Piece::One);
                    i += 1;
                }
                '\\' => {
                    let Some(&c) = chars.get(i + 1) else {
                        return Err(syntax(
                            "'\\' at the end of a name pattern: it escapes the character after it",
                            position + i,
                        ));
                    };
                    pieces.extend(lower(c).map(Piece::Char));
                    i += 2;
                }
                '[' => {
                    let (class, after) = parse_class(&chars, i, position)?;
                    pieces.push(class);
                    i = after;
                }
                c => {
                    pieces.extend(lower(c).map(Piece::Char));
                    i += 1;
                }
            }
        }
        Ok(Self { pieces })
    }

    /// A pattern matching names that contain `text` literally (wildcard characters in it included),
    /// as `locate TEXT` does: `*text*`.
    pub fn containing(text: &str) -> Self {
        let mut pieces = vec![Piece::Star];
        for c in text.chars() {
            pieces.extend(lower(c).map(Piece::Char));
        }
        pieces.push(Piece::Star);
        Self { pieces }
    }

    /// Whether the whole of `name` (raw bytes of a file name) matches.
    pub fn matches(&self, name: &[u8]) -> bool {
        self.matches_folded(&fold_name(name))
    }

    /// Whether the whole of `folded` (an already [folded](fold_name) name) matches.
    pub fn matches_folded(&self, folded: &str) -> bool {
        let text: Vec<char> = folded.chars().collect();
        let (mut p, mut t) = (0, 0);
        // Where to resume after the last `*`: its piece index and the text index it now covers up to.
        let mut resume: Option<(usize, usize)> = None;
        while t < text.len() {
            match self.pieces.get(p) {
                Some(Piece::Star) => {
                    resume = Some((p, t));
                    p += 1;
                }
                Some(piece) if piece_matches(piece, text[t]) => {
                    p += 1;
                    t += 1;
                }
                _ => match resume {
                    Some((star, covered)) => {
                        p = star + 1;
                        t = covered + 1;
                        resume = Some((star, covered + 1));
                    }
                    None => return false,
                },
            }
        }
        self.pieces[p..].iter().all(|piece| *piece == Piece::Star)
    }

    /// The n-grams ([`NAME_GRAM_CHARS`] characters, as the `name_gram` field indexes them) that every
    /// matching name contains: those of each literal run of the pattern, without repeats. Empty when no
    /// run is that long (the pattern is then checked against every name).
    pub fn grams(&self) -> Vec<String> {
        let mut grams: Vec<String> = Vec::new();
        let mut run: Vec<char> = Vec::new();
        let mut flush = |run: &mut Vec<char>| {
            for window in run.windows(NAME_GRAM_CHARS) {
                let gram: String = window.iter().collect();
                if !grams.contains(&gram) {
                    grams.push(gram);
                }
            }
            run.clear();
        };
        for piece in &self.pieces {
            match piece {
                Piece::Char(c) => run.push(*c),
                _ => flush(&mut run),
            }
        }
        flush(&mut run);
        grams
    }
}

/// `c` lowercased as [`fold_name`] lowercases a name (one character may become several).
fn lower(c: char) -> impl Iterator<Item = char> {
    c.to_lowercase()
}

fn piece_matches(piece: &Piece, c: char) -> bool {
    match piece {
        Piece::Char(x) => *x == c,
        Piece::One => true,
        Piece::Star => false,
        Piece::Class { negated, ranges } => {
            ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
        }
    }
}

/// Parses the class starting with the `[` at `open`; returns it and the index after its `]`. A `]`
/// right after `[` or `[!` is a member; a `-` first or last is a member.
fn parse_class(chars: &[char], open: usize, position: usize) -> Result<(Piece, usize), QueryError> {
    let mut i = open + 1;
    let negated = matches!(chars.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let first = i;
    let mut members: Vec<char> = Vec::new();
    let mut ranges = Vec::new();
    loop {
        let Some(&c) = chars.get(i) else {
            return Err(syntax(
                "unclosed '[' in a name pattern: a class ends with ']'",
                position + open,
            ));
        };
        if c == ']' && i > first {
            break;
        }
        let c = if c == '\\' && i + 1 < chars.len() {
            i += 1;
            chars[i]
        } else {
            c
        };
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|&e| e != ']') {
            let end = chars[i + 2];
            let (lo, hi) = (single_lower(c), single_lower(end));
            if lo > hi {
                return Err(syntax(
                    format!("the range '{c}-{end}' in a name pattern is backwards"),
                    position + i,
                ));
            }
            ranges.push((lo, hi));
            i += 3;
        } else {
            members.push(c);
            i += 1;
        }
    }
    for c in members {
        for l in lower(c) {
            ranges.push((l, l));
        }
    }
    Ok((Piece::Class { negated, ranges }, i + 1))
}

/// The lowercase of `c` when it is one character, else `c` (range ends).
fn single_lower(c: char) -> char {
    let mut l = c.to_lowercase();
    match (l.next(), l.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, name: &str) -> bool {
        NamePattern::parse(pattern, 1)
            .unwrap()
            .matches(name.as_bytes())
    }

    #[test]
    fn wildcards_classes_and_case() {
        assert!(m("*port*", "Report-2024.PDF"));
        assert!(m("*PORT*", "report"));
        assert!(!m("*port*", "repo.rt"));
        assert!(m("report-202?.pdf", "report-2024.pdf"));
        assert!(!m("report-202?.pdf", "report-20245.pdf"));
        assert!(m("*.tar.gz", "a.b.TAR.GZ"));
        assert!(!m("*.tar.gz", "a.tar.gz.bak"));
        assert!(m("[abc]*", "Beta"));
        assert!(!m("[!abc]*", "beta"));
        assert!(m("[^abc]*", "delta"));
        assert!(m("x[0-9][0-9]", "X42"));
        assert!(m("[]]x", "]x"));
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "axb"));
        assert!(m("*ΚΑΛΗ*", "καλημέρα.txt"));
        assert!(m("?ä*", "Bär"));
        assert!(m("*", ""));
        assert!(m("**a**", "a"));
    }

    #[test]
    fn grams_come_from_literal_runs() {
        let p = NamePattern::parse("*Port?x.tar.gz", 1).unwrap();
        assert_eq!(
            p.grams(),
            ["por", "ort", "x.t", ".ta", "tar", "ar.", "r.g", ".gz"]
        );
        assert!(NamePattern::parse("a*b?cd", 1).unwrap().grams().is_empty());
        assert_eq!(NamePattern::containing("a*c").grams(), ["a*c"]);
    }

    #[test]
    fn what_counts_as_a_pattern() {
        assert!(!is_pattern("report"));
        assert!(!is_pattern("rep*"));
        assert!(is_pattern("*port"));
        assert!(is_pattern("report-*"));
        assert!(is_pattern("a?"));
        assert!(is_pattern("[ab]"));
        assert!(is_pattern("*"));
    }

    #[test]
    fn malformed_classes_name_their_position() {
        let err = NamePattern::parse("ab[cd", 7).unwrap_err();
        assert!(
            matches!(err, QueryError::Syntax { position: 9, .. }),
            "{err:?}"
        );
        assert!(NamePattern::parse("[z-a]", 1).is_err());
        assert!(NamePattern::parse("x\\", 1).is_err());
    }
}
