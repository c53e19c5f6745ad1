//! The deferred-sync directory under tantivy, with a fake disk that records (and performs) each sync
//! and rename, in order.

use std::sync::atomic::AtomicBool;

use tantivy::indexer::NoMergePolicy;
use tantivy::schema::{STORED, Schema, TEXT};
use tantivy::{Index, IndexWriter, doc};

use super::*;

/// One disk operation, by file name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Sync(String),
    SyncDir,
    Rename(String, String),
}

/// Records every operation; fails the syncs of `*.idx` files while `fail_idx` is set.
#[derive(Debug, Default)]
struct Recorder {
    ops: Mutex<Vec<Op>>,
    fail_idx: AtomicBool,
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

impl Disk for Recorder {
    fn sync_data(&self, path: &Path, file: &File) -> io::Result<()> {
        if self.fail_idx.load(Ordering::SeqCst) && name(path).ends_with(".idx") {
            return Err(io::Error::other("injected EIO"));
        }
        lock(&self.ops).push(Op::Sync(name(path)));
        file.sync_data()
    }

    fn sync_dir(&self, dir: &File) -> io::Result<()> {
        lock(&self.ops).push(Op::SyncDir);
        dir.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        lock(&self.ops).push(Op::Rename(name(from), name(to)));
        std::fs::rename(from, to)
    }
}

impl Recorder {
    fn take(&self) -> Vec<Op> {
        std::mem::take(&mut *lock(&self.ops))
    }
}

struct Fixture {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    disk: Arc<Recorder>,
    dir: DeferredSyncDirectory,
    index: Index,
    writer: IndexWriter,
    body: tantivy::schema::Field,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let disk = Arc::new(Recorder::default());
    let dir = DeferredSyncDirectory::with_disk(&root, disk.clone()).unwrap();
    let mut schema = Schema::builder();
    let body = schema.add_text_field("body", TEXT | STORED);
    let index = Index::open_or_create(dir.clone(), schema.build()).unwrap();
    let writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
    writer.set_merge_policy(Box::new(NoMergePolicy));
    Fixture {
        _tmp: tmp,
        root,
        disk,
        dir,
        index,
        writer,
        body,
    }
}

impl Fixture {
    fn commit(&mut self, words: &[&str]) -> tantivy::Result<u64> {
        for word in words {
            self.writer.add_document(doc!(self.body => *word))?;
        }
        self.writer.commit()
    }

    /// The files tantivy's commit left (the segments' and `meta.json`), by name.
    fn files(&self) -> Vec<String> {
        let mut out: Vec<String> = std::fs::read_dir(&self.root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        out.sort();
        out
    }

    fn hits(&self, word: &str) -> usize {
        let reader = self.index.reader().unwrap();
        let query = tantivy::query::TermQuery::new(
            tantivy::Term::from_field_text(self.body, word),
            tantivy::schema::IndexRecordOption::Basic,
        );
        reader
            .searcher()
            .search(&query, &tantivy::collector::Count)
            .unwrap()
    }
}

fn position(ops: &[Op], op: &Op) -> usize {
    ops.iter()
        .position(|o| o == op)
        .unwrap_or_else(|| panic!("{op:?} not in {ops:#?}"))
}

#[test]
fn every_file_meta_json_names_is_durable_before_meta_json() {
    let mut f = fixture();
    f.commit(&["alpha"]).unwrap();
    f.disk.take();
    f.commit(&["beta", "gamma"]).unwrap();
    let ops = f.disk.take();
    let meta = position(
        &ops,
        &Op::Rename(".meta.json.fandex-tmp".into(), "meta.json".into()),
    );
    let dir_sync = position(&ops, &Op::SyncDir);
    assert!(dir_sync < meta, "{ops:#?}");
    assert_eq!(
        ops.last(),
        Some(&Op::SyncDir),
        "meta.json's rename is durable before the commit returns: {ops:#?}"
    );
    assert!(
        position(
            &ops,
            &Op::Rename(".managed.json.fandex-tmp".into(), ".managed.json".into())
        ) < dir_sync,
        "the managed list is in place before the directory is synced: {ops:#?}"
    );
    assert!(position(&ops, &Op::Sync(".meta.json.fandex-tmp".into())) < meta);
    // Every segment file written by this commit (those of the first commit were synced then).
    let segment = f
        .index
        .searchable_segment_metas()
        .unwrap()
        .into_iter()
        .find(|s| s.num_docs() == 2)
        .unwrap();
    let uuid = segment.id().uuid_string();
    let written: Vec<String> = f
        .files()
        .into_iter()
        .filter(|n| n.starts_with(&uuid))
        .collect();
    assert!(written.len() >= 5, "{written:?}");
    for file in &written {
        assert!(
            position(&ops, &Op::Sync(file.clone())) < dir_sync,
            "{file} synced before the directory and meta.json: {ops:#?}"
        );
    }
    assert_eq!(f.hits("gamma"), 1);
}

#[test]
fn a_commit_costs_two_directory_syncs_and_two_renames() {
    let mut f = fixture();
    f.commit(&["alpha"]).unwrap();
    let points = f.dir.durability_points();
    f.disk.take();
    f.commit(&["beta"]).unwrap();
    let ops = f.disk.take();
    let count = |pred: &dyn Fn(&Op) -> bool| ops.iter().filter(|o| pred(o)).count();
    // tantivy's own directory: a rename per new file (the managed list) plus meta.json, and a sync per
    // file plus one per rename, all one after the other.
    assert_eq!(count(&|o| matches!(o, Op::SyncDir)), 2, "{ops:#?}");
    assert_eq!(count(&|o| matches!(o, Op::Rename(..))), 2, "{ops:#?}");
    let synced: Vec<&Op> = ops.iter().filter(|o| matches!(o, Op::Sync(_))).collect();
    let distinct: BTreeSet<_> = synced.iter().collect();
    assert_eq!(
        synced.len(),
        distinct.len(),
        "each file synced once: {ops:#?}"
    );
    assert_eq!(
        f.dir.durability_points() - points,
        2,
        "the segment files and the managed list, then meta.json"
    );
}

#[test]
fn a_failed_sync_fails_every_commit_until_the_writer_rolls_back() {
    let mut f = fixture();
    f.commit(&["alpha"]).unwrap();
    f.disk.fail_idx.store(true, Ordering::SeqCst);
    assert!(f.commit(&["beta"]).is_err());
    f.disk.fail_idx.store(false, Ordering::SeqCst);
    assert!(
        f.commit(&["gamma"]).is_err(),
        "the segment whose sync failed must not be named by a later meta.json"
    );
    f.writer.rollback().unwrap();
    f.dir.reset_after_failure();
    f.commit(&["delta"]).unwrap();
    assert_eq!(f.hits("alpha"), 1);
    assert_eq!(f.hits("beta"), 0);
    assert_eq!(f.hits("delta"), 1);
    // What is on disk opens, through tantivy's own directory too.
    drop(f.writer);
    let plain = Index::open_in_dir(&f.root).unwrap();
    let searcher = plain.reader().unwrap().searcher();
    assert_eq!(searcher.num_docs(), 2);
}

#[test]
fn the_managed_list_read_at_open_holds_the_files_on_disk() {
    let mut f = fixture();
    f.commit(&["alpha"]).unwrap();
    let orphan = "0123456789abcdef0123456789abcdef.idx";
    std::fs::write(f.root.join(orphan), b"left by an interrupted commit").unwrap();
    std::fs::write(f.root.join(".tantivy-foreign.lock"), b"").unwrap();
    // Torn on disk (another program's write): replaced by the files there.
    std::fs::write(f.root.join(MANAGED_FILE), b"[\"abc").unwrap();
    let fresh = DeferredSyncDirectory::open(&f.root).unwrap();
    let list: BTreeSet<PathBuf> =
        serde_json::from_slice(&fresh.atomic_read(Path::new(MANAGED_FILE)).unwrap()).unwrap();
    let expected: BTreeSet<PathBuf> = f.files().into_iter().map(PathBuf::from).collect();
    assert!(expected.contains(Path::new(orphan)));
    assert!(expected.contains(Path::new("meta.json")));
    assert_eq!(
        list, expected,
        "dot files (locks, temporaries) are never managed"
    );
}
