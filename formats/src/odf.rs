//! OpenDocument (`.odt`, `.ods`, `.odp` zips and flat `.fodt`/`.fods`/`.fodp` XML): body text, tables, sheet
//! names, notes and annotations, headers/footers from the master styles; metadata from `meta.xml`.

use crate::context::{Cx, Input};
use crate::document::{Document, MetaField};
use crate::error::FormatError;
use crate::kind::Kind;
use crate::xmltext::{TextRules, collect_meta, collect_text, element_attributes};
use crate::zipfile;

const BODY: TextRules = TextRules {
    text_in: &[],
    root: Some("body"),
    paragraphs: &["p", "h"],
    line_breaks: &["line-break"],
    tabs: &["tab"],
    spaces: &["s"],
    skip: &["tracked-changes", "forms"],
};

const MASTER_STYLES: TextRules = TextRules {
    root: Some("master-styles"),
    ..BODY
};

const META: [(&str, MetaField); 7] = [
    ("title", MetaField::Title),
    ("initial-creator", MetaField::Author),
    ("creator", MetaField::Author),
    ("subject", MetaField::Subject),
    ("keyword", MetaField::Keywords),
    ("creation-date", MetaField::Created),
    ("language", MetaField::Language),
];

/// Extracts a zipped OpenDocument read through `input`.
pub(crate) fn extract_zip(
    input: &mut dyn Input,
    kind: Kind,
    cx: &mut Cx,
) -> Result<Document, FormatError> {
    let mut zip = zipfile::open(input, "odf")?;
    let mut doc = Document::new(kind.mime());
    if let Some(meta) = zipfile::read(&mut zip, "meta.xml", "odf", cx)? {
        metadata(&meta, &mut doc)?;
    }
    let content = zipfile::read(&mut zip, "content.xml", "odf", cx)?
        .ok_or_else(|| FormatError::malformed("odf", "no content.xml"))?;
    body(&content, &mut doc)?;
    if let Some(styles) = zipfile::read(&mut zip, "styles.xml", "odf", cx)? {
        collect_text(&styles, &MASTER_STYLES, "odf", &mut doc.text)?;
    }
    Ok(doc)
}

/// Extracts a flat OpenDocument (one XML file holding meta, styles and body).
pub(crate) fn extract_flat(xml: &[u8]) -> Result<Document, FormatError> {
    let mut doc = Document::new(Kind::FlatOdf.mime());
    metadata(xml, &mut doc)?;
    body(xml, &mut doc)?;
    collect_text(xml, &MASTER_STYLES, "odf", &mut doc.text)?;
    Ok(doc)
}

fn metadata(xml: &[u8], doc: &mut Document) -> Result<(), FormatError> {
    collect_meta(xml, &META, "odf", doc)?;
    for pages in element_attributes(xml, "document-statistic", "page-count", "odf")? {
        doc.push_meta(MetaField::Pages, &pages);
    }
    Ok(())
}

/// Sheet names (spreadsheets only) first, then the body text.
fn body(xml: &[u8], doc: &mut Document) -> Result<(), FormatError> {
    let spreadsheet = xml.windows(19).any(|w| w == b"<office:spreadsheet");
    let sheets = if spreadsheet {
        element_attributes(xml, "table", "name", "odf")?
    } else {
        Vec::new()
    };
    for name in sheets {
        doc.text.push_str(&name);
        doc.text.push('\n');
    }
    collect_text(xml, &BODY, "odf", &mut doc.text)
}
