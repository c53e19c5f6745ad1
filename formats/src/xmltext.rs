//! A streaming walk over an XML document that collects its text by simple rules (which elements hold text,
//! which end a paragraph), and one that collects the text of named metadata elements. Entities are never
//! expanded beyond the predefined ones and character references (no DTD: billion-laughs input stays small).

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use crate::document::{Document, MetaField};
use crate::error::FormatError;

/// Which elements carry text and how the text is laid out. Element names are local names (no prefix).
pub(crate) struct TextRules<'r> {
    /// Character data counts only inside these elements; empty means inside [`TextRules::root`].
    pub text_in: &'r [&'r str],
    /// Character data counts only inside this element (e.g. ODF `body`); `None` means anywhere.
    pub root: Option<&'r str>,
    /// Elements whose end ends a line (paragraphs, headings, table rows).
    pub paragraphs: &'r [&'r str],
    /// Elements that stand for a line break.
    pub line_breaks: &'r [&'r str],
    /// Elements that stand for a tab.
    pub tabs: &'r [&'r str],
    /// Elements that stand for spaces (ODF `text:s`, count in attribute `c`).
    pub spaces: &'r [&'r str],
    /// Elements whose content is ignored.
    pub skip: &'r [&'r str],
}

/// Appends the text of `xml` to `out` by `rules`. `kind` names the format in errors.
pub(crate) fn collect_text(
    xml: &[u8],
    rules: &TextRules,
    kind: &'static str,
    out: &mut String,
) -> Result<(), FormatError> {
    let xml = String::from_utf8_lossy(xml);
    let mut reader = Reader::from_str(&xml);
    reader.config_mut().check_end_names = false;
    let mut state = State {
        inside_text: 0,
        inside_root: usize::from(rules.root.is_none()),
        paragraph: 0,
        skipping: 0,
    };
    loop {
        let event = reader
            .read_event()
            .map_err(|e| FormatError::malformed(kind, e))?;
        match event {
            Event::Start(e) => {
                let name = e.local_name();
                let name = name.as_ref();
                if state.skipping > 0 || rules.skip.contains(&name) {
                    state.skipping += 1;
                } else if rules.text_in.contains(&name) {
                    state.inside_text += 1;
                } else if rules.root == Some(name) {
                    state.inside_root += 1;
                } else if rules.paragraphs.contains(&name) {
                    state.paragraph += 1;
                }
                special_element(&e, rules, state.active(), false, out);
            }
            Event::Empty(e) => special_element(&e, rules, state.active(), true, out),
            Event::End(e) => {
                let name = e.local_name();
                let name = name.as_ref();
                if state.skipping > 0 {
                    state.skipping -= 1;
                } else if rules.text_in.contains(&name) {
                    state.inside_text = state.inside_text.saturating_sub(1);
                } else if rules.root == Some(name) {
                    state.inside_root = state.inside_root.saturating_sub(1);
                } else if rules.paragraphs.contains(&name) {
                    state.paragraph = state.paragraph.saturating_sub(1);
                    if state.active() {
                        end_line(out);
                    }
                }
            }
            Event::Text(t) if state.counts(rules) => out.push_str(&t.xml10_content()),
            Event::CData(t) if state.counts(rules) => out.push_str(&t),
            Event::GeneralRef(r) if state.counts(rules) => push_reference(&r.xml10_content(), out),
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(())
}

/// Where the walk is: element depths that decide whether character data is text.
struct State {
    inside_text: usize,
    inside_root: usize,
    paragraph: usize,
    skipping: usize,
}

impl State {
    fn active(&self) -> bool {
        self.skipping == 0 && self.inside_root > 0
    }

    /// Character data is text inside a text element (when the rules name them), else inside a paragraph
    /// (so indentation between elements of pretty-printed XML is not).
    fn counts(&self, rules: &TextRules) -> bool {
        self.active()
            && if rules.text_in.is_empty() {
                self.paragraph > 0
            } else {
                self.inside_text > 0
            }
    }
}

/// Tabs, breaks and spaces stand for characters (written `<x/>` or `<x></x>`); an empty paragraph ends a line.
fn special_element(e: &BytesStart, rules: &TextRules, active: bool, empty: bool, out: &mut String) {
    if !active {
        return;
    }
    let name = e.local_name();
    let name = name.as_ref();
    if rules.tabs.contains(&name) {
        out.push('\t');
    } else if rules.line_breaks.contains(&name) {
        out.push('\n');
    } else if rules.spaces.contains(&name) {
        let count = attribute(e, "c")
            .and_then(|c| c.parse::<usize>().ok())
            .unwrap_or(1);
        out.extend(std::iter::repeat_n(' ', count.min(64)));
    } else if empty && rules.paragraphs.contains(&name) {
        end_line(out);
    }
}

fn end_line(out: &mut String) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

/// Appends the character a reference stands for; unknown named entities are dropped.
pub(crate) fn push_reference(name: &str, out: &mut String) {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => num.parse::<u32>().ok(),
        };
        if let Some(c) = code.and_then(char::from_u32) {
            out.push(c);
        }
        return;
    }
    let c = match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{a0}',
        _ => return,
    };
    out.push(c);
}

/// The unescaped value of attribute `local` (prefix ignored) of `e`.
pub(crate) fn attribute(e: &BytesStart, local: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == local)
        .map(|a| {
            let value = a
                .normalized_value(XmlVersion::Implicit1_0)
                .map(|v| v.into_owned());
            value.unwrap_or_else(|_| a.value.to_string())
        })
}

/// Collects the text of elements named in `fields` (local names) into `doc.meta`, in document order.
pub(crate) fn collect_meta(
    xml: &[u8],
    fields: &[(&str, MetaField)],
    kind: &'static str,
    doc: &mut Document,
) -> Result<(), FormatError> {
    let xml = String::from_utf8_lossy(xml);
    let mut reader = Reader::from_str(&xml);
    reader.config_mut().check_end_names = false;
    let mut current: Option<(MetaField, String)> = None;
    loop {
        match reader
            .read_event()
            .map_err(|e| FormatError::malformed(kind, e))?
        {
            Event::Start(e) => {
                let name = e.local_name();
                if let Some((_, field)) = fields.iter().find(|(n, _)| *n == name.as_ref()) {
                    current = Some((*field, String::new()));
                }
            }
            Event::Text(t) => {
                if let Some((_, value)) = current.as_mut() {
                    value.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                if let Some((_, value)) = current.as_mut() {
                    push_reference(&r.xml10_content(), value);
                }
            }
            Event::End(_) => {
                if let Some((field, value)) = current.take() {
                    doc.push_meta(field, &value);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(())
}

/// The values of attribute `attr` on every `element`, in order.
pub(crate) fn element_attributes(
    xml: &[u8],
    element: &str,
    attr: &str,
    kind: &'static str,
) -> Result<Vec<String>, FormatError> {
    let xml = String::from_utf8_lossy(xml);
    let mut reader = Reader::from_str(&xml);
    let mut found = Vec::new();
    loop {
        match reader
            .read_event()
            .map_err(|e| FormatError::malformed(kind, e))?
        {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == element => {
                found.extend(attribute(&e, attr));
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(found)
}
