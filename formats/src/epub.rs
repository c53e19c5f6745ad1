//! EPUB 2 and 3: `META-INF/container.xml` names the package (OPF), whose spine orders the XHTML documents;
//! each goes through the caller's HTML converter. Title, author and language from the OPF metadata.

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::context::{Cx, Input};
use crate::document::{Document, MetaField};
use crate::error::FormatError;
use crate::kind::Kind;
use crate::xmltext::{attribute, collect_meta, element_attributes};
use crate::zipfile;

const OPF_META: [(&str, MetaField); 5] = [
    ("title", MetaField::Title),
    ("creator", MetaField::Author),
    ("language", MetaField::Language),
    ("subject", MetaField::Keywords),
    ("date", MetaField::Created),
];

/// Extracts an EPUB read through `input`.
pub(crate) fn extract(input: &mut dyn Input, cx: &mut Cx) -> Result<Document, FormatError> {
    let mut zip = zipfile::open(input, "epub")?;
    let container = zipfile::read(&mut zip, "META-INF/container.xml", "epub", cx)?
        .ok_or_else(|| FormatError::malformed("epub", "no META-INF/container.xml"))?;
    let opf_path = element_attributes(&container, "rootfile", "full-path", "epub")?
        .into_iter()
        .next()
        .ok_or_else(|| FormatError::malformed("epub", "container.xml names no rootfile"))?;
    let opf = zipfile::read(&mut zip, &opf_path, "epub", cx)?
        .ok_or_else(|| FormatError::malformed("epub", format!("package {opf_path} missing")))?;
    let mut doc = Document::new(Kind::Epub.mime());
    collect_meta(&opf, &OPF_META, "epub", &mut doc)?;
    let base = opf_path.rfind('/').map_or("", |i| &opf_path[..=i]);
    for href in spine(&opf)? {
        let member = resolve(base, &href);
        match zipfile::read(&mut zip, &member, "epub", cx)? {
            Some(xhtml) => {
                let text = cx.plain.html(&xhtml);
                doc.text.push_str(text.trim_end());
                doc.text.push('\n');
            }
            None => doc.notes.push(format!("missing spine document: {member}")),
        }
    }
    Ok(doc)
}

/// The `href`s of the manifest items the spine lists, in spine order.
fn spine(opf: &[u8]) -> Result<Vec<String>, FormatError> {
    let xml = String::from_utf8_lossy(opf);
    let mut reader = Reader::from_str(&xml);
    let (mut manifest, mut order) = (Vec::new(), Vec::new());
    loop {
        match reader
            .read_event()
            .map_err(|e| FormatError::malformed("epub", e))?
        {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                "item" => {
                    if let (Some(id), Some(href)) = (attribute(&e, "id"), attribute(&e, "href")) {
                        manifest.push((id, href));
                    }
                }
                "itemref" => order.extend(attribute(&e, "idref")),
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(order
        .iter()
        .filter_map(|id| {
            manifest
                .iter()
                .find(|(i, _)| i == id)
                .map(|(_, h)| h.clone())
        })
        .collect())
}

/// `href` (percent-encoded, relative to the OPF's folder) as a member name.
fn resolve(base: &str, href: &str) -> String {
    let href = href.split('#').next().unwrap_or(href);
    let mut parts: Vec<String> = base
        .split('/')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    for seg in percent_decode(href).split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s.to_string()),
        }
    }
    parts.join("/")
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
