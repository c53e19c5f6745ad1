//! The inotify watch limit: the watcher must report a degraded state (and count a rescan) instead of
//! silently watching part of the tree. Its own test binary, because it briefly lowers a global limit.

mod common;

use common::Env;
use common::daemon::{DaemonProc, Tmpfs, require_root, sysctl_lock, verify};

/// inotify watches currently held by root's processes.
fn root_watches() -> usize {
    let mut n = 0;
    for proc_dir in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(meta) = std::fs::metadata(proc_dir.path()) else {
            continue;
        };
        if std::os::unix::fs::MetadataExt::uid(&meta) != 0 {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(proc_dir.path().join("fdinfo")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(text) = std::fs::read_to_string(fd.path()) {
                n += text
                    .lines()
                    .filter(|l| l.starts_with("inotify wd:"))
                    .count();
            }
        }
    }
    n
}

#[test]
fn the_inotify_watch_limit_is_reported_not_silent() {
    if !require_root("inotify watch limit") {
        return;
    }
    let env = Env::new();
    let fs = Tmpfs::mount(&env.tmp.path().join("fs"));
    let root = fs.path.join("root");
    for i in 0..60 {
        let d = root.join(format!("d{i}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("f"), format!("word{i}z")).unwrap();
    }
    let sysctl = "/proc/sys/fs/inotify/max_user_watches";
    let daemon = {
        let _guard = sysctl_lock(true);
        let old = std::fs::read_to_string(sysctl).unwrap();
        std::fs::write(sysctl, (root_watches() + 20).to_string()).unwrap();
        let started = std::panic::catch_unwind(|| {
            DaemonProc::start_unlocked(&env, &root, "inotify", "inotify")
        });
        std::fs::write(sysctl, old.trim()).unwrap();
        started.unwrap()
    };
    let status = env.status_json();
    assert_eq!(status["watcher"]["degraded"], true, "{status}");
    assert!(
        status["watcher"]["degraded_reason"]
            .as_str()
            .is_some_and(|r| !r.is_empty()),
        "{status}"
    );
    let rescans = status["watcher"]["counters"]["rescans"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    assert!(
        !rescans.is_empty(),
        "the lost coverage is announced as a rescan: {status}"
    );
    // The reconcile still indexed everything.
    env.sync();
    verify(&env, &root);
    drop(daemon);
}
