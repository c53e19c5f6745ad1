//! What travels between a [`super::SandboxParser`] and an extraction worker, besides the file's descriptor:
//! a [`Request`] (the file's name and detected kind, and the caps), answered by the document or the
//! parser's error. Encoded with bincode; a message longer than its limit is refused before decoding, and
//! decoding never allocates more than the message holds (a length prefix beyond what is left fails).

use bincode::Options;
use fandex_formats::{Document, Kind, Limits};
use serde::{Deserialize, Serialize};

/// Largest request a worker decodes (a name and a few numbers: this only bounds a bug).
pub(crate) const MAX_REQUEST_BYTES: u64 = 1 << 20;

/// What a worker is asked to do with the file passed along.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Request {
    /// The file's name (bytes), for detecting members and compressed contents.
    pub(crate) name: Vec<u8>,
    /// The kind the parent detected from the file's first bytes and name.
    pub(crate) kind: Kind,
    /// Caps on the extraction.
    pub(crate) limits: Limits,
}

/// A worker's answer: the document, or why the parser gave none (one line).
pub(crate) type Response = Result<Document, String>;

/// The one encoding both sides use: bincode's varint encoding, refusing to decode more than `limit` bytes
/// (a length prefix larger than what is left fails instead of allocating).
fn options(limit: u64) -> impl Options {
    bincode::DefaultOptions::new().with_limit(limit)
}

/// Refuses a message longer than `limit`.
fn check_len(bytes: &[u8], limit: u64, what: &str) -> Result<(), String> {
    if bytes.len() as u64 > limit {
        return Err(format!(
            "worker protocol error: {what} too large ({} bytes, at most {limit})",
            bytes.len()
        ));
    }
    Ok(())
}

/// Encodes a request.
pub(crate) fn encode_request(request: &Request) -> Result<Vec<u8>, String> {
    options(MAX_REQUEST_BYTES)
        .serialize(request)
        .map_err(|err| format!("cannot encode the request: {err}"))
}

/// Decodes a request (worker side).
pub(crate) fn decode_request(bytes: &[u8]) -> Result<Request, String> {
    check_len(bytes, MAX_REQUEST_BYTES, "request")?;
    options(MAX_REQUEST_BYTES)
        .deserialize(bytes)
        .map_err(|err| format!("malformed request: {err}"))
}

/// Encodes a response (worker side). Unbounded here: the pool bounds what it accepts.
pub(crate) fn encode_response(response: &Response) -> Vec<u8> {
    // Strings, vectors and enums only: encoding into a vector cannot fail without the size limit.
    bincode::DefaultOptions::new()
        .serialize(response)
        .unwrap_or_default()
}

/// Decodes a response of at most `limit` bytes (parent side).
pub(crate) fn decode_response(bytes: &[u8], limit: u64) -> Result<Response, String> {
    check_len(bytes, limit, "response")?;
    options(limit)
        .deserialize(bytes)
        .map_err(|err| format!("worker protocol error: malformed response: {err}"))
}

#[cfg(test)]
mod tests {
    use fandex_formats::{MetaField, Part};

    use super::*;

    #[test]
    fn documents_round_trip() {
        let mut inner = Document::new(Kind::Text.mime());
        inner.text = "member text".into();
        let mut doc = Document::new(Kind::Zip.mime());
        doc.push_meta(MetaField::Title, "A title");
        doc.push_meta(MetaField::Author, "One");
        doc.push_meta(MetaField::Author, "Two");
        doc.text = "héllo\nworld".into();
        doc.notes.push("cap reached: parts".into());
        doc.parts.push(Part {
            name: "docs/readme.txt".into(),
            document: inner,
        });
        let response: Response = Ok(doc.clone());
        let bytes = encode_response(&response);
        assert_eq!(decode_response(&bytes, 1 << 20), Ok(Ok(doc)));
        let failed: Response = Err("malformed pdf: no trailer".into());
        assert_eq!(
            decode_response(&encode_response(&failed), 1 << 20),
            Ok(failed)
        );
        let request = Request {
            name: b"r\xffport".to_vec(),
            kind: Kind::FlatOdf,
            limits: Limits::default(),
        };
        let bytes = encode_request(&request).unwrap();
        assert_eq!(decode_request(&bytes), Ok(request));
    }

    #[test]
    fn unknown_mime_types_and_bad_messages_are_refused_or_mapped() {
        // A MIME type no kind has (a hostile worker could send anything) becomes octet-stream.
        let mut doc = Document::new(Kind::Pdf.mime());
        doc.text = "x".into();
        let mut bytes = encode_response(&Ok(doc));
        let at = bytes
            .windows(15)
            .position(|w| w == b"application/pdf")
            .unwrap();
        bytes[at..at + 15].copy_from_slice(b"application/pdX");
        let decoded = decode_response(&bytes, 1 << 20).unwrap().unwrap();
        assert_eq!(decoded.mime, "application/octet-stream");
        // A length prefix claiming more than the message holds fails without allocating it.
        let mut huge = vec![0u8]; // Ok variant
        huge.extend([0xfc, 0xff, 0xff, 0xff, 0x7f]); // mime length ~2 GiB
        assert!(decode_response(&huge, 1 << 20).is_err());
        assert!(decode_response(b"", 1 << 20).is_err());
        assert!(decode_request(b"\x05garbage").is_err());
        // Longer than the limit: refused.
        let big: Response = Err("x".repeat(2000));
        assert!(decode_response(&encode_response(&big), 1000).is_err());
    }
}
