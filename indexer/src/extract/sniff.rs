//! Deciding what a file's content is from its name and its first bytes.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use encoding_rs::Encoding;

use super::types::Format;

/// A NUL byte within this many leading bytes makes content binary.
pub(crate) const NUL_WINDOW: usize = 8 * 1024;

/// The gzip magic number.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Extensions that mark HTML.
const HTML_EXTENSIONS: [&[u8]; 4] = [b"html", b"htm", b"xhtml", b"shtml"];

/// The lowercased extension of the file name, without the dot (`gz` for `a.tar.gz`).
fn extension(name: &Path) -> Option<Vec<u8>> {
    name.extension().map(|e| e.as_bytes().to_ascii_lowercase())
}

/// Whether content is gzip-compressed: by the `.gz` extension or the magic number.
pub(crate) fn is_gzip(head: &[u8], name: &Path) -> bool {
    head.starts_with(&GZIP_MAGIC) || extension(name).as_deref() == Some(b"gz")
}

/// The name of the content inside a gzip file: `x.html.gz` -> `x.html`; other names are kept.
pub(crate) fn inner_name(name: &Path) -> PathBuf {
    if extension(name).as_deref() == Some(b"gz") {
        name.with_extension("")
    } else {
        name.to_path_buf()
    }
}

/// Whether the name has an HTML extension.
pub(crate) fn is_html_name(name: &Path) -> bool {
    extension(name).is_some_and(|e| HTML_EXTENSIONS.contains(&e.as_slice()))
}

/// Whether the content starts (after a BOM and whitespace) with `<!doctype html` or `<html`,
/// ignoring ASCII case.
pub(crate) fn looks_like_html(head: &[u8]) -> bool {
    match Encoding::for_bom(head) {
        Some((enc, bom_len)) if enc != encoding_rs::UTF_8 => {
            // UTF-16: decode a short prefix to test it.
            let end = head.len().min(bom_len + 512);
            let (text, _) = enc.decode_without_bom_handling(&head[bom_len..end]);
            starts_like_html(text.as_bytes())
        }
        Some((_, bom_len)) => starts_like_html(&head[bom_len..]),
        None => starts_like_html(head),
    }
}

/// [`looks_like_html`] on ASCII-compatible bytes.
fn starts_like_html(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let rest = &bytes[start..];
    let delimited = |prefix: &[u8]| {
        rest.len() > prefix.len()
            && rest[..prefix.len()].eq_ignore_ascii_case(prefix)
            && matches!(
                rest[prefix.len()],
                b'>' | b'/' | b' ' | b'\t' | b'\n' | b'\r' | 0x0c
            )
    };
    delimited(b"<!doctype html") || delimited(b"<html")
}

/// Classifies non-empty content: a BOM means text (or HTML); otherwise a NUL byte in the first
/// [`NUL_WINDOW`] bytes means binary; then HTML by name or by its start; otherwise text.
pub(crate) fn classify(head: &[u8], name: &Path) -> Format {
    if head.is_empty() {
        return Format::Empty;
    }
    let has_bom = Encoding::for_bom(head).is_some();
    if !has_bom && head[..head.len().min(NUL_WINDOW)].contains(&0) {
        Format::Binary
    } else if is_html_name(name) || looks_like_html(head) {
        Format::Html
    } else {
        Format::Text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn gzip_by_magic_or_extension() {
        assert!(is_gzip(&[0x1f, 0x8b, 8], Path::new("data.bin")));
        assert!(is_gzip(b"plain", Path::new("notes.GZ")));
        assert!(!is_gzip(b"plain", Path::new("notes.txt")));
        assert_eq!(
            inner_name(Path::new("/a/x.html.gz")),
            Path::new("/a/x.html")
        );
        assert_eq!(inner_name(Path::new("x.gz")), Path::new("x"));
        assert_eq!(inner_name(Path::new("x.bin")), Path::new("x.bin"));
    }

    #[test]
    fn html_by_extension_and_sniffing() {
        for n in ["a.html", "a.HTM", "b.xhtml", "c.shtml"] {
            assert!(is_html_name(Path::new(n)), "{n}");
        }
        assert!(!is_html_name(Path::new("a.txt")));
        assert!(
            !is_html_name(Path::new(".html")),
            "a dot file has no extension"
        );
        // A non-UTF-8 name still has its extension recognised.
        let name = Path::new(OsStr::from_bytes(b"caf\xe9\n.html"));
        assert!(is_html_name(name));

        assert!(looks_like_html(b"  \n<!DOCTYPE html>\n<p>x"));
        assert!(looks_like_html(b"<HTML lang=en>"));
        assert!(looks_like_html(b"\xef\xbb\xbf<html>"));
        let utf16: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("<html><body>x".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert!(looks_like_html(&utf16));
        assert!(!looks_like_html(b"<htmlx>"));
        assert!(!looks_like_html(b"text <html>"));
        assert!(!looks_like_html(b"<!doctype htm"));
    }

    #[test]
    fn classification_order() {
        let txt = Path::new("a.txt");
        assert_eq!(classify(b"", txt), Format::Empty);
        assert_eq!(classify(b"hello", txt), Format::Text);
        assert_eq!(classify(b"he\0llo", txt), Format::Binary);
        assert_eq!(classify(b"<html>\0", txt), Format::Binary);
        assert_eq!(classify(b"<html>", txt), Format::Html);
        assert_eq!(classify(b"plain", Path::new("a.htm")), Format::Html);
        // UTF-16 text is full of NULs but the BOM makes it text.
        assert_eq!(classify(b"\xff\xfeh\0i\0", txt), Format::Text);
        // A NUL beyond the window does not make it binary.
        let mut late = vec![b'a'; NUL_WINDOW];
        late.push(0);
        assert_eq!(classify(&late, txt), Format::Text);
    }
}
