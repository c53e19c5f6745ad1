//! HTML character references (`&amp;`, `&#8364;`, `&#x263A;`, legacy `&nbsp` without `;`), decoded
//! as browsers do in text content. The table of the 2,125 HTML5 named references comes from the
//! `html-escape` crate (generated from the WHATWG `entities.json`); the parsing rules are here.

use html_escape::NAMED_ENTITIES;

/// Longest name in the table ("CounterClockwiseContourIntegral" has 31 bytes).
const MAX_NAME: usize = 32;

/// The names that browsers also accept without the trailing `;` (the WHATWG list), sorted.
const LEGACY: [&[u8]; 106] = [
    b"AElig", b"AMP", b"Aacute", b"Acirc", b"Agrave", b"Aring", b"Atilde", b"Auml", b"COPY",
    b"Ccedil", b"ETH", b"Eacute", b"Ecirc", b"Egrave", b"Euml", b"GT", b"Iacute", b"Icirc",
    b"Igrave", b"Iuml", b"LT", b"Ntilde", b"Oacute", b"Ocirc", b"Ograve", b"Oslash", b"Otilde",
    b"Ouml", b"QUOT", b"REG", b"THORN", b"Uacute", b"Ucirc", b"Ugrave", b"Uuml", b"Yacute",
    b"aacute", b"acirc", b"acute", b"aelig", b"agrave", b"amp", b"aring", b"atilde", b"auml",
    b"brvbar", b"ccedil", b"cedil", b"cent", b"copy", b"curren", b"deg", b"divide", b"eacute",
    b"ecirc", b"egrave", b"eth", b"euml", b"frac12", b"frac14", b"frac34", b"gt", b"iacute",
    b"icirc", b"iexcl", b"igrave", b"iquest", b"iuml", b"laquo", b"lt", b"macr", b"micro",
    b"middot", b"nbsp", b"not", b"ntilde", b"oacute", b"ocirc", b"ograve", b"ordf", b"ordm",
    b"oslash", b"otilde", b"ouml", b"para", b"plusmn", b"pound", b"quot", b"raquo", b"reg",
    b"sect", b"shy", b"sup1", b"sup2", b"sup3", b"szlig", b"thorn", b"times", b"uacute", b"ucirc",
    b"ugrave", b"uml", b"uuml", b"yacute", b"yen", b"yuml",
];

/// Longest name in [`LEGACY`].
const MAX_LEGACY: usize = 6;

/// What a character reference stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// A named reference's text (one or two characters).
    Str(&'static str),
    /// A numeric reference's character.
    Char(char),
}

/// Decodes the character reference whose text follows an `&`: returns what it stands for and how
/// many bytes of `after` it used, or `None` when the `&` is literal text.
pub(crate) fn decode(after: &[u8]) -> Option<(Decoded, usize)> {
    match after.first()? {
        b'#' => numeric(after),
        b if b.is_ascii_alphanumeric() => named(after),
        _ => None,
    }
}

/// `#123;` or `#x1F;`, the `;` optional.
fn numeric(after: &[u8]) -> Option<(Decoded, usize)> {
    let (radix, start) = match after.get(1) {
        Some(b'x' | b'X') => (16, 2),
        _ => (10, 1),
    };
    let digits = after
        .get(start..)?
        .iter()
        .take_while(|b| b.is_ascii_hexdigit() && (radix == 16 || b.is_ascii_digit()))
        .count();
    if digits == 0 {
        return None;
    }
    let mut value: u32 = 0;
    for &b in &after[start..start + digits] {
        let d = char::from(b).to_digit(radix).unwrap_or(0);
        // Saturate above the Unicode range: the exact value no longer matters.
        value = value.saturating_mul(radix).saturating_add(d).min(0x11_0000);
    }
    let mut used = start + digits;
    if after.get(used) == Some(&b';') {
        used += 1;
    }
    Some((Decoded::Char(numeric_char(value)), used))
}

/// The character a numeric reference yields in a browser: U+FFFD for 0, surrogates and values past
/// Unicode; windows-1252 characters for the C1 controls 0x80-0x9F.
fn numeric_char(value: u32) -> char {
    if (0x80..=0x9F).contains(&value) {
        let byte = [value as u8];
        let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&byte);
        return text.chars().next().unwrap_or(char::REPLACEMENT_CHARACTER);
    }
    match value {
        0 => char::REPLACEMENT_CHARACTER,
        v => char::from_u32(v).unwrap_or(char::REPLACEMENT_CHARACTER),
    }
}

/// `name;`, or the longest legacy name that starts `after` when there is no known `name;`.
fn named(after: &[u8]) -> Option<(Decoded, usize)> {
    let len = after
        .iter()
        .take(MAX_NAME + 1)
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    if len <= MAX_NAME
        && after.get(len) == Some(&b';')
        && let Some(text) = lookup(&after[..len])
    {
        return Some((Decoded::Str(text), len + 1));
    }
    (2..=len.min(MAX_LEGACY)).rev().find_map(|n| {
        let name = &after[..n];
        LEGACY
            .binary_search(&name)
            .ok()
            .and_then(|_| lookup(name))
            .map(|text| (Decoded::Str(text), n))
    })
}

/// The text of a named reference (without `&` and `;`).
fn lookup(name: &[u8]) -> Option<&'static str> {
    NAMED_ENTITIES
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .map(|i| NAMED_ENTITIES[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(input: &str) -> Option<(String, usize)> {
        decode(input.as_bytes()).map(|(d, n)| match d {
            Decoded::Str(s) => (s.to_string(), n),
            Decoded::Char(c) => (c.to_string(), n),
        })
    }

    fn some(s: &str, n: usize) -> Option<(String, usize)> {
        Some((s.to_string(), n))
    }

    #[test]
    fn legacy_table_is_sorted_and_known() {
        assert!(LEGACY.windows(2).all(|w| w[0] < w[1]));
        assert!(LEGACY.iter().all(|n| lookup(n).is_some()));
        assert!(LEGACY.iter().all(|n| n.len() <= MAX_LEGACY));
        assert!(NAMED_ENTITIES.iter().all(|(n, _)| n.len() <= MAX_NAME));
    }

    #[test]
    fn named_references() {
        assert_eq!(text("amp;x"), some("&", 4));
        assert_eq!(text("eacute;"), some("é", 7));
        assert_eq!(text("CounterClockwiseContourIntegral;"), some("∳", 32));
        assert_eq!(text("NotEqualTilde;"), some("≂\u{338}", 14));
        // Legacy forms without `;`, longest match, rest left as text.
        assert_eq!(text("amp"), some("&", 3));
        assert_eq!(text("nbsp x"), some("\u{a0}", 4));
        assert_eq!(text("copy2026"), some("©", 4));
        assert_eq!(text("notit;"), some("¬", 3));
        assert_eq!(text("frac12"), some("½", 6));
        // Not legacy, or unknown: literal `&`.
        assert_eq!(text("hellip"), None);
        assert_eq!(text("bogus;"), None);
        assert_eq!(text(" x"), None);
        assert_eq!(text(""), None);
        assert_eq!(text(&"a".repeat(100)), None);
    }

    #[test]
    fn numeric_references() {
        assert_eq!(text("#8364;"), some("€", 6));
        assert_eq!(text("#x263A;"), some("☺", 7));
        assert_eq!(text("#X263a"), some("☺", 6));
        assert_eq!(text("#65B"), some("A", 3));
        assert_eq!(text("#0;"), some("\u{fffd}", 3));
        assert_eq!(text("#xD800;"), some("\u{fffd}", 7));
        assert_eq!(text("#99999999999999999999;"), some("\u{fffd}", 22));
        assert_eq!(text("#x110000"), some("\u{fffd}", 8));
        assert_eq!(text("#150;"), some("–", 5));
        assert_eq!(text("#x81;"), some("\u{81}", 5));
        assert_eq!(text("#;"), None);
        assert_eq!(text("#x;"), None);
        assert_eq!(text("#"), None);
        assert_eq!(text("#xg"), None);
    }
}
