//! Office Open XML (`.docx`, `.xlsx`, `.pptx`): body, tables, headers/footers, notes and comments, sheet
//! cells with sheet names, slide and speaker-note text; metadata from `docProps/core.xml` and `app.xml`.

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::context::{Cx, Input};
use crate::document::{Document, MetaField};
use crate::error::FormatError;
use crate::kind::Kind;
use crate::xmltext::{
    TextRules, attribute, collect_meta, collect_text, element_attributes, push_reference,
};
use crate::zipfile::{self, Zip};

const WORD: TextRules = TextRules {
    text_in: &["t"],
    root: None,
    paragraphs: &["p", "tr"],
    line_breaks: &["br", "cr"],
    tabs: &["tab"],
    spaces: &[],
    skip: &["pPr", "rPr", "instrText", "delText"],
};

const DRAWING: TextRules = TextRules {
    text_in: &["t"],
    root: None,
    paragraphs: &["p"],
    line_breaks: &["br"],
    tabs: &[],
    spaces: &[],
    skip: &[],
};

const CORE: [(&str, MetaField); 6] = [
    ("title", MetaField::Title),
    ("creator", MetaField::Author),
    ("subject", MetaField::Subject),
    ("keywords", MetaField::Keywords),
    ("created", MetaField::Created),
    ("language", MetaField::Language),
];

/// Extracts a `.docx`, `.xlsx` or `.pptx` read through `input`.
pub(crate) fn extract(
    input: &mut dyn Input,
    kind: Kind,
    cx: &mut Cx,
) -> Result<Document, FormatError> {
    let label = match kind {
        Kind::Xlsx => "xlsx",
        Kind::Pptx => "pptx",
        _ => "docx",
    };
    let mut zip = zipfile::open(input, label)?;
    let names = zipfile::names(&zip);
    let mut doc = Document::new(kind.mime());
    if let Some(core) = zipfile::read(&mut zip, "docProps/core.xml", label, cx)? {
        collect_meta(&core, &CORE, label, &mut doc)?;
    }
    if let Some(app) = zipfile::read(&mut zip, "docProps/app.xml", label, cx)? {
        collect_meta(&app, &[("Pages", MetaField::Pages)], label, &mut doc)?;
    }
    match kind {
        Kind::Xlsx => workbook(&mut zip, &names, cx, &mut doc)?,
        Kind::Pptx => {
            let mut members = zipfile::numbered(&names, "ppt/slides/slide", ".xml");
            members.extend(zipfile::numbered(
                &names,
                "ppt/notesSlides/notesSlide",
                ".xml",
            ));
            members.extend(zipfile::numbered(&names, "ppt/comments/comment", ".xml"));
            text_of(&mut zip, &members, &DRAWING, label, cx, &mut doc)?;
        }
        _ => {
            if !names.iter().any(|n| n == "word/document.xml") {
                return Err(FormatError::malformed(label, "no word/document.xml"));
            }
            let mut members = vec!["word/document.xml".to_string()];
            members.extend(zipfile::numbered(&names, "word/header", ".xml"));
            members.extend(zipfile::numbered(&names, "word/footer", ".xml"));
            for extra in [
                "word/footnotes.xml",
                "word/endnotes.xml",
                "word/comments.xml",
            ] {
                members.push(extra.to_string());
            }
            text_of(&mut zip, &members, &WORD, label, cx, &mut doc)?;
        }
    }
    Ok(doc)
}

fn text_of(
    zip: &mut Zip,
    members: &[String],
    rules: &TextRules,
    label: &'static str,
    cx: &mut Cx,
    doc: &mut Document,
) -> Result<(), FormatError> {
    for member in members {
        if let Some(xml) = zipfile::read(zip, member, label, cx)? {
            collect_text(&xml, rules, label, &mut doc.text)?;
            if !doc.text.ends_with('\n') && !doc.text.is_empty() {
                doc.text.push('\n');
            }
        }
    }
    Ok(())
}

/// Each sheet as its name on a line, then its rows, cells separated by tabs.
fn workbook(
    zip: &mut Zip,
    names: &[String],
    cx: &mut Cx,
    doc: &mut Document,
) -> Result<(), FormatError> {
    let shared = match zipfile::read(zip, "xl/sharedStrings.xml", "xlsx", cx)? {
        Some(xml) => shared_strings(&xml)?,
        None => Vec::new(),
    };
    let sheet_names = match zipfile::read(zip, "xl/workbook.xml", "xlsx", cx)? {
        Some(xml) => element_attributes(&xml, "sheet", "name", "xlsx")?,
        None => Vec::new(),
    };
    let sheets = zipfile::numbered(names, "xl/worksheets/sheet", ".xml");
    for (i, member) in sheets.iter().enumerate() {
        if let Some(name) = sheet_names.get(i) {
            doc.text.push_str(name);
            doc.text.push('\n');
        }
        if let Some(xml) = zipfile::read(zip, member, "xlsx", cx)? {
            sheet_cells(&xml, &shared, &mut doc.text)?;
        }
    }
    Ok(())
}

/// The strings of `xl/sharedStrings.xml` in order (each `si`, its runs joined; phonetic runs left out).
fn shared_strings(xml: &[u8]) -> Result<Vec<String>, FormatError> {
    let xml = String::from_utf8_lossy(xml);
    let mut reader = Reader::from_str(&xml);
    let (mut strings, mut current, mut in_t, mut in_phonetic) =
        (Vec::new(), String::new(), false, false);
    loop {
        match reader
            .read_event()
            .map_err(|e| FormatError::malformed("xlsx", e))?
        {
            Event::Start(e) => match e.local_name().as_ref() {
                "t" => in_t = true,
                "rPh" => in_phonetic = true,
                _ => {}
            },
            Event::End(e) => match e.local_name().as_ref() {
                "t" => in_t = false,
                "rPh" => in_phonetic = false,
                "si" => strings.push(std::mem::take(&mut current)),
                _ => {}
            },
            Event::Text(t) if in_t && !in_phonetic => current.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if in_t && !in_phonetic => {
                push_reference(&r.xml10_content(), &mut current)
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(strings)
}

/// Appends a worksheet's cell values: shared-string cells resolved, numbers and inline strings as written.
fn sheet_cells(xml: &[u8], shared: &[String], out: &mut String) -> Result<(), FormatError> {
    let xml = String::from_utf8_lossy(xml);
    let mut reader = Reader::from_str(&xml);
    let (mut cell_type, mut value, mut in_value, mut first_in_row) =
        (String::new(), String::new(), false, true);
    loop {
        match reader
            .read_event()
            .map_err(|e| FormatError::malformed("xlsx", e))?
        {
            Event::Start(e) => match e.local_name().as_ref() {
                "c" => {
                    cell_type = attribute(&e, "t").unwrap_or_default();
                    value.clear();
                }
                "v" | "t" => in_value = true,
                _ => {}
            },
            Event::End(e) => match e.local_name().as_ref() {
                "v" | "t" => in_value = false,
                "c" => {
                    let text = match cell_type.as_str() {
                        "s" => value
                            .trim()
                            .parse::<usize>()
                            .ok()
                            .and_then(|i| shared.get(i))
                            .cloned(),
                        _ => Some(value.clone()),
                    };
                    if let Some(text) = text.filter(|t| !t.is_empty()) {
                        if !first_in_row {
                            out.push('\t');
                        }
                        out.push_str(&text);
                        first_in_row = false;
                    }
                }
                "row" => {
                    if !first_in_row {
                        out.push('\n');
                    }
                    first_in_row = true;
                }
                _ => {}
            },
            Event::Text(t) if in_value => value.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if in_value => push_reference(&r.xml10_content(), &mut value),
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(())
}
