//! Tests of `coalesce`.

use super::*;

fn limits() -> BatchLimits {
    BatchLimits {
        max_items: 100,
        max_delay: Duration::from_millis(100),
        settle: Duration::from_millis(20),
        max_fds: 2,
    }
}

fn modified(p: &str) -> Change {
    Change::Modified {
        path: p.into(),
        content: None,
    }
}

fn describe(work: &[Work]) -> Vec<String> {
    work.iter()
        .map(|w| match w {
            Work::Refresh {
                path,
                metadata_only,
                ..
            } => format!(
                "refresh {}{}",
                path.display(),
                if *metadata_only { " (meta)" } else { "" }
            ),
            Work::Remove { path } => format!("remove {}", path.display()),
            Work::Move { from, to } => format!("move {} {}", from.display(), to.display()),
            Work::Rescan { scope, .. } => format!("rescan {}", scope.display()),
        })
        .collect()
}

#[test]
fn repeated_writes_merge() {
    let mut c = Coalescer::new(limits());
    let now = Instant::now();
    for _ in 0..1000 {
        c.push(modified("/r/a"), now);
    }
    c.push(
        Change::Attrib {
            path: "/r/a".into(),
        },
        now,
    );
    c.push(
        Change::Attrib {
            path: "/r/b".into(),
        },
        now,
    );
    assert_eq!(describe(&c.take()), ["refresh /r/a", "refresh /r/b (meta)"]);
    assert!(c.is_empty());
}

#[test]
fn refreshes_follow_renames_and_die_with_removes() {
    let mut c = Coalescer::new(limits());
    let now = Instant::now();
    c.push(modified("/r/tmp"), now);
    c.push(modified("/r/dir/x"), now);
    c.push(modified("/r/gone/y"), now);
    c.push(
        Change::Renamed {
            from: "/r/tmp".into(),
            to: "/r/doc".into(),
            is_dir: false,
        },
        now,
    );
    c.push(
        Change::Renamed {
            from: "/r/dir".into(),
            to: "/r/dir2".into(),
            is_dir: true,
        },
        now,
    );
    c.push(
        Change::Removed {
            path: "/r/gone".into(),
            is_dir: true,
        },
        now,
    );
    assert_eq!(
        describe(&c.take()),
        [
            "move /r/tmp /r/doc",
            "move /r/dir /r/dir2",
            "remove /r/gone",
            "refresh /r/doc",
            "refresh /r/dir2/x",
        ]
    );
}

#[test]
fn descriptors_are_bounded() {
    let mut c = Coalescer::new(limits());
    let now = Instant::now();
    for i in 0..5 {
        let file = std::fs::File::open("/dev/null").unwrap();
        c.push(
            Change::Modified {
                path: format!("/r/{i}").into(),
                content: Some(ContentFd::new(file.into())),
            },
            now,
        );
    }
    assert_eq!(c.fds_held(), 2);
    c.push(
        Change::Removed {
            path: "/r/0".into(),
            is_dir: false,
        },
        now,
    );
    assert_eq!(c.fds_held(), 1);
    let work = c.take();
    let with_fd = work
        .iter()
        .filter(|w| {
            matches!(
                w,
                Work::Refresh {
                    content: Some(_),
                    ..
                }
            )
        })
        .count();
    assert_eq!(with_fd, 1);
    assert_eq!(c.fds_held(), 0);
}

/// A create (no descriptor) followed by a close-write (with one) must respect the budget too: 100,000
/// files created under fanotify otherwise held one descriptor each and the process ran out of them.
#[test]
fn descriptors_for_created_paths_are_bounded() {
    let mut c = Coalescer::new(limits());
    let now = Instant::now();
    for i in 0..5 {
        let path: PathBuf = format!("/r/{i}").into();
        c.push(
            Change::Created {
                path: path.clone(),
                is_dir: false,
            },
            now,
        );
        let file = std::fs::File::open("/dev/null").unwrap();
        c.push(
            Change::Modified {
                path,
                content: Some(ContentFd::new(file.into())),
            },
            now,
        );
    }
    assert_eq!(c.fds_held(), 2);
    let held = c
        .take()
        .iter()
        .filter(|w| {
            matches!(
                w,
                Work::Refresh {
                    content: Some(_),
                    ..
                }
            )
        })
        .count();
    assert_eq!(held, 2);
}

#[test]
fn rescans_merge_follow_renames_and_come_last() {
    let mut c = Coalescer::new(limits());
    let now = Instant::now();
    let created = |p: &str| Change::Created {
        path: p.into(),
        is_dir: true,
    };
    c.push(created("/r/new/a"), now);
    c.push(created("/r/new"), now);
    c.push(created("/r/new/b"), now);
    c.push(created("/r/other"), now);
    c.push(modified("/r/f"), now);
    c.push(
        Change::Renamed {
            from: "/r/new".into(),
            to: "/r/final".into(),
            is_dir: true,
        },
        now,
    );
    c.push(
        Change::Removed {
            path: "/r/other".into(),
            is_dir: true,
        },
        now,
    );
    assert_eq!(
        describe(&c.take()),
        [
            "move /r/new /r/final",
            "remove /r/other",
            "refresh /r/f",
            "rescan /r/final"
        ]
    );
}

#[test]
fn big_bursts_come_out_in_bounded_batches() {
    let mut c = Coalescer::new(limits());
    let now = Instant::now();
    for i in 0..250 {
        c.push(modified(&format!("/r/f{i}")), now);
    }
    c.push(
        Change::Rescan {
            scope: "/r/x".into(),
            reason: crate::coalesce::tests::overflow(),
        },
        now,
    );
    let sizes: Vec<usize> =
        std::iter::from_fn(|| (!c.is_empty()).then(|| c.take().len())).collect();
    assert_eq!(sizes, [100, 100, 51], "the rescan rides with the last part");
    assert!(c.is_ready(now) || c.is_empty());
}

fn overflow() -> fandex_watcher::RescanReason {
    fandex_watcher::RescanReason::QueueOverflow
}

#[test]
fn collapse_keeps_only_rescans() {
    let mut c = Coalescer::new(limits());
    let now = Instant::now();
    c.push(modified("/r/a"), now);
    c.push(
        Change::Removed {
            path: "/r/b".into(),
            is_dir: false,
        },
        now,
    );
    c.collapse(&["/r".into()], RescanKind::QueueCollapsed, now);
    assert_eq!(describe(&c.take()), ["rescan /r"]);
}

#[test]
fn readiness_follows_the_limits() {
    let mut c = Coalescer::new(limits());
    let t0 = Instant::now();
    assert!(!c.is_ready(t0));
    c.push(modified("/a"), t0);
    assert!(!c.is_ready(t0 + Duration::from_millis(10)));
    assert!(c.is_ready(t0 + Duration::from_millis(20)), "settled");
    // Continuous changes: ready at max_delay even though never settled.
    for i in 0..10 {
        c.push(modified("/a"), t0 + Duration::from_millis(i * 15));
    }
    assert!(c.is_ready(t0 + Duration::from_millis(100)));
    c.take();
    for i in 0..100 {
        c.push(modified(&format!("/f{i}")), t0);
    }
    assert!(c.is_ready(t0), "full");
}
