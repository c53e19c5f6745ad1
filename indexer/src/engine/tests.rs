//! Engine tests that need its private parts.

use super::*;

#[test]
fn an_index_from_before_owners_were_counted_is_counted_once_at_open() {
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
