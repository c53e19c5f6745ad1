//! A root's filesystem unmounted while the daemon runs (issue 10 item 10): the daemon must not keep it
//! busy, must hide its files while it is away (without deleting them), say so in `status`, and reconcile
//! it when it returns. As root, on private mounts: the root is a bind mount of a tmpfs, so the files
//! survive the unmount and can change while it is away.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::Env;
use common::daemon::{DaemonProc, Tmpfs, require_root};
use nix::mount::{MntFlags, MsFlags};

fn bind(from: &Path, to: &Path) {
    nix::mount::mount(Some(from), to, None::<&str>, MsFlags::MS_BIND, None::<&str>)
        .unwrap_or_else(|e| panic!("bind {} on {}: {e}", from.display(), to.display()));
}

/// Waits until the daemon's `offline_roots` satisfies `want`; returns them.
fn wait_offline(env: &Env, want: impl Fn(&[serde_json::Value]) -> bool) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let status = env.status_json();
        let offline = status["offline_roots"]
            .as_array()
            .cloned()
            .expect("status has offline_roots");
        if want(&offline) {
            return offline;
        }
        assert!(
            Instant::now() < deadline,
            "offline roots never became as expected: {offline:?}\n{}",
            env.daemon_log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn set(paths: &[&Path]) -> BTreeSet<PathBuf> {
    paths.iter().map(|p| p.to_path_buf()).collect()
}

/// One unmount/remount cycle with `flags` (plain or lazy).
fn cycle(env: &Env, store: &Path, root: &Path, flags: MntFlags, new_word: &str, old_word: &str) {
    nix::mount::umount2(root, flags).unwrap_or_else(|e| {
        panic!(
            "umount {} ({flags:?}) while the daemon runs: {e}",
            root.display()
        )
    });
    let offline = wait_offline(env, |o| o.len() == 1);
    assert_eq!(offline[0]["root"].as_str(), Some(root.to_str().unwrap()));
    assert!(offline[0]["since"].as_str().is_some_and(|s| !s.is_empty()));
    let human = String::from_utf8(env.run(&["status"]).stdout).unwrap();
    assert!(human.contains("offline since"), "status says: {human}");
    // Its files are neither returned nor counted, though their records stay.
    assert!(env.search("quokka").is_empty());
    assert!(env.search(old_word).is_empty());
    // Nothing to wait for in an offline root.
    env.sync();
    // Changed while unmounted.
    std::fs::write(store.join("change.txt"), format!("beta {new_word}")).unwrap();
    bind(store, root);
    env.sync();
    assert!(wait_offline(env, <[_]>::is_empty).is_empty());
    assert_eq!(env.search(new_word), set(&[&root.join("change.txt")]));
    assert!(env.search(old_word).is_empty());
    assert_eq!(env.search("quokka"), set(&[&root.join("keep.txt")]));
}

fn unmount_and_return(backend: &str, unmounts: &[MntFlags]) {
    if !require_root("unmounting a root") {
        return;
    }
    let env = Env::new();
    let top = Tmpfs::mount(&env.tmp.path().join("mnt"));
    let store = Tmpfs::mount(&top.path.join("store"));
    let root = top.path.join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(store.path.join("keep.txt"), "alpha quokka").unwrap();
    std::fs::write(store.path.join("change.txt"), "beta walrus").unwrap();
    bind(&store.path, &root);
    let daemon = DaemonProc::start(&env, &root, backend, backend);
    env.sync();
    assert_eq!(env.search("quokka"), set(&[&root.join("keep.txt")]));
    assert_eq!(env.search("walrus"), set(&[&root.join("change.txt")]));

    let words = ["walrus", "narwhal", "pelican", "ibis"];
    for (i, flags) in unmounts.iter().enumerate() {
        cycle(&env, &store.path, &root, *flags, words[i + 1], words[i]);
    }

    drop(daemon);
    let _ = nix::mount::umount2(&root, MntFlags::MNT_DETACH);
}

#[test]
fn unmounted_root_is_hidden_then_reconciled_fanotify() {
    unmount_and_return("auto", &[MntFlags::empty(), MntFlags::MNT_DETACH]);
}

#[test]
fn lazily_unmounted_root_is_hidden_then_reconciled() {
    // A lazy unmount succeeds even when the root is pinned: what matters is that its files disappear.
    unmount_and_return("auto", &[MntFlags::MNT_DETACH]);
}

#[test]
fn unmounted_root_is_hidden_then_reconciled_inotify() {
    unmount_and_return("inotify", &[MntFlags::empty(), MntFlags::MNT_DETACH]);
}

/// A root directory that vanishes (moved away) is offline too: its records are kept, hidden, and the
/// files are searchable again once it is back.
#[test]
fn vanished_root_is_hidden_not_deleted() {
    if !require_root("a vanishing root") {
        return;
    }
    let env = Env::new();
    let top = Tmpfs::mount(&env.tmp.path().join("mnt"));
    let root = top.path.join("root");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("keep.txt"), "alpha quokka").unwrap();
    let daemon = DaemonProc::start(&env, &root, "auto", "auto");
    env.sync();
    assert_eq!(env.search("quokka"), set(&[&root.join("keep.txt")]));
    let away = top.path.join("away");
    std::fs::rename(&root, &away).unwrap();
    let offline = wait_offline(&env, |o| o.len() == 1);
    assert!(
        offline[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("gone")),
        "{offline:?}"
    );
    assert!(env.search("quokka").is_empty());
    env.sync();
    // Away for longer than a rescan's backoff: nothing deleted the records meanwhile.
    std::thread::sleep(Duration::from_millis(1500));
    std::fs::write(away.join("new.txt"), "gamma quokka").unwrap();
    std::fs::rename(&away, &root).unwrap();
    env.sync();
    assert!(wait_offline(&env, <[_]>::is_empty).is_empty());
    assert_eq!(
        env.search("quokka"),
        set(&[&root.join("keep.txt"), &root.join("new.txt")])
    );
    let status = env.status_json();
    assert_eq!(
        status["totals"]["removed"].as_u64(),
        Some(0),
        "no record was removed: {status}"
    );
    drop(daemon);
}
