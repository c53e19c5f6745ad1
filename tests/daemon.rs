//! The daemon end to end, through the binary, as root, each test on its own tmpfs: convergence under a
//! random workload, kill -9 at random points, queue overflow, graceful stop and fast restart. Each runs for
//! fanotify (content and renames) and for inotify.

mod common;

use std::time::Duration;

use common::Env;
use common::daemon::{DaemonProc, Rng, Tmpfs, Workload, require_root, sysctl_lock, verify};

struct Setup {
    env: Env,
    _fs: Tmpfs,
    work: Workload,
}

fn setup(seed: u64) -> Setup {
    let env = Env::new();
    let fs = Tmpfs::mount(&env.tmp.path().join("fs"));
    let root = fs.path.join("root");
    let outside = fs.path.join("outside");
    let work = Workload::new(&root, &outside, seed);
    Setup { env, _fs: fs, work }
}

fn convergence(backend: &str, rename_source: &str, seed: u64) {
    if !require_root("daemon convergence") {
        return;
    }
    let s = setup(seed);
    let mut work = s.work;
    work.run(300); // state that exists before the daemon starts
    let daemon = DaemonProc::start(&s.env, &work.root, backend, rename_source);
    work.run(3000);
    s.env.sync();
    verify(&s.env, &work.root);
    // A fresh one-shot index of the same tree agrees.
    let fresh = s.env.tmp.path().join("fresh-index");
    let out = s
        .env
        .cmd()
        .env("FANDEX_INDEX_DIR", &fresh)
        .args(["index", "--json"])
        .arg(&work.root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let query = format!("path:{}", work.root.display());
    let daemon_docs = s.env.search(&query);
    let fresh_out = s
        .env
        .cmd()
        .env("FANDEX_INDEX_DIR", &fresh)
        .args(["search", "--json", "--limit", "1000000", &query])
        .output()
        .unwrap();
    assert_eq!(common::parse_paths(&fresh_out.stdout), daemon_docs);
    assert_eq!(daemon.terminate(), Some(0));
}

#[test]
fn convergence_fanotify() {
    convergence("fanotify", "fanotify", 1);
}

#[test]
fn convergence_fanotify_content_inotify_renames() {
    convergence("fanotify", "inotify", 2);
}

#[test]
fn convergence_inotify() {
    convergence("inotify", "inotify", 3);
}

fn crash_recovery(backend: &str, seed: u64) {
    if !require_root("daemon crash recovery") {
        return;
    }
    let s = setup(seed);
    let mut work = s.work;
    let mut rng = Rng::new(seed ^ 0xdead);
    work.run(200);
    for _round in 0..5 {
        let daemon = DaemonProc::start(&s.env, &work.root, backend, backend);
        // Kill at a random point while changes are being made and indexed.
        let kill_after = Duration::from_millis(20 + rng.below(400) as u64);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(kill_after);
                daemon.kill9();
            });
            work.run(400);
        });
        // Keep changing files while it is down.
        work.run(200);
    }
    // A cookie-like name this daemon did not make (its own carry a tag keyed with the index's secret,
    // see the unit tests of service::cookie): left alone, it may be another user's file.
    let foreign = work.root.join(".fandex-sync-999-1");
    std::fs::write(&foreign, "").unwrap();
    let daemon = DaemonProc::start(&s.env, &work.root, backend, backend);
    s.env.sync();
    assert!(
        foreign.exists(),
        "a cookie-like file the daemon did not create is kept"
    );
    std::fs::remove_file(&foreign).unwrap();
    s.env.sync();
    verify(&s.env, &work.root);
    drop(daemon);
}

#[test]
fn crash_recovery_fanotify() {
    crash_recovery("fanotify", 11);
}

#[test]
fn crash_recovery_inotify() {
    crash_recovery("inotify", 12);
}

fn overflow(backend: &str, sysctl: &str) {
    if !require_root("daemon queue overflow") {
        return;
    }
    let s = setup(21);
    let mut work = s.work;
    let daemon = {
        // The queue size is read when the group is created: lower it only around the start.
        let _guard = sysctl_lock(true);
        let old = std::fs::read_to_string(sysctl).unwrap();
        std::fs::write(sysctl, "64").unwrap();
        let d = DaemonProc::start_unlocked(&s.env, &work.root, backend, backend);
        std::fs::write(sysctl, old.trim()).unwrap();
        d
    };
    // Stall the daemon's intake is not possible from outside; a burst far beyond 64 events overflows.
    for i in 0..3000 {
        std::fs::write(
            work.root.join(format!("burst{i}")),
            format!("word{}z", i % 60),
        )
        .unwrap();
    }
    work.run(500);
    s.env.sync();
    verify(&s.env, &work.root);
    let status = s.env.status_json();
    let rescans = &status["totals"]["rescans"];
    let overflowed = status["watcher"]["counters"]["rescans"]
        .as_object()
        .is_some_and(|m| m.keys().any(|k| k.contains("overflow")));
    assert!(overflowed, "an overflow must be reported: {status}");
    assert!(
        rescans
            .as_object()
            .is_some_and(|m| m.keys().any(|k| k.contains("overflow"))),
        "the rescan must be counted: {status}"
    );
    drop(daemon);
}

#[test]
fn overflow_fanotify() {
    overflow("fanotify", "/proc/sys/fs/fanotify/max_queued_events");
}

#[test]
fn overflow_inotify() {
    overflow("inotify", "/proc/sys/fs/inotify/max_queued_events");
}

fn graceful(backend: &str) {
    if !require_root("daemon graceful stop") {
        return;
    }
    let s = setup(31);
    let mut work = s.work;
    work.run(500);
    // A long batch window, so changes are still pending when the stop comes.
    let config = s.env.tmp.path().join("slow.toml");
    std::fs::write(
        &config,
        "[daemon]\nbatch_ms = 60000\nbatch_min_ms = 60000\nsettle_ms = 60000\n",
    )
    .unwrap();
    let config = config.to_str().unwrap().to_owned();
    let extra = ["--config", config.as_str()];
    let daemon = {
        let _guard = sysctl_lock(false);
        DaemonProc::start_with(&s.env, &work.root, backend, backend, &extra)
    };
    work.run(300);
    s.env.sync(); // cookies flush at once, whatever the batch window
    // Make changes and catch them pending (not yet committed). A postponed rescan falling due can hand
    // the batch on early; then try again with new changes.
    let mut caught = false;
    for attempt in 0..10 {
        for i in 0..5 {
            std::fs::write(
                work.root.join(format!("late{attempt}-{i}")),
                "word7z word8z",
            )
            .unwrap();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while std::time::Instant::now() < deadline {
            if s.env.status_json()["queue"]["pending"].as_u64() > Some(0) {
                caught = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if caught {
            break;
        }
    }
    assert!(
        caught,
        "changes never stayed pending under a 60 s batch window"
    );
    assert_eq!(daemon.terminate(), Some(0));
    assert!(!s.env.index.join("fandex.sock").exists(), "socket removed");
    let daemon = DaemonProc::start(&s.env, &work.root, backend, backend);
    let status = s.env.status_json();
    assert_eq!(
        status["reconcile"]["indexed"], 0,
        "the stop committed the pending changes, and a clean restart reads no unchanged file: {status}"
    );
    verify(&s.env, &work.root);
    drop(daemon);
}

#[test]
fn graceful_stop_and_restart_fanotify() {
    graceful("fanotify");
}

#[test]
fn graceful_stop_and_restart_inotify() {
    graceful("inotify");
}

#[test]
fn corrupt_catalog_is_rebuilt_from_the_filesystem() {
    if !require_root("daemon corrupt catalog") {
        return;
    }
    let s = setup(41);
    let mut work = s.work;
    work.run(300);
    let daemon = DaemonProc::start(&s.env, &work.root, "fanotify", "fanotify");
    s.env.sync();
    assert_eq!(daemon.terminate(), Some(0));
    // Garbage over every file of the catalog.
    for entry in std::fs::read_dir(s.env.index.join("catalog"))
        .unwrap()
        .flatten()
    {
        if entry.file_type().unwrap().is_file() {
            std::fs::write(entry.path(), b"\x00garbage\xff".repeat(100)).unwrap();
        }
    }
    work.run(100);
    let daemon = DaemonProc::start(&s.env, &work.root, "fanotify", "fanotify");
    s.env.sync();
    verify(&s.env, &work.root);
    let log = s.env.daemon_log();
    assert!(
        log.contains("rebuilding it from the filesystem"),
        "the rebuild is logged:\n{log}"
    );
    drop(daemon);
}

#[test]
fn sighup_reloads_the_configuration() {
    if !require_root("daemon SIGHUP") {
        return;
    }
    let s = setup(51);
    let root = s.work.root.clone();
    std::fs::write(root.join("keep.txt"), "word1z").unwrap();
    std::fs::write(root.join("noise.log"), "word1z").unwrap();
    let config = s.env.tmp.path().join("config.toml");
    std::fs::write(&config, "[index]\nexclude = []\n").unwrap();
    let config_arg = config.to_str().unwrap().to_owned();
    let daemon = {
        let _guard = sysctl_lock(false);
        DaemonProc::start_with(
            &s.env,
            &root,
            "inotify",
            "inotify",
            &["--config", &config_arg],
        )
    };
    s.env.sync();
    assert_eq!(s.env.search("word1z").len(), 2);
    std::fs::write(&config, "[index]\nexclude = [\"*.log\"]\n").unwrap();
    let pid = nix::unistd::Pid::from_raw(daemon.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        s.env.sync();
        if s.env.search("word1z") == std::collections::BTreeSet::from([root.join("keep.txt")]) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "reload never applied: {}",
            s.env.daemon_log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // New files follow the new rules too.
    std::fs::write(root.join("more.log"), "word1z").unwrap();
    s.env.sync();
    assert_eq!(s.env.search("word1z").len(), 1);
    drop(daemon);
}

/// Issue 16: batching adapts to the arrival rate. Under a 60 s batch window and a 60 s settle time, a
/// lone change is still searchable at once without a sync (the last commit is long past, so nothing
/// holds it back), and `status --json` counts its time in every stage.
#[test]
fn a_lone_change_is_searchable_at_once_and_timed_per_stage() {
    if !require_root("daemon adaptive batching") {
        return;
    }
    let s = setup(61);
    let root = s.work.root.clone();
    let config = s.env.tmp.path().join("window.toml");
    std::fs::write(&config, "[daemon]\nbatch_ms = 60000\nsettle_ms = 60000\n").unwrap();
    let config_arg = config.to_str().unwrap().to_owned();
    let daemon = {
        let _guard = sysctl_lock(false);
        DaemonProc::start_with(
            &s.env,
            &root,
            "fanotify",
            "fanotify",
            &["--config", &config_arg],
        )
    };
    s.env.sync();
    let counted = |status: &serde_json::Value, stage: &str| -> u64 {
        status["latency"]["stages"]
            .as_array()
            .expect("latency stages in the owner's status")
            .iter()
            .find(|h| h["stage"] == stage)
            .and_then(|h| h["count"].as_u64())
            .unwrap_or(0)
    };
    let before = counted(&s.env.status_json(), "total");
    // Past any commit still under way for the sync above.
    std::thread::sleep(Duration::from_millis(300));
    std::fs::write(root.join("lone.txt"), "lonewordq").unwrap();
    let written = std::time::Instant::now();
    while s.env.search("lonewordq").is_empty() {
        assert!(
            written.elapsed() < Duration::from_secs(10),
            "a lone change waited for the 60 s window: {}",
            s.env.daemon_log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = s.env.status_json();
    for stage in ["queued", "read", "commit", "reload", "total"] {
        assert!(counted(&status, stage) > before, "{stage}: {status}");
    }
    let human = s.env.run(&["status"]);
    let human = String::from_utf8_lossy(&human.stdout);
    assert!(human.contains("from event to searchable"), "{human}");
    drop(daemon);
}

fn directory_move(backend: &str) {
    if !require_root("daemon directory move") {
        return;
    }
    let s = setup(61);
    let root = s.work.root.clone();
    let dir = root.join("big");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..10_000 {
        std::fs::write(dir.join(format!("f{i}")), format!("word{}z", i % 60)).unwrap();
    }
    let daemon = DaemonProc::start(&s.env, &root, backend, backend);
    s.env.sync();
    let started = std::time::Instant::now();
    std::fs::rename(&dir, root.join("moved")).unwrap();
    // Poll without sync until every file is found at its new path.
    let query = format!("path:{}", root.join("moved").display());
    loop {
        let out = s.env.run(&["search", "--json", "--limit", "1", &query]);
        let n = out.stdout.iter().filter(|b| **b == b'\n').count();
        if n > 0 {
            let total = s
                .env
                .run(&["search", "--json", "--limit", "100000", &query]);
            if total.stdout.iter().filter(|b| **b == b'\n').count() == 10_000 {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "move not visible: {}",
            s.env.daemon_log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = started.elapsed();
    eprintln!(
        "{backend}: directory move of 10,000 files searchable at the new path after {elapsed:?}"
    );
    let status = s.env.status_json();
    assert_eq!(
        status["totals"]["indexed"], 0,
        "a move reads no file: {status}"
    );
    drop(daemon);
}

#[test]
fn directory_move_of_10000_files_fanotify() {
    directory_move("fanotify");
}

#[test]
fn directory_move_of_10000_files_inotify() {
    directory_move("inotify");
}

#[test]
fn readiness_is_reported_to_systemd_and_sync_waits_for_the_reconcile() {
    if !require_root("daemon readiness") {
        return;
    }
    let s = setup(71);
    let mut work = s.work;
    work.run(100);
    let notify = s.env.tmp.path().join("notify.sock");
    let listener = std::os::unix::net::UnixDatagram::bind(&notify).unwrap();
    listener
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut child = {
        let _guard = sysctl_lock(false);
        s.env
            .cmd()
            .args([
                "daemon",
                "--backend",
                "inotify",
                "--rename-source",
                "inotify",
            ])
            .arg(&work.root)
            .env("NOTIFY_SOCKET", &notify)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut buf = [0u8; 512];
    let n = listener.recv(&mut buf).expect("READY=1 within 30 s");
    let message = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(message.contains("READY=1"), "{message}");
    // Ready means watching and answering; the start-up reconcile may still run, and `sync` waits for
    // it: after it, everything that existed before is searchable.
    let synced = s.env.run(&["sync", "--timeout", "60"]);
    assert!(synced.status.success(), "{synced:?}");
    verify(&s.env, &work.root);
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let n = listener.recv(&mut buf).expect("STOPPING=1");
    assert!(String::from_utf8_lossy(&buf[..n]).contains("STOPPING=1"));
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_daemon_short_of_file_descriptors_still_converges() {
    if !require_root("daemon fd exhaustion") {
        return;
    }
    let s = setup(81);
    let mut work = s.work;
    work.run(100);
    // A hard limit the daemon cannot raise: event descriptors must be budgeted, and whatever cannot be
    // delivered must become a rescan, never a silent loss.
    let fandex = env!("CARGO_BIN_EXE_fandex");
    let log = std::fs::File::create(s.env.tmp.path().join("daemon.log")).unwrap();
    // Killed when dropped, also when an assertion fails.
    let daemon = DaemonProc {
        child: {
            let _guard = sysctl_lock(false);
            std::process::Command::new("prlimit")
                .args(["--nofile=1024:1024", "--"])
                .arg(fandex)
                .args([
                    "daemon",
                    "--backend",
                    "fanotify",
                    "--rename-source",
                    "fanotify",
                ])
                .arg(&work.root)
                .env("FANDEX_INDEX_DIR", &s.env.index)
                .env("XDG_CONFIG_HOME", s.env.tmp.path().join("no-config"))
                .env(
                    "RUST_LOG",
                    std::env::var("FANDEX_TEST_LOG").unwrap_or_else(|_| "info".into()),
                )
                .stderr(log)
                .spawn()
                .expect("prlimit (util-linux)")
        },
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while s.env.run(&["status"]).status.code() != Some(0) {
        assert!(
            std::time::Instant::now() < deadline,
            "not ready: {}",
            s.env.daemon_log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    for i in 0..5000 {
        std::fs::write(
            work.root.join(format!("burst{i}")),
            format!("word{}z", i % 60),
        )
        .unwrap();
    }
    work.run(300);
    s.env.sync();
    verify(&s.env, &work.root);
    let status = s.env.status_json();
    assert_eq!(status["state"], "watching", "{status}");
    drop(daemon);
}

#[test]
fn status_lists_the_most_recently_modified_failures_first() {
    if !require_root("daemon status failures") {
        return;
    }
    let env = Env::new();
    let fs = Tmpfs::mount(&env.tmp.path().join("fs"));
    let root = fs.path.join("root");
    std::fs::create_dir_all(&root).unwrap();
    // 25 corrupt gzip files, modified one minute apart, in an order unrelated to their names.
    for i in 0..25u64 {
        let path = root.join(format!("bad{:02}.txt.gz", (i * 7) % 25));
        std::fs::write(&path, b"\x1f\x8b\x08\x00 not really gzip").unwrap();
        let when = 1_700_000_000 + i * 60;
        let status = std::process::Command::new("touch")
            .arg("-d")
            .arg(format!("@{when}"))
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let daemon = DaemonProc::start(&env, &root, "inotify", "inotify");
    let status = env.status_json();
    assert_eq!(status["catalog"]["failed"], 25, "{status}");
    let listed: Vec<String> = status["catalog"]["recent_failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = (5..25u64)
        .rev()
        .map(|i| {
            root.join(format!("bad{:02}.txt.gz", (i * 7) % 25))
                .display()
                .to_string()
        })
        .collect();
    assert_eq!(listed, expected);
    drop(daemon);
}

#[test]
fn starting_on_inotify_over_many_directories_loses_no_events() {
    if !require_root("inotify start over many directories") {
        return;
    }
    let env = Env::new();
    let fs = Tmpfs::mount(&env.tmp.path().join("fs"));
    let root = fs.path.join("root");
    // More directories than the kernel queues events (16384 by default): listing each one while adding
    // its watch must not queue an event per directory (notify 8 watched IN_OPEN, and every start ended
    // in a queue overflow and a rescan of the whole root).
    for i in 0..200 {
        for j in 0..100 {
            std::fs::create_dir_all(root.join(format!("d{i}/e{j}"))).unwrap();
        }
        std::fs::write(root.join(format!("d{i}/f.txt")), "word1z").unwrap();
    }
    let _guard = sysctl_lock(false);
    let daemon = DaemonProc::start(&env, &root, "inotify", "inotify");
    // Reading files (the daemon's own reads included) queues nothing either.
    for i in 0..200 {
        std::fs::read(root.join(format!("d{i}/f.txt"))).unwrap();
    }
    std::fs::write(root.join("d0/new.txt"), "word2z").unwrap();
    env.sync();
    let status = env.status_json();
    assert_eq!(
        status["watcher"]["counters"]["rescans"],
        serde_json::json!({}),
        "{status}"
    );
    assert_eq!(
        status["totals"]["rescans"],
        serde_json::json!({}),
        "{status}"
    );
    assert_eq!(env.search("word2z").len(), 1);
    drop(daemon);
}
