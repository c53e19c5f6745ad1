//! Faults and hostile neighbours around the daemon (issue 10 items 7, 9, 12, 13, 14): pre-created sync
//! cookie names, the index directory removed under a running daemon, pseudo-filesystem roots, a full
//! index filesystem, and the modes of the files in the index directory.

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::Env;
use common::daemon::{DaemonProc, Tmpfs, require_root};
use common::users::user;

/// A tmpfs of `size` (e.g. "8m") on `at`, unmounted on drop.
struct SmallTmpfs {
    path: PathBuf,
}

impl SmallTmpfs {
    fn mount(at: &Path, size: &str) -> Self {
        fs::create_dir_all(at).unwrap();
        nix::mount::mount(
            Some("tmpfs"),
            at,
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            Some(format!("size={size},mode=0700").as_str()),
        )
        .unwrap_or_else(|e| panic!("mount tmpfs on {}: {e}", at.display()));
        Self {
            path: fs::canonicalize(at).unwrap(),
        }
    }
}

impl Drop for SmallTmpfs {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.path, nix::mount::MntFlags::MNT_DETACH);
    }
}

/// Waits for the daemon to exit by itself; returns its exit code and how long it took.
fn wait_exit(daemon: &mut DaemonProc, limit: Duration) -> (Option<i32>, Duration) {
    let started = Instant::now();
    loop {
        if let Some(status) = daemon.child.try_wait().unwrap() {
            return (status.code(), started.elapsed());
        }
        assert!(
            started.elapsed() < limit,
            "the daemon did not exit within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every path under `dir` whose mode lets anyone but the owner in (files beyond 0600, directories other
/// than 0700).
fn loose_modes(dir: &Path) -> Vec<String> {
    let mut loose = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap().flatten() {
            let meta = fs::symlink_metadata(entry.path()).unwrap();
            let mode = meta.mode() & 0o7777;
            let ok = if meta.is_dir() {
                stack.push(entry.path());
                mode == 0o700
            } else {
                mode & 0o077 == 0
            };
            if !ok {
                loose.push(format!("{} {mode:o}", entry.path().display()));
            }
        }
    }
    loose
}

#[test]
fn pseudo_filesystem_roots_are_refused() {
    let env = Env::new();
    let mut refused = vec![("/proc", "proc")];
    if Path::new("/sys/kernel").is_dir() {
        refused.push(("/sys", "sysfs"));
    }
    for (root, fstype) in refused {
        for command in ["index", "daemon"] {
            let started = Instant::now();
            let out = env.run(&[command, root]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{command} {root}: {stderr}");
            assert!(
                stderr.contains(&format!("{fstype} filesystem")),
                "{command} {root}: {stderr}"
            );
            assert_eq!(
                stderr.lines().filter(|l| !l.contains(" INFO ")).count(),
                1,
                "one line: {stderr}"
            );
            assert!(started.elapsed() < Duration::from_secs(10));
        }
    }
    // A root from the configuration is checked too.
    let config = env.tmp.path().join("config.toml");
    fs::write(&config, "roots = [\"/proc/self\"]\n").unwrap();
    let out = env.run(&["--config", config.to_str().unwrap(), "index"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("proc filesystem"), "{stderr}");
}

#[test]
fn index_files_are_private() {
    let env = Env::new();
    env.write(b"a.txt", b"alpha private words");
    env.index(&[&env.root]);
    let loose = loose_modes(&env.index);
    assert!(loose.is_empty(), "after fandex index: {loose:?}");
    // An index made before files were created private (or loosened by hand) is tightened at open.
    let segment = fs::read_dir(env.index.join("tantivy"))
        .unwrap()
        .flatten()
        .find(|e| e.path().is_file())
        .unwrap()
        .path();
    fs::set_permissions(&segment, fs::Permissions::from_mode(0o644)).unwrap();
    fs::set_permissions(env.index.join("catalog"), fs::Permissions::from_mode(0o755)).unwrap();
    let daemon = DaemonProc::start(&env, &env.root, "inotify", "inotify");
    assert!(
        loose_modes(&env.index).is_empty(),
        "at daemon start: {:?}",
        loose_modes(&env.index)
    );
    for i in 0..20 {
        env.write(format!("f{i}.txt").as_bytes(), b"beta words");
    }
    env.sync();
    assert_eq!(daemon.terminate(), Some(0));
    let loose = loose_modes(&env.index);
    assert!(loose.is_empty(), "after a daemon run: {loose:?}");
}

#[test]
fn precreated_cookie_names_neither_break_sync_nor_get_deleted() {
    if !require_root("sync cookies in a shared root (needs fanotify and useradd)") {
        return;
    }
    let (uid, gid) = user("fandex-test-a");
    let env = Env::new();
    let fs_root = Tmpfs::mount(&env.tmp.path().join("mnt"));
    let root = fs_root.path.join("shared");
    fs::create_dir(&root).unwrap();
    fs::set_permissions(&root, fs::Permissions::from_mode(0o777)).unwrap();
    let victim = fs_root.path.join("victim.txt");
    fs::write(&victim, "victim text").unwrap();
    let mut daemon = DaemonProc::start(&env, &root, "fanotify", "fanotify");
    let pid = daemon.child.id();
    // What an unprivileged user can do in a world-writable root: occupy the names the daemon used to
    // take (its pid is in `status`), and plant cookie-like files and links.
    let mut planted = Vec::new();
    for n in 0..300 {
        planted.push(root.join(format!(".fandex-sync-{pid}-{n}")));
    }
    planted.push(root.join(".fandex-sync-0000000000000000deadbeefdeadbeef"));
    for p in &planted {
        fs::write(p, "").unwrap();
        std::os::unix::fs::chown(p, Some(uid), Some(gid)).unwrap();
    }
    let link = root.join(".fandex-sync-link");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    for _ in 0..3 {
        env.sync();
    }
    fs::write(root.join("after.txt"), "gamma").unwrap();
    env.sync();
    assert_eq!(
        env.search("gamma"),
        [root.join("after.txt")].into_iter().collect()
    );
    // A restart (the daemon removes its own leftovers then) leaves them all alone too.
    assert_eq!(daemon.terminate(), Some(0));
    daemon = DaemonProc::start(&env, &root, "fanotify", "fanotify");
    env.sync();
    for p in &planted {
        assert!(p.is_file(), "{} was deleted", p.display());
    }
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_to_string(&victim).unwrap(), "victim text");
    // The daemon's own cookies are gone: only the planted names are left.
    let cookies = fs::read_dir(&root)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".fandex-sync-"))
        .count();
    assert_eq!(cookies, planted.len() + 1);
    assert_eq!(daemon.terminate(), Some(0));
}

/// Starts a daemon whose index directory is a private tmpfs, on a root of its own.
fn daemon_on_tmpfs_index(size: &str) -> (Env, Tmpfs, SmallTmpfs, DaemonProc) {
    let mut env = Env::new();
    let roots = Tmpfs::mount(&env.tmp.path().join("mnt"));
    let index_fs = SmallTmpfs::mount(&env.tmp.path().join("indexfs"), size);
    env.index = index_fs.path.join("index");
    let root = roots.path.join("root");
    fs::create_dir(&root).unwrap();
    fs::write(root.join("a.txt"), "alpha").unwrap();
    let daemon = DaemonProc::start(&env, &root, "fanotify", "fanotify");
    env.root = root;
    (env, roots, index_fs, daemon)
}

#[test]
fn removing_the_index_directory_stops_the_daemon_with_an_error() {
    if !require_root("index loss (needs mounts)") {
        return;
    }
    let (env, _roots, _index_fs, mut daemon) = daemon_on_tmpfs_index("64m");
    env.sync();
    fs::remove_dir_all(&env.index).unwrap();
    fs::write(env.root.join("b.txt"), "beta").unwrap();
    let (code, took) = wait_exit(&mut daemon, Duration::from_secs(10));
    let log = env.daemon_log();
    assert_eq!(code, Some(4), "{log}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(
        log.contains(&format!(
            "the index directory {} was removed",
            env.index.display()
        )),
        "{log}"
    );
    // Started again, it rebuilds the index.
    let daemon = DaemonProc::start(&env, &env.root, "fanotify", "fanotify");
    env.sync();
    assert_eq!(env.search("beta"), [env.root.join("b.txt")].into());
    assert_eq!(daemon.terminate(), Some(0));
}

#[test]
fn sigterm_right_after_the_index_is_removed_does_not_hang() {
    if !require_root("index loss (needs mounts)") {
        return;
    }
    let (env, _roots, _index_fs, mut daemon) = daemon_on_tmpfs_index("64m");
    env.sync();
    for i in 0..200 {
        fs::write(env.root.join(format!("f{i}.txt")), format!("word{i}")).unwrap();
    }
    fs::remove_dir_all(&env.index).unwrap();
    let pid = nix::unistd::Pid::from_raw(daemon.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let (code, took) = wait_exit(&mut daemon, Duration::from_secs(15));
    let log = env.daemon_log();
    assert_eq!(code, Some(4), "{log}");
    assert!(took < Duration::from_secs(5), "took {took:?}: {log}");
    assert!(log.contains("was removed"), "{log}");
}

/// The names `totals.rescans` may use.
const RESCAN_KINDS: &[&str] = &[
    "queue overflow",
    "event fd unavailable",
    "watch failed",
    "new directory",
    "root moved or deleted",
    "root back online",
    "configuration reloaded",
    "recovery after a failed batch",
    "retry after a resource shortage",
    "too many pending changes",
];

#[test]
fn a_full_index_filesystem_clears_its_error_once_freed() {
    if !require_root("full index filesystem (needs mounts)") {
        return;
    }
    let (env, _roots, index_fs, daemon) = daemon_on_tmpfs_index("16m");
    env.sync();
    // Fill the index's filesystem.
    let filler = index_fs.path.join("filler");
    {
        use std::io::Write;
        let mut f = fs::File::create(&filler).unwrap();
        let chunk = vec![b'x'; 64 << 10];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
    }
    let text: String = (0..4000).map(|i| format!("fill{i}word ")).collect();
    for i in 0..100 {
        fs::write(env.root.join(format!("big{i}.txt")), &text).unwrap();
    }
    let status_error = |env: &Env| env.status_json()["last_error"].as_str().map(str::to_owned);
    let deadline = Instant::now() + Duration::from_secs(20);
    // (tantivy reports a full disk as a killed writer thread, without the errno.)
    let error = loop {
        if let Some(e) = status_error(&env) {
            break e;
        }
        assert!(
            Instant::now() < deadline,
            "no error while the disk is full: {}",
            env.daemon_log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!error.is_empty());
    fs::remove_file(&filler).unwrap();
    fs::write(env.root.join("after.txt"), "omega").unwrap();
    env.sync();
    let deadline = Instant::now() + Duration::from_secs(20);
    while status_error(&env).is_some() {
        assert!(
            Instant::now() < deadline,
            "the error stays after recovery: {}",
            env.status_json()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(env.search("omega"), [env.root.join("after.txt")].into());
    assert_eq!(env.search("fill7word").len(), 100);
    let status = env.status_json();
    let rescans = status["totals"]["rescans"].as_object().unwrap();
    assert!(
        !rescans.is_empty(),
        "the failed batches were rescanned: {status}"
    );
    for key in rescans.keys() {
        assert!(
            RESCAN_KINDS.contains(&key.as_str()),
            "rescan reason {key:?} is not a kind"
        );
    }
    assert_eq!(daemon.terminate(), Some(0));
}
