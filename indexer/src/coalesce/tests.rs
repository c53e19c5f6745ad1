//! Tests of `coalesce`.

use super::*;

fn limits() -> BatchLimits {
    BatchLimits {
        max_items: 100,
        max_delay: Duration::from_millis(100),
        min_delay: Duration::ZERO,
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
fn a_fixed_window_follows_the_limits() {
    // `batch_min_ms` as large as the settle time: the old fixed window.
    let mut c = Coalescer::new(BatchLimits {
        min_delay: Duration::from_millis(20),
        ..limits()
    });
    let t0 = Instant::now();
    assert!(!c.is_ready(t0));
    c.push(modified("/a"), t0);
    assert!(!c.is_ready(t0 + Duration::from_millis(10)));
    assert!(c.is_ready(t0 + Duration::from_millis(20)), "settled");
    c.take();
    // Continuous changes after a slow commit: ready at max_delay even though never settled.
    c.committed(t0, Duration::from_secs(1));
    for i in 0..10 {
        c.push(modified("/a"), t0 + Duration::from_millis(i * 15));
    }
    assert!(!c.is_ready(t0 + Duration::from_millis(99)));
    assert!(c.is_ready(t0 + Duration::from_millis(100)));
    c.take();
    for i in 0..100 {
        c.push(modified(&format!("/f{i}")), t0);
    }
    assert!(c.is_ready(t0), "full");
}

/// Issue 16: a lone change after a quiet moment is handed on at once; right after a commit, changes
/// wait until that commit is as far in the past as it took (its cost averaged), so batches grow with the
/// arrival rate; never past `batch_ms`. A fake clock: `Instant`s built from one base.
#[test]
fn batching_adapts_to_the_arrival_rate() {
    let ms = Duration::from_millis;
    let mut c = Coalescer::new(limits());
    let t0 = Instant::now();
    c.push(modified("/lone"), t0);
    assert!(
        c.is_ready(t0),
        "a lone change, nothing committed yet: at once"
    );
    c.take();
    // Its commit took 10 ms and ended at t0 + 12 ms.
    c.committed(t0 + ms(12), ms(10));
    // A change 1 s later: the last commit is long past, so it goes at once.
    let t1 = t0 + ms(1000);
    c.push(modified("/later"), t1);
    assert!(c.is_ready(t1));
    c.take();
    c.committed(t1 + ms(10), ms(10));
    // Under load (a change every 2 ms from the commit's end): nothing is handed on until the commit
    // is 10 ms past; then everything that arrived meanwhile goes as one batch.
    let end = t1 + ms(10);
    for i in 0..5u32 {
        c.push(modified(&format!("/busy{i}")), end + ms(2) * i);
        assert!(!c.is_ready(end + ms(2) * i), "{i}");
    }
    assert_eq!(c.deadline(), Some(end + ms(10)));
    assert!(c.is_ready(end + ms(10)));
    assert_eq!(c.take().len(), 5);
    // Slower commits stretch the pace (averaged: 10 ms, then 50 ms weighs a quarter: 20 ms)...
    let end = end + ms(30);
    c.committed(end, ms(50));
    c.push(modified("/x"), end);
    assert_eq!(c.deadline(), Some(end + ms(20)));
    c.take();
    // ...up to `batch_ms` (100 ms) after the commit, however slow the commits, while changes keep coming.
    for _ in 0..20 {
        c.committed(end, Duration::from_secs(10));
    }
    for i in 0..10u32 {
        c.push(modified("/y"), end + ms(1) + ms(10) * i);
    }
    assert_eq!(c.deadline(), Some(end + ms(100)));
    assert_eq!(Coalescer::new(limits()).deadline(), None, "nothing pending");
}

#[test]
fn settling_ends_the_pace_wait_but_not_the_floor() {
    let ms = Duration::from_millis;
    let t0 = Instant::now();
    let mut c = Coalescer::new(limits());
    c.committed(t0, Duration::from_secs(1));
    c.push(modified("/a"), t0);
    // The pace says t0 + 100 ms (capped at batch_ms); no change for settle (20 ms) says t0 + 20 ms.
    assert_eq!(c.deadline(), Some(t0 + ms(20)));
    let mut floor = Coalescer::new(BatchLimits {
        min_delay: ms(50),
        ..limits()
    });
    floor.push(modified("/a"), t0);
    assert_eq!(floor.deadline(), Some(t0 + ms(50)));
}
