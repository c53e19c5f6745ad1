//! Roots on network and FUSE filesystems (issue 15): changes made elsewhere (another NFS client, or below
//! a FUSE filesystem's source) are never notified, so such a root is walked every `watch.poll_interval`
//! and `status` says so. Tested with bindfs (FUSE) over a private tmpfs, its source changed behind its
//! back.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::Env;
use common::daemon::{DaemonProc, Tmpfs, require_root};

/// A FUSE mount, detached when dropped (bindfs exits with it).
struct Fuse(PathBuf);

impl Drop for Fuse {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
    }
}

/// Waits until a search for `word` returns exactly `want`.
fn wait_found(env: &Env, word: &str, want: &[&Path], within: Duration) {
    let want: BTreeSet<PathBuf> = want.iter().map(|p| p.to_path_buf()).collect();
    let deadline = Instant::now() + within;
    loop {
        let got = env.search(word);
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{word}: {got:?} after {within:?}, want {want:?}\n{}",
            env.daemon_log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn fuse_root_changed_behind_its_back_is_found_by_polling() {
    if !require_root("mounting bindfs (FUSE)") {
        return;
    }
    let env = Env::new();
    let fs = Tmpfs::mount(&env.tmp.path().join("fs"));
    let (source, mnt) = (fs.path.join("source"), fs.path.join("fuse"));
    std::fs::create_dir_all(source.join("root")).unwrap();
    std::fs::create_dir_all(&mnt).unwrap();
    std::fs::write(source.join("root/a.txt"), "quokka").unwrap();
    let out = Command::new("bindfs")
        .arg(&source)
        .arg(&mnt)
        .output()
        .expect("bindfs (scripts/setup.sh installs it)");
    assert!(out.status.success(), "bindfs: {out:?}");
    let _fuse = Fuse(mnt.clone());
    let root = mnt.join("root");
    let config = env.tmp.path().join("config.toml");
    std::fs::write(&config, "[watch]\npoll_interval = \"1s\"\n").unwrap();
    let daemon = DaemonProc::start_with(
        &env,
        &root,
        "auto",
        "auto",
        &["--config", config.to_str().unwrap()],
    );
    env.sync();
    wait_found(&env, "quokka", &[&root.join("a.txt")], Duration::ZERO);

    let status = env.status_json();
    let fs0 = &status["watcher"]["filesystems"][0];
    assert_eq!(fs0["remote"], "fuse", "{status}");
    assert_eq!(fs0["poll_interval_seconds"], 1, "{status}");
    let human = String::from_utf8(env.run(&["status"]).stdout).unwrap();
    assert!(
        human.contains(&format!(
            "{}: polled every 1 s: remote changes are not notified",
            root.display()
        )),
        "{human}"
    );

    // Behind FUSE's back: no event reports these; the next poll finds them.
    std::fs::write(source.join("root/b.txt"), "narwhal").unwrap();
    std::fs::write(source.join("root/a.txt"), "pelican and more").unwrap();
    wait_found(
        &env,
        "narwhal",
        &[&root.join("b.txt")],
        Duration::from_secs(30),
    );
    wait_found(
        &env,
        "pelican",
        &[&root.join("a.txt")],
        Duration::from_secs(30),
    );
    wait_found(&env, "quokka", &[], Duration::ZERO);
    let status = env.status_json();
    assert!(
        status["totals"]["rescans"]["poll of a network or FUSE filesystem"]
            .as_u64()
            .is_some_and(|n| n >= 1),
        "{status}"
    );
    drop(daemon);
}

/// A local filesystem is not polled, and says nothing about polling.
#[test]
fn local_root_is_not_polled() {
    if !require_root("a daemon on a private tmpfs") {
        return;
    }
    let env = Env::new();
    let fs = Tmpfs::mount(&env.tmp.path().join("fs"));
    std::fs::write(fs.path.join("a.txt"), "quokka").unwrap();
    let config = env.tmp.path().join("config.toml");
    std::fs::write(&config, "[watch]\npoll_interval = \"1s\"\n").unwrap();
    let daemon = DaemonProc::start_with(
        &env,
        &fs.path,
        "auto",
        "auto",
        &["--config", config.to_str().unwrap()],
    );
    env.sync();
    std::thread::sleep(Duration::from_millis(2500));
    let status = env.status_json();
    let fs0 = &status["watcher"]["filesystems"][0];
    assert!(fs0["remote"].is_null(), "{status}");
    assert!(fs0["poll_interval_seconds"].is_null(), "{status}");
    assert!(
        status["totals"]["rescans"]
            .get("poll of a network or FUSE filesystem")
            .is_none(),
        "{status}"
    );
    let human = String::from_utf8(env.run(&["status"]).stdout).unwrap();
    assert!(!human.contains("polled"), "{human}");
    drop(daemon);
}
