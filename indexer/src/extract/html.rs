//! HTML to text with a streaming converter, piece by piece (see [`super::chunk`]).
//!
//! The converter is a small approximation of the HTML tokenizer over one piece: no DOM, one pass,
//! one output allocation. Comments, doctypes, processing instructions, attributes and the content
//! of `script`, `style`, `template`, `title` (see [`TitleScan`]) and other hidden raw-text elements
//! are dropped; block-level tags break lines; character references are decoded (see
//! [`super::entity`]); runs of whitespace collapse to one space. Any input, however malformed or
//! truncated, gives some text.

use encoding_rs::Encoding;
use memchr::{memchr, memchr2};

use super::chunk::Chunker;
use super::entity::{self, Decoded};
use super::sink::{Sink, cut_at_char_boundary};
use super::types::ExtractError;

/// Only the first this many bytes are searched for a `<meta charset>` (as browsers do).
const META_PRESCAN: usize = 1024;

/// Longest tag name worth recognising (`blockquote`, `figcaption`: 10 bytes).
const TAG_CAP: usize = 10;

/// What separates the text before an element boundary from the text after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Gap {
    /// Nothing: inline markup inside a word (`<b>bo</b>ld`).
    None,
    /// A space: whitespace, table cells.
    Space,
    /// A line break: block-level elements.
    Line,
}

/// How the content of an element up to its end tag is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Raw {
    /// Ordinary markup.
    No,
    /// Raw text that is not shown (`script`, `style`, `title`, ...): skipped.
    Hidden,
    /// Raw text shown as it is (`xmp`).
    Shown,
    /// Text with character references but no tags (`textarea`).
    Rcdata,
    /// Everything to the end is text (`plaintext`).
    Rest,
}

/// The effect of a tag name on the text.
fn classify(name: &[u8]) -> (Gap, Raw) {
    match name {
        b"script" | b"style" | b"title" | b"iframe" | b"noembed" | b"noframes" => {
            (Gap::Space, Raw::Hidden)
        }
        b"xmp" => (Gap::Line, Raw::Shown),
        b"textarea" => (Gap::Space, Raw::Rcdata),
        b"plaintext" => (Gap::Line, Raw::Rest),
        b"td" | b"th" | b"img" | b"input" | b"select" | b"button" | b"label" => {
            (Gap::Space, Raw::No)
        }
        // The BLOCK list of `chunk`, plus a few more elements browsers lay out as blocks.
        b"address" | b"article" | b"aside" | b"blockquote" | b"body" | b"br" | b"caption"
        | b"center" | b"dd" | b"details" | b"dialog" | b"dir" | b"div" | b"dl" | b"dt"
        | b"fieldset" | b"figcaption" | b"figure" | b"footer" | b"form" | b"frameset" | b"h1"
        | b"h2" | b"h3" | b"h4" | b"h5" | b"h6" | b"head" | b"header" | b"hgroup" | b"hr"
        | b"html" | b"legend" | b"li" | b"link" | b"main" | b"menu" | b"meta" | b"nav"
        | b"noscript" | b"ol" | b"optgroup" | b"option" | b"p" | b"pre" | b"search"
        | b"section" | b"summary" | b"table" | b"tbody" | b"template" | b"tfoot" | b"thead"
        | b"tr" | b"ul" => (Gap::Line, Raw::No),
        _ => (Gap::None, Raw::No),
    }
}

/// Text being built: words joined by the widest gap seen between them.
struct Out {
    text: String,
    gap: Gap,
}

impl Out {
    fn gap(&mut self, gap: Gap) {
        self.gap = self.gap.max(gap);
    }

    /// Appends text, collapsing whitespace.
    fn text(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if is_space(bytes[i]) {
                self.gap(Gap::Space);
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && !is_space(bytes[i]) {
                i += 1;
            }
            // Cut at ASCII whitespace or the ends: always char boundaries.
            self.word(text.get(start..i).unwrap_or_default());
        }
    }

    /// Appends text without whitespace.
    fn word(&mut self, word: &str) {
        if !self.text.is_empty() {
            match self.gap {
                Gap::None => {}
                Gap::Space => self.text.push(' '),
                Gap::Line => self.text.push('\n'),
            }
        }
        self.gap = Gap::None;
        self.text.push_str(word);
    }

    /// Appends a decoded character reference (a no-break space counts as whitespace).
    fn decoded(&mut self, decoded: Decoded) {
        match decoded {
            Decoded::Str("\u{a0}") | Decoded::Char('\u{a0}') => self.gap(Gap::Space),
            Decoded::Str(s) => self.text(s),
            Decoded::Char(c) => {
                let mut buf = [0; 4];
                self.text(c.encode_utf8(&mut buf));
            }
        }
    }

    /// Appends text in which character references are decoded.
    fn text_with_refs(&mut self, text: &str) {
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let amp = memchr(b'&', &bytes[i..]).map_or(bytes.len(), |p| i + p);
            self.text(text.get(i..amp).unwrap_or_default());
            if amp >= bytes.len() {
                break;
            }
            i = amp + 1 + self.reference(&bytes[amp + 1..]);
        }
    }

    /// Decodes the reference after an `&` and returns the bytes it used; a literal `&` uses none.
    fn reference(&mut self, after: &[u8]) -> usize {
        match entity::decode(after) {
            Some((decoded, used)) => {
                self.decoded(decoded);
                used
            }
            None => {
                self.word("&");
                0
            }
        }
    }
}

/// HTML's ASCII whitespace.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0c')
}

/// Converts one piece of HTML to text: no script or style content, no comments, no attributes,
/// character references decoded, a line per block, whitespace collapsed, no line wrapping. Never
/// fails: malformed or truncated markup still gives the text a browser would show, or close to it.
pub(crate) fn render(html: &str) -> String {
    let b = html.as_bytes();
    let mut out = Out {
        text: String::with_capacity(html.len() / 2),
        gap: Gap::None,
    };
    // Depth of `<template>` elements: their content is not shown.
    let mut hidden = 0usize;
    let mut i = 0;
    while i < b.len() {
        let next = memchr2(b'<', b'&', &b[i..]).map_or(b.len(), |p| i + p);
        if hidden == 0 {
            out.text(html.get(i..next).unwrap_or_default());
        }
        i = next;
        if i >= b.len() {
            break;
        }
        if b[i] == b'&' {
            i += 1;
            if hidden == 0 {
                i += out.reference(&b[i..]);
            }
            continue;
        }
        match b.get(i + 1) {
            Some(c) if c.is_ascii_alphabetic() => {
                let (name, end) = tag(b, i + 1);
                let (gap, raw) = classify(name.as_slice());
                out.gap(gap);
                i = end;
                if name.as_slice() == b"template" {
                    hidden += 1;
                } else if raw != Raw::No {
                    let close = raw_end(b, i, name.as_slice(), raw);
                    let content = html.get(i..close).unwrap_or_default();
                    if hidden == 0 {
                        match raw {
                            Raw::Shown | Raw::Rest => out.text(content),
                            Raw::Rcdata => out.text_with_refs(content),
                            Raw::No | Raw::Hidden => {}
                        }
                    }
                    i = close;
                }
            }
            Some(b'/') => match b.get(i + 2) {
                Some(c) if c.is_ascii_alphabetic() => {
                    let (name, end) = tag(b, i + 2);
                    out.gap(classify(name.as_slice()).0);
                    if name.as_slice() == b"template" {
                        hidden = hidden.saturating_sub(1);
                    }
                    i = end;
                }
                Some(b'>') => i += 3,
                _ => i = past_gt(b, i + 2),
            },
            Some(b'!') => {
                i = if b[i + 1..].starts_with(b"!--") {
                    comment_end(b, i + 4)
                } else {
                    past_gt(b, i + 2)
                };
            }
            Some(b'?') => i = past_gt(b, i + 2),
            _ => {
                if hidden == 0 {
                    out.word("<");
                }
                i += 1;
            }
        }
    }
    out.text
}

/// A tag name, lowercased; names longer than [`TAG_CAP`] are kept empty (they are not recognised).
#[derive(Default)]
struct TagName {
    bytes: [u8; TAG_CAP],
    len: usize,
}

impl TagName {
    fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// Reads the tag whose name starts at `from`: returns its name and the position after its `>` (or
/// the end of the input). Attributes are skipped, quoted values included.
fn tag(b: &[u8], from: usize) -> (TagName, usize) {
    let mut name = TagName::default();
    let mut i = from;
    let mut long = false;
    while let Some(&c) = b.get(i) {
        if is_space(c) || c == b'/' || c == b'>' {
            break;
        }
        match name.bytes.get_mut(name.len) {
            Some(slot) if !long => {
                *slot = c.to_ascii_lowercase();
                name.len += 1;
            }
            _ => long = true,
        }
        i += 1;
    }
    if long {
        name.len = 0;
    }
    (name, skip_attributes(b, i))
}

/// Skips the attributes of a tag from `i`, returning the position after its `>` (or the end).
fn skip_attributes(b: &[u8], mut i: usize) -> usize {
    loop {
        while b.get(i).is_some_and(|&c| is_space(c) || c == b'/') {
            i += 1;
        }
        match b.get(i) {
            None => return b.len(),
            Some(b'>') => return i + 1,
            Some(_) => {}
        }
        // An attribute name: at least one byte (even `=` or a quote), up to space, `/`, `>`, `=`.
        i += 1;
        while b
            .get(i)
            .is_some_and(|&c| !(is_space(c) || matches!(c, b'/' | b'>' | b'=')))
        {
            i += 1;
        }
        while b.get(i).is_some_and(|&c| is_space(c)) {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        while b.get(i).is_some_and(|&c| is_space(c)) {
            i += 1;
        }
        match b.get(i) {
            Some(&q @ (b'"' | b'\'')) => {
                i = memchr(q, &b[i + 1..]).map_or(b.len(), |p| i + 1 + p + 1);
            }
            _ => {
                while b.get(i).is_some_and(|&c| !(is_space(c) || c == b'>')) {
                    i += 1;
                }
            }
        }
    }
}

/// Where the raw-text content starting at `from` ends: at the `<` of `</name` followed by space,
/// `/`, `>` or the end (any case), or at the end of the input.
fn raw_end(b: &[u8], from: usize, name: &[u8], raw: Raw) -> usize {
    if raw == Raw::Rest {
        return b.len();
    }
    let mut i = from;
    while let Some(p) = memchr(b'<', b.get(i..).unwrap_or_default()) {
        let lt = i + p;
        let after = lt + 2 + name.len();
        if b.get(lt + 1) == Some(&b'/')
            && b.get(lt + 2..after)
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
            && b.get(after)
                .is_none_or(|&c| is_space(c) || c == b'/' || c == b'>')
        {
            return lt;
        }
        i = lt + 1;
    }
    b.len()
}

/// The position after the `-->` (or `--!>`) ending a comment whose content starts at `from`, or
/// the end of the input. `<!-->` and `<!--->` end at once, as in browsers.
fn comment_end(b: &[u8], from: usize) -> usize {
    let rest = b.get(from..).unwrap_or_default();
    if rest.starts_with(b">") {
        return from + 1;
    }
    if rest.starts_with(b"->") {
        return from + 2;
    }
    let mut i = from;
    while let Some(p) = memchr(b'>', b.get(i..).unwrap_or_default()) {
        let gt = i + p;
        let before = b.get(from..gt).unwrap_or_default();
        if before.ends_with(b"--") || before.ends_with(b"--!") {
            return gt + 1;
        }
        i = gt + 1;
    }
    b.len()
}

/// The position after the next `>` from `from`, or the end of the input.
fn past_gt(b: &[u8], from: usize) -> usize {
    memchr(b'>', b.get(from..).unwrap_or_default()).map_or(b.len(), |p| from + p + 1)
}

/// The encoding declared by a `<meta charset=...>` or `<meta http-equiv content="...; charset=...">`
/// in the first [`META_PRESCAN`] bytes. As in browsers, a declared UTF-16 means UTF-8 (the bytes are
/// ASCII-compatible, or the meta could not have been read) and x-user-defined means windows-1252.
pub(crate) fn meta_charset(head: &[u8]) -> Option<&'static Encoding> {
    let scan = &head[..head.len().min(META_PRESCAN)];
    let lower = scan.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = find(&lower[from..], b"<meta") {
        let tag_start = from + at + 5;
        let tag_end = lower[tag_start..]
            .iter()
            .position(|&b| b == b'>')
            .map_or(lower.len(), |e| tag_start + e);
        if let Some(enc) = charset_in(&lower[tag_start..tag_end]) {
            return Some(match enc.name() {
                "UTF-16LE" | "UTF-16BE" => encoding_rs::UTF_8,
                "x-user-defined" => encoding_rs::WINDOWS_1252,
                _ => enc,
            });
        }
        from = tag_end;
    }
    None
}

/// The encoding named after `charset` (optionally `=`, quotes) inside a lowercased meta tag.
fn charset_in(tag: &[u8]) -> Option<&'static Encoding> {
    let at = find(tag, b"charset")?;
    let rest = &tag[at + 7..];
    let rest = trim_start(rest);
    let rest = trim_start(rest.strip_prefix(b"=")?);
    let rest = rest
        .strip_prefix(b"\"")
        .or_else(|| rest.strip_prefix(b"'"))
        .unwrap_or(rest);
    let end = rest
        .iter()
        .position(|&b| matches!(b, b'"' | b'\'' | b';' | b'/' | b'>') || b.is_ascii_whitespace())
        .unwrap_or(rest.len());
    Encoding::for_label(&rest[..end])
}

fn trim_start(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    &b[start..]
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// How much of a document's start is searched for its `<title>`.
const TITLE_SCAN: usize = 64 * 1024;

/// Finds the document's `<title>` (the converter drops the `<title>` element, but a page's title is what
/// users search for first) in the markup seen before `<body>` or [`TITLE_SCAN`] bytes.
#[derive(Default)]
struct TitleScan {
    /// Markup seen so far, while still looking.
    head: String,
    done: bool,
    title: Option<String>,
}

impl TitleScan {
    fn feed(&mut self, html: &str) {
        if self.done {
            return;
        }
        self.head.push_str(html);
        let lower = self.head.to_ascii_lowercase();
        let body = lower.find("<body");
        if let Some(open) = lower.find("<title").filter(|&t| body.is_none_or(|b| t < b)) {
            let inner_start = lower[open..].find('>').map(|e| open + e + 1);
            let inner_end = inner_start.and_then(|st| lower[st..].find("</title").map(|e| st + e));
            if let (Some(start), Some(end)) = (inner_start, inner_end) {
                self.title = Some(render(&self.head[start..end]))
                    .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
                    .filter(|t| !t.is_empty());
                self.finish_scan();
                return;
            }
        }
        if body.is_some() || self.head.len() > TITLE_SCAN {
            self.finish_scan();
        }
    }

    fn finish_scan(&mut self) {
        self.done = true;
        self.head = String::new();
    }
}

/// Collects the text of an HTML stream: cuts it into pieces, renders each, stops once the text cap
/// is exceeded. The document's title, if any, comes first.
pub(crate) struct HtmlSink {
    chunker: Chunker,
    out: String,
    max_text: usize,
    title: TitleScan,
}

impl HtmlSink {
    /// A sink whose text is capped at `max_text` bytes.
    pub(crate) fn new(max_text: usize) -> Self {
        Self::with_chunker(Chunker::new(), max_text)
    }

    /// A sink with a given chunker (tests use small pieces).
    pub(crate) fn with_chunker(chunker: Chunker, max_text: usize) -> Self {
        HtmlSink {
            chunker,
            out: String::new(),
            max_text,
            title: TitleScan::default(),
        }
    }

    /// Renders one piece; its first `reopened` bytes repeat the tags still open from earlier pieces.
    fn append(&mut self, html: &str, reopened: usize) -> Result<(), ExtractError> {
        self.title.feed(html.get(reopened..).unwrap_or(html));
        let text = render(html);
        let text = text.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            return Ok(());
        }
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        self.out.push_str(text);
        Ok(())
    }
}

impl Sink for HtmlSink {
    fn push(&mut self, text: &str) -> Result<(), ExtractError> {
        self.chunker.push(text);
        while !self.is_full() {
            match self.chunker.next_chunk() {
                Some(piece) => self.append(&piece.text, piece.reopened)?,
                None => break,
            }
        }
        Ok(())
    }

    fn is_full(&self) -> bool {
        self.out.len() > self.max_text
    }

    fn finish(mut self) -> Result<(String, bool), ExtractError> {
        if !self.is_full() {
            while let Some(piece) = self.chunker.next_chunk() {
                self.append(&piece.text, piece.reopened)?;
                if self.is_full() {
                    break;
                }
            }
        }
        if !self.is_full()
            && let Some(piece) = self.chunker.finish()
        {
            self.append(&piece.text, piece.reopened)?;
        }
        if let Some(title) = self.title.title.take() {
            self.out = if self.out.is_empty() {
                title
            } else {
                format!("{title}\n{}", self.out)
            };
        }
        let cut = cut_at_char_boundary(&mut self.out, self.max_text);
        Ok((self.out, cut))
    }
}

#[cfg(test)]
mod tests;
