//! An index of another on-disk format is rebuilt by `Engine::open` + `Engine::update`, from the roots
//! the old catalog recorded, at every crash point of the rebuild; a directory that is not an index is
//! refused and left alone.

use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use fandex_indexer::engine::{Progress, UpdateRequest};
use fandex_indexer::rebuild::{self, Rebuild};
use fandex_indexer::schema::SCHEMA_VERSION;
use fandex_indexer::{Config, Engine, Error, IndexDir};

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    dir: IndexDir,
}

const FILES: &[(&str, &str)] = &[
    ("a.txt", "alpha beta"),
    ("d/b.txt", "gamma delta"),
    ("d/e/c.md", "epsilon"),
];

/// A root with [`FILES`], indexed once in this build's format.
fn indexed_fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    for (name, text) in FILES {
        let p = root.join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    let root = fs::canonicalize(root).unwrap();
    let dir = IndexDir::at(tmp.path().join("index"));
    let mut engine = Engine::open(dir.clone(), Config::default()).unwrap();
    let request = UpdateRequest {
        add_roots: vec![root.clone()],
        forget_roots: vec![],
    };
    engine.update(&request, &Progress::default()).unwrap();
    engine.close().unwrap();
    Fixture {
        _tmp: tmp,
        root,
        dir,
    }
}

/// Every file's (path, text) in the index, sorted, checking catalog and index agree (folders have
/// records and documents of their own, without text: not counted here).
fn contents(engine: &Engine) -> Vec<(PathBuf, String)> {
    let mut out: Vec<(PathBuf, String)> = engine
        .catalog()
        .iter()
        .map(Result::unwrap)
        .filter(|(_, rec)| !rec.is_folder())
        .map(|(id, rec)| {
            let doc = engine.text_index().get(id).unwrap().expect("document");
            (rec.path().to_owned(), doc.text)
        })
        .collect();
    out.sort();
    assert_eq!(engine.text_index().num_docs() as usize, out.len());
    out
}

fn expected(f: &Fixture) -> Vec<(PathBuf, String)> {
    let mut out: Vec<(PathBuf, String)> = FILES
        .iter()
        .map(|(n, t)| (f.root.join(n), t.to_string()))
        .collect();
    out.sort();
    out
}

/// Opens without naming a root, finishes the rebuild with a plain update, and checks the result.
fn finish_and_check(f: &Fixture, from: u32) {
    let mut engine = Engine::open(f.dir.clone(), Config::default()).unwrap();
    assert_eq!(
        engine.rebuilding(),
        Some(Rebuild {
            from,
            to: SCHEMA_VERSION
        })
    );
    assert_eq!(engine.roots().unwrap(), vec![f.root.clone()], "roots kept");
    let summary = engine
        .update(&UpdateRequest::default(), &Progress::default())
        .unwrap();
    assert_eq!(summary.seen, FILES.len() as u64);
    assert_eq!(engine.rebuilding(), None);
    assert_eq!(contents(&engine), expected(f), "same as a fresh index");
    engine.close().unwrap();
    assert_eq!(rebuild::in_progress(&f.dir).unwrap(), None);
    f.dir.check_format().unwrap();
    let engine = Engine::open(f.dir.clone(), Config::default()).unwrap();
    assert_eq!(engine.rebuilding(), None, "done once");
}

#[test]
fn an_older_format_is_rebuilt_from_the_roots_it_recorded() {
    let f = indexed_fixture();
    fs::write(f.dir.format_file(), "0\n").unwrap();
    // A reader cannot use it and says how to get it rebuilt.
    let err = f.dir.check_format().unwrap_err().to_string();
    assert!(err.contains("rebuild"), "{err}");
    finish_and_check(&f, 0);
}

#[test]
fn a_newer_format_is_rebuilt_too() {
    let f = indexed_fixture();
    fs::write(f.dir.format_file(), format!("{}\n", SCHEMA_VERSION + 1)).unwrap();
    finish_and_check(&f, SCHEMA_VERSION + 1);
}

#[test]
fn a_rebuild_interrupted_after_the_new_format_was_written_resumes() {
    let f = indexed_fixture();
    fs::write(f.dir.format_file(), "0\n").unwrap();
    // Killed after the open emptied the index, before the walk finished.
    let engine = Engine::open(f.dir.clone(), Config::default()).unwrap();
    assert!(engine.rebuilding().is_some());
    drop(engine);
    f.dir.check_format().unwrap();
    finish_and_check(&f, 0);
}

#[test]
fn a_rebuild_interrupted_while_deleting_the_old_index_keeps_its_roots() {
    let f = indexed_fixture();
    // Killed after the marker was written, with the old catalog half deleted: the marker has the roots.
    fs::write(f.dir.format_file(), "0\n").unwrap();
    let mut marker = b"0\n".to_vec();
    marker.extend_from_slice(f.root.as_os_str().as_bytes());
    marker.push(0);
    fs::write(f.dir.path().join("rebuild"), marker).unwrap();
    fs::remove_dir_all(f.dir.catalog_dir()).unwrap();
    fs::create_dir(f.dir.catalog_dir()).unwrap();
    fs::write(f.dir.catalog_dir().join("conf"), b"\xff half deleted").unwrap();
    finish_and_check(&f, 0);
}

#[test]
fn an_unreadable_old_catalog_falls_back_to_the_roots_given() {
    let f = indexed_fixture();
    fs::write(f.dir.format_file(), "0\n").unwrap();
    fs::remove_dir_all(f.dir.catalog_dir()).unwrap();
    fs::write(f.dir.catalog_dir(), b"not a catalog").unwrap();
    let mut engine = Engine::open(f.dir.clone(), Config::default()).unwrap();
    assert!(engine.rebuilding().is_some());
    assert!(engine.roots().unwrap().is_empty());
    let request = UpdateRequest {
        add_roots: vec![f.root.clone()],
        forget_roots: vec![],
    };
    engine.update(&request, &Progress::default()).unwrap();
    assert_eq!(engine.rebuilding(), None);
    assert_eq!(contents(&engine), expected(&f));
}

#[test]
fn a_directory_that_is_not_an_index_is_refused_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = IndexDir::at(tmp.path());
    fs::write(dir.format_file(), "A4, portrait\n").unwrap();
    fs::create_dir(dir.catalog_dir()).unwrap();
    fs::write(dir.catalog_dir().join("mine"), "keep").unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    match Engine::open(dir.clone(), Config::default()) {
        Err(err @ Error::NotAnIndex(_)) => {
            assert!(err.to_string().contains("not a fandex index"), "{err}")
        }
        Err(other) => panic!("expected NotAnIndex, got {other}"),
        Ok(_) => panic!("expected NotAnIndex, got an engine"),
    }
    assert_eq!(
        fs::read_to_string(dir.catalog_dir().join("mine")).unwrap(),
        "keep"
    );
    let mode = fs::metadata(dir.path()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755, "its mode is left alone too");
    assert!(!dir.lock_file().exists(), "nothing is created in it");
}

/// The fields of format 1 (before documents had parts, metadata and types), as that version built them.
fn version_1_schema() -> tantivy::schema::Schema {
    use tantivy::schema::{
        BytesOptions, IndexRecordOption, NumericOptions, STRING, TextFieldIndexing, TextOptions,
    };
    let mut builder = tantivy::schema::Schema::builder();
    let numeric = NumericOptions::default()
        .set_indexed()
        .set_stored()
        .set_fast();
    let text = TextFieldIndexing::default()
        .set_tokenizer(fandex_indexer::schema::TEXT_ANALYZER)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
    builder.add_u64_field("file_id", numeric.clone());
    builder.add_bytes_field("path", BytesOptions::default().set_stored());
    builder.add_bytes_field("dirs", BytesOptions::default().set_indexed());
    builder.add_text_field(
        "name",
        TextOptions::default().set_indexing_options(text.clone()),
    );
    builder.add_text_field("ext", STRING);
    builder.add_u64_field("size", numeric.clone());
    builder.add_i64_field("mtime", numeric);
    builder.add_text_field(
        "content",
        TextOptions::default()
            .set_indexing_options(text)
            .set_stored(),
    );
    builder.build()
}

#[test]
fn a_version_1_index_is_rebuilt_into_the_fields_of_documents() {
    rebuild_from_old_fields(1);
}

/// Format 3 stored the text in `content` and had no chunk documents (issue 16): its schema lacks
/// `text`, `chunks` and `chunk` as format 1's does.
#[test]
fn a_version_3_index_is_rebuilt_with_texts_stored_apart() {
    rebuild_from_old_fields(3);
}

/// An index whose schema lacks today's fields, marked as format `from`, is rebuilt into them.
fn rebuild_from_old_fields(from: u32) {
    let f = indexed_fixture();
    // Replace the index with one written by format 1: its schema lacks part, title, mime...
    let tantivy_dir = f.dir.tantivy_dir();
    fs::remove_dir_all(&tantivy_dir).unwrap();
    fs::create_dir_all(&tantivy_dir).unwrap();
    let old = tantivy::Index::create_in_dir(&tantivy_dir, version_1_schema()).unwrap();
    fandex_indexer::schema::register_analyzers(&old);
    let mut writer: tantivy::IndexWriter = old.writer_with_num_threads(1, 15_000_000).unwrap();
    writer.commit().unwrap();
    drop(writer);
    assert!(fandex_indexer::schema::fields_of(&old.schema()).is_none());
    drop(old);
    const {
        assert!(
            SCHEMA_VERSION >= 5,
            "format 4 stores texts apart, long ones in chunks; format 5 has folders"
        )
    };
    fs::write(f.dir.format_file(), format!("{from}\n")).unwrap();
    finish_and_check(&f, from);
    let (index, _, _) = fandex_indexer::text_index::open_read_only(&tantivy_dir).unwrap();
    let fields = fandex_indexer::schema::fields_of(&index.schema()).expect("today's fields");
    assert_eq!(index.schema().get_field_name(fields.part), "part");
    assert_eq!(index.schema().get_field_name(fields.chunk), "chunk");
    assert_eq!(index.schema().get_field_name(fields.folder), "folder");
}
