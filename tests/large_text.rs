//! Long texts are stored in chunks (issue 16, `fandex_schema::chunks`): a snippet of a match deep in a
//! large file shows it (reading only the chunks around it), a stem-only match is found by scanning the
//! chunks, chunk documents are neither hits nor counted, and a rename keeps the whole text without
//! reading the file again.

use std::fs;
use std::path::PathBuf;

use fandex::indexer::engine::{Progress, UpdateRequest};
use fandex::indexer::schema::chunks::{CHUNK_BYTES, INLINE_TEXT_BYTES};
use fandex::{Config, Engine, IndexDir, SearchRequest, SearchResults, Summary};

/// About 600 KB of filler with one sentence about Zanzibar near its end, a phrase across the first
/// chunk boundary, and the byte offset of the sentence.
fn large_text() -> (String, usize) {
    let filler = "the quick brown fox jumps over the lazy dog again ";
    let mut text = filler.repeat(16 * 1024 / filler.len());
    text.push_str("alpha omega ");
    while text.len() < 560_000 {
        text.push_str(filler);
    }
    let deep = text.len();
    text.push_str("Then we sailed to Zanzibar at dawn. ");
    text.push_str(&filler.repeat(500));
    (text, deep)
}

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    index: PathBuf,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    fs::create_dir_all(&root).unwrap();
    fs::write(root.join("big.txt"), large_text().0).unwrap();
    fs::write(root.join("small.txt"), "a small file about a lazy cat").unwrap();
    let root = fs::canonicalize(root).unwrap();
    let index = tmp.path().join("index");
    Fixture {
        _tmp: tmp,
        root,
        index,
    }
}

impl Fixture {
    fn update(&self) -> (Engine, Summary) {
        // Let changes age past the racy window, so an unchanged file is not read again.
        std::thread::sleep(std::time::Duration::from_millis(60));
        let mut engine = Engine::open(IndexDir::at(&self.index), Config::default()).unwrap();
        let request = UpdateRequest {
            add_roots: vec![self.root.clone()],
            forget_roots: vec![],
        };
        let summary = engine.update(&request, &Progress::default()).unwrap();
        (engine, summary)
    }
}

fn search(engine: &Engine, query: &str) -> SearchResults {
    let request = SearchRequest {
        query: query.into(),
        limit: 100,
        snippets: true,
        ..SearchRequest::default()
    };
    fandex::searcher_for(engine).search(&request).unwrap()
}

/// The one hit's file name and snippet text with its highlighted words.
fn only_hit(results: &SearchResults) -> (String, String, Vec<String>) {
    assert_eq!(results.total, 1, "{results:?}");
    let hit = &results.hits[0];
    let name = hit.path.file_name().unwrap().to_string_lossy().into_owned();
    let text = hit.snippet.text.clone();
    let marked = hit
        .snippet
        .highlights
        .iter()
        .map(|r| text[r.clone()].to_owned())
        .collect();
    (name, text, marked)
}

#[test]
fn a_snippet_shows_a_match_deep_in_a_large_file() {
    let (text, deep) = large_text();
    assert!(text.len() > 16 * INLINE_TEXT_BYTES && deep > 32 * CHUNK_BYTES);
    let f = fixture();
    let (engine, _) = f.update();

    let (name, snippet, marked) = only_hit(&search(&engine, "zanzibar"));
    assert_eq!(name, "big.txt");
    assert!(snippet.contains("sailed to Zanzibar at dawn"), "{snippet}");
    assert_eq!(marked, ["Zanzibar"]);

    // Only through its stem: the chunks are scanned until one shows it.
    let (name, snippet, marked) = only_hit(&search(&engine, "zanzibars"));
    assert_eq!(name, "big.txt");
    assert!(snippet.contains("sailed to Zanzibar at dawn"), "{snippet}");
    assert_eq!(marked, ["Zanzibar"]);

    // A phrase across the first chunk boundary is one phrase of the indexed content.
    let (_, snippet, _) = only_hit(&search(&engine, "\"alpha omega\""));
    assert!(snippet.contains("alpha omega"), "{snippet}");

    // A word of both files: the small one's snippet as before, the large one's from its first chunk.
    let results = search(&engine, "lazy");
    assert_eq!(results.total, 2);
    for hit in &results.hits {
        assert!(hit.snippet.text.contains("lazy"), "{:?}", hit.snippet);
    }

    // The large text is stored in chunk documents, which are neither found (a query that starts from
    // every document) nor counted.
    let stored = engine.text_index().reader().searcher().num_docs();
    assert!(stored > 16, "{stored} documents in tantivy");
    assert_eq!(search(&engine, "-nothingatall").total, 2);
    assert_eq!(engine.text_index().num_docs(), 2);
    assert_eq!(fandex::searcher_for(&engine).num_docs(), 2);
}

#[test]
fn a_rename_keeps_a_large_text_without_reading_it_again() {
    let f = fixture();
    let (engine, _) = f.update();
    drop(engine);
    fs::rename(f.root.join("big.txt"), f.root.join("moved.txt")).unwrap();
    let (engine, summary) = f.update();
    assert_eq!((summary.moved, summary.indexed), (1, 0), "{summary:?}");

    let (name, snippet, _) = only_hit(&search(&engine, "zanzibar"));
    assert_eq!(name, "moved.txt");
    assert!(snippet.contains("sailed to Zanzibar at dawn"), "{snippet}");
    // The whole text, joined again from its chunks.
    let id = fandex::searcher_for(&engine).search(&SearchRequest {
        query: "zanzibar".into(),
        ..SearchRequest::default()
    });
    let id = id.unwrap().hits[0].file_id.unwrap();
    let stored = engine.text_index().get(id).unwrap().unwrap();
    assert_eq!(stored.text, large_text().0);
    assert_eq!(engine.text_index().num_docs(), 2);
}
