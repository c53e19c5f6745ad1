//! The engine against real files: incremental updates, renames without re-reading, hard links, deletions,
//! and repair after an interrupted commit.

use std::fs;
use std::path::{Path, PathBuf};

use fandex_indexer::catalog::{OWNER_BUDGET_REACHED, Status};
use fandex_indexer::engine::{Progress, UpdateRequest};
use fandex_indexer::text_index::TextIndex;
use fandex_indexer::{Config, Engine, IndexDir, Summary};

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    index: PathBuf,
}

fn fixture(files: &[(&str, &str)]) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    for (name, text) in files {
        let p = root.join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    fs::create_dir_all(&root).unwrap();
    let root = fs::canonicalize(root).unwrap();
    let index = tmp.path().join("index");
    Fixture {
        _tmp: tmp,
        root,
        index,
    }
}

fn update(f: &Fixture, roots: &[&Path]) -> Summary {
    // Files changed within a kernel clock tick of being read are re-read by the next update (equal
    // timestamps prove nothing then); let changes age past that window so the counts below are exact.
    std::thread::sleep(std::time::Duration::from_millis(60));
    let mut engine = Engine::open(IndexDir::at(&f.index), Config::default()).unwrap();
    let request = UpdateRequest {
        add_roots: roots.iter().map(|r| r.to_path_buf()).collect(),
        forget_roots: vec![],
    };
    let summary = engine.update(&request, &Progress::default()).unwrap();
    engine.close().unwrap();
    summary
}

/// Every (path relative to root, text) in the index, sorted.
fn indexed(f: &Fixture) -> Vec<(String, String)> {
    let engine = Engine::open(IndexDir::at(&f.index), Config::default()).unwrap();
    let mut out: Vec<(String, String)> = engine
        .catalog()
        .iter()
        .map(|r| r.unwrap())
        .filter(|(id, rec)| !is_current_folder(&engine, *id, rec))
        .map(|(id, rec)| {
            let doc = engine
                .text_index()
                .get(id)
                .unwrap()
                .expect("document for record");
            assert_eq!(doc.path, rec.path(), "index and catalog agree on the path");
            let rel = rec
                .path()
                .strip_prefix(&f.root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (rel, doc.text)
        })
        .collect();
    out.sort();
    assert_eq!(engine.text_index().num_docs() as usize, out.len());
    out
}

/// Whether `rec` is a directory's record (issue 13), after checking it is current: a document at its
/// path, and a directory there now.
fn is_current_folder(engine: &Engine, id: u64, rec: &fandex_indexer::catalog::FileRecord) -> bool {
    if !rec.is_folder() {
        return false;
    }
    let doc = engine
        .text_index()
        .get(id)
        .unwrap()
        .expect("folder document");
    assert_eq!(doc.path, rec.path());
    assert!(
        std::fs::symlink_metadata(rec.path()).is_ok_and(|m| m.is_dir()),
        "a folder record of no directory: {rec:?}"
    );
    true
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn first_run_indexes_everything_and_second_run_reads_nothing() {
    let f = fixture(&[
        ("a.txt", "alpha"),
        ("d/b.txt", "beta"),
        (".git/HEAD", "ref"),
    ]);
    let s = update(&f, &[&f.root]);
    assert_eq!((s.seen, s.indexed, s.unchanged), (2, 2, 0));
    assert_eq!(
        indexed(&f),
        pairs(&[("a.txt", "alpha"), ("d/b.txt", "beta")])
    );
    // Roots are remembered: no root needed the second time.
    let s = update(&f, &[]);
    assert_eq!((s.seen, s.indexed, s.unchanged, s.removed), (2, 0, 2, 0));
}

#[test]
fn changes_renames_links_and_deletions_are_picked_up() {
    let f = fixture(&[
        ("a.txt", "alpha"),
        ("d/b.txt", "beta"),
        ("d/c.txt", "gamma"),
        ("e.txt", "eps"),
    ]);
    update(&f, &[&f.root]);
    fs::write(f.root.join("a.txt"), "alpha two").unwrap();
    fs::rename(f.root.join("d"), f.root.join("moved")).unwrap();
    fs::hard_link(f.root.join("e.txt"), f.root.join("e-link.txt")).unwrap();
    fs::write(f.root.join("new.txt"), "novel").unwrap();
    let s = update(&f, &[]);
    assert_eq!(s.moved, 2, "{s:?}");
    // a.txt changed, new.txt and the hard link are new; e.txt's ctime changed (link count), so it is read
    // again, but its hash shows the same content and it is not re-indexed.
    assert_eq!((s.indexed, s.unchanged), (3, 1), "{s:?}");
    assert_eq!(s.removed, 0, "{s:?}");
    assert_eq!(
        indexed(&f),
        pairs(&[
            ("a.txt", "alpha two"),
            ("e-link.txt", "eps"),
            ("e.txt", "eps"),
            ("moved/b.txt", "beta"),
            ("moved/c.txt", "gamma"),
            ("new.txt", "novel"),
        ])
    );
    fs::remove_dir_all(f.root.join("moved")).unwrap();
    fs::remove_file(f.root.join("e.txt")).unwrap();
    let s = update(&f, &[]);
    // e-link.txt is read again (its link count, and so its ctime, changed) but not re-indexed.
    assert_eq!((s.removed, s.indexed), (3, 0), "{s:?}");
    assert_eq!(
        indexed(&f),
        pairs(&[
            ("a.txt", "alpha two"),
            ("e-link.txt", "eps"),
            ("new.txt", "novel")
        ])
    );
}

#[test]
fn atomic_save_replaces_the_old_record() {
    let f = fixture(&[("doc.txt", "old text")]);
    update(&f, &[&f.root]);
    fs::write(f.root.join(".doc.txt.tmp"), "new text").unwrap();
    fs::rename(f.root.join(".doc.txt.tmp"), f.root.join("doc.txt")).unwrap();
    update(&f, &[]);
    assert_eq!(indexed(&f), pairs(&[("doc.txt", "new text")]));
}

#[test]
fn swapped_names_end_up_right() {
    let f = fixture(&[("a", "first"), ("b", "second")]);
    update(&f, &[&f.root]);
    fs::rename(f.root.join("a"), f.root.join("tmp")).unwrap();
    fs::rename(f.root.join("b"), f.root.join("a")).unwrap();
    fs::rename(f.root.join("tmp"), f.root.join("b")).unwrap();
    update(&f, &[]);
    assert_eq!(indexed(&f), pairs(&[("a", "second"), ("b", "first")]));
}

#[test]
fn forgotten_roots_leave_the_index_and_nested_roots_merge() {
    let f = fixture(&[("one/a", "aaa"), ("two/b", "bbb"), ("two/sub/c", "ccc")]);
    update(&f, &[&f.root.join("one"), &f.root.join("two/sub")]);
    update(&f, &[&f.root.join("two")]);
    let engine = Engine::open(IndexDir::at(&f.index), Config::default()).unwrap();
    assert_eq!(
        engine.roots().unwrap(),
        [f.root.join("one"), f.root.join("two")]
    );
    drop(engine);
    assert_eq!(indexed(&f).len(), 3);
    let mut engine = Engine::open(IndexDir::at(&f.index), Config::default()).unwrap();
    let request = UpdateRequest {
        add_roots: vec![],
        forget_roots: vec![f.root.join("one")],
    };
    let s = engine.update(&request, &Progress::default()).unwrap();
    assert_eq!(s.removed, 1);
    assert_eq!(engine.roots().unwrap(), [f.root.join("two")]);
    drop(engine);
    assert_eq!(
        indexed(&f),
        pairs(&[("two/b", "bbb"), ("two/sub/c", "ccc")])
    );
}

#[test]
fn missing_root_is_an_error_that_names_it() {
    let f = fixture(&[]);
    let mut engine = Engine::open(IndexDir::at(&f.index), Config::default()).unwrap();
    let request = UpdateRequest {
        add_roots: vec![f.root.join("nope")],
        forget_roots: vec![],
    };
    let err = engine
        .update(&request, &Progress::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("nope") && err.contains("does not exist"),
        "{err}"
    );
}

#[test]
fn second_writer_is_refused() {
    let f = fixture(&[]);
    let _first = Engine::open(IndexDir::at(&f.index), Config::default()).unwrap();
    let err = Engine::open(IndexDir::at(&f.index), Config::default())
        .err()
        .expect("second open must fail")
        .to_string();
    assert!(err.contains("in use by another fandex process"), "{err}");
}

#[test]
fn interrupted_commit_is_repaired_on_open() {
    let f = fixture(&[("a", "apple"), ("b", "banana"), ("c", "cherry")]);
    update(&f, &[&f.root]);
    // Simulate a crash between the two commits: the index moved on without the catalog: one document
    // vanished and a foreign one appeared.
    let victim = {
        let engine = Engine::open(IndexDir::at(&f.index), Config::default()).unwrap();
        let (id, _) = engine.catalog().iter().next().unwrap().unwrap();
        id
    };
    {
        let dir = IndexDir::at(&f.index);
        let mut index = TextIndex::open_or_create(&dir.tantivy_dir()).unwrap();
        let generation = index.committed_generation().unwrap();
        index.delete(victim);
        index
            .upsert(&fandex_indexer::schema::FileDoc {
                file_id: 999_999_999,
                path: f.root.join("ghost"),
                size: 1,
                mtime_ns: 1,
                text: "ghost".into(),
            })
            .unwrap();
        index.commit(generation + 1).unwrap();
        index.close().unwrap();
    }
    let s = update(&f, &[]);
    assert_eq!(
        s.indexed, 1,
        "only the record without a document is read again: {s:?}"
    );
    assert_eq!(
        indexed(&f),
        pairs(&[("a", "apple"), ("b", "banana"), ("c", "cherry")])
    );
}

/// tantivy's list of the files it created (`.managed.json`) is written once per commit, not with each
/// file: a crash can leave files it does not list. They are collected all the same.
#[test]
fn files_an_interrupted_commit_left_are_collected() {
    let f = fixture(&[("a", "apple")]);
    update(&f, &[&f.root]);
    let tantivy = IndexDir::at(&f.index).tantivy_dir();
    let orphan = tantivy.join("0123456789abcdef0123456789abcdef.idx");
    fs::write(&orphan, "a segment file no meta.json names").unwrap();
    fs::write(f.root.join("b"), "banana").unwrap();
    let s = update(&f, &[]);
    assert_eq!(s.indexed, 1, "{s:?}");
    assert!(
        !orphan.exists(),
        "the orphan is collected by the next commit"
    );
    assert_eq!(indexed(&f), pairs(&[("a", "apple"), ("b", "banana")]));
}

/// A torn `.managed.json` (written by something else than fandex) does not refuse the index: the files
/// on disk stand in for it.
#[test]
fn a_torn_list_of_managed_files_does_not_refuse_the_index() {
    let f = fixture(&[("a", "apple")]);
    update(&f, &[&f.root]);
    let managed = IndexDir::at(&f.index).tantivy_dir().join(".managed.json");
    fs::write(&managed, "[\"0123").unwrap();
    fs::write(f.root.join("b"), "banana").unwrap();
    let s = update(&f, &[]);
    assert_eq!(s.indexed, 1, "{s:?}");
    assert_eq!(indexed(&f), pairs(&[("a", "apple"), ("b", "banana")]));
    let list: Vec<String> = serde_json::from_slice(&fs::read(&managed).unwrap()).unwrap();
    assert!(list.iter().any(|name| name == "meta.json"), "{list:?}");
}

/// Opens the engine with a per-owner text budget, updates, and checks the kept totals against a recount.
fn update_with_budget(f: &Fixture, budget: u64) -> (Summary, Engine) {
    std::thread::sleep(std::time::Duration::from_millis(60));
    let mut config = Config::default();
    config.index.max_text_bytes_per_owner = budget;
    let mut engine = Engine::open(IndexDir::at(&f.index), config).unwrap();
    let request = UpdateRequest {
        add_roots: vec![f.root.clone()],
        forget_roots: vec![],
    };
    let summary = engine.update(&request, &Progress::default()).unwrap();
    let catalog = engine.catalog();
    assert_eq!(
        catalog.owner_totals().unwrap(),
        catalog.recount_owners().unwrap(),
        "kept totals equal a recount"
    );
    (summary, engine)
}

fn uid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

#[test]
fn owner_budget_drops_text_past_it_and_gives_it_back_below_it() {
    let hundred = |w: &str| format!("{w} {}", "x".repeat(99 - w.len()));
    let f = fixture(&[
        ("a.txt", &hundred("alpha")),
        ("b.txt", &hundred("beta")),
        ("c.txt", &hundred("gamma")),
    ]);
    let (s, engine) = update_with_budget(&f, 250);
    assert_eq!((s.indexed, s.over_budget), (3, 1), "{s:?}");
    assert_eq!(engine.catalog().owner_total(uid()).unwrap(), 200);
    let dropped: Vec<_> = engine
        .catalog()
        .iter()
        .map(|r| r.unwrap().1)
        .filter(|r| r.status == Status::OverBudget)
        .collect();
    assert_eq!(dropped.len(), 1);
    assert_eq!(dropped[0].error.as_deref(), Some(OWNER_BUDGET_REACHED));
    let doc = engine
        .text_index()
        .get(
            engine
                .catalog()
                .get_by_path(&dropped[0].path)
                .unwrap()
                .unwrap()
                .0,
        )
        .unwrap()
        .unwrap();
    assert_eq!(doc.text, "", "indexed by name only");
    engine.close().unwrap();
    // Unchanged, still over: nothing is read again.
    let (s, engine) = update_with_budget(&f, 250);
    assert_eq!((s.indexed, s.unchanged), (0, 3), "{s:?}");
    engine.close().unwrap();

    // Re-indexed smaller: room again. The dropped file is read again on a walk once its owner is under
    // the budget (on this one when it is applied after the shrunk file, else on the next).
    let first_kept = ["a.txt", "b.txt", "c.txt"]
        .into_iter()
        .find(|n| f.root.join(n).as_os_str().as_encoded_bytes() != dropped[0].path.as_slice())
        .unwrap();
    fs::write(f.root.join(first_kept), "tiny").unwrap();
    let (_, engine) = update_with_budget(&f, 250);
    engine.close().unwrap();
    let (s, engine) = update_with_budget(&f, 250);
    assert_eq!(s.over_budget, 0, "{s:?}");
    assert_eq!(engine.catalog().owner_total(uid()).unwrap(), 204);
    engine.close().unwrap();
    // Re-indexed larger, past the budget: that file is dropped, its old text no longer counts.
    fs::write(f.root.join(first_kept), "y".repeat(300)).unwrap();
    let (s, engine) = update_with_budget(&f, 250);
    assert_eq!(s.over_budget, 1, "{s:?}");
    assert_eq!(engine.catalog().owner_total(uid()).unwrap(), 200);
    engine.close().unwrap();
    // Moved and removed.
    let others: Vec<&str> = ["a.txt", "b.txt", "c.txt"]
        .into_iter()
        .filter(|n| *n != first_kept)
        .collect();
    fs::rename(f.root.join(others[0]), f.root.join("moved.txt")).unwrap();
    let (s, engine) = update_with_budget(&f, 250);
    assert_eq!(s.moved, 1, "{s:?}");
    assert_eq!(engine.catalog().owner_total(uid()).unwrap(), 200);
    engine.close().unwrap();
    fs::remove_file(f.root.join("moved.txt")).unwrap();
    fs::remove_file(f.root.join(others[1])).unwrap();
    // With everything else gone, the 300-byte file fits a larger budget: read again on the walk.
    let (s, engine) = update_with_budget(&f, 1000);
    assert_eq!((s.removed, s.indexed), (2, 1), "{s:?}");
    assert_eq!(engine.catalog().owner_total(uid()).unwrap(), 300);
    engine.close().unwrap();
    // A budget of 0 means no limit.
    fs::write(f.root.join("big.txt"), "z".repeat(5000)).unwrap();
    let (s, engine) = update_with_budget(&f, 0);
    assert_eq!(s.over_budget, 0, "{s:?}");
    assert_eq!(engine.catalog().owner_total(uid()).unwrap(), 5300);
    engine.close().unwrap();
}

#[test]
fn owner_totals_equal_a_recount_after_an_interrupted_commit() {
    let f = fixture(&[("a", "apple"), ("b", "banana"), ("c", "cherry")]);
    update(&f, &[&f.root]);
    // The index moved on without the catalog (a crash between the two commits).
    {
        let dir = IndexDir::at(&f.index);
        let mut index = TextIndex::open_or_create(&dir.tantivy_dir()).unwrap();
        let generation = index.committed_generation().unwrap();
        index.commit(generation + 1).unwrap();
        index.close().unwrap();
    }
    fs::write(f.root.join("b"), "blueberry pie").unwrap();
    let (_, engine) = update_with_budget(&f, 0);
    assert_eq!(
        engine.catalog().owner_total(uid()).unwrap(),
        ("apple".len() + "blueberry pie".len() + "cherry".len()) as u64
    );
}
