//! Splitting a decoded HTML stream into pieces that are converted one at a time.
//!
//! Converting pieces of about [`TARGET`] bytes, with at most [`MAX_DEPTH`] elements left open in a
//! piece, bounds the converter's working memory and lets extraction stop reading once the text cap
//! is reached. (The pieces were first needed by html2text, whose DOM held about 50 times the input
//! and whose parse time grew with the square of the nesting depth; the streaming converter in
//! `html` needs neither bound but keeps the pieces for the text cap.)
//!
//! The splitter is a small approximation of the HTML tokenizer that only chooses where to cut: in
//! text, just before a tag or comment, or at whitespace; never inside a tag. Inside the content of a
//! raw-text element (`<script>`, `<style>`, `<textarea>`, ...) or a comment it may cut anywhere
//! between characters, and the next piece then starts by reopening it (`<script>`, `<!-- `), so
//! script and style text never leaks into the indexed text. Structure that spans a cut (a table, a
//! `<pre>`) is rendered as two fragments, which is harmless for indexing.

/// A piece is cut at the first safe point after it reaches this many bytes.
pub(crate) const TARGET: usize = 64 * 1024;

/// A piece is cut before the next tag once this many elements are open in it.
pub(crate) const MAX_DEPTH: usize = 256;

/// Beyond this many times the target a piece is cut before any tag or at whitespace in text,
/// not only before a block-level tag.
const SOFT_FACTOR: usize = 2;

/// Beyond this many times the target, text without whitespace or tags is cut between any two
/// characters.
const HARD_FACTOR: usize = 4;

/// Elements whose content is raw text (no tags inside) up to their end tag; `plaintext` never ends.
const RAW_TEXT: [&str; 9] = [
    "script",
    "style",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "textarea",
    "title",
    "plaintext",
];

/// Elements that never have content.
const VOID: [&str; 15] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "keygen", "link", "meta", "param",
    "source", "track", "wbr",
];

/// Elements that start a new line: cutting before them does not split a line of text.
const BLOCK: [&str; 46] = [
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "br",
    "caption",
    "center",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "header",
    "hr",
    "html",
    "li",
    "link",
    "main",
    "meta",
    "nav",
    "ol",
    "p",
    "pre",
    "script",
    "section",
    "style",
    "summary",
    "table",
    "td",
    "th",
    "title",
    "tr",
    "ul",
];

/// Longest tag name worth remembering (the longest of [`RAW_TEXT`], [`VOID`] and [`BLOCK`]).
const NAME_CAP: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Text.
    Data,
    /// After `<` in text.
    TagOpen,
    /// After `</`.
    EndTagOpen,
    /// Reading a tag name.
    TagName { end: bool },
    /// Inside a tag, outside quotes. `after_eq`: the last non-space was `=`; `slash`: the last
    /// character was `/`.
    InTag {
        end: bool,
        after_eq: bool,
        slash: bool,
    },
    /// Inside a quoted attribute value.
    Quoted { end: bool, quote: u8 },
    /// After `<!`, with the number of `-` seen (0 or 1).
    MarkupDecl { dashes: u8 },
    /// Inside `<!-- ... -->`, with the number of consecutive `-` just seen.
    Comment { dashes: u8 },
    /// Inside a comment after `--!`.
    CommentBang,
    /// A doctype, `<?...>`, `<![CDATA[...` or other bogus comment: up to `>`.
    Bogus,
    /// Inside raw-text element `RAW_TEXT[kind]`, having matched `matched` bytes of `</name`.
    Raw { kind: usize, matched: usize },
}

/// One piece of HTML to convert on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Piece {
    /// The HTML of the piece.
    pub(crate) text: String,
    /// Length of the text added at its start to reopen a raw-text element or a comment cut by the
    /// previous piece (0 when none).
    pub(crate) reopened: usize,
}

/// Cuts decoded HTML into pieces; feed it with [`Chunker::push`], take pieces with
/// [`Chunker::next_chunk`] and the rest with [`Chunker::finish`].
pub(crate) struct Chunker {
    /// Text of the current piece not yet handed out; `buf[..pos]` has been scanned.
    buf: String,
    pos: usize,
    /// Text that starts the current piece (reopening a raw-text element or a comment).
    prefix: String,
    state: State,
    /// Position of the `<` that started the tag being read.
    lt: usize,
    /// Lowercased start of the tag name being read.
    name: [u8; NAME_CAP],
    name_len: usize,
    /// Elements opened minus elements closed in the current piece.
    depth: usize,
    target: usize,
    max_depth: usize,
    /// Whether plain text is jumped over with `memchr` (see [`Chunker::skip_plain`]); only the
    /// tests turn it off, to check that it changes no cut.
    skip_plain: bool,
}

impl Chunker {
    /// A chunker with the default [`TARGET`] and [`MAX_DEPTH`].
    pub(crate) fn new() -> Self {
        Self::with_limits(TARGET, MAX_DEPTH)
    }

    /// A chunker with a given target size and nesting limit (small values exercise it in tests).
    pub(crate) fn with_limits(target: usize, max_depth: usize) -> Self {
        Chunker {
            buf: String::new(),
            pos: 0,
            prefix: String::new(),
            state: State::Data,
            lt: 0,
            name: [0; NAME_CAP],
            name_len: 0,
            depth: 0,
            target: target.max(1),
            max_depth: max_depth.max(1),
            skip_plain: true,
        }
    }

    /// Appends decoded text.
    pub(crate) fn push(&mut self, text: &str) {
        self.buf.push_str(text);
    }

    /// Scans what was pushed and returns the next complete piece, if a cut point was reached.
    pub(crate) fn next_chunk(&mut self) -> Option<Piece> {
        while self.pos < self.buf.len() {
            if self.skip_plain {
                self.skip_plain();
                if self.pos >= self.buf.len() {
                    break;
                }
            }
            let b = self.buf.as_bytes()[self.pos];
            let cut = self.step(b);
            self.pos += 1;
            if let Some((at, reopen)) = cut {
                return Some(self.cut(at, reopen));
            }
        }
        None
    }

    /// Returns everything not handed out yet as the last piece, if it has any content. Call it once
    /// [`Chunker::next_chunk`] returns `None` and no more text will be pushed.
    pub(crate) fn finish(&mut self) -> Option<Piece> {
        if self.buf.is_empty() {
            return None;
        }
        let reopened = self.prefix.len();
        let mut text = std::mem::take(&mut self.prefix);
        text.push_str(&self.buf);
        self.buf.clear();
        self.pos = 0;
        Some(Piece { text, reopened })
    }

    /// Jumps over the bytes that can neither change the state nor be a cut: in text or raw text
    /// (not `plaintext`), everything before the next `<`, in a comment before the next `-`, each
    /// before the first place where [`Chunker::cut_in_text`] or [`Chunker::cut_in_raw`] could cut;
    /// in a quoted attribute value, everything before the closing quote. Scanning byte by byte
    /// through the state machine was a tenth of all indexing time on HTML-heavy trees.
    fn skip_plain(&mut self) {
        let (factor, stop) = match self.state {
            State::Data => (SOFT_FACTOR, b'<'),
            State::Raw { kind, matched: 0 } if RAW_TEXT[kind] != "plaintext" => (1, b'<'),
            State::Comment { dashes: 0 } => (1, b'-'),
            // No cut inside a quoted value: only its closing quote matters.
            State::Quoted { quote, .. } => (usize::MAX, quote),
            _ => return,
        };
        // The first `at` for which `self.over(at, factor)` holds.
        let first_cut = self
            .target
            .saturating_mul(factor)
            .saturating_sub(self.prefix.len())
            .max(1);
        let end = self.buf.len().min(first_cut);
        if self.pos >= end {
            return;
        }
        self.pos = match memchr::memchr(stop, &self.buf.as_bytes()[self.pos..end]) {
            Some(i) => self.pos + i,
            None => end,
        };
    }

    /// Length of the current piece if it were cut at `at`.
    fn piece_len(&self, at: usize) -> usize {
        self.prefix.len() + at
    }

    /// Records a cut at `at`: the elements counted so far stay in the piece being cut.
    fn cut_here(&mut self, at: usize, reopen: Option<String>) -> Option<(usize, Option<String>)> {
        self.depth = 0;
        Some((at, reopen))
    }

    /// Whether the current piece, cut at `at`, would reach `factor` times the target.
    fn over(&self, at: usize, factor: usize) -> bool {
        at > 0 && self.piece_len(at) >= self.target.saturating_mul(factor)
    }

    /// Cut before a comment, doctype or processing instruction starting at the last `<`?
    fn cut_before_declaration(&mut self) -> Option<(usize, Option<String>)> {
        if self.over(self.lt, 1) || (self.lt > 0 && self.depth >= self.max_depth) {
            self.cut_here(self.lt, None)
        } else {
            None
        }
    }

    /// Cut before the tag whose name was just read, starting at the last `<`? Before a block-level
    /// tag once the piece reaches the target, before any tag at [`SOFT_FACTOR`] times the target or
    /// when too many elements are open.
    fn cut_before_tag(&mut self) -> Option<(usize, Option<String>)> {
        if self.lt == 0 {
            return None;
        }
        let block = self
            .tag_name()
            .is_some_and(|n| BLOCK.iter().any(|b| b.as_bytes() == n));
        if (block && self.over(self.lt, 1))
            || self.over(self.lt, SOFT_FACTOR)
            || self.depth >= self.max_depth
        {
            self.cut_here(self.lt, None)
        } else {
            None
        }
    }

    /// Cut in text before byte `b`? At whitespace from [`SOFT_FACTOR`] times the target, anywhere
    /// from [`HARD_FACTOR`] times.
    fn cut_in_text(&mut self, b: u8) -> Option<(usize, Option<String>)> {
        let at = self.pos;
        let ok = self.buf.is_char_boundary(at)
            && ((b.is_ascii_whitespace() && self.over(at, SOFT_FACTOR))
                || self.over(at, HARD_FACTOR));
        if ok { self.cut_here(at, None) } else { None }
    }

    /// Cut inside raw text or a comment before byte `b` (which must not be able to change how the
    /// reopened content parses)? Anywhere once the piece reaches the target.
    fn cut_in_raw(&mut self, reopen: impl FnOnce() -> String) -> Option<(usize, Option<String>)> {
        let at = self.pos;
        if self.buf.is_char_boundary(at) && self.over(at, 1) {
            self.cut_here(at, Some(reopen()))
        } else {
            None
        }
    }

    /// Advances the state machine over byte `b` at `self.pos`; returns where to cut, if anywhere,
    /// and what the next piece must start with.
    fn step(&mut self, b: u8) -> Option<(usize, Option<String>)> {
        let mut cut = None;
        self.state = match self.state {
            State::Data => {
                if b == b'<' {
                    self.lt = self.pos;
                    State::TagOpen
                } else {
                    cut = self.cut_in_text(b);
                    State::Data
                }
            }
            State::TagOpen => match b {
                b'a'..=b'z' | b'A'..=b'Z' => {
                    self.start_name(b);
                    State::TagName { end: false }
                }
                b'!' => {
                    cut = self.cut_before_declaration();
                    State::MarkupDecl { dashes: 0 }
                }
                b'?' => {
                    cut = self.cut_before_declaration();
                    State::Bogus
                }
                b'/' => State::EndTagOpen,
                b'<' => {
                    self.lt = self.pos;
                    State::TagOpen
                }
                _ => State::Data,
            },
            State::EndTagOpen => match b {
                b'a'..=b'z' | b'A'..=b'Z' => {
                    self.start_name(b);
                    State::TagName { end: true }
                }
                b'>' => State::Data,
                _ => State::Bogus,
            },
            State::TagName { end } => {
                let name_ends = b == b'>' || b == b'/' || b.is_ascii_whitespace();
                if name_ends {
                    cut = self.cut_before_tag();
                }
                match b {
                    b'>' => self.emit_tag(end, false),
                    b'/' => State::InTag {
                        end,
                        after_eq: false,
                        slash: true,
                    },
                    b if b.is_ascii_whitespace() => State::InTag {
                        end,
                        after_eq: false,
                        slash: false,
                    },
                    _ => {
                        if self.name_len < NAME_CAP {
                            self.name[self.name_len] = b.to_ascii_lowercase();
                        }
                        self.name_len = self.name_len.saturating_add(1);
                        State::TagName { end }
                    }
                }
            }
            State::InTag {
                end,
                after_eq,
                slash,
            } => match b {
                b'>' => self.emit_tag(end, slash),
                b'"' | b'\'' if after_eq => State::Quoted { end, quote: b },
                b'=' => State::InTag {
                    end,
                    after_eq: true,
                    slash: false,
                },
                b'/' => State::InTag {
                    end,
                    after_eq: false,
                    slash: true,
                },
                b if b.is_ascii_whitespace() => State::InTag {
                    end,
                    after_eq,
                    slash: false,
                },
                _ => State::InTag {
                    end,
                    after_eq: false,
                    slash: false,
                },
            },
            State::Quoted { end, quote } => {
                if b == quote {
                    State::InTag {
                        end,
                        after_eq: false,
                        slash: false,
                    }
                } else {
                    State::Quoted { end, quote }
                }
            }
            State::MarkupDecl { dashes } => match (b, dashes) {
                // `<!--` leaves two dashes pending so `<!-->` and `<!--->` close at once, as in HTML.
                (b'-', 1) => State::Comment { dashes: 2 },
                (b'-', _) => State::MarkupDecl { dashes: 1 },
                (b'>', _) => State::Data,
                _ => State::Bogus,
            },
            State::Comment { dashes } => match b {
                b'-' => State::Comment {
                    dashes: dashes.saturating_add(1),
                },
                b'>' if dashes >= 2 => State::Data,
                b'!' if dashes >= 2 => State::CommentBang,
                _ => {
                    if b != b'>' && b != b'!' {
                        cut = self.cut_in_raw(|| "<!-- ".to_string());
                    }
                    State::Comment { dashes: 0 }
                }
            },
            State::CommentBang => match b {
                b'>' => State::Data,
                b'-' => State::Comment { dashes: 1 },
                _ => State::Comment { dashes: 0 },
            },
            State::Bogus => {
                if b == b'>' {
                    State::Data
                } else {
                    State::Bogus
                }
            }
            State::Raw { kind, matched } => self.raw_step(kind, matched, b, &mut cut),
        };
        cut
    }

    /// One byte of raw text: looks for `</name` followed by whitespace, `/` or `>`.
    fn raw_step(
        &mut self,
        kind: usize,
        matched: usize,
        b: u8,
        cut: &mut Option<(usize, Option<String>)>,
    ) -> State {
        let name = RAW_TEXT[kind].as_bytes();
        let restart = |b: u8| if b == b'<' { 1 } else { 0 };
        let matched = if RAW_TEXT[kind] == "plaintext" {
            0
        } else if matched == 0 {
            restart(b)
        } else if matched == 1 {
            if b == b'/' { 2 } else { restart(b) }
        } else if matched < 2 + name.len() {
            if b.to_ascii_lowercase() == name[matched - 2] {
                matched + 1
            } else {
                restart(b)
            }
        } else if b == b'>' {
            self.depth = self.depth.saturating_sub(1);
            return State::Data;
        } else if b == b'/' || b.is_ascii_whitespace() {
            return State::InTag {
                end: true,
                after_eq: false,
                slash: b == b'/',
            };
        } else {
            restart(b)
        };
        if matched == 0 {
            *cut = self.cut_in_raw(|| format!("<{}>", RAW_TEXT[kind]));
        }
        State::Raw { kind, matched }
    }

    fn start_name(&mut self, first: u8) {
        self.name[0] = first.to_ascii_lowercase();
        self.name_len = 1;
    }

    /// The tag name read so far, if it was short enough to be remembered.
    fn tag_name(&self) -> Option<&[u8]> {
        (self.name_len <= NAME_CAP).then(|| &self.name[..self.name_len])
    }

    /// A tag ended with `>`: tracks depth and enters raw text after a raw-text start tag.
    fn emit_tag(&mut self, end: bool, self_closing: bool) -> State {
        let name = self.tag_name();
        if end {
            self.depth = self.depth.saturating_sub(1);
            return State::Data;
        }
        if let Some(kind) = name.and_then(|n| RAW_TEXT.iter().position(|r| r.as_bytes() == n)) {
            self.depth += 1;
            return State::Raw { kind, matched: 0 };
        }
        let void = name.is_some_and(|n| VOID.iter().any(|v| v.as_bytes() == n));
        if !void && !self_closing {
            self.depth += 1;
        }
        State::Data
    }

    /// Hands out the piece up to `at` and starts a new one with `reopen`.
    fn cut(&mut self, at: usize, reopen: Option<String>) -> Piece {
        let mut text = std::mem::replace(&mut self.prefix, reopen.unwrap_or_default());
        let reopened = text.len();
        text.push_str(&self.buf[..at]);
        self.buf.drain(..at);
        self.pos -= at;
        self.lt = self.lt.saturating_sub(at);
        Piece { text, reopened }
    }
}

#[cfg(test)]
mod tests;
