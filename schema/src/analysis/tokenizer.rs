//! The tokenizer: words of letters and digits, and runs of [CJK](super::script::is_cjk) characters cut
//! into overlapping bigrams.
//!
//! `東京都の天気` becomes `東京 京都 都の の天 天気` at consecutive positions, so a query word of any
//! length inside the run is a phrase of its own bigrams (`東京` is one term, `京都の` the phrase `京都 都の`).
//! A run of one character is one token. The index side also adds the last character of each longer
//! run as a token at its last bigram's position: a one-character query is then a prefix search, which
//! finds the character at any place in a run (the first character of a bigram, or that last token).

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

use super::script::{is_cjk, is_word_char};

/// Splits text into words and CJK bigrams (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub struct ScriptTokenizer {
    /// Whether the last character of a CJK run of two or more is also a token (the index side: yes;
    /// a query's phrase: no).
    pub tail_unigrams: bool,
}

/// The tokens of one text.
pub struct ScriptTokenStream<'a> {
    text: &'a str,
    /// Byte offset of the next character to look at.
    pos: usize,
    tail_unigrams: bool,
    token: Token,
    /// Position of the next token.
    next_position: usize,
    /// The CJK run being emitted: where each character (with its combining marks) starts, then the
    /// run's end.
    units: Vec<usize>,
    /// The next bigram of `units` to emit; `usize::MAX` when no run is being emitted.
    unit: usize,
}

impl Tokenizer for ScriptTokenizer {
    type TokenStream<'a> = ScriptTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> ScriptTokenStream<'a> {
        ScriptTokenStream {
            text,
            pos: 0,
            tail_unigrams: self.tail_unigrams,
            token: Token::default(),
            next_position: 0,
            units: Vec::new(),
            unit: usize::MAX,
        }
    }
}

impl ScriptTokenStream<'_> {
    /// The character at byte offset `pos` (which is below the text's length) and its length in bytes.
    /// ASCII, nearly every character of most texts, is read without UTF-8 decoding.
    #[inline]
    fn char_at(&self, pos: usize) -> (char, usize) {
        let byte = self.text.as_bytes()[pos];
        if byte.is_ascii() {
            return (char::from(byte), 1);
        }
        let c = self.text[pos..]
            .chars()
            .next()
            .unwrap_or(char::REPLACEMENT_CHARACTER);
        (c, c.len_utf8())
    }

    fn set(&mut self, from: usize, to: usize, position: usize) {
        self.token.offset_from = from;
        self.token.offset_to = to;
        self.token.position = position;
        self.token.position_length = 1;
        self.token.text.clear();
        self.token.text.push_str(&self.text[from..to]);
    }

    /// Emits the next token of the CJK run in `units`; false when the run is done.
    fn next_of_run(&mut self) -> bool {
        let chars = self.units.len() - 1;
        let i = self.unit;
        if chars == 1 {
            if i > 0 {
                return false;
            }
            self.set(self.units[0], self.units[1], self.next_position);
        } else if i + 1 < chars {
            self.set(self.units[i], self.units[i + 2], self.next_position + i);
        } else if i + 1 == chars && self.tail_unigrams {
            self.set(self.units[i], self.units[i + 1], self.next_position + i - 1);
        } else {
            return false;
        }
        self.unit += 1;
        true
    }
}

impl TokenStream for ScriptTokenStream<'_> {
    fn advance(&mut self) -> bool {
        if self.unit != usize::MAX {
            if self.next_of_run() {
                return true;
            }
            self.next_position += (self.units.len() - 1).saturating_sub(1).max(1);
            self.unit = usize::MAX;
        }
        // Skip to the next word character.
        let len = self.text.len();
        let (start, first) = loop {
            if self.pos >= len {
                return false;
            }
            let (c, width) = self.char_at(self.pos);
            let at = self.pos;
            self.pos += width;
            if is_word_char(c) {
                break (at, c);
            }
        };
        if is_cjk(first) {
            self.units.clear();
            self.units.push(start);
            while self.pos < len {
                let (c, width) = self.char_at(self.pos);
                if is_cjk(c) {
                    self.units.push(self.pos);
                } else if !is_word_char(c) || c.is_alphanumeric() {
                    break; // a combining mark stays with the character before it
                }
                self.pos += width;
            }
            self.units.push(self.pos);
            self.unit = 0;
            return self.advance();
        }
        while self.pos < len {
            let byte = self.text.as_bytes()[self.pos];
            if byte.is_ascii() {
                if !byte.is_ascii_alphanumeric() {
                    break;
                }
                self.pos += 1;
                continue;
            }
            let (c, width) = self.char_at(self.pos);
            if !is_word_char(c) || is_cjk(c) {
                break;
            }
            self.pos += width;
        }
        let end = self.pos;
        self.set(start, end, self.next_position);
        self.next_position += 1;
        true
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str, tail_unigrams: bool) -> Vec<(String, usize)> {
        let mut tokenizer = ScriptTokenizer { tail_unigrams };
        let mut stream = tokenizer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            let t = stream.token();
            assert_eq!(&text[t.offset_from..t.offset_to], t.text);
            out.push((t.text.clone(), t.position));
        }
        out
    }

    #[test]
    fn words_and_bigrams_take_consecutive_positions() {
        let got = tokens("go 東京都 x-y 雨", true);
        let want = [
            ("go", 0),
            ("東京", 1),
            ("京都", 2),
            ("都", 2),
            ("x", 3),
            ("y", 4),
            ("雨", 5),
        ];
        let want: Vec<(String, usize)> = want.iter().map(|(t, p)| (t.to_string(), *p)).collect();
        assert_eq!(got, want);
        let query: Vec<String> = tokens("東京都", false).into_iter().map(|t| t.0).collect();
        assert_eq!(query, ["東京", "京都"]);
    }

    /// The tokenizer as first written, over `char_indices` (no ASCII fast path): what the fast one
    /// must equal on any text.
    fn reference(text: &str, tail_unigrams: bool) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        let mut position = 0;
        let mut chars = text.char_indices().peekable();
        while let Some((start, first)) = chars.find(|&(_, c)| is_word_char(c)) {
            if is_cjk(first) {
                let mut units = vec![start];
                while let Some(&(i, c)) = chars.peek() {
                    if is_cjk(c) {
                        units.push(i);
                    } else if !is_word_char(c) || c.is_alphanumeric() {
                        break;
                    }
                    chars.next();
                }
                units.push(chars.peek().map_or(text.len(), |&(i, _)| i));
                let n = units.len() - 1;
                if n == 1 {
                    out.push((text[units[0]..units[1]].to_owned(), position));
                } else {
                    for i in 0..n - 1 {
                        out.push((text[units[i]..units[i + 2]].to_owned(), position + i));
                    }
                    if tail_unigrams {
                        out.push((text[units[n - 1]..units[n]].to_owned(), position + n - 2));
                    }
                }
                position += n.saturating_sub(1).max(1);
                continue;
            }
            let mut end = text.len();
            while let Some(&(i, c)) = chars.peek() {
                if !is_word_char(c) || is_cjk(c) {
                    end = i;
                    break;
                }
                chars.next();
            }
            out.push((text[start..end].to_owned(), position));
            position += 1;
        }
        out
    }

    #[test]
    fn the_ascii_fast_path_changes_no_token() {
        // Every kind of character next to every other: ASCII letters, digits and punctuation,
        // precomposed and decomposed accents, Greek, Cyrillic, CJK with a combining mark, full-width
        // forms, an emoji with a joiner, a no-break space, a replacement character.
        let pieces = [
            "a",
            "Z",
            "7",
            "_",
            "-",
            " ",
            ".",
            "\n",
            "é",
            "e\u{301}",
            "\u{301}",
            "λ",
            "ё",
            "東",
            "京",
            "の",
            "ｶ",
            "한",
            "\u{3099}",
            "Ａ",
            "１",
            "👍\u{200d}",
            "\u{a0}",
            "\u{fffd}",
            "ß",
        ];
        // A fixed pseudo-random walk (xorshift) over the pieces: many thousand neighbourhoods.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut text = String::new();
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            text.push_str(pieces[(state % pieces.len() as u64) as usize]);
        }
        for tail_unigrams in [false, true] {
            let fast = tokens(&text, tail_unigrams);
            assert!(fast.len() > 5_000);
            assert_eq!(fast, reference(&text, tail_unigrams));
        }
    }

    #[test]
    fn scripts_switch_inside_a_word_and_marks_stay_attached() {
        let got: Vec<String> = tokens("Tokyo東京 cafe\u{301}s", false)
            .into_iter()
            .map(|t| t.0)
            .collect();
        assert_eq!(got, ["Tokyo", "東京", "cafe\u{301}s"]);
    }
}
