//! What an extraction returns ([`Document`], [`Part`], [`MetaField`]), what bounds it ([`Limits`]) and what
//! the caller supplies for plain text and HTML ([`Plain`]). All but [`Plain`] are serializable (serde), so a
//! document can travel from a sandboxed worker process to its parent.

use serde::{Deserialize, Serialize};

use crate::kind::Kind;

/// A metadata field a format can carry. Values are kept as text, as the document states them. Serialized
/// as its [`MetaField::name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetaField {
    /// Document or message title (a mail's subject is [`MetaField::Subject`]).
    Title,
    /// Author or creator.
    Author,
    /// Subject (PDF/office subject, mail Subject header).
    Subject,
    /// Keywords as written.
    Keywords,
    /// Creation date as written (ISO 8601 where the format uses it, PDF `D:` dates as written).
    Created,
    /// Number of pages.
    Pages,
    /// Mail sender.
    From,
    /// Mail recipients.
    To,
    /// Mail date (RFC 3339).
    Date,
    /// Audio artist.
    Artist,
    /// Audio album.
    Album,
    /// Audio genre.
    Genre,
    /// Audio year.
    Year,
    /// Camera make and model.
    Camera,
    /// Date a photo was taken.
    Taken,
    /// Image width in pixels.
    Width,
    /// Image height in pixels.
    Height,
    /// Language (e.g. `en`).
    Language,
}

impl MetaField {
    /// Lower-case name, e.g. `"author"`, as used in queries and JSON.
    pub fn name(self) -> &'static str {
        match self {
            MetaField::Title => "title",
            MetaField::Author => "author",
            MetaField::Subject => "subject",
            MetaField::Keywords => "keywords",
            MetaField::Created => "created",
            MetaField::Pages => "pages",
            MetaField::From => "from",
            MetaField::To => "to",
            MetaField::Date => "date",
            MetaField::Artist => "artist",
            MetaField::Album => "album",
            MetaField::Genre => "genre",
            MetaField::Year => "year",
            MetaField::Camera => "camera",
            MetaField::Taken => "taken",
            MetaField::Width => "width",
            MetaField::Height => "height",
            MetaField::Language => "language",
        }
    }
}

/// Everything extracted from one document (a file, an archive member, a message).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// MIME type of what was parsed, e.g. `application/pdf` (one of [`Kind::mime`]'s; deserialized, an
    /// unknown type becomes `application/octet-stream`).
    #[serde(deserialize_with = "known_mime")]
    pub mime: StaticStr,
    /// Metadata in document order; a field may repeat (several authors).
    pub meta: Vec<(MetaField, String)>,
    /// The text, paragraphs separated by line breaks.
    pub text: String,
    /// Sub-documents: archive members, mbox messages, attachments.
    pub parts: Vec<Part>,
    /// Why something is missing: `encrypted: needs a password`, `scanned: no text layer`, `cap reached: ...`
    /// (and the informational [`NO_TAGS`], [`NO_EXIF`]: see [`Document::is_loss`]).
    pub notes: Vec<String>,
}

/// The note on a song without tags.
pub const NO_TAGS: &str = "no tags";
/// The note on a photo without EXIF.
pub const NO_EXIF: &str = "no EXIF";

impl Document {
    /// An empty document of type `mime`.
    pub fn new(mime: &'static str) -> Self {
        Document {
            mime,
            ..Document::default()
        }
    }

    /// A sub-document whose content could not be extracted: only the reason, as a note.
    pub fn failed(reason: &str) -> Self {
        Document {
            notes: vec![reason.to_string()],
            ..Document::new("application/octet-stream")
        }
    }

    /// Whether `note` says that something of the document is missing from what was extracted (text,
    /// parts, pages: every note but [`NO_TAGS`] and [`NO_EXIF`], which say that there was nothing to
    /// extract). An indexer records such notes as the file's status reason.
    pub fn is_loss(note: &str) -> bool {
        note != NO_TAGS && note != NO_EXIF
    }

    /// The first value of `field`, if any.
    pub fn meta(&self, field: MetaField) -> Option<&str> {
        self.meta
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v.as_str())
    }

    /// Adds `field` unless `value` is blank; the value is trimmed.
    pub fn push_meta(&mut self, field: MetaField, value: &str) {
        let value = value.trim();
        if !value.is_empty() {
            self.meta.push((field, value.to_string()));
        }
    }
}

/// `&'static str` under another name: serde's derive takes a field spelled `&'static str` as borrowed from
/// the input for `'static`, which would make [`Document`] deserializable only from static data.
type StaticStr = &'static str;

/// The static MIME type of [`Kind::mime`] equal to the serialized one, else `application/octet-stream`.
fn known_mime<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<&'static str, D::Error> {
    let text = String::deserialize(deserializer)?;
    Ok(Kind::ALL
        .iter()
        .map(|kind| kind.mime())
        .find(|mime| *mime == text)
        .unwrap_or(Kind::Unknown.mime()))
}

/// One sub-document of a container.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Part {
    /// The member path (`docs/readme.txt`), `message 42: <subject>` or the attachment's name.
    pub name: String,
    /// What was extracted from it (only `notes` when its content was skipped or failed).
    pub document: Document,
}

/// Caps on one extraction. Each cap reached is recorded as a note rather than failing the document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Largest input read into memory (whole file, or one member) for formats parsed in memory.
    pub max_input_bytes: u64,
    /// Largest text kept per document; the rest is cut at a character boundary.
    pub max_text_bytes: usize,
    /// Deepest nesting of containers (a zip in a mail in an mbox is depth 3).
    pub max_depth: u32,
    /// Most parts listed per container.
    pub max_parts: usize,
    /// Most bytes decompressed or decoded in total over one top-level extraction (zip bombs).
    pub max_total_bytes: u64,
    /// Poppler's `pdftotext`, run as a child process to read PDFs; `None`, or a program that cannot start:
    /// `pdf_oxide` reads them in-process. Default: `pdftotext` found in `PATH` ([`crate::find_program`]).
    #[serde(default)]
    pub pdftotext: Option<std::path::PathBuf>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_input_bytes: 256 << 20,
            max_text_bytes: 16 << 20,
            max_depth: 4,
            max_parts: 10_000,
            max_total_bytes: 1 << 30,
            pdftotext: crate::program::find_program("pdftotext".as_ref()),
        }
    }
}

/// Turns plain-text and HTML bytes into text. Supplied by the caller (the indexer has encoding detection and
/// an HTML converter); this crate never decodes plain text or HTML itself.
pub trait Plain {
    /// Text of a plain-text file in an unknown encoding.
    fn text(&self, bytes: &[u8]) -> String;
    /// Text of an HTML or XHTML document (markup, scripts and styles removed).
    fn html(&self, bytes: &[u8]) -> String;
}
