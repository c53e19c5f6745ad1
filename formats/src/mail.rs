//! E-mail through `mail-parser`: one message (`.eml`, a Maildir file) or an mbox of them. Headers are
//! RFC 2047-decoded, bodies transfer- and charset-decoded; HTML bodies go through the caller's converter.
//! From/To/Subject/Date become metadata; each attachment is a part named after its file name, with its
//! content extracted when its format is supported; each message of an mbox is a part `message N: subject`.

use std::borrow::Cow;
use std::io::BufReader;

use mail_parser::mailbox::mbox::MessageIterator;
use mail_parser::{Address, Message, MessageParser, MimeHeaders, PartType};

use crate::context::{Cx, Input};
use crate::document::{Document, MetaField, Part};
use crate::error::FormatError;
use crate::kind::Kind;

/// Extracts one RFC 5322 message.
pub(crate) fn extract_message(bytes: &[u8], cx: &mut Cx) -> Result<Document, FormatError> {
    let bytes = with_header_end(bytes);
    let message = MessageParser::default()
        .parse(&bytes[..])
        .ok_or_else(|| FormatError::malformed("mail", "no message headers"))?;
    Ok(message_document(&message, cx))
}

/// Extracts an mbox read through `input`: every message a part.
pub(crate) fn extract_mbox(input: &mut dyn Input, cx: &mut Cx) -> Result<Document, FormatError> {
    input.rewind()?;
    let mut doc = Document::new(Kind::Mbox.mime());
    let mut number = 0usize;
    for message in MessageIterator::new(BufReader::new(input)) {
        let message = message.map_err(|e| FormatError::malformed("mbox", e))?;
        number += 1;
        if !cx.room_for_part(&mut doc) {
            break;
        }
        let raw = message.contents();
        if cx.take_budget(raw.len()).is_err() {
            doc.notes.push(format!(
                "cap reached: total bytes, stopped at message {number}"
            ));
            break;
        }
        let part = match MessageParser::default().parse(&with_header_end(raw)[..]) {
            Some(parsed) => {
                let subject = parsed.subject().unwrap_or("").trim().to_string();
                Part {
                    name: format!("message {number}: {subject}"),
                    document: message_document(&parsed, cx),
                }
            }
            None => Part {
                name: format!("message {number}"),
                document: Document::failed("malformed message"),
            },
        };
        doc.parts.push(part);
    }
    Ok(doc)
}

fn message_document(message: &Message, cx: &mut Cx) -> Document {
    let mut doc = Document::new(Kind::Mail.mime());
    if let Some(subject) = message.subject() {
        doc.push_meta(MetaField::Subject, subject);
    }
    if let Some(from) = message.from() {
        doc.push_meta(MetaField::From, &addresses(from));
    }
    if let Some(to) = message.to() {
        doc.push_meta(MetaField::To, &addresses(to));
    }
    if let Some(date) = message.date() {
        doc.push_meta(MetaField::Date, &date.to_rfc3339());
    }
    for pos in 0..message.text_body_count() {
        let Some(part) = message.text_part(pos as u32) else {
            continue;
        };
        let text = match &part.body {
            PartType::Text(text) => text.to_string(),
            PartType::Html(html) => cx.plain.html(html.as_bytes()),
            _ => continue,
        };
        doc.text.push_str(text.trim_end());
        doc.text.push('\n');
    }
    for (i, attachment) in message.attachments().enumerate() {
        if is_unnamed_text(attachment) {
            // A text part that mail-parser could not class as a body, e.g. `Content-Type: text` without a
            // subtype (RFC 2045 makes such a part text/plain): its text is the message's.
            if cx.take_budget(attachment.contents().len()).is_ok() {
                doc.text
                    .push_str(cx.plain.text(attachment.contents()).trim_end());
                doc.text.push('\n');
            }
            continue;
        }
        if !cx.room_for_part(&mut doc) {
            break;
        }
        let name = attachment
            .attachment_name()
            .map_or_else(|| format!("attachment {}", i + 1), str::to_string);
        let document = match &attachment.body {
            PartType::Message(inner) => {
                if cx.depth >= cx.limits.max_depth {
                    Document::failed(&format!("cap reached: depth {}", cx.limits.max_depth))
                } else {
                    cx.depth += 1;
                    let inner_doc = message_document(inner, cx);
                    cx.depth -= 1;
                    inner_doc
                }
            }
            _ => match cx
                .take_budget(attachment.contents().len())
                .and_then(|()| cx.nested(attachment.contents(), name.as_bytes()))
            {
                Ok(inner) => inner,
                Err(e) => Document::failed(&e.to_string()),
            },
        };
        doc.parts.push(Part { name, document });
    }
    doc
}

/// Whether a part is text without a file name: no content type, or type `text` with any (or no)
/// subtype, and not marked as an attachment by name.
fn is_unnamed_text(part: &mail_parser::MessagePart) -> bool {
    part.attachment_name().is_none()
        && !matches!(part.body, PartType::Message(_))
        && part
            .content_type()
            .is_none_or(|ct| ct.ctype().eq_ignore_ascii_case("text"))
}

/// `bytes` with a blank line put where the headers end, when a message has none: the first line that is
/// neither a header (`Name:`), a header's continuation (it starts with a space or tab), nor an mbox
/// `From ` line at the very start ends the headers and starts the body, as Python's `email` package reads
/// it. Without this, `mail-parser` takes such a line for a broken header and the body is lost.
fn with_header_end(bytes: &[u8]) -> Cow<'_, [u8]> {
    let mut start = 0;
    while start < bytes.len() {
        let end = bytes[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| start + i + 1);
        let line = &bytes[start..end];
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if content.is_empty() {
            return Cow::Borrowed(bytes); // the blank line is there
        }
        let header = matches!(content[0], b' ' | b'\t')
            || (start == 0 && content.starts_with(b"From "))
            || is_header_line(content);
        if !header {
            let newline: &[u8] = if bytes[..start].ends_with(b"\r\n") {
                b"\r\n"
            } else {
                b"\n"
            };
            let mut fixed = Vec::with_capacity(bytes.len() + 2);
            fixed.extend_from_slice(&bytes[..start]);
            fixed.extend_from_slice(newline);
            fixed.extend_from_slice(&bytes[start..]);
            return Cow::Owned(fixed);
        }
        start = end;
    }
    Cow::Borrowed(bytes)
}

/// Whether `line` starts with a header name and its colon: printable ASCII other than the colon, then
/// (the obsolete syntax) optional spaces or tabs before the colon.
fn is_header_line(line: &[u8]) -> bool {
    let name = line
        .iter()
        .position(|&b| !(b'!'..=b'~').contains(&b) || b == b':')
        .unwrap_or(line.len());
    let colon = name
        + line[name..]
            .iter()
            .position(|&b| b != b' ' && b != b'\t')
            .unwrap_or(line.len() - name);
    name > 0 && line.get(colon) == Some(&b':')
}

/// `Name <address>, ...` for every address of a header (groups flattened).
fn addresses(address: &Address) -> String {
    let list: Vec<String> = match address {
        Address::List(list) => list.iter().map(one_address).collect(),
        Address::Group(groups) => groups
            .iter()
            .flat_map(|g| g.addresses.iter().map(one_address))
            .collect(),
    };
    list.join(", ")
}

fn one_address(addr: &mail_parser::Addr) -> String {
    match (addr.name.as_deref(), addr.address.as_deref()) {
        (Some(name), Some(email)) => format!("{name} <{email}>"),
        (Some(name), None) => name.to_string(),
        (None, Some(email)) => email.to_string(),
        (None, None) => String::new(),
    }
}
