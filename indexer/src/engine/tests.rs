//! Engine tests that need its private parts.

use super::*;

/// A root of two files (`a.txt`, `d/b.txt`: 15 bytes of text) and one folder (`d`) indexed into a new
/// index: the directory (keep it alive), the root, the index and the open engine.
fn indexed_tree() -> (tempfile::TempDir, PathBuf, IndexDir, Engine) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(root.join("d")).unwrap();
    std::fs::write(root.join("a.txt"), "alpha beta").unwrap();
    std::fs::write(root.join("d/b.txt"), "gamma").unwrap();
    let dir = IndexDir::at(tmp.path().join("index"));
    let request = UpdateRequest {
        add_roots: vec![root.clone()],
        forget_roots: vec![],
    };
    let mut engine = Engine::open(dir.clone(), Config::default()).unwrap();
    engine.update(&request, &Progress::default()).unwrap();
    (tmp, root, dir, engine)
}

#[test]
fn an_index_from_before_owners_were_counted_is_counted_once_at_open() {
    let (_tmp, _root, dir, engine) = indexed_tree();
    let expected = engine.catalog().owner_totals().unwrap();
    assert_eq!(expected.values().sum::<u64>(), 15);
    engine.catalog().downgrade_for_test();
    assert!(!engine.catalog().owners_counted().unwrap());
    engine.close().unwrap();
    // Opens without complaint, fills in every owner and the totals, once.
    let engine = Engine::open(dir.clone(), Config::default()).unwrap();
    assert!(engine.catalog().owners_counted().unwrap());
    assert_eq!(engine.catalog().owner_totals().unwrap(), expected);
    assert_eq!(engine.catalog().recount_owners().unwrap(), expected);
    assert!(
        engine
            .catalog()
            .iter()
            .all(|e| e.unwrap().1.owner.is_some())
    );
}

#[test]
fn an_index_keyed_by_st_dev_is_rewritten_to_volume_keys_at_open_and_reads_nothing_again() {
    let (_tmp, root, dir, mut engine) = indexed_tree();
    let st_dev = std::fs::metadata(&root).unwrap().dev();
    let key = RootSet::open(std::slice::from_ref(&root))
        .volume_key(&root, &std::fs::metadata(&root).unwrap());
    assert_ne!(key, st_dev);
    // As a catalog written before volumes: records hold st_dev, no marker.
    let mut batch = CatalogBatch::default();
    for (id, rec) in engine.catalog().iter().map(|e| e.unwrap()) {
        assert_eq!(rec.dev, key, "new records hold the volume key");
        let mut old = rec.clone();
        old.dev = st_dev;
        batch.put(id, &old, Some(&rec));
    }
    batch.set_volumes_keyed(false);
    engine.commit(batch).unwrap();
    assert!(!engine.catalog().volumes_keyed().unwrap());
    engine.close().unwrap();
    // Rewritten in place at open: records and documents kept, nothing read again.
    let mut engine = Engine::open(dir.clone(), Config::default()).unwrap();
    assert!(engine.catalog().volumes_keyed().unwrap());
    let records: Vec<_> = engine.catalog().iter().map(|e| e.unwrap().1).collect();
    assert_eq!(records.len(), 3);
    assert_eq!(records.iter().filter(|r| r.is_folder()).count(), 1);
    assert!(records.iter().all(|r| r.dev == key), "{records:?}");
    assert_eq!(
        engine
            .catalog()
            .ids_by_inode(key, records[0].ino)
            .unwrap()
            .len(),
        1
    );
    assert!(
        engine
            .catalog()
            .ids_by_inode(st_dev, records[0].ino)
            .unwrap()
            .is_empty()
    );
    let summary = engine
        .update(&UpdateRequest::default(), &Progress::default())
        .unwrap();
    assert_eq!((summary.unchanged, summary.indexed), (2, 0), "{summary}");
    assert_eq!(summary.folders, 0, "the folder is unchanged too: {summary}");
}

#[test]
fn a_root_gone_or_on_another_volume_is_offline_and_keeps_its_records() {
    use crate::catalog::RootVolume;
    let (tmp, root, _dir, mut engine) = indexed_tree();
    let update = |engine: &mut Engine, add: &[PathBuf]| {
        let request = UpdateRequest {
            add_roots: add.to_vec(),
            forget_roots: vec![],
        };
        engine.update(&request, &Progress::default()).unwrap()
    };
    let recorded = engine.catalog().root_volume(&root).unwrap();
    let identity = fandex_watcher::FsIdentity::of(&root)
        .unwrap()
        .volume
        .identity;
    assert_eq!(recorded.map(|r| r.identity), Some(identity));

    // Gone: not walked, records kept.
    let away = tmp.path().join("away");
    std::fs::rename(&root, &away).unwrap();
    let summary = update(&mut engine, &[]);
    assert_eq!(summary.offline_roots.len(), 1, "{summary:?}");
    assert_eq!(summary.offline_roots[0].path, root);
    assert!(summary.offline_roots[0].reason.contains("gone"));
    assert_eq!((summary.roots_walked, summary.removed), (0, 0));
    assert_eq!(engine.catalog().len(), 3, "two files and a folder");

    // Back: walked again, nothing read again.
    std::fs::rename(&away, &root).unwrap();
    let summary = update(&mut engine, &[]);
    assert!(summary.offline_roots.is_empty());
    assert_eq!((summary.unchanged, summary.indexed), (2, 0), "{summary}");

    // On another volume than its last walk (the empty mount point of an unmounted disk): offline, even
    // when named again.
    let mut batch = CatalogBatch::default();
    let elsewhere = RootVolume {
        identity: "uuid:elsewhere".into(),
        walked_secs: 1,
    };
    batch.set_root_volume(&root, &elsewhere);
    engine.commit(batch).unwrap();
    std::fs::remove_file(root.join("a.txt")).unwrap();
    for add in [vec![], vec![root.clone()]] {
        let summary = update(&mut engine, &add);
        assert_eq!(summary.offline_roots.len(), 1, "{summary:?}");
        assert!(summary.offline_roots[0].reason.contains("uuid:elsewhere"));
        assert_eq!(summary.removed, 0);
        assert_eq!(engine.catalog().len(), 3, "two files and a folder");
    }

    // A catalog without the record (written before volumes were recorded) walks the root and learns it.
    let mut batch = CatalogBatch::default();
    batch.remove_root_volume(&root);
    engine.commit(batch).unwrap();
    let summary = update(&mut engine, &[]);
    assert!(summary.offline_roots.is_empty());
    assert_eq!((summary.unchanged, summary.removed), (1, 1), "{summary}");
    assert!(engine.catalog().root_volume(&root).unwrap().is_some());
}
