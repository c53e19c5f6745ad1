//! Rich Text Format: the text without control words, `\'hh` bytes decoded in the document's code page
//! (`\ansicpg`, `\mac`), `\uN` characters with their `\ucN` fallbacks skipped; title, author, subject,
//! keywords and creation time from the `\info` group. Font tables, pictures and ignorable destinations are
//! left out.

use encoding_rs::{Encoding, WINDOWS_1252};

use crate::document::{Document, MetaField};
use crate::error::FormatError;
use crate::kind::Kind;

/// Destinations whose content is not text.
const SKIPPED: [&str; 24] = [
    "fonttbl",
    "colortbl",
    "stylesheet",
    "listtable",
    "listoverridetable",
    "pict",
    "object",
    "themedata",
    "colorschememapping",
    "datastore",
    "latentstyles",
    "rsidtbl",
    "generator",
    "xmlnstbl",
    "mmathPr",
    "pgdsctbl",
    "filetbl",
    "revtbl",
    "fldinst",
    "bkmkstart",
    "bkmkend",
    "operator",
    "revtim",
    "printim",
];

const INFO_FIELDS: [(&str, MetaField); 4] = [
    ("title", MetaField::Title),
    ("author", MetaField::Author),
    ("subject", MetaField::Subject),
    ("keywords", MetaField::Keywords),
];

/// Deepest group nesting followed; deeper groups are skipped (hostile input).
const MAX_GROUP_DEPTH: usize = 1000;

#[derive(Clone, Copy, PartialEq)]
enum Dest {
    Body,
    Meta(MetaField),
    Created,
    Skip,
}

#[derive(Clone, Copy)]
struct Group {
    dest: Dest,
    /// Fallback characters after `\uN` to skip.
    uc: usize,
}

struct Parser {
    encoding: &'static Encoding,
    stack: Vec<Group>,
    group: Group,
    /// Code-page bytes not yet decoded, and where they go.
    pending: Vec<u8>,
    /// Fallback characters still to skip after a `\uN`.
    skip_chars: usize,
    body: String,
    meta: Vec<(MetaField, String)>,
    created: [Option<i32>; 5],
}

/// Extracts an RTF document held in memory.
pub(crate) fn extract(bytes: &[u8]) -> Result<Document, FormatError> {
    // A document starts with `{\rtf1`; a fragment (what `pandoc -t rtf` writes without `--standalone`, or
    // what programs put on the clipboard) starts with another group and control word: read both.
    let start = bytes.trim_ascii_start();
    if !start.starts_with(b"{\\") {
        return Err(FormatError::malformed(
            "rtf",
            "does not start with a {\\ group",
        ));
    }
    let mut parser = Parser {
        encoding: WINDOWS_1252,
        stack: Vec::new(),
        group: Group {
            dest: Dest::Body,
            uc: 1,
        },
        pending: Vec::new(),
        skip_chars: 0,
        body: String::new(),
        meta: Vec::new(),
        created: [None; 5],
    };
    parser.run(bytes);
    parser.flush();
    let mut doc = Document::new(Kind::Rtf.mime());
    for (field, value) in &parser.meta {
        doc.push_meta(*field, value);
    }
    if let [Some(y), Some(mo), Some(d), h, mi] = parser.created {
        let created = format!(
            "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:00",
            h.unwrap_or(0),
            mi.unwrap_or(0)
        );
        doc.push_meta(MetaField::Created, &created);
    }
    doc.text = parser.body;
    Ok(doc)
}

impl Parser {
    fn run(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'{' => {
                    self.flush();
                    self.stack.push(self.group);
                    if self.stack.len() > MAX_GROUP_DEPTH {
                        self.group.dest = Dest::Skip;
                    }
                    if bytes[i + 1..].starts_with(b"\\*") {
                        self.group.dest = Dest::Skip;
                        i += 2;
                    }
                    i += 1;
                }
                b'}' => {
                    self.flush();
                    if let Some(outer) = self.stack.pop() {
                        self.group = outer;
                    }
                    i += 1;
                }
                b'\\' => i = self.control(bytes, i + 1),
                b'\r' | b'\n' => i += 1,
                byte => {
                    self.byte(byte);
                    i += 1;
                }
            }
        }
    }

    /// Handles the control word or symbol after a backslash at `i`; returns where parsing goes on.
    fn control(&mut self, bytes: &[u8], mut i: usize) -> usize {
        let Some(&first) = bytes.get(i) else { return i };
        if !first.is_ascii_alphabetic() {
            match first {
                b'\'' => {
                    let hex = bytes
                        .get(i + 1..i + 3)
                        .and_then(|h| std::str::from_utf8(h).ok());
                    if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        self.byte(byte);
                    }
                    return i + 3;
                }
                b'~' => self.push_char('\u{a0}'),
                b'_' => self.push_char('-'),
                b'{' | b'}' | b'\\' => self.byte(first),
                b'\r' | b'\n' => self.push_char('\n'),
                _ => {}
            }
            return i + 1;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() && i - start < 32 {
            i += 1;
        }
        let word = std::str::from_utf8(&bytes[start..i]).unwrap_or("");
        let num_start = i;
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        while i < bytes.len() && bytes[i].is_ascii_digit() && i - num_start < 10 {
            i += 1;
        }
        let param = std::str::from_utf8(&bytes[num_start..i])
            .ok()
            .and_then(|p| p.parse::<i32>().ok());
        if bytes.get(i) == Some(&b' ') {
            i += 1;
        }
        if word == "bin" {
            self.flush();
            return i
                .saturating_add(param.unwrap_or(0).max(0) as usize)
                .min(bytes.len());
        }
        self.word(word, param);
        i
    }

    fn word(&mut self, word: &str, param: Option<i32>) {
        match word {
            "par" | "line" | "sect" | "page" | "row" => self.push_char('\n'),
            "tab" | "cell" => self.push_char('\t'),
            "emdash" => self.push_char('\u{2014}'),
            "endash" => self.push_char('\u{2013}'),
            "bullet" => self.push_char('\u{2022}'),
            "lquote" => self.push_char('\u{2018}'),
            "rquote" => self.push_char('\u{2019}'),
            "ldblquote" => self.push_char('\u{201c}'),
            "rdblquote" => self.push_char('\u{201d}'),
            "uc" => self.group.uc = param.unwrap_or(1).clamp(0, 16) as usize,
            "u" => {
                if let Some(code) = param {
                    let code = if code < 0 { code + 65536 } else { code };
                    self.push_char(char::from_u32(code as u32).unwrap_or('\u{fffd}'));
                    self.skip_chars = self.group.uc;
                }
            }
            "ansicpg" => self.encoding = param.and_then(code_page).unwrap_or(WINDOWS_1252),
            "mac" => self.encoding = encoding_rs::MACINTOSH,
            "info" => {}
            "creatim" => self.group.dest = Dest::Created,
            "yr" | "mo" | "dy" | "hr" | "min" if self.group.dest == Dest::Created => {
                let slot = ["yr", "mo", "dy", "hr", "min"]
                    .iter()
                    .position(|w| *w == word)
                    .unwrap_or(0);
                self.created[slot] = param;
            }
            _ if SKIPPED.contains(&word) => self.group.dest = Dest::Skip,
            _ => {
                if let Some((_, field)) = INFO_FIELDS.iter().find(|(w, _)| *w == word)
                    && self.group.dest != Dest::Skip
                {
                    self.group.dest = Dest::Meta(*field);
                    self.meta.push((*field, String::new()));
                }
            }
        }
    }

    /// A code-page byte (literal or `\'hh`), unless it is a `\uN` fallback being skipped.
    fn byte(&mut self, byte: u8) {
        if self.skip_chars > 0 {
            self.skip_chars -= 1;
            return;
        }
        if matches!(self.group.dest, Dest::Body | Dest::Meta(_)) {
            self.pending.push(byte);
        }
    }

    fn push_char(&mut self, c: char) {
        self.flush();
        self.skip_chars = 0;
        if let Some(out) = self.target() {
            out.push(c);
        }
    }

    /// Decodes the pending code-page bytes into the current destination.
    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let bytes = std::mem::take(&mut self.pending);
        let (text, _) = self.encoding.decode_without_bom_handling(&bytes);
        if let Some(out) = self.target() {
            out.push_str(&text);
        }
    }

    fn target(&mut self) -> Option<&mut String> {
        match self.group.dest {
            Dest::Body => Some(&mut self.body),
            Dest::Meta(_) => self.meta.last_mut().map(|(_, value)| value),
            Dest::Created | Dest::Skip => None,
        }
    }
}

/// The encoding of a Windows code page number.
fn code_page(cp: i32) -> Option<&'static Encoding> {
    let label = match cp {
        932 => "shift_jis".to_string(),
        936 => "gbk".to_string(),
        949 => "euc-kr".to_string(),
        950 => "big5".to_string(),
        10000 => "macintosh".to_string(),
        65001 => "utf-8".to_string(),
        874 => "windows-874".to_string(),
        n => format!("windows-{n}"),
    };
    Encoding::for_label(label.as_bytes())
}
