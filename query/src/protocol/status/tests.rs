use super::*;

fn change(path: &str, change: ChangeKind, owner: u32) -> RecentChange {
    RecentChange {
        path: path.into(),
        change,
        at: "2026-01-01T00:00:00Z".into(),
        owner: Some(owner),
        exact_path: Some(path.into()),
    }
}

/// Issue 15: a caller who does not own the index sees no progress counts, and of the recent changes
/// only those to their own files that they may read now (never a removal: it cannot be checked).
#[test]
fn others_see_only_their_own_readable_changes() {
    let report = StatusReport {
        state: State::Watching,
        rebuild: None,
        progress: Some(WorkProgress::new(WorkKind::Rescan, 5, 2, None, 10, 1.0)),
        recent_changes: vec![
            change("/r/mine-readable", ChangeKind::Changed, 1000),
            change("/r/other", ChangeKind::Changed, 1001),
            change("/r/mine-hidden", ChangeKind::Moved, 1000),
            change("/r/mine-gone", ChangeKind::Removed, 1000),
        ],
        version: "0".into(),
        pid: 1,
        uptime_seconds: 1,
        index_dir: "/i".into(),
        roots: vec!["/r".into()],
        offline_roots: Vec::new(),
        watcher: None,
        documents: 4,
        catalog: CatalogStats::default(),
        queue: QueueDepths {
            events: 0,
            events_capacity: 1,
            pending: 0,
            pending_fds: 0,
        },
        last_commit: None,
        reconcile_seconds: None,
        reconcile: None,
        totals: Totals::default(),
        last_error: None,
        walk_errors: Vec::new(),
        rss_bytes: None,
        paused: None,
        on_battery: false,
        latency: Some(LatencyReport::default()),
    };
    let mut asked = Vec::new();
    let public = report.public(1000, |paths| {
        asked = paths.clone();
        paths.iter().map(|p| p.ends_with("mine-readable")).collect()
    });
    assert_eq!(
        asked,
        [
            PathBuf::from("/r/mine-readable"),
            PathBuf::from("/r/mine-hidden")
        ]
    );
    let shown: Vec<&str> = public
        .recent_changes
        .iter()
        .map(|c| c.path.as_str())
        .collect();
    assert_eq!(shown, ["/r/mine-readable"]);
    let json = serde_json::to_value(&public).unwrap();
    assert!(json.get("progress").is_none(), "{json}");
    // Timings of work on files are the owner's only (issue 16).
    assert!(json.get("latency").is_none(), "{json}");
    assert!(
        json["recent_changes"][0].get("exact_path").is_none(),
        "{json}"
    );
    // The owner gets everything.
    match report.for_caller(true, 0, |_| unreachable!()) {
        CallerStatus::Owner(full) => {
            assert_eq!(full.recent_changes.len(), 4);
            assert!(full.latency.is_some());
        }
        CallerStatus::Public(_) => panic!("owner got the public report"),
    }
}
