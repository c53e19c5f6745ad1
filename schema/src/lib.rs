//! The tantivy schema: which fields a file's document has, how text is analyzed, and how a document is
//! built from a file and read back.
//!
//! This crate is the contract between the indexer (which writes documents) and the query crate (which
//! searches them). Every index opened or created must go through [`register_analyzers`] so that queries
//! tokenize exactly like indexing did. It depends on tantivy alone, so a search-only embedder compiles
//! neither the catalog nor the extractors; `fandex_indexer::schema` re-exports it.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use tantivy::schema::{
    BytesOptions, Field, IndexRecordOption, NumericOptions, STORED, STRING, Schema,
    TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{NgramTokenizer, TextAnalyzer};
use tantivy::{Index, TantivyDocument};

pub mod analysis;
pub mod chunks;
pub mod mime;

pub use analysis::{Language, MAX_TOKEN_BYTES};

/// Name of the analyzer used for content and file names: words split on non-alphanumerics and runs of
/// CJK characters cut into bigrams, tokens longer than [`MAX_TOKEN_BYTES`] dropped, folded for every
/// script (`café` matches `cafe`, `καλημέρα` `καλημερα`, `ёлка` `елка`): see [`analysis`].
pub const TEXT_ANALYZER: &str = "fandex_text";

/// Version of the on-disk layout; an index of another version is rebuilt.
///
/// 2: folding for every script, CJK bigrams, the stem fields (issue 13). 3: documents of parts (`part`,
/// `part_ord`), metadata (`title`, `author`, `subject`, `meta`), `mime` and `type` (issue 12). 4: the
/// text stored apart from the indexed `content` (`text`), large texts in chunk documents (`chunks`,
/// `chunk`: see [`chunks`]; issue 16). 5: directories are documents (MIME type [`mime::DIRECTORY`], class
/// `folder`, the `folder` fast field; issue 13).
pub const SCHEMA_VERSION: u32 = 5;

/// The stemming languages of an index when the configuration names none.
pub const DEFAULT_LANGUAGES: [Language; 1] = [Language::English];

/// Name of the analyzer of the `name_gram` field: every run of [`NAME_GRAM_CHARS`] consecutive characters
/// of the [folded](fold_name) file name.
pub const NAME_GRAM_ANALYZER: &str = "fandex_name_gram";

/// Length in characters of the name n-grams that narrow a `name:` pattern to its candidates.
pub const NAME_GRAM_CHARS: usize = 3;

/// Handles on every field of the schema.
#[derive(Debug, Clone)]
pub struct Fields {
    /// Stable file id from the catalog: indexed (the upsert/delete key), stored and fast.
    pub file_id: Field,
    /// The exact path bytes, stored only.
    pub path: Field,
    /// Every ancestor directory of the path as exact bytes (`/`, `/a`, `/a/b` for `/a/b/c`), indexed only:
    /// a `path:` filter is one term lookup on this field and covers the whole subtree.
    pub dirs: Field,
    /// The file name, analyzed with [`TEXT_ANALYZER`] (positions kept, so `name:foo.txt` is a phrase); on
    /// the file's own document only, not on its parts'.
    pub name: Field,
    /// The exact bytes of the file name, a fast field only: what `name:` patterns are checked against and
    /// `--sort name` orders by, without reading stored documents.
    pub name_key: Field,
    /// Every [`NAME_GRAM_CHARS`]-character run of the [folded](fold_name) name, indexed without
    /// frequencies: a `name:*port*` pattern looks its literal runs' n-grams up to find its candidates.
    pub name_gram: Field,
    /// The lowercased extension without the dot (`gz` for `a.tar.gz`), untokenized; empty when none.
    pub ext: Field,
    /// File size in bytes: indexed, stored and fast.
    pub size: Field,
    /// Modification time in nanoseconds since the epoch: indexed, stored and fast.
    pub mtime: Field,
    /// Extracted text, analyzed with positions (phrase queries and finding a snippet's chunk); not
    /// stored (see `text`).
    pub content: Field,
    /// The extracted text as stored (snippets, and path-only updates that never read the file again):
    /// the whole text in the file's document when it is short, else a chunk of it in each chunk
    /// document (see [`chunks`]).
    pub text: Field,
    /// On a document whose text is stored in chunks: the [`chunks::ChunkTable`], stored only.
    pub chunks: Field,
    /// On a chunk document only: its key ([`chunks::chunk_key`]) and the [`chunks::CHUNK_MARKER`],
    /// indexed and stored. Searches exclude documents holding the marker.
    pub chunk: Field,
    /// The stems of the content's words in the index's languages (see [`languages_of`]), with
    /// frequencies but no positions: a word also finds its other forms (`running` finds `run`).
    pub content_stem: Field,
    /// The stems of the file name's words, as `content_stem`.
    pub name_stem: Field,
    /// The part's name (`docs/a.txt`, `message 3: Hello`, nested parts joined by ` » `), empty for the file
    /// itself: stored, and analyzed so that plain words find an attachment by its name.
    pub part: Field,
    /// The part's place in its file (0 for the file itself, then 1, 2... in document order): fast, the
    /// tie-break after the file id (also stored).
    pub part_ord: Field,
    /// Title(s), analyzed like the content, stored.
    pub title: Field,
    /// Author(s) (a mail's sender, a song's artist), analyzed like the content, stored.
    pub author: Field,
    /// Subject(s), analyzed like the content, stored.
    pub subject: Field,
    /// Every other metadata value (album, keywords, camera...), analyzed and stored (a move rewrites
    /// documents from what is stored).
    pub meta: Field,
    /// The MIME type (`application/pdf`, `text/x-rust`), untokenized, stored.
    pub mime: Field,
    /// The classes of [`mime::classes`] (`document`, `pdf`, `code`...), untokenized, indexed only.
    pub kind: Field,
    /// 1 on a directory's document, 0 on every other: fast, so that relevance order puts files before
    /// folders inside the collectors.
    pub folder: Field,
}

/// Builds the schema and the field handles, stemming in the [`DEFAULT_LANGUAGES`].
pub fn build_schema() -> (Schema, Fields) {
    build_schema_for(&DEFAULT_LANGUAGES)
}

/// Builds the schema and the field handles, stemming in `languages` (none: no stems are indexed).
pub fn build_schema_for(languages: &[Language]) -> (Schema, Fields) {
    let stem_indexing = TextFieldIndexing::default()
        .set_tokenizer(&analysis::stem_analyzer_name(languages))
        .set_index_option(IndexRecordOption::WithFreqs);
    let stem = TextOptions::default().set_indexing_options(stem_indexing);
    let mut builder = Schema::builder();
    let numeric = NumericOptions::default()
        .set_indexed()
        .set_stored()
        .set_fast();
    let text_indexing = TextFieldIndexing::default()
        .set_tokenizer(TEXT_ANALYZER)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let analyzed = TextOptions::default().set_indexing_options(text_indexing.clone());
    let fields = Fields {
        file_id: builder.add_u64_field("file_id", numeric.clone()),
        path: builder.add_bytes_field("path", BytesOptions::default().set_stored()),
        dirs: builder.add_bytes_field("dirs", BytesOptions::default().set_indexed()),
        name: builder.add_text_field(
            "name",
            TextOptions::default().set_indexing_options(text_indexing.clone()),
        ),
        name_key: builder.add_bytes_field("name_key", BytesOptions::default().set_fast()),
        name_gram: builder.add_text_field(
            "name_gram",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(NAME_GRAM_ANALYZER)
                    .set_index_option(IndexRecordOption::Basic),
            ),
        ),
        ext: builder.add_text_field("ext", STRING),
        size: builder.add_u64_field("size", numeric.clone()),
        mtime: builder.add_i64_field("mtime", numeric),
        content: builder.add_text_field(
            "content",
            TextOptions::default().set_indexing_options(text_indexing),
        ),
        text: builder.add_text_field("text", STORED),
        chunks: builder.add_bytes_field("chunks", BytesOptions::default().set_stored()),
        chunk: builder.add_bytes_field("chunk", BytesOptions::default().set_indexed().set_stored()),
        content_stem: builder.add_text_field("content_stem", stem.clone()),
        name_stem: builder.add_text_field("name_stem", stem),
        part: builder.add_text_field("part", analyzed.clone().set_stored()),
        part_ord: builder.add_u64_field(
            "part_ord",
            NumericOptions::default().set_stored().set_fast(),
        ),
        title: builder.add_text_field("title", analyzed.clone().set_stored()),
        author: builder.add_text_field("author", analyzed.clone().set_stored()),
        subject: builder.add_text_field("subject", analyzed.clone().set_stored()),
        meta: builder.add_text_field("meta", analyzed.set_stored()),
        mime: builder.add_text_field("mime", STRING | STORED),
        kind: builder.add_text_field("type", STRING),
        folder: builder.add_u64_field("folder", NumericOptions::default().set_fast()),
    };
    (builder.build(), fields)
}

/// Looks the fields up in an existing index's schema. Returns `None` when a field is missing (an index
/// written by an incompatible version).
pub fn fields_of(schema: &Schema) -> Option<Fields> {
    let f = |name: &str| schema.get_field(name).ok();
    Some(Fields {
        file_id: f("file_id")?,
        path: f("path")?,
        dirs: f("dirs")?,
        name: f("name")?,
        name_key: f("name_key")?,
        name_gram: f("name_gram")?,
        ext: f("ext")?,
        size: f("size")?,
        mtime: f("mtime")?,
        content: f("content")?,
        text: f("text")?,
        chunks: f("chunks")?,
        chunk: f("chunk")?,
        content_stem: f("content_stem")?,
        name_stem: f("name_stem")?,
        part: f("part")?,
        part_ord: f("part_ord")?,
        title: f("title")?,
        author: f("author")?,
        subject: f("subject")?,
        meta: f("meta")?,
        mime: f("mime")?,
        kind: f("type")?,
        folder: f("folder")?,
    })
}

/// The stemming languages an index was built with (recorded in its stem fields' analyzer name);
/// `None` when the schema has no stem field of fandex's.
pub fn languages_of(schema: &Schema) -> Option<Vec<Language>> {
    let field = schema.get_field("content_stem").ok()?;
    let options = match schema.get_field_entry(field).field_type() {
        tantivy::schema::FieldType::Str(options) => options.get_indexing_options()?.clone(),
        _ => return None,
    };
    analysis::languages_of_analyzer(options.tokenizer())
}

/// The analyzer used for content and names (index side). Queries must tokenize with the same one.
pub fn text_analyzer() -> TextAnalyzer {
    analysis::exact_analyzer(true)
}

/// Registers fandex's analyzers on an index: the exact one, and the stem analyzer of the languages the
/// index's schema records. Must be called on every [`Index`] before writing or searching.
pub fn register_analyzers(index: &Index) {
    index.tokenizers().register(TEXT_ANALYZER, text_analyzer());
    if let Some(languages) = languages_of(&index.schema()) {
        index.tokenizers().register(
            &analysis::stem_analyzer_name(&languages),
            analysis::stem_analyzer(&languages),
        );
    }
    index
        .tokenizers()
        .register(NAME_GRAM_ANALYZER, name_gram_analyzer());
}

/// The analyzer of the `name_gram` field (its input is already [folded](fold_name)).
fn name_gram_analyzer() -> TextAnalyzer {
    match NgramTokenizer::new(NAME_GRAM_CHARS, NAME_GRAM_CHARS, false) {
        Ok(grams) => TextAnalyzer::from(grams),
        Err(e) => unreachable!("n-gram bounds are valid constants: {e}"),
    }
}

/// A file name as `name:` patterns compare it: its bytes read as UTF-8 (an invalid sequence becomes
/// U+FFFD) and lowercased, so the match is case-insensitive in every script.
pub fn fold_name(name: &[u8]) -> String {
    String::from_utf8_lossy(name).to_lowercase()
}

/// Splits a query's `text` into the terms of the phrase that finds it in the index: the exact
/// analyzer's tokens, without the extra last character of a CJK run (see [`analysis::tokenizer`]).
pub fn tokenize(text: &str) -> Vec<String> {
    analysis::tokens_of(&mut analysis::exact_analyzer(false), text)
}

/// Whether a query term is one CJK character: it is searched as a prefix, which finds the character
/// anywhere in a run (see [`analysis::tokenizer`]).
pub fn is_cjk_unigram(term: &str) -> bool {
    let mut chars = term.chars();
    chars.next().is_some_and(analysis::is_cjk) && chars.next().is_none()
}

/// The lowercased extension of a file name, without the dot; empty when it has none. A leading dot
/// (`.bashrc`) does not start an extension.
pub fn extension_of(path: &Path) -> String {
    path.extension()
        .map(|e| String::from_utf8_lossy(e.as_bytes()).to_lowercase())
        .unwrap_or_default()
}

/// Joins the names of nested parts in a document's `part`: `mail.mbox` » `message 2: Hi` » `report.pdf`.
pub const PART_SEPARATOR: &str = " » ";

/// The extension of a part's own name (the innermost of nested parts joined by ` » `), lowercased, as
/// [`extension_of`] gives it; `None` for the file itself, a part without one, or a name whose "extension"
/// holds a space (`message 3: re. plans` is no `. plans` file).
pub fn part_extension(part: &str) -> Option<String> {
    let inner = part.rsplit(PART_SEPARATOR).next()?;
    let ext = extension_of(Path::new(inner));
    (!ext.is_empty() && !ext.contains(char::is_whitespace)).then_some(ext)
}

/// Every ancestor directory of an absolute path, outermost first, as exact bytes: `/a/b/c` gives `/`, `/a`,
/// `/a/b`.
pub fn ancestor_dirs(path: &Path) -> Vec<&[u8]> {
    let mut dirs: Vec<&[u8]> = path
        .ancestors()
        .skip(1)
        .map(|p| p.as_os_str().as_bytes())
        .filter(|b| !b.is_empty())
        .collect();
    dirs.reverse();
    dirs
}

/// The content of one file's document, independent of tantivy's document type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDoc {
    /// The catalog's id for the file.
    pub file_id: u64,
    /// The exact path.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i64,
    /// Extracted text (empty for binary or unreadable files, which are found by name and metadata).
    pub text: String,
}

/// What a document says about itself besides the file's facts: which part it is, its type and metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocMeta {
    /// The part's name (nested parts joined by ` » `); empty for the file itself.
    pub part: String,
    /// The part's place in the file: 0 for the file itself, then 1, 2... in document order.
    pub part_ord: u64,
    /// The MIME type; empty means "from the file name" ([`mime::of_name`]).
    pub mime: String,
    /// Titles.
    pub title: Vec<String>,
    /// Authors (a mail's sender, a song's artist).
    pub author: Vec<String>,
    /// Subjects.
    pub subject: Vec<String>,
    /// Every other metadata value (album, keywords, dates as written...).
    pub meta: Vec<String>,
}

impl FileDoc {
    /// Builds the tantivy document of the file itself, its MIME type guessed from its name.
    pub fn to_document(&self, fields: &Fields) -> TantivyDocument {
        self.to_document_with(fields, &DocMeta::default())
    }

    /// Builds the tantivy document of the file or part described by `meta`, its whole text stored in
    /// it (see [`Self::to_documents_with`] for what the indexer writes).
    pub fn to_document_with(&self, fields: &Fields, meta: &DocMeta) -> TantivyDocument {
        let mut doc = self.document_without_text(fields, meta);
        doc.add_text(fields.text, &self.text);
        doc
    }

    /// The document of the file or part described by `meta`, its text indexed but not stored.
    fn document_without_text(&self, fields: &Fields, meta: &DocMeta) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_u64(fields.file_id, self.file_id);
        doc.add_bytes(fields.path, self.path.as_os_str().as_bytes());
        for dir in ancestor_dirs(&self.path) {
            doc.add_bytes(fields.dirs, dir);
        }
        let name = self.path.file_name().unwrap_or(OsStr::new(""));
        let name = String::from_utf8_lossy(name.as_bytes());
        // Every document of a file sorts by the file's name (a fast field needs a value on each).
        doc.add_bytes(fields.name_key, name.as_bytes());
        // Only the file's own document is found by its name: `name:box` (or a bare word of the name, or a
        // `name:` pattern) gives the mailbox once, not once more per message. Parts are found by their own
        // names.
        if meta.part_ord == 0 {
            doc.add_text(fields.name, &name);
            doc.add_text(fields.name_stem, &name);
            doc.add_text(fields.name_gram, fold_name(name.as_bytes()));
        }
        let mime = if meta.mime.is_empty() {
            mime::of_name(name.as_bytes(), false)
        } else {
            &meta.mime
        };
        let folder = mime == mime::DIRECTORY;
        // A part matches its own extension (`ext:pdf` finds `a.zip » docs/x.pdf`) and, as it matches its
        // file's `path:`, its file's (`ext:zip` finds the archive's members too). A folder has none
        // (`photos.2024` is not of type `2024`).
        doc.add_text(
            fields.ext,
            if folder {
                String::new()
            } else {
                extension_of(&self.path)
            },
        );
        if let Some(own) = part_extension(&meta.part) {
            doc.add_text(fields.ext, own);
        }
        doc.add_u64(fields.size, self.size);
        doc.add_i64(fields.mtime, self.mtime_ns);
        doc.add_text(fields.content, &self.text);
        doc.add_text(fields.content_stem, &self.text);
        doc.add_text(fields.part, &meta.part);
        doc.add_u64(fields.part_ord, meta.part_ord);
        doc.add_u64(fields.folder, u64::from(folder));
        doc.add_text(fields.mime, mime);
        for class in mime::classes(mime) {
            doc.add_text(fields.kind, class);
        }
        for (field, values) in [
            (fields.title, &meta.title),
            (fields.author, &meta.author),
            (fields.subject, &meta.subject),
            (fields.meta, &meta.meta),
        ] {
            for value in values {
                doc.add_text(field, value);
            }
        }
        doc
    }

    /// Reads a stored document back. Returns `None` when a stored field is missing (a chunk document).
    /// A text stored in chunks comes back empty: [`chunks::assemble`] joins it again from its chunks.
    pub fn from_document(doc: &TantivyDocument, fields: &Fields) -> Option<Self> {
        Some(Self {
            file_id: doc.get_first(fields.file_id)?.as_u64()?,
            path: PathBuf::from(OsStr::from_bytes(doc.get_first(fields.path)?.as_bytes()?)),
            size: doc.get_first(fields.size)?.as_u64()?,
            mtime_ns: doc.get_first(fields.mtime)?.as_i64()?,
            text: doc
                .get_first(fields.text)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned(),
        })
    }
}

impl DocMeta {
    /// Reads the stored part, MIME type and metadata of a document back.
    pub fn from_document(doc: &TantivyDocument, fields: &Fields) -> Self {
        let all = |field| -> Vec<String> {
            doc.get_all(field)
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        let first = |field| -> String {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        Self {
            part: first(fields.part),
            part_ord: doc
                .get_first(fields.part_ord)
                .and_then(|v| v.as_u64())
                .unwrap_or(0),
            mime: first(fields.mime),
            title: all(fields.title),
            author: all(fields.author),
            subject: all(fields.subject),
            meta: all(fields.meta),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analyzer_lowercases_folds_and_splits() {
        assert_eq!(
            tokenize("Café-Crème  NAÏVE_x2"),
            ["cafe", "creme", "naive", "x2"]
        );
    }

    #[test]
    fn the_schema_records_its_languages() {
        let (schema, _) = build_schema();
        assert_eq!(languages_of(&schema), Some(vec![Language::English]));
        let (schema, _) = build_schema_for(&[Language::Russian, Language::Greek]);
        assert_eq!(
            languages_of(&schema),
            Some(vec![Language::Greek, Language::Russian])
        );
        let index = Index::create_in_ram(schema);
        register_analyzers(&index);
        let fields = fields_of(&index.schema()).unwrap();
        let mut stem = index.tokenizer_for_field(fields.content_stem).unwrap();
        // Every language's stem (the Greek stemmer leaves a Cyrillic word as it is).
        assert_eq!(analysis::tokens_of(&mut stem, "книги"), ["книги", "книг"]);
    }

    #[test]
    fn analyzer_drops_overlong_tokens() {
        let long = "a".repeat(MAX_TOKEN_BYTES + 1);
        let ok = "b".repeat(MAX_TOKEN_BYTES);
        assert_eq!(tokenize(&format!("{long} {ok}")), [ok]);
    }

    #[test]
    fn ancestors_are_exact_bytes_outermost_first() {
        let p = Path::new(OsStr::from_bytes(b"/a/\xff\n/c.txt"));
        assert_eq!(ancestor_dirs(p), [&b"/"[..], b"/a", b"/a/\xff\n"]);
    }

    #[test]
    fn extension_is_lowercase_and_ignores_dotfiles() {
        assert_eq!(extension_of(Path::new("/x/A.TXT")), "txt");
        assert_eq!(extension_of(Path::new("/x/a.tar.gz")), "gz");
        assert_eq!(extension_of(Path::new("/x/.bashrc")), "");
        assert_eq!(extension_of(Path::new("/x/Makefile")), "");
    }

    #[test]
    fn document_round_trips() {
        let (schema, fields) = build_schema();
        assert!(fields_of(&schema).is_some());
        let doc = FileDoc {
            file_id: 7,
            path: PathBuf::from(OsStr::from_bytes(b"/r/na\xffme\n.txt")),
            size: 12,
            mtime_ns: -5,
            text: "hello world".into(),
        };
        let meta = DocMeta {
            part: "a » b.txt".into(),
            part_ord: 3,
            mime: "text/plain".into(),
            title: vec!["T".into()],
            author: vec!["A".into(), "B".into()],
            subject: vec![],
            meta: vec!["album".into()],
        };
        let tantivy_doc = doc.to_document_with(&fields, &meta);
        assert_eq!(FileDoc::from_document(&tantivy_doc, &fields).unwrap(), doc);
        assert_eq!(DocMeta::from_document(&tantivy_doc, &fields), meta);
        let plain = DocMeta::from_document(&doc.to_document(&fields), &fields);
        assert_eq!(plain.mime, "text/plain");
        assert_eq!(plain.part, "");
    }
}
