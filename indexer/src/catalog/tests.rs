//! Tests of `catalog`.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use super::*;

fn rec(path: &[u8], ino: u64) -> FileRecord {
    FileRecord {
        path: path.to_vec(),
        dev: 1,
        ino,
        size: 3,
        mtime_ns: 4,
        ctime_ns: 5,
        hash: Some([9; 32]),
        status: Status::Indexed,
        truncated: false,
        error: None,
        racy: false,
        owner: Some(Owner {
            uid: 1000,
            text_bytes: 3,
            dropped_bytes: 0,
        }),
        kind: Kind::File,
    }
}

fn owned(path: &[u8], ino: u64, uid: u32, text_bytes: u64) -> FileRecord {
    FileRecord {
        owner: Some(Owner {
            uid,
            text_bytes,
            dropped_bytes: 0,
        }),
        ..rec(path, ino)
    }
}

fn totals(cat: &Catalog) -> Vec<(u32, u64)> {
    let kept = cat.owner_totals().unwrap();
    assert_eq!(
        kept,
        cat.recount_owners().unwrap(),
        "totals equal a recount"
    );
    kept.into_iter().collect()
}

#[test]
fn owner_totals_follow_index_reindex_remove_move_and_chown() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = Catalog::open(tmp.path()).unwrap();
    let (a, b) = (cat.new_id().unwrap(), cat.new_id().unwrap());
    let a1 = owned(b"/r/a", 1, 7, 100);
    let b1 = owned(b"/r/b", 2, 7, 50);
    let mut batch = CatalogBatch::default();
    batch.put(a, &a1, None);
    batch.put(b, &b1, None);
    assert_eq!(batch.pending_text_bytes(7), 150);
    cat.apply(batch, 1).unwrap();
    assert_eq!(totals(&cat), [(7, 150)]);
    // Re-indexed larger, then smaller.
    let a2 = owned(b"/r/a", 1, 7, 400);
    let mut batch = CatalogBatch::default();
    batch.put(a, &a2, Some(&a1));
    cat.apply(batch, 2).unwrap();
    assert_eq!(totals(&cat), [(7, 450)]);
    let a3 = owned(b"/r/a", 1, 7, 10);
    let mut batch = CatalogBatch::default();
    batch.put(a, &a3, Some(&a2));
    assert_eq!(batch.pending_text_bytes(7), -390);
    cat.apply(batch, 3).unwrap();
    assert_eq!(totals(&cat), [(7, 60)]);
    // Moved: the owner and bytes stay.
    let a4 = owned(b"/r/moved", 1, 7, 10);
    let mut batch = CatalogBatch::default();
    batch.put(a, &a4, Some(&a3));
    cat.apply(batch, 4).unwrap();
    assert_eq!(totals(&cat), [(7, 60)]);
    // Chowned: the bytes move to the new owner.
    let b2 = owned(b"/r/b", 2, 8, 50);
    let mut batch = CatalogBatch::default();
    batch.put(b, &b2, Some(&b1));
    cat.apply(batch, 5).unwrap();
    assert_eq!(totals(&cat), [(7, 10), (8, 50)]);
    // Removed: gone from the totals (an owner at zero has no entry).
    let mut batch = CatalogBatch::default();
    batch.remove(b, &b2);
    cat.apply(batch, 6).unwrap();
    assert_eq!(totals(&cat), [(7, 10)]);
}

#[test]
fn owner_totals_are_exact_whatever_the_caller_thought_was_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = Catalog::open(tmp.path()).unwrap();
    let id = cat.new_id().unwrap();
    let first = owned(b"/r/a", 1, 7, 100);
    let mut batch = CatalogBatch::default();
    batch.put(id, &first, None);
    cat.apply(batch, 1).unwrap();
    // The same record put twice in one batch, both times "replacing" the stored one (hard links
    // updated through another name), and a stale `old` in the next batch.
    let second = owned(b"/r/a", 1, 7, 30);
    let third = owned(b"/r/a", 1, 7, 20);
    let mut batch = CatalogBatch::default();
    batch.put(id, &second, Some(&first));
    batch.put(id, &third, Some(&first));
    assert_eq!(batch.pending_text_bytes(7), -80);
    cat.apply(batch, 2).unwrap();
    assert_eq!(totals(&cat), [(7, 20)]);
    let mut batch = CatalogBatch::default();
    batch.remove(id, &first);
    batch.remove(id, &first);
    cat.apply(batch, 3).unwrap();
    assert_eq!(totals(&cat), []);
}

#[test]
fn owner_totals_survive_a_reopen_without_flush_on_drop() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let cat = Catalog::open(tmp.path()).unwrap();
        let mut batch = CatalogBatch::default();
        for i in 0..50u64 {
            let id = cat.new_id().unwrap();
            batch.put(
                id,
                &owned(format!("/r/{i}").as_bytes(), i, (i % 3) as u32, i),
                None,
            );
        }
        cat.apply(batch, 1).unwrap();
        // Dropped without a clean close: apply already made the batch durable.
    }
    let cat = Catalog::open(tmp.path()).unwrap();
    assert_eq!(totals(&cat).len(), 3);
    assert_eq!(
        cat.owner_totals().unwrap().values().sum::<u64>(),
        (0..50u64).sum::<u64>()
    );
}

#[test]
fn records_written_before_owners_were_counted_still_decode() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = Catalog::open(tmp.path()).unwrap();
    let mut batch = CatalogBatch::default();
    batch.put(42, &rec(b"/r/old", 2), None);
    cat.apply(batch, 0).unwrap();
    // Rewritten in exactly the layout today's main writes, without `owner`.
    cat.downgrade_for_test();
    assert!(cat.owner_totals().unwrap().is_empty());
    let (id, rec) = cat.get_by_path(b"/r/old").unwrap().unwrap();
    assert_eq!((id, rec.size, rec.owner), (42, 3, None));
    assert!(!cat.owners_counted().unwrap());
    let mut batch = CatalogBatch::default();
    batch.put(42, &owned(b"/r/old", 2, 5, 77), Some(&rec));
    batch.set_owners_counted();
    cat.apply(batch, 1).unwrap();
    assert!(cat.owners_counted().unwrap());
    assert_eq!(totals(&cat), [(5, 77)]);
}

#[test]
fn records_are_found_by_id_path_and_inode() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = Catalog::open(tmp.path()).unwrap();
    let a = cat.new_id().unwrap();
    let b = cat.new_id().unwrap();
    assert_ne!(a, b);
    let mut batch = CatalogBatch::default();
    batch.put(a, &rec(b"/r/a\n\xff", 10), None);
    batch.put(b, &rec(b"/r/link", 10), None);
    cat.apply(batch, 3).unwrap();
    assert_eq!(cat.generation().unwrap(), 3);
    assert_eq!(cat.get_by_path(b"/r/a\n\xff").unwrap().unwrap().0, a);
    assert_eq!(cat.ids_by_inode(1, 10).unwrap(), vec![a, b]);
    assert_eq!(cat.len(), 2);
}

#[test]
fn renames_move_the_path_key() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = Catalog::open(tmp.path()).unwrap();
    let id = cat.new_id().unwrap();
    let old = rec(b"/r/old", 1);
    let mut batch = CatalogBatch::default();
    batch.put(id, &old, None);
    cat.apply(batch, 1).unwrap();
    let new = rec(b"/r/new", 1);
    let mut batch = CatalogBatch::default();
    batch.put(id, &new, Some(&old));
    cat.apply(batch, 2).unwrap();
    assert!(cat.get_by_path(b"/r/old").unwrap().is_none());
    assert_eq!(cat.get_by_path(b"/r/new").unwrap().unwrap().1, new);
    let mut batch = CatalogBatch::default();
    batch.remove(id, &new);
    cat.apply(batch, 3).unwrap();
    assert!(cat.is_empty());
    assert!(cat.ids_by_inode(1, 1).unwrap().is_empty());
}

#[test]
fn under_is_the_subtree_and_not_siblings() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = Catalog::open(tmp.path()).unwrap();
    let mut batch = CatalogBatch::default();
    for (i, p) in [&b"/a/b"[..], b"/a/b/c", b"/a/b/d/e", b"/a/bc", b"/a/c"]
        .iter()
        .enumerate()
    {
        batch.put(i as u64 + 1, &rec(p, i as u64), None);
    }
    cat.apply(batch, 1).unwrap();
    let paths: Vec<Vec<u8>> = cat
        .under(Path::new("/a/b"))
        .map(|r| r.unwrap().1.path)
        .collect();
    assert_eq!(paths, [&b"/a/b"[..], b"/a/b/c", b"/a/b/d/e"]);
    // The same subtree from the path keys alone, less what the caller keeps (by id or by path).
    let mut seen = Vec::new();
    let gone = cat
        .ids_under_except(Path::new("/a/b"), |path, id| {
            seen.push(path.to_owned());
            id == 2 || path.starts_with("/a/b/d")
        })
        .unwrap();
    assert_eq!(gone, [1]);
    assert_eq!(seen, ["/a/b", "/a/b/c", "/a/b/d/e"].map(PathBuf::from));
    assert_eq!(
        cat.ids_under_except(Path::new("/a/b/"), |_, _| false)
            .unwrap(),
        [2, 3]
    );
}

#[test]
fn roots_round_trip() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = Catalog::open(tmp.path()).unwrap();
    let roots = vec![
        PathBuf::from("/x"),
        PathBuf::from(OsStr::from_bytes(b"/y\xff")),
    ];
    let mut batch = CatalogBatch::default();
    batch.set_roots(&roots);
    cat.apply(batch, 1).unwrap();
    drop(cat);
    let cat = Catalog::open(tmp.path()).unwrap();
    assert_eq!(cat.roots().unwrap(), roots);
}

#[test]
fn root_volumes_round_trip_and_are_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let cat = Catalog::open(tmp.path()).unwrap();
    let root = PathBuf::from(OsStr::from_bytes(b"/media/disk\xff"));
    assert_eq!(cat.root_volume(&root).unwrap(), None);
    let volume = RootVolume {
        identity: "uuid:0123".into(),
        walked_secs: 1_700_000_000,
    };
    let mut batch = CatalogBatch::default();
    batch.set_root_volume(&root, &volume);
    cat.apply(batch, 1).unwrap();
    drop(cat);
    let cat = Catalog::open(tmp.path()).unwrap();
    assert_eq!(cat.root_volume(&root).unwrap(), Some(volume));
    assert_eq!(cat.root_volume(Path::new("/media")).unwrap(), None);
    assert!(cat.is_empty(), "a root's volume is no file record");
    let mut batch = CatalogBatch::default();
    batch.remove_root_volume(&root);
    cat.apply(batch, 2).unwrap();
    assert_eq!(cat.root_volume(&root).unwrap(), None);
}

/// A record written before directories were recorded (no `kind`) decodes as a file's; a directory's
/// record keeps its kind.
#[test]
fn records_without_a_kind_decode_as_files() {
    let old = rec(b"/r/a", 1);
    let owned_layout = bincode::serialize(&(
        &old.path,
        old.dev,
        old.ino,
        old.size,
        old.mtime_ns,
        old.ctime_ns,
        old.hash,
        old.status,
        old.truncated,
        &old.error,
        old.racy,
        old.owner,
    ))
    .unwrap();
    assert_eq!(record::decode_record(&owned_layout).unwrap(), old);
    let folder = FileRecord {
        kind: Kind::Folder,
        ..rec(b"/r/d", 2)
    };
    let bytes = bincode::serialize(&folder).unwrap();
    let back = record::decode_record(&bytes).unwrap();
    assert!(back.is_folder());
    assert_eq!(back, folder);
}
