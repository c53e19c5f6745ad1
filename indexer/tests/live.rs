//! Live changes: normalized events through the coalescer into the engine, against real files.

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use fandex_indexer::coalesce::{BatchLimits, Coalescer};
use fandex_indexer::engine::{Progress, UpdateRequest};
use fandex_indexer::exclude::Exclusions;
use fandex_indexer::{Config, Engine, IndexDir, Summary};
use fandex_watcher::Change;

struct Live {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    engine: Engine,
    exclusions: Exclusions,
    coalescer: Coalescer,
}

impl Live {
    fn new(files: &[(&str, &str)]) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(tmp.path()).unwrap().join("root");
        for (name, text) in files {
            let p = root.join(name);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
        fs::create_dir_all(&root).unwrap();
        let mut engine =
            Engine::open(IndexDir::at(tmp.path().join("index")), Config::default()).unwrap();
        engine
            .update(
                &UpdateRequest {
                    add_roots: vec![root.clone()],
                    forget_roots: vec![],
                },
                &Progress::default(),
            )
            .unwrap();
        let exclusions = Exclusions::new(
            std::slice::from_ref(&root),
            &Config::default().index,
            &[tmp.path().join("index")],
        )
        .unwrap();
        let coalescer = Coalescer::new(BatchLimits {
            max_items: 1000,
            max_delay: Duration::from_millis(100),
            min_delay: Duration::ZERO,
            settle: Duration::from_millis(10),
            max_fds: 64,
        });
        Self {
            _tmp: tmp,
            root,
            engine,
            exclusions,
            coalescer,
        }
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn push(&mut self, change: Change) {
        self.coalescer.push(change, Instant::now());
    }

    fn apply(&mut self) -> Summary {
        let work = self.coalescer.take();
        self.engine
            .apply_work(work, &self.exclusions, &Progress::default())
            .unwrap()
    }

    /// (relative path, text) of every document, checked against the catalog.
    /// The directories recorded (issue 13), relative to the root, sorted.
    fn folders(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .engine
            .catalog()
            .iter()
            .map(|r| r.unwrap().1)
            .filter(|rec| rec.is_folder())
            .map(|rec| {
                rec.path()
                    .strip_prefix(&self.root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        out.sort();
        out
    }

    fn docs(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .engine
            .catalog()
            .iter()
            .map(|r| r.unwrap())
            .filter(|(id, rec)| {
                if !rec.is_folder() {
                    return true;
                }
                // A directory's record (issue 13) has its document; see `folders`.
                let doc = self.engine.text_index().get(*id).unwrap().expect("doc");
                assert_eq!(doc.path, rec.path());
                false
            })
            .map(|(id, rec)| {
                let doc = self.engine.text_index().get(id).unwrap().expect("doc");
                assert_eq!(doc.path, rec.path());
                let rel = rec
                    .path()
                    .strip_prefix(&self.root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                (rel, doc.text)
            })
            .collect();
        out.sort();
        assert_eq!(self.engine.text_index().num_docs() as usize, out.len());
        out
    }
}

fn modified(p: PathBuf) -> Change {
    Change::Modified {
        path: p,
        content: None,
    }
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn writes_coalesce_and_renames_never_read() {
    let mut l = Live::new(&[("a.txt", "alpha")]);
    let b = l.p("b.txt");
    for i in 0..50 {
        fs::write(&b, format!("beta {i}")).unwrap();
        l.push(Change::Created {
            path: b.clone(),
            is_dir: false,
        });
        l.push(modified(b.clone()));
    }
    let s = l.apply();
    assert_eq!(s.indexed, 1, "50 writes, one extraction: {s:?}");
    assert_eq!(l.docs(), pairs(&[("a.txt", "alpha"), ("b.txt", "beta 49")]));

    fs::rename(l.p("a.txt"), l.p("c.txt")).unwrap();
    l.push(Change::Renamed {
        from: l.p("a.txt"),
        to: l.p("c.txt"),
        is_dir: false,
    });
    let s = l.apply();
    assert_eq!((s.indexed, s.moved), (0, 1), "{s:?}");
    assert_eq!(l.docs(), pairs(&[("b.txt", "beta 49"), ("c.txt", "alpha")]));
}

#[test]
fn directory_moves_and_removes_cover_the_subtree() {
    let files: Vec<(String, String)> = (0..200)
        .map(|i| (format!("d/sub/f{i}"), format!("text{i}")))
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let mut l = Live::new(&refs);
    fs::rename(l.p("d"), l.p("e")).unwrap();
    l.push(Change::Renamed {
        from: l.p("d"),
        to: l.p("e"),
        is_dir: true,
    });
    let s = l.apply();
    assert_eq!((s.indexed, s.moved), (0, 200), "{s:?}");
    assert!(l.docs().iter().all(|(p, _)| p.starts_with("e/sub/")));
    // The directories moved with their files (issue 13), counted apart.
    assert_eq!(l.folders(), ["e", "e/sub"]);
    assert_eq!(s.folders, 2, "{s:?}");
    fs::remove_dir_all(l.p("e")).unwrap();
    l.push(Change::Removed {
        path: l.p("e"),
        is_dir: true,
    });
    let s = l.apply();
    assert_eq!((s.removed, s.folders_removed), (200, 2));
    assert!(l.docs().is_empty());
    assert!(l.folders().is_empty());
}

#[test]
fn atomic_save_and_chained_renames_in_one_batch() {
    let mut l = Live::new(&[("doc.txt", "version one")]);
    // Editor save: write a temp file, rename it over the document.
    fs::write(l.p(".doc.txt.swp"), "junk").unwrap();
    fs::write(l.p("doc.txt.new"), "version two").unwrap();
    l.push(modified(l.p("doc.txt.new")));
    fs::rename(l.p("doc.txt.new"), l.p("doc.txt")).unwrap();
    l.push(Change::Renamed {
        from: l.p("doc.txt.new"),
        to: l.p("doc.txt"),
        is_dir: false,
    });
    // A file created and then moved twice before the batch runs.
    fs::write(l.p("x"), "ex").unwrap();
    l.push(modified(l.p("x")));
    fs::rename(l.p("x"), l.p("y")).unwrap();
    l.push(Change::Renamed {
        from: l.p("x"),
        to: l.p("y"),
        is_dir: false,
    });
    fs::rename(l.p("y"), l.p("z")).unwrap();
    l.push(Change::Renamed {
        from: l.p("y"),
        to: l.p("z"),
        is_dir: false,
    });
    l.push(modified(l.p(".doc.txt.swp")));
    l.apply();
    assert_eq!(l.docs(), pairs(&[("doc.txt", "version two"), ("z", "ex")]));
}

#[test]
fn moves_across_exclusions_and_new_directories() {
    let mut l = Live::new(&[("keep.txt", "kept")]);
    // Into an excluded directory: it leaves the index.
    fs::create_dir_all(l.p(".git")).unwrap();
    fs::rename(l.p("keep.txt"), l.p(".git/keep.txt")).unwrap();
    l.push(Change::Renamed {
        from: l.p("keep.txt"),
        to: l.p(".git/keep.txt"),
        is_dir: false,
    });
    l.apply();
    assert!(l.docs().is_empty());
    // Out of an excluded directory: it is indexed (read, since nothing was known about it).
    fs::rename(l.p(".git/keep.txt"), l.p("back.txt")).unwrap();
    l.push(Change::Renamed {
        from: l.p(".git/keep.txt"),
        to: l.p("back.txt"),
        is_dir: false,
    });
    l.apply();
    assert_eq!(l.docs(), pairs(&[("back.txt", "kept")]));
    // A directory that arrives with files already inside (moved in from outside the root).
    let outside = l.root.parent().unwrap().join("outside");
    fs::create_dir_all(outside.join("deep")).unwrap();
    fs::write(outside.join("deep/one"), "uno").unwrap();
    fs::write(outside.join("two"), "dos").unwrap();
    fs::rename(&outside, l.p("arrived")).unwrap();
    l.push(Change::Created {
        path: l.p("arrived"),
        is_dir: true,
    });
    l.apply();
    assert_eq!(
        l.docs(),
        pairs(&[
            ("arrived/deep/one", "uno"),
            ("arrived/two", "dos"),
            ("back.txt", "kept")
        ])
    );
}

#[test]
fn metadata_changes_and_spurious_writes_read_or_index_nothing() {
    let mut l = Live::new(&[("f", "same")]);
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(l.p("f"), fs::Permissions::from_mode(0o600)).unwrap();
    l.push(Change::Attrib { path: l.p("f") });
    let s = l.apply();
    assert_eq!((s.indexed, s.unchanged), (0, 1), "{s:?}");
    // Rewritten with identical bytes: read (mtime changed), but the hash says nothing changed.
    fs::write(l.p("f"), "same").unwrap();
    l.push(modified(l.p("f")));
    let s = l.apply();
    assert_eq!(s.removed, 0);
    assert_eq!(l.docs(), pairs(&[("f", "same")]));
}

#[test]
fn rescan_reconciles_only_its_scope() {
    let mut l = Live::new(&[("a/1", "one"), ("b/2", "two")]);
    fs::write(l.p("a/3"), "three").unwrap();
    fs::remove_file(l.p("a/1")).unwrap();
    fs::write(l.p("b/4"), "four").unwrap(); // outside the scope: not seen by this rescan
    l.push(Change::Rescan {
        scope: l.p("a"),
        reason: fandex_watcher::RescanReason::QueueOverflow,
    });
    let s = l.apply();
    assert_eq!((s.indexed, s.removed), (1, 1), "{s:?}");
    assert_eq!(l.docs(), pairs(&[("a/3", "three"), ("b/2", "two")]));
}

#[test]
fn a_write_through_one_hard_link_updates_every_name() {
    let mut l = Live::new(&[("a", "old words")]);
    fs::hard_link(l.p("a"), l.p("b")).unwrap();
    l.push(Change::Created {
        path: l.p("b"),
        is_dir: false,
    });
    l.apply();
    fs::write(l.p("a"), "new words").unwrap();
    l.push(modified(l.p("a")));
    l.apply();
    assert_eq!(l.docs(), pairs(&[("a", "new words"), ("b", "new words")]));
}

/// Issue 10 item 1: a directory of the path swapped for a symlink to another user's directory. Neither a
/// content event, nor a rescan, nor a full walk may read the file behind the symlink or record a name
/// from it under the path.
#[test]
fn nothing_is_read_or_recorded_through_a_directory_swapped_for_a_symlink() {
    let mut l = Live::new(&[("d/secret.txt", "mine"), ("keep.txt", "kept")]);
    let victim = l._tmp.path().join("victim");
    fs::create_dir_all(victim.join("sub")).unwrap();
    fs::write(victim.join("secret.txt"), "victim text").unwrap();
    fs::write(victim.join("victim-only.txt"), "victim name").unwrap();
    fs::write(victim.join("sub/deep.txt"), "victim deep").unwrap();
    fs::rename(l.p("d"), l.p("d_real")).unwrap();
    std::os::unix::fs::symlink(&victim, l.p("d")).unwrap();
    // Events naming paths through the symlink (as an inotify watch placed through it would give).
    for rel in ["d/secret.txt", "d/victim-only.txt", "d/sub/deep.txt"] {
        l.push(modified(l.p(rel)));
    }
    l.push(Change::Rescan {
        scope: l.p("d/sub"),
        reason: fandex_watcher::RescanReason::QueueOverflow,
    });
    l.apply();
    let texts: Vec<String> = l.docs().into_iter().map(|(_, t)| t).collect();
    assert!(!texts.iter().any(|t| t.contains("victim")), "{texts:?}");
    assert!(
        !l.docs().iter().any(|(p, _)| p.starts_with("d/")),
        "{:?}",
        l.docs()
    );
    // A walk of the root sees the symlink itself and nothing behind it.
    l.push(Change::Rescan {
        scope: l.root.clone(),
        reason: fandex_watcher::RescanReason::QueueOverflow,
    });
    l.apply();
    assert_eq!(
        l.docs(),
        pairs(&[("d_real/secret.txt", "mine"), ("keep.txt", "kept")])
    );
    // The symlink is no folder; the directory it replaced is one under its new name.
    assert_eq!(l.folders(), ["d_real"]);
}

/// Issue 10 item 1, the lost files: a directory renamed while its walk ran leaves the catalog knowing
/// only part of it, and the rename event names only the directory. The destination must be walked so
/// the index converges to every file there.
#[test]
fn a_directory_move_converges_when_the_catalog_knew_only_part_of_it() {
    let mut l = Live::new(&[("d/f0", "zero"), ("d/f1", "one")]);
    // Files the racing walk found gone (recorded nothing for), with no event of their own.
    fs::write(l.p("d/f2"), "two").unwrap();
    fs::write(l.p("d/f3"), "three").unwrap();
    fs::rename(l.p("d"), l.p("e")).unwrap();
    l.push(Change::Renamed {
        from: l.p("d"),
        to: l.p("e"),
        is_dir: true,
    });
    let s = l.apply();
    assert_eq!((s.moved, s.indexed), (2, 2), "{s:?}");
    assert_eq!(
        l.docs(),
        pairs(&[
            ("e/f0", "zero"),
            ("e/f1", "one"),
            ("e/f2", "two"),
            ("e/f3", "three")
        ])
    );
}
