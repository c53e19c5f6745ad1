//! Document kinds and their detection: by content first (magic numbers, zip members, mail headers), then by
//! the file name's extension.

use serde::{Deserialize, Serialize};

/// What a file is, as far as extraction is concerned. Serialized as its snake-case name (`"pdf"`,
/// `"flat_odf"`), e.g. between an extraction worker and its parent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// PDF.
    Pdf,
    /// Word OOXML `.docx`.
    Docx,
    /// Excel OOXML `.xlsx`.
    Xlsx,
    /// PowerPoint OOXML `.pptx`.
    Pptx,
    /// ODF text `.odt`.
    Odt,
    /// ODF spreadsheet `.ods`.
    Ods,
    /// ODF presentation `.odp`.
    Odp,
    /// Flat (single XML file) ODF: `.fodt`, `.fods`, `.fodp`.
    FlatOdf,
    /// EPUB 2 or 3.
    Epub,
    /// Rich Text Format.
    Rtf,
    /// One RFC 5322 message (`.eml`, a Maildir file).
    Mail,
    /// A Unix mailbox of messages separated by `From ` lines.
    Mbox,
    /// A zip archive (not an office or EPUB container).
    Zip,
    /// A tar archive.
    Tar,
    /// gzip-compressed data (`.gz`, `.tgz`).
    Gzip,
    /// bzip2-compressed data.
    Bzip2,
    /// xz-compressed data.
    Xz,
    /// zstd-compressed data.
    Zstd,
    /// Audio with tags (MP3/ID3, FLAC, Ogg, MP4/M4A, ...).
    Audio,
    /// An image that may carry EXIF (JPEG, TIFF, HEIF, PNG, WebP).
    Image,
    /// Legacy binary office formats (`.doc`, `.xls`, `.ppt`, OLE2): recognized, not supported.
    LegacyOffice,
    /// HTML or XHTML.
    Html,
    /// Plain text.
    Text,
    /// Anything else.
    Unknown,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 24] = [
        Kind::Pdf,
        Kind::Docx,
        Kind::Xlsx,
        Kind::Pptx,
        Kind::Odt,
        Kind::Ods,
        Kind::Odp,
        Kind::FlatOdf,
        Kind::Epub,
        Kind::Rtf,
        Kind::Mail,
        Kind::Mbox,
        Kind::Zip,
        Kind::Tar,
        Kind::Gzip,
        Kind::Bzip2,
        Kind::Xz,
        Kind::Zstd,
        Kind::Audio,
        Kind::Image,
        Kind::LegacyOffice,
        Kind::Html,
        Kind::Text,
        Kind::Unknown,
    ];

    /// The MIME type reported for documents of this kind.
    pub fn mime(self) -> &'static str {
        match self {
            Kind::Pdf => "application/pdf",
            Kind::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Kind::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Kind::Pptx => {
                "application/vnd.openxmlformats-officedocument.presentationml.presentation"
            }
            Kind::Odt => "application/vnd.oasis.opendocument.text",
            Kind::Ods => "application/vnd.oasis.opendocument.spreadsheet",
            Kind::Odp => "application/vnd.oasis.opendocument.presentation",
            Kind::FlatOdf => "application/vnd.oasis.opendocument.text-flat-xml",
            Kind::Epub => "application/epub+zip",
            Kind::Rtf => "application/rtf",
            Kind::Mail => "message/rfc822",
            Kind::Mbox => "application/mbox",
            Kind::Zip => "application/zip",
            Kind::Tar => "application/x-tar",
            Kind::Gzip => "application/gzip",
            Kind::Bzip2 => "application/x-bzip2",
            Kind::Xz => "application/x-xz",
            Kind::Zstd => "application/zstd",
            Kind::Audio => "audio/*",
            Kind::Image => "image/*",
            Kind::LegacyOffice => "application/x-ole-storage",
            Kind::Html => "text/html",
            Kind::Text => "text/plain",
            Kind::Unknown => "application/octet-stream",
        }
    }
}

/// How many leading bytes [`detect`] looks at; pass at least this many when the file is that long.
pub const HEAD_LEN: usize = 8192;

/// The kind of a file from its first bytes (`head`, ideally [`HEAD_LEN`] of them) and its name.
/// Content wins over the name: a PDF named `report` is a PDF, a `.txt` that starts with `%PDF-` is a PDF.
pub fn detect(head: &[u8], name: &[u8]) -> Kind {
    by_content(head, name).unwrap_or_else(|| by_name(name))
}

fn by_content(head: &[u8], name: &[u8]) -> Option<Kind> {
    let starts = |m: &[u8]| head.starts_with(m);
    if find(&head[..head.len().min(1024)], b"%PDF-").is_some() {
        return Some(Kind::Pdf);
    }
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        return Some(zip_kind(head, name));
    }
    if starts(b"{\\rtf") {
        return Some(Kind::Rtf);
    }
    if head.len() > 262 && &head[257..262] == b"ustar" {
        return Some(Kind::Tar);
    }
    let magics: [(&[u8], Kind); 12] = [
        (b"\x1f\x8b", Kind::Gzip),
        (b"BZh", Kind::Bzip2),
        (b"\xfd7zXZ\x00", Kind::Xz),
        (b"\x28\xb5\x2f\xfd", Kind::Zstd),
        (b"ID3", Kind::Audio),
        (b"fLaC", Kind::Audio),
        (b"OggS", Kind::Audio),
        (b"\xff\xd8\xff", Kind::Image),
        (b"II*\x00", Kind::Image),
        (b"MM\x00*", Kind::Image),
        (b"\x89PNG\r\n\x1a\n", Kind::Image),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", Kind::LegacyOffice),
    ];
    if let Some((_, kind)) = magics.iter().find(|(m, _)| starts(m)) {
        return Some(*kind);
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        let brand = &head[8..12];
        let image = [&b"heic"[..], b"heix", b"mif1", b"avif"].contains(&brand);
        return Some(if image { Kind::Image } else { Kind::Audio });
    }
    if starts(b"RIFF") && head.len() >= 12 {
        return Some(if &head[8..12] == b"WEBP" {
            Kind::Image
        } else {
            Kind::Audio
        });
    }
    if starts(b"From ") && is_mbox_from_line(head) {
        return Some(Kind::Mbox);
    }
    if looks_like_mail(head) {
        return Some(Kind::Mail);
    }
    let text_start = trim_bom_and_space(head);
    if text_start.starts_with(b"<?xml")
        && find(head, b"urn:oasis:names:tc:opendocument:xmlns:office").is_some()
    {
        return Some(Kind::FlatOdf);
    }
    let lower: Vec<u8> = text_start
        .iter()
        .take(64)
        .map(u8::to_ascii_lowercase)
        .collect();
    if lower.starts_with(b"<!doctype html") || lower.starts_with(b"<html") {
        return Some(Kind::Html);
    }
    None
}

/// Office, ODF and EPUB files are zips: tell them apart by the `mimetype` member (stored first, uncompressed,
/// in ODF and EPUB) or the OOXML part names in the local headers seen in `head`, then by name.
fn zip_kind(head: &[u8], name: &[u8]) -> Kind {
    if head.len() > 38 && &head[30..38] == b"mimetype" {
        let rest = &head[38..head.len().min(38 + 80)];
        let table: [(&[u8], Kind); 5] = [
            (b"application/epub+zip", Kind::Epub),
            (b"application/vnd.oasis.opendocument.text", Kind::Odt),
            (b"application/vnd.oasis.opendocument.spreadsheet", Kind::Ods),
            (
                b"application/vnd.oasis.opendocument.presentation",
                Kind::Odp,
            ),
            (b"application/vnd.oasis.opendocument.graphics", Kind::Zip),
        ];
        if let Some((_, kind)) = table.iter().find(|(m, _)| rest.starts_with(m)) {
            return *kind;
        }
    }
    for (part, kind) in [
        (&b"word/"[..], Kind::Docx),
        (b"xl/", Kind::Xlsx),
        (b"ppt/", Kind::Pptx),
    ] {
        if find(head, part).is_some() {
            return kind;
        }
    }
    match by_name(name) {
        k @ (Kind::Docx
        | Kind::Xlsx
        | Kind::Pptx
        | Kind::Odt
        | Kind::Ods
        | Kind::Odp
        | Kind::Epub) => k,
        _ => Kind::Zip,
    }
}

fn by_name(name: &[u8]) -> Kind {
    let lower: Vec<u8> = name.iter().map(u8::to_ascii_lowercase).collect();
    let ext = match lower.iter().rposition(|&b| b == b'.') {
        Some(i) => &lower[i + 1..],
        None => return Kind::Unknown,
    };
    match ext {
        b"pdf" => Kind::Pdf,
        b"docx" | b"docm" | b"dotx" => Kind::Docx,
        b"xlsx" | b"xlsm" => Kind::Xlsx,
        b"pptx" | b"pptm" => Kind::Pptx,
        b"odt" | b"ott" => Kind::Odt,
        b"ods" | b"ots" => Kind::Ods,
        b"odp" | b"otp" => Kind::Odp,
        b"fodt" | b"fods" | b"fodp" => Kind::FlatOdf,
        b"epub" => Kind::Epub,
        b"rtf" => Kind::Rtf,
        b"eml" => Kind::Mail,
        b"mbox" | b"mbx" => Kind::Mbox,
        b"zip" => Kind::Zip,
        b"tar" => Kind::Tar,
        b"gz" | b"tgz" => Kind::Gzip,
        b"bz2" | b"tbz" | b"tbz2" => Kind::Bzip2,
        b"xz" | b"txz" => Kind::Xz,
        b"zst" | b"tzst" => Kind::Zstd,
        b"mp3" | b"flac" | b"ogg" | b"oga" | b"opus" | b"m4a" | b"mp4" | b"wav" | b"aiff"
        | b"wv" | b"ape" => Kind::Audio,
        b"jpg" | b"jpeg" | b"tif" | b"tiff" | b"heic" | b"png" | b"webp" => Kind::Image,
        b"doc" | b"xls" | b"ppt" => Kind::LegacyOffice,
        b"html" | b"htm" | b"xhtml" => Kind::Html,
        b"txt" | b"md" | b"csv" | b"log" => Kind::Text,
        _ => Kind::Unknown,
    }
}

/// `From sender date` as written by mbox writers: a `From ` line followed by a header line.
fn is_mbox_from_line(head: &[u8]) -> bool {
    match head.iter().position(|&b| b == b'\n') {
        Some(end) => looks_like_mail(&head[end + 1..]),
        None => false,
    }
}

/// The first lines are RFC 5322 headers, including at least one that every message carries.
fn looks_like_mail(head: &[u8]) -> bool {
    let mut known = 0;
    for line in head.split(|&b| b == b'\n').take(40) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return false;
        };
        let field = &line[..colon];
        if field.is_empty() || !field.iter().all(|&b| b.is_ascii_graphic()) {
            return false;
        }
        let field: Vec<u8> = field.iter().map(u8::to_ascii_lowercase).collect();
        let wanted: [&[u8]; 6] = [
            b"from",
            b"date",
            b"subject",
            b"message-id",
            b"received",
            b"return-path",
        ];
        if wanted.contains(&field.as_slice()) {
            known += 1;
        }
    }
    known >= 2
}

fn trim_bom_and_space(head: &[u8]) -> &[u8] {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    &head[start..]
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
