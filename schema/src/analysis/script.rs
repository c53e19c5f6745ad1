//! Which characters make words, and which belong to the scripts written without spaces (Han, Kana,
//! Hangul), whose runs are cut into overlapping pairs of characters.

use unicode_normalization::char::is_combining_mark;

/// Whether `c` belongs to a script written without spaces between words: Han ideographs, Hiragana,
/// Katakana (full and half width), Hangul. A run of them is indexed as overlapping bigrams.
pub fn is_cjk(c: char) -> bool {
    matches!(u32::from(c),
        0x1100..=0x11FF      // Hangul Jamo
        | 0x3005..=0x3007    // 々 〆 〇
        | 0x3040..=0x309F    // Hiragana
        | 0x30A0..=0x30FF    // Katakana
        | 0x3130..=0x318F    // Hangul compatibility Jamo
        | 0x31F0..=0x31FF    // Katakana phonetic extensions
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xA960..=0xA97F    // Hangul Jamo extended A
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xD7B0..=0xD7FF    // Hangul Jamo extended B
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0xFF66..=0xFF9F    // half-width Katakana
        | 0xFFA0..=0xFFDC    // half-width Hangul
        | 0x20000..=0x3134F  // CJK extensions B to G
    )
}

/// Whether `c` is part of a word: a letter, a digit or a combining mark (so a word written with
/// decomposed accents, `e` + U+0301, stays one word).
#[inline]
pub fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    c.is_alphanumeric() || is_combining_mark(c)
}

/// Whether a text may be cut between `before` and `after` without cutting a word: one of them is not
/// part of a word, or one of them is [CJK](is_cjk), where every character boundary is a word boundary
/// for the index (its bigrams start at each character).
pub fn is_word_boundary(before: char, after: char) -> bool {
    !is_word_char(before) || !is_word_char(after) || is_cjk(before) || is_cjk(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_told_apart() {
        for c in ['東', 'の', 'カ', 'ｶ', '한', '々'] {
            assert!(is_cjk(c), "{c}");
        }
        for c in ['a', 'é', 'λ', 'ё', '1', 'Ａ'] {
            assert!(!is_cjk(c), "{c}");
        }
        assert!(is_word_char('\u{301}'));
        assert!(!is_word_char('-'));
        assert!(is_word_boundary('東', '京'));
        assert!(!is_word_boundary('a', 'b'));
    }
}
