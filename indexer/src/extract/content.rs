//! From the first bytes to text: classifies the content, picks its decoder and streams the rest of the
//! input through it into a sink (plain text, or HTML converted to text) until the text cap is reached.

use std::io::Read;
use std::path::Path;

use super::decode::TextDecoder;
use super::html::{self, HtmlSink};
use super::reader::read_retrying;
use super::sink::{Sink, TextSink};
use super::sniff;
use super::types::{ExtractError, Format, Limits};

/// Bytes read first to classify content and choose its encoding.
pub(super) const HEAD_LEN: usize = 64 * 1024;

/// Bytes read at a time after the head.
pub(super) const READ_CHUNK: usize = 64 * 1024;

/// Extracted content before the raw-input facts are added.
pub(super) struct Content {
    pub(super) text: String,
    pub(super) format: Format,
    pub(super) encoding: Option<&'static str>,
    pub(super) truncated: bool,
}

/// Extracts content whose first bytes are `head` (up to [`HEAD_LEN`], fewer only at the end of input)
/// and whose remaining bytes come from `rest`.
pub(super) fn content_of(
    head: Vec<u8>,
    rest: &mut dyn Read,
    name: &Path,
    limits: &Limits,
) -> Result<Content, ExtractError> {
    let format = sniff::classify(&head, name);
    let (text, encoding, truncated) = match format {
        Format::Empty | Format::Binary => {
            return Ok(Content {
                text: String::new(),
                format,
                encoding: None,
                truncated: false,
            });
        }
        Format::Text => {
            let decoder = TextDecoder::new(&head, None);
            stream(head, rest, decoder, TextSink::new(limits.max_text_bytes))?
        }
        Format::Html => {
            let declared = html::meta_charset(&head);
            let decoder = TextDecoder::new(&head, declared);
            stream(head, rest, decoder, HtmlSink::new(limits.max_text_bytes))?
        }
    };
    Ok(Content {
        text,
        format,
        encoding: Some(encoding),
        truncated,
    })
}

/// Decodes `head` then the rest of the input into `sink` until the sink is full or input ends;
/// returns the text, the encoding name and whether the text was cut.
fn stream(
    head: Vec<u8>,
    rest: &mut dyn Read,
    mut decoder: TextDecoder,
    mut sink: impl Sink,
) -> Result<(String, &'static str, bool), ExtractError> {
    let mut decoded = String::new();
    decoder.decode(&head, false, &mut decoded);
    sink.push(&decoded)?;
    drop(head);
    let mut buf = vec![0u8; READ_CHUNK];
    while !sink.is_full() {
        decoded.clear();
        let n = read_retrying(rest, &mut buf)?;
        decoder.decode(&buf[..n], n == 0, &mut decoded);
        sink.push(&decoded)?;
        if n == 0 {
            break;
        }
    }
    let encoding = decoder.encoding_name();
    let (text, cut) = sink.finish()?;
    Ok((text, encoding, cut))
}
