//! Documents in the index (issue 12): the engine with an in-process parser on the formats crate's real
//! fixtures. Parts are hits of their own with their names, metadata and MIME types are searchable, a
//! rename moves every part without parsing again, a delete removes them, an unchanged file is not parsed
//! again, a caller who cannot read a container sees none of its parts, and without a parser a document is
//! found by name with the reason recorded.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use fandex::indexer::catalog::Status;
use fandex::indexer::engine::{Progress, UpdateRequest};
use fandex::indexer::extract::{DocumentParser, InProcessParser, ParseError};
use fandex::indexer::formats::{Document, Kind};
use fandex::{Config, Engine, IndexDir, QueryError, SearchRequest, SearchResults};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/formats/tests/fixtures");

/// The in-process parser, counting its calls.
#[derive(Debug, Default)]
struct Counting {
    calls: AtomicUsize,
    inner: InProcessParser,
}

impl DocumentParser for Counting {
    fn parse(&self, file: &File, name: &[u8], kind: Kind) -> Result<Document, ParseError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.parse(file, name, kind)
    }
}

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    index: PathBuf,
    parser: Arc<Counting>,
}

/// A root holding copies of the named fixtures (`(fixture, name in the root)`).
fn fixture(files: &[(&str, &str)]) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    fs::create_dir_all(&root).unwrap();
    for (from, to) in files {
        fs::copy(Path::new(FIXTURES).join(from), root.join(to)).unwrap();
    }
    let root = fs::canonicalize(root).unwrap();
    let index = tmp.path().join("index");
    Fixture {
        _tmp: tmp,
        root,
        index,
        parser: Arc::default(),
    }
}

impl Fixture {
    fn engine(&self, parser: bool) -> Engine {
        let mut engine = Engine::open(IndexDir::at(&self.index), Config::default()).unwrap();
        if parser {
            engine.set_parser(self.parser.clone());
        }
        engine
    }

    /// Updates the index (with the counting parser when `parser`), returns the engine still open.
    fn update(&self, parser: bool) -> Engine {
        // Let changes age past the racy window, so an unchanged file is not read again.
        std::thread::sleep(std::time::Duration::from_millis(60));
        let mut engine = self.engine(parser);
        let request = UpdateRequest {
            add_roots: vec![self.root.clone()],
            forget_roots: vec![],
        };
        engine.update(&request, &Progress::default()).unwrap();
        engine
    }

    fn calls(&self) -> usize {
        self.parser.calls.load(Ordering::SeqCst)
    }
}

fn request(query: &str) -> SearchRequest {
    SearchRequest {
        query: query.into(),
        limit: 1000,
        snippets: true,
        ..SearchRequest::default()
    }
}

fn search(engine: &Engine, query: &str) -> SearchResults {
    fandex::searcher_for(engine)
        .search(&request(query))
        .unwrap()
}

/// (file name, part) of every hit, as a set.
fn found(engine: &Engine, query: &str) -> BTreeSet<(String, Option<String>)> {
    let results = search(engine, query);
    assert_eq!(results.total, results.hits.len(), "{query}: all returned");
    results
        .hits
        .iter()
        .map(|h| {
            let name = h.path.file_name().unwrap().to_string_lossy().into_owned();
            (name, h.part.clone())
        })
        .collect()
}

fn hit(name: &str, part: Option<&str>) -> (String, Option<String>) {
    (name.to_owned(), part.map(str::to_owned))
}

fn set(items: &[(&str, Option<&str>)]) -> BTreeSet<(String, Option<String>)> {
    items.iter().map(|(n, p)| hit(n, *p)).collect()
}

const ALL: &[(&str, &str)] = &[
    ("sample.pdf", "sample.pdf"),
    ("sample.pdf", "report"),
    ("sample.docx", "sample.docx"),
    ("sample.eml", "sample.eml"),
    ("sample.mbox", "sample.mbox"),
    ("archive.zip", "archive.zip"),
    ("archive.tar.gz", "archive.tar.gz"),
    ("song.mp3", "song.mp3"),
    ("photo.jpg", "photo.jpg"),
    ("notes.txt.gz", "notes.txt.gz"),
];

#[test]
fn parts_are_hits_of_their_own_with_their_names() {
    let f = fixture(ALL);
    let engine = f.update(true);
    assert_eq!(
        found(&engine, "comet"),
        set(&[("archive.zip", Some("readme.txt"))])
    );
    assert_eq!(
        found(&engine, "nebula"),
        set(&[("archive.zip", Some("inner.zip » deep.txt"))])
    );
    assert_eq!(
        found(&engine, "galaxy"),
        set(&[("archive.tar.gz", Some("dir/readme.txt"))])
    );
    assert_eq!(
        found(&engine, "\"From the body line\""),
        set(&[("sample.mbox", Some("message 2: Second note"))])
    );
    // The eml's attachment, and the same mail inside the zip.
    assert_eq!(
        found(&engine, "\"attached notes about punch cards\""),
        set(&[
            ("sample.eml", Some("notes.txt")),
            ("archive.zip", Some("mail/sample.eml » notes.txt")),
        ])
    );
    // A gzip of text stays on the indexer's own path: one document, the decompressed text.
    assert_eq!(found(&engine, "quasar"), set(&[("notes.txt.gz", None)]));
    // The snippet of a part comes from the part's text.
    let results = search(&engine, "comet");
    let snippet = &results.hits[0].snippet;
    assert!(
        snippet.text.contains("Readme of the archive"),
        "{snippet:?}"
    );
    assert_eq!(results.hits[0].mime.as_deref(), Some("text/plain"));
    // Parts of one file come in part order after equal scores; the file's own document first.
    let mbox = search(&engine, "path:/ ext:mbox");
    let parts: Vec<Option<&str>> = mbox.hits.iter().map(|h| h.part.as_deref()).collect();
    assert_eq!(
        parts,
        [
            None,
            Some("message 1: First note"),
            Some("message 2: Second note"),
            Some("message 3: Third note")
        ]
    );
}

#[test]
fn metadata_mime_and_type_are_searchable() {
    let f = fixture(ALL);
    let engine = f.update(true);
    let pdfs = set(&[("sample.pdf", None), ("report", None)]);
    assert_eq!(found(&engine, "title:\"Fixture PDF Title\""), pdfs);
    assert_eq!(found(&engine, "mime:application/pdf"), pdfs);
    assert_eq!(found(&engine, "type:pdf"), pdfs);
    // A PDF named without an extension is a PDF, parsed as one.
    assert_eq!(
        found(&engine, "bernoulli type:pdf"),
        pdfs,
        "the renamed PDF's text is found"
    );
    let by_ada = set(&[
        ("sample.pdf", None),
        ("report", None),
        ("sample.docx", None),
    ]);
    assert_eq!(found(&engine, "author:lovelace"), by_ada);
    assert_eq!(found(&engine, "subject:analytical"), by_ada);
    assert_eq!(found(&engine, "title:fixture type:document"), by_ada);
    // Plain words search the metadata too: the album of a song.
    assert_eq!(found(&engine, "abbey"), set(&[("song.mp3", None)]));
    assert_eq!(
        found(&engine, "beatles type:audio"),
        set(&[("song.mp3", None)])
    );
    assert_eq!(found(&engine, "mime:audio/*"), set(&[("song.mp3", None)]));
    assert_eq!(found(&engine, "type:image"), set(&[("photo.jpg", None)]));
    assert_eq!(found(&engine, "mime:IMAGE/*"), set(&[("photo.jpg", None)]));
    let hit = &search(&engine, "title:\"Fixture PDF Title\"").hits[0];
    assert_eq!(hit.mime.as_deref(), Some("application/pdf"));
    assert_eq!(hit.title.as_deref(), Some("Fixture PDF Title"));
    assert_eq!(hit.author.as_deref(), Some("Ada Lovelace"));
    assert_eq!(hit.subject.as_deref(), Some("Analytical engines"));
    // Mail: the subject and the mailbox's messages.
    let mail = found(&engine, "subject:\"second note\" type:email");
    assert_eq!(
        mail,
        set(&[("sample.mbox", Some("message 2: Second note"))])
    );
    // Folders are a class (issue 13): the fixture's root holds none.
    assert_eq!(found(&engine, "report type:folder"), set(&[]));
    // Errors name the value's position.
    let searcher = fandex::searcher_for(&engine);
    for (query, position) in [
        ("x type:folders", 8),
        ("type:pdf,bogus", 10),
        ("x mime:pdf", 8),
    ] {
        match searcher.search(&request(query)) {
            Err(QueryError::Syntax { position: p, .. }) => assert_eq!(p, position, "{query}"),
            other => panic!("{query}: expected a syntax error, got {other:?}"),
        }
    }
}

#[test]
fn a_rename_moves_every_part_without_parsing_and_a_delete_removes_them() {
    let f = fixture(&[("sample.mbox", "box.mbox"), ("archive.zip", "a.zip")]);
    let engine = f.update(true);
    let parsed = f.calls();
    assert_eq!(parsed, 2);
    let docs = engine.text_index().num_docs();
    drop(engine);
    // Unchanged: nothing parsed again.
    drop(f.update(true));
    assert_eq!(f.calls(), parsed, "an unchanged file is not parsed again");
    fs::rename(f.root.join("box.mbox"), f.root.join("moved.mbox")).unwrap();
    fs::rename(f.root.join("a.zip"), f.root.join("b.zip")).unwrap();
    let engine = f.update(true);
    assert_eq!(
        f.calls(),
        parsed,
        "a rename moves the documents, no parsing"
    );
    assert_eq!(engine.text_index().num_docs(), docs);
    assert_eq!(
        found(&engine, "\"From the body line\""),
        set(&[("moved.mbox", Some("message 2: Second note"))])
    );
    assert_eq!(
        found(&engine, "nebula"),
        set(&[("b.zip", Some("inner.zip » deep.txt"))])
    );
    // Found by its name once, not once per message.
    assert_eq!(found(&engine, "name:moved"), set(&[("moved.mbox", None)]));
    let moved = search(&engine, "ext:mbox");
    assert_eq!(moved.total, 4, "the mailbox and its 3 messages: {moved:?}");
    assert!(
        moved
            .hits
            .iter()
            .all(|h| h.path == f.root.join("moved.mbox"))
    );
    drop(engine);
    fs::remove_file(f.root.join("b.zip")).unwrap();
    let engine = f.update(true);
    assert!(found(&engine, "nebula").is_empty());
    assert!(found(&engine, "comet").is_empty());
    assert_eq!(
        engine.text_index().num_docs(),
        4,
        "only the mailbox's remain"
    );
}

#[test]
fn a_caller_who_cannot_read_a_container_sees_none_of_its_parts() {
    let f = fixture(&[("sample.mbox", "box.mbox"), ("sample.eml", "mail.eml")]);
    let engine = f.update(true);
    let hidden = engine
        .catalog()
        .iter()
        .map(|r| r.unwrap())
        .find(|(_, rec)| rec.path().ends_with("box.mbox"))
        .unwrap()
        .0;
    let searcher = fandex::searcher_for(&engine);
    let asked = std::sync::Mutex::new(Vec::new());
    let visible = |ids: &[u64]| {
        asked.lock().unwrap().extend_from_slice(ids);
        ids.iter().map(|&id| id != hidden).collect()
    };
    let everyone = searcher.search(&request("note OR notes OR plan")).unwrap();
    assert!(everyone.hits.iter().any(|h| h.path.ends_with("box.mbox")));
    let results = searcher
        .search_visible(&request("note OR notes OR plan"), &visible)
        .unwrap();
    assert!(results.total > 0);
    assert_eq!(results.total, results.hits.len());
    assert!(
        results.hits.iter().all(|h| h.path.ends_with("mail.eml")),
        "{results:?}"
    );
    let asked = asked.into_inner().unwrap();
    let unique: BTreeSet<u64> = asked.iter().copied().collect();
    assert_eq!(asked.len(), unique.len(), "each file asked about once");
    // Hidden: the count is what the visible file alone gives.
    let alone = searcher
        .search_visible(
            &request("note OR notes OR plan path:/"),
            &|ids: &[u64]| ids.iter().map(|&id| id != hidden).collect(),
        )
        .unwrap();
    assert_eq!(alone.total, results.total);
}

#[test]
fn without_a_parser_a_document_is_found_by_name_and_says_why() {
    let f = fixture(&[("sample.pdf", "paper.pdf")]);
    // PDF content under a text name, with its text in the clear: never decoded as text.
    fs::write(
        f.root.join("notes.txt"),
        b"%PDF-1.4\n1 0 obj << >> stream\nBT (hello bernoulli) Tj ET\nendstream\n",
    )
    .unwrap();
    let engine = f.update(false);
    assert_eq!(found(&engine, "bernoulli"), BTreeSet::new());
    assert_eq!(found(&engine, "name:paper"), set(&[("paper.pdf", None)]));
    assert_eq!(
        found(&engine, "name:notes type:pdf"),
        set(&[("notes.txt", None)])
    );
    for entry in engine.catalog().iter() {
        let (_, rec) = entry.unwrap();
        assert_eq!(rec.status, Status::Failed, "{rec:?}");
        let error = rec.error.as_deref().unwrap_or_default();
        assert!(error.contains("unsupported format"), "{error}");
    }
    drop(engine);
    // Not retried until it changes; with a parser, a changed file is parsed.
    drop(f.update(true));
    assert_eq!(
        f.calls(),
        0,
        "a failed file is not read again until it changes"
    );
    fs::copy(
        Path::new(FIXTURES).join("sample.pdf"),
        f.root.join("notes.txt"),
    )
    .unwrap();
    let engine = f.update(true);
    assert_eq!(f.calls(), 1);
    assert_eq!(found(&engine, "bernoulli"), set(&[("notes.txt", None)]));
}

/// The record of the file named `name`.
fn record_of(engine: &Engine, name: &str) -> fandex::indexer::catalog::FileRecord {
    engine
        .catalog()
        .iter()
        .map(|r| r.unwrap().1)
        .find(|rec| rec.path().file_name().unwrap() == name)
        .unwrap_or_else(|| panic!("no record of {name}"))
}

/// Issue 12: a PDF encrypted with an empty user password is read; one that needs a password, one that
/// holds only scanned images and a malformed one are recorded as such (the record says why) and found by
/// name.
#[test]
fn encrypted_scanned_and_malformed_documents_say_why_and_are_found_by_name() {
    let f = fixture(&[
        ("encrypted-empty.pdf", "open.pdf"),
        ("encrypted-password.pdf", "locked.pdf"),
        ("scanned.pdf", "scan.pdf"),
    ]);
    let sample = fs::read(Path::new(FIXTURES).join("sample.pdf")).unwrap();
    // Cut inside its header: no cross-reference table to recover.
    fs::write(f.root.join("broken.pdf"), &sample[..100]).unwrap();
    let engine = f.update(true);
    assert_eq!(
        found(&engine, "\"quick brown fox\""),
        set(&[("open.pdf", None)])
    );
    let open = record_of(&engine, "open.pdf");
    assert_eq!((open.status, open.error), (Status::Indexed, None));

    let locked = record_of(&engine, "locked.pdf");
    assert_eq!(locked.status, Status::Failed);
    assert_eq!(locked.error.as_deref(), Some("encrypted: needs a password"));
    let scan = record_of(&engine, "scan.pdf");
    assert_eq!(
        scan.status,
        Status::Indexed,
        "parsed, with nothing to index"
    );
    assert_eq!(scan.error.as_deref(), Some("scanned: no text layer"));
    let broken = record_of(&engine, "broken.pdf");
    assert_eq!(broken.status, Status::Failed);
    let why = broken.error.unwrap_or_default();
    assert!(why.starts_with("malformed pdf"), "{why}");
    for name in ["locked", "scan", "broken"] {
        assert_eq!(
            found(&engine, &format!("name:{name}")),
            set(&[(&format!("{name}.pdf"), None)]),
            "{name} is found by name"
        );
    }
    // The reason stays while the file is unchanged (not parsed again).
    drop(engine);
    let calls = f.calls();
    let engine = f.update(true);
    assert_eq!(f.calls(), calls);
    assert_eq!(
        record_of(&engine, "scan.pdf").error.as_deref(),
        Some("scanned: no text layer")
    );
}

/// `ext:` on a part: a member matches its own extension, and its container's (as it matches its
/// container's `path:`).
#[test]
fn ext_matches_a_parts_own_extension_and_its_containers() {
    let f = fixture(&[("archive.zip", "a.zip"), ("sample.mbox", "box.mbox")]);
    let engine = f.update(true);
    assert_eq!(
        found(&engine, "ext:txt"),
        set(&[
            ("a.zip", Some("readme.txt")),
            ("a.zip", Some("inner.zip » deep.txt")),
            ("a.zip", Some("mail/sample.eml » notes.txt")),
        ])
    );
    assert_eq!(
        found(&engine, "ext:rtf,eml"),
        set(&[
            ("a.zip", Some("docs/cp1251.rtf")),
            ("a.zip", Some("mail/sample.eml")),
        ])
    );
    assert_eq!(
        found(&engine, "comet ext:txt"),
        set(&[("a.zip", Some("readme.txt"))])
    );
    let zip = found(&engine, "ext:zip");
    assert!(zip.contains(&hit("a.zip", None)), "{zip:?}");
    assert!(zip.contains(&hit("a.zip", Some("readme.txt"))), "{zip:?}");
    // A message's name is no file name: `message 1: First note` has no extension.
    assert_eq!(found(&engine, "ext:mbox").len(), 4);
    // A move rewrites the documents from what is stored: the extensions stay.
    drop(engine);
    fs::rename(f.root.join("a.zip"), f.root.join("b.zip")).unwrap();
    let engine = f.update(true);
    assert_eq!(
        found(&engine, "comet ext:txt"),
        set(&[("b.zip", Some("readme.txt"))])
    );
}
