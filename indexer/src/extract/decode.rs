//! Streaming decoding of bytes in an unknown encoding into UTF-8.
//!
//! A BOM decides the encoding; so does an encoding the caller found declared in the content (an HTML
//! `<meta charset>`). Otherwise the encoding is decided at the first non-ASCII byte (everything
//! before it reads the same in every ASCII-compatible encoding), on a window of up to
//! [`DETECT_WINDOW`] bytes starting there: valid UTF-8 stays UTF-8, so does UTF-8 with a few corrupt
//! sequences, and anything else goes to chardetng, which picks a legacy encoding. Malformed
//! sequences become U+FFFD; decoding never fails.

use chardetng::EncodingDetector;
use encoding_rs::{CoderResult, Decoder, Encoding, UTF_8};

/// The encoding is decided on at most this many bytes.
pub(crate) const DETECT_WINDOW: usize = 64 * 1024;

/// Fewer bytes than this after the first non-ASCII byte are held back (unless the input ends)
/// so the decision is not made on a scrap.
const DECIDE_MIN: usize = 4 * 1024;

/// Decodes a byte stream chunk by chunk; see the module documentation for how it picks the encoding.
pub(crate) struct TextDecoder {
    state: State,
    encoding: &'static Encoding,
}

enum State {
    /// Only ASCII seen so far; `pending` holds the bytes from the first non-ASCII byte on while
    /// fewer than [`DECIDE_MIN`] of them are known.
    Undecided { pending: Vec<u8> },
    /// The encoding is known.
    Decided(Decoder),
}

impl TextDecoder {
    /// A decoder for content starting with `head`: a BOM in it wins, then `declared`, then detection.
    /// `head` is only inspected; pass it to [`TextDecoder::decode`] too.
    pub(crate) fn new(head: &[u8], declared: Option<&'static Encoding>) -> Self {
        if let Some((enc, _)) = Encoding::for_bom(head) {
            return TextDecoder {
                state: State::Decided(enc.new_decoder_with_bom_removal()),
                encoding: enc,
            };
        }
        if let Some(enc) = declared {
            return TextDecoder {
                state: State::Decided(enc.new_decoder_without_bom_handling()),
                encoding: enc,
            };
        }
        TextDecoder {
            state: State::Undecided {
                pending: Vec::new(),
            },
            encoding: UTF_8,
        }
    }

    /// The encoding in use: UTF-8 until something else was chosen.
    pub(crate) fn encoding_name(&self) -> &'static str {
        self.encoding.name()
    }

    /// Decodes `input` (the next bytes of the stream) and appends the text to `out`. `last` marks the
    /// end of the stream: pass it once, possibly with empty input, to flush what is held back.
    pub(crate) fn decode(&mut self, input: &[u8], last: bool, out: &mut String) {
        let pending = match &mut self.state {
            State::Decided(decoder) => {
                decode_with(decoder, input, last, out);
                return;
            }
            State::Undecided { pending } => pending,
        };
        let mut input = input;
        if pending.is_empty() {
            let ascii = Encoding::ascii_valid_up_to(input);
            push_ascii(&input[..ascii], out);
            input = &input[ascii..];
        }
        pending.extend_from_slice(input);
        if pending.is_empty() || (pending.len() < DECIDE_MIN && !last) {
            return;
        }
        let bytes = std::mem::take(pending);
        let window = &bytes[..bytes.len().min(DETECT_WINDOW)];
        let enc = choose(window, last && window.len() == bytes.len());
        if enc != UTF_8 {
            tracing::trace!(encoding = enc.name(), "legacy encoding detected");
        }
        let mut decoder = enc.new_decoder_without_bom_handling();
        decode_with(&mut decoder, &bytes, last, out);
        self.encoding = enc;
        self.state = State::Decided(decoder);
    }
}

/// Appends bytes known to be ASCII.
fn push_ascii(ascii: &[u8], out: &mut String) {
    match std::str::from_utf8(ascii) {
        Ok(s) => out.push_str(s),
        Err(_) => out.push_str(&String::from_utf8_lossy(ascii)),
    }
}

/// Runs an encoding_rs decoder over `input`, growing `out` as needed.
fn decode_with(decoder: &mut Decoder, input: &[u8], last: bool, out: &mut String) {
    let mut src = input;
    loop {
        let need = decoder
            .max_utf8_buffer_length(src.len())
            .unwrap_or_else(|| src.len().saturating_mul(3).saturating_add(16));
        out.reserve(need);
        let (result, read, _replaced) = decoder.decode_to_string(src, out, last);
        src = &src[read..];
        match result {
            CoderResult::InputEmpty => return,
            CoderResult::OutputFull => continue,
        }
    }
}

/// Picks the encoding of a window that starts at the first non-ASCII byte. `complete` says the
/// window is the whole rest of the input (so an incomplete sequence at its end is an error).
fn choose(window: &[u8], complete: bool) -> &'static Encoding {
    let (multibyte, invalid) = utf8_profile(window, complete);
    if invalid == 0 || multibyte > invalid {
        return UTF_8;
    }
    let mut detector = EncodingDetector::new();
    detector.feed(window, complete);
    detector.guess(None, false)
}

/// Counts valid multi-byte UTF-8 sequences and invalid ones in `bytes`.
fn utf8_profile(bytes: &[u8], complete: bool) -> (usize, usize) {
    let (mut multibyte, mut invalid) = (0, 0);
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                multibyte += count_non_ascii(s);
                return (multibyte, invalid);
            }
            Err(e) => {
                let valid = &rest[..e.valid_up_to()];
                multibyte += std::str::from_utf8(valid).map_or(0, count_non_ascii);
                match e.error_len() {
                    Some(n) => {
                        invalid += 1;
                        rest = &rest[e.valid_up_to() + n..];
                    }
                    None => {
                        if complete {
                            invalid += 1;
                        }
                        return (multibyte, invalid);
                    }
                }
            }
        }
    }
}

fn count_non_ascii(s: &str) -> usize {
    s.chars().filter(|c| !c.is_ascii()).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `bytes` fed in pieces of `step` bytes.
    fn decode_in_steps(
        bytes: &[u8],
        declared: Option<&'static Encoding>,
        step: usize,
    ) -> (String, &'static str) {
        let mut d = TextDecoder::new(bytes, declared);
        let mut out = String::new();
        for piece in bytes.chunks(step.max(1)) {
            d.decode(piece, false, &mut out);
        }
        d.decode(&[], true, &mut out);
        (out, d.encoding_name())
    }

    fn decode_all(bytes: &[u8]) -> (String, &'static str) {
        decode_in_steps(bytes, None, bytes.len())
    }

    #[test]
    fn utf8_and_ascii() {
        assert_eq!(decode_all(b"plain ascii"), ("plain ascii".into(), "UTF-8"));
        let s = "héllo wörld – 日本語 🎉";
        assert_eq!(decode_all(s.as_bytes()), (s.into(), "UTF-8"));
        // Split at every byte: multibyte sequences straddle the pieces.
        assert_eq!(decode_in_steps(s.as_bytes(), None, 1), (s.into(), "UTF-8"));
    }

    #[test]
    fn boms_decide_and_are_removed() {
        assert_eq!(
            decode_all(b"\xef\xbb\xbfcaf\xc3\xa9"),
            ("café".into(), "UTF-8")
        );
        let le: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("zoë 𝄞".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode_in_steps(&le, None, 3), ("zoë 𝄞".into(), "UTF-16LE"));
        let be: Vec<u8> = [0xfe, 0xff]
            .into_iter()
            .chain("zoë 𝄞".encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(decode_all(&be), ("zoë 𝄞".into(), "UTF-16BE"));
        // A BOM wins over a declaration.
        let (text, enc) =
            decode_in_steps(b"\xef\xbb\xbf\xc3\xa9", Some(encoding_rs::WINDOWS_1252), 5);
        assert_eq!((text.as_str(), enc), ("é", "UTF-8"));
    }

    #[test]
    fn latin1_is_detected() {
        assert_eq!(decode_all(b"caf\xe9"), ("café".into(), "windows-1252"));
        let long = "Le garçon a mangé une crème brûlée à la fenêtre. ".repeat(50);
        let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(&long);
        assert_eq!(decode_in_steps(&bytes, None, 7), (long, "windows-1252"));
    }

    #[test]
    fn legacy_after_a_long_ascii_prefix() {
        // The first non-ASCII byte comes long after the first chunk: still detected from there.
        let mut bytes = b"x".repeat(200_000);
        bytes.extend_from_slice(b" na\xefve caf\xe9 ");
        let (text, enc) = decode_in_steps(&bytes, None, 64 * 1024);
        assert_eq!(enc, "windows-1252");
        assert!(
            text.ends_with(" naïve café "),
            "{:?}",
            &text[text.len() - 20..]
        );
        assert_eq!(text.len(), 200_000 + 14);
    }

    #[test]
    fn shift_jis_and_koi8r_are_detected() {
        let ja =
            "日本語のテキストです。これは文字コードの判定のテストです。ひらがなとカタカナと漢字。"
                .repeat(4);
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&ja);
        assert_eq!(decode_all(&bytes), (ja, "Shift_JIS"));
        let ru = "Съешь же ещё этих мягких французских булок, да выпей чаю. ".repeat(4);
        let (bytes, _, _) = encoding_rs::KOI8_R.encode(&ru);
        let (text, enc) = decode_all(&bytes);
        assert_eq!(text, ru);
        // KOI8-U is a superset of KOI8-R that decodes this text identically; chardetng may pick it.
        assert!(enc == "KOI8-R" || enc == "KOI8-U", "{enc}");
    }

    #[test]
    fn corrupt_utf8_stays_utf8_with_replacement_characters() {
        let mut bytes = "été déjà vu à Zürich — ".repeat(3).into_bytes();
        bytes.extend_from_slice(b"bad \xff\xfe and \xc3 cut");
        let (text, enc) = decode_all(&bytes);
        assert_eq!(enc, "UTF-8");
        assert!(text.starts_with("été déjà vu"));
        assert!(
            text.ends_with("bad \u{fffd}\u{fffd} and \u{fffd} cut"),
            "{text:?}"
        );
    }

    #[test]
    fn truncated_sequence_at_end_becomes_replacement() {
        let (text, enc) = decode_all(
            "日本 ok \u{e6}"
                .as_bytes()
                .iter()
                .chain(b"\xe6\x97")
                .copied()
                .collect::<Vec<_>>()
                .as_slice(),
        );
        assert_eq!(enc, "UTF-8");
        assert_eq!(text, "日本 ok \u{e6}\u{fffd}");
        let (text, _) = decode_in_steps(b"\xef\xbb\xbfend \xe6", None, 2);
        assert_eq!(text, "end \u{fffd}");
    }

    #[test]
    fn declared_encoding_is_used() {
        let (text, enc) = decode_in_steps(b"na\xefve", Some(encoding_rs::WINDOWS_1252), 2);
        assert_eq!((text.as_str(), enc), ("naïve", "windows-1252"));
    }
}
