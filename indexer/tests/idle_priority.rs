//! Issue 14: bulk work stays out of the way. The threads of a walk (the walker and `ignore`'s threads
//! it starts, the classifier, extraction) run at `SCHED_IDLE` and in the idle I/O class when the engine
//! is told so, read back from the kernel while the walk runs; the caller's thread and rayon's global
//! pool, where the daemon extracts single live changes, keep their priority.
//!
//! One test in its own binary: it watches every thread of the process, so no other walk may run.

use std::collections::BTreeMap;
use std::path::Path;

use fandex_indexer::engine::{Progress, UpdateRequest};
use fandex_indexer::sys::{IOPRIO_CLASS_IDLE, io_priority_class, scheduling_policy};
use fandex_indexer::{Config, Engine, IndexDir};

/// Names of the threads that do a walk's work (`comm`, at most 15 bytes).
const BULK_THREADS: &[&str] = &[
    "fandex-walk",
    "fandex-classify",
    "fandex-extract",
    "fandex-bulk-",
];

/// Each bulk thread's last seen `(name, scheduling policy, I/O class)`, by tid.
type Seen = BTreeMap<i32, (String, i32, i32)>;

/// Each bulk thread's last seen `(name, scheduling policy, I/O class)`, by tid, watched while `engine`
/// walks `root` from another thread. Returns them with the engine, and the walking thread's own
/// priorities after the walk.
fn watch_walk(mut engine: Engine, root: &Path) -> (Seen, Engine, (i32, i32)) {
    let request = UpdateRequest {
        add_roots: vec![root.to_owned()],
        forget_roots: vec![],
    };
    let walk = std::thread::spawn(move || {
        let summary = engine.update(&request, &Progress::default()).unwrap();
        assert!(summary.indexed >= 3000, "{summary}");
        let own = (scheduling_policy(0).unwrap(), io_priority_class(0).unwrap());
        (engine, own)
    });
    let mut seen = BTreeMap::new();
    while !walk.is_finished() {
        for entry in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
            let Ok(tid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(comm) = std::fs::read_to_string(entry.path().join("comm")) else {
                continue; // ended meanwhile
            };
            let comm = comm.trim_end().to_owned();
            if !BULK_THREADS.iter().any(|name| comm.starts_with(name)) {
                continue;
            }
            if let (Ok(policy), Ok(class)) = (scheduling_policy(tid), io_priority_class(tid)) {
                seen.insert(tid, (comm, policy, class));
            }
        }
        std::thread::sleep(std::time::Duration::from_micros(300));
    }
    let (engine, own) = walk.join().unwrap();
    (seen, engine, own)
}

fn names(seen: &Seen) -> Vec<&str> {
    let mut names: Vec<&str> = seen
        .values()
        .map(|(comm, ..)| {
            BULK_THREADS
                .iter()
                .find(|name| comm.starts_with(*name))
                .unwrap()
        })
        .copied()
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn a_walk_runs_at_idle_priority_and_live_extraction_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    for dir in 0..30 {
        let dir = root.join(format!("d{dir}"));
        std::fs::create_dir_all(&dir).unwrap();
        for file in 0..100 {
            std::fs::write(
                dir.join(format!("f{file}.txt")),
                format!("some words for file {file} in a walk that takes a while\n").repeat(20),
            )
            .unwrap();
        }
    }
    let root = std::fs::canonicalize(root).unwrap();
    let priority = || (scheduling_policy(0).unwrap(), io_priority_class(0).unwrap());
    let normal = priority();
    // Rayon's global pool starts here, so its threads take this thread's name, not a walk thread's.
    assert!(
        rayon::broadcast(|_| priority())
            .iter()
            .all(|p| *p == normal)
    );
    assert_ne!(
        normal.0,
        libc::SCHED_IDLE,
        "the test must start at normal priority"
    );

    // The default: a walk runs at the caller's priority (what `fandex index` does).
    let engine = Engine::open(IndexDir::at(tmp.path().join("index-a")), Config::default()).unwrap();
    let (seen, engine, own) = watch_walk(engine, &root);
    engine.close().unwrap();
    assert_eq!(own, normal);
    assert_eq!(
        names(&seen),
        ["fandex-classify", "fandex-extract", "fandex-walk"],
        "{seen:?}"
    );
    for (tid, (comm, policy, _)) in &seen {
        assert_ne!(*policy, libc::SCHED_IDLE, "{tid} {comm}");
    }

    // Idle: every thread of the walk, its extraction pool included, is idle for CPU and I/O.
    let mut engine =
        Engine::open(IndexDir::at(tmp.path().join("index-b")), Config::default()).unwrap();
    engine.set_idle_bulk(true);
    let (seen, engine, own) = watch_walk(engine, &root);
    assert_eq!(
        names(&seen),
        [
            "fandex-bulk-",
            "fandex-classify",
            "fandex-extract",
            "fandex-walk"
        ],
        "{seen:?}"
    );
    // `ignore` starts two walking threads that inherit the walker's name and priority.
    let walkers = seen.values().filter(|(c, ..)| c == "fandex-walk").count();
    assert!(walkers >= 2, "{seen:?}");
    for (tid, (comm, policy, class)) in &seen {
        assert_eq!(
            (*policy, *class),
            (libc::SCHED_IDLE, IOPRIO_CLASS_IDLE),
            "thread {tid} {comm}"
        );
    }
    // The caller, and rayon's global pool (live refreshes), keep their priority.
    assert_eq!(own, normal);
    let global = rayon::broadcast(|_| priority());
    assert!(global.iter().all(|p| *p == normal), "{global:?}");
    engine.close().unwrap();
}
