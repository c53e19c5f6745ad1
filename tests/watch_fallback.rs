//! Per-filesystem fallback: overlayfs (EOPNOTSUPP), btrfs subvolumes (EXDEV) and FUSE (ENODEV) refuse
//! fanotify FID marks, so a root on them gets fanotify for content and inotify for renames, says so (and
//! why) in `status`, and still indexes every change.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::Env;
use common::daemon::{DaemonProc, Tmpfs, Workload, require_root, verify};

/// A mount (overlayfs, a loop btrfs, FUSE) detached when dropped.
struct Overlay(PathBuf);

impl Drop for Overlay {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.0, nix::mount::MntFlags::MNT_DETACH);
    }
}

#[test]
fn overlayfs_falls_back_to_inotify_for_renames() {
    if !require_root("overlayfs fallback") {
        return;
    }
    let env = Env::new();
    let fs = Tmpfs::mount(&env.tmp.path().join("fs"));
    let (lower, upper, work, merged) = (
        fs.path.join("lower"),
        fs.path.join("upper"),
        fs.path.join("work"),
        fs.path.join("merged"),
    );
    for d in [&lower, &upper, &work, &merged] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(lower.join("old.txt"), "word1z").unwrap();
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        upper.display(),
        work.display()
    );
    nix::mount::mount(
        Some("overlay"),
        &merged,
        Some("overlay"),
        nix::mount::MsFlags::empty(),
        Some(options.as_str()),
    )
    .expect("mount overlayfs");
    let _overlay = Overlay(merged.clone());
    let root = merged.join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::rename(merged.join("old.txt"), root.join("old.txt")).unwrap();
    let daemon = DaemonProc::start(&env, &root, "auto", "auto");
    let status = env.status_json();
    let fs0 = &status["watcher"]["filesystems"][0];
    assert_eq!(fs0["content"], "fanotify", "{status}");
    assert_eq!(fs0["namespace"], "inotify", "{status}");
    assert!(!fs0["reason"].as_str().unwrap_or("").is_empty());
    // Changes of every kind still arrive.
    std::fs::write(root.join("new.txt"), "word2z").unwrap();
    std::fs::create_dir(root.join("d")).unwrap();
    std::fs::rename(root.join("old.txt"), root.join("d/moved.txt")).unwrap();
    std::fs::write(root.join("d/moved.txt"), "word3z").unwrap();
    env.sync();
    verify(&env, &root);
    drop(daemon);
}

/// Runs `cmd`, which must succeed (under `CI=true` a missing tool fails the test: scripts/setup.sh
/// installs it).
fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (scripts/setup.sh installs it)"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A daemon with `auto` choices on `root` picks fanotify for content and inotify for names, with
/// `reason` among its words in `status`, and converges under a seeded workload.
fn falls_back_and_converges(env: &Env, mut work: Workload, reason: &str) {
    let root = &work.root.clone();
    work.run(200);
    let daemon = DaemonProc::start(env, root, "auto", "auto");
    let status = env.status_json();
    let fs0 = &status["watcher"]["filesystems"][0];
    assert_eq!(fs0["content"], "fanotify", "{status}");
    assert_eq!(fs0["namespace"], "inotify", "{status}");
    assert!(
        fs0["reason"].as_str().unwrap_or("").contains(reason),
        "{status}"
    );
    work.run(1500);
    env.sync();
    verify(env, root);
    drop(daemon);
}

#[test]
fn btrfs_subvolume_falls_back_to_inotify_for_renames() {
    if !require_root("btrfs subvolume fallback") {
        return;
    }
    let env = Env::new();
    let fs = Tmpfs::mount(&env.tmp.path().join("fs"));
    let image = fs.path.join("btrfs.img");
    let mnt = fs.path.join("btrfs");
    std::fs::create_dir_all(&mnt).unwrap();
    std::fs::File::create(&image)
        .unwrap()
        .set_len(300 << 20)
        .unwrap();
    run(Command::new("mkfs.btrfs").arg("-q").arg(&image));
    run(Command::new("mount")
        .args(["-o", "loop"])
        .arg(&image)
        .arg(&mnt));
    let _mounted = Overlay(mnt.clone());
    run(Command::new("btrfs")
        .args(["-q", "subvolume", "create"])
        .arg(mnt.join("sub")));
    let root = mnt.join("sub").join("root");
    let work = Workload::new(&root, &mnt.join("sub").join("outside"), 11);
    falls_back_and_converges(&env, work, "EXDEV");
}

#[test]
fn fuse_falls_back_to_inotify_for_renames() {
    if !require_root("FUSE fallback") {
        return;
    }
    let env = Env::new();
    let fs = Tmpfs::mount(&env.tmp.path().join("fs"));
    let (source, mnt) = (fs.path.join("source"), fs.path.join("fuse"));
    for d in [&source, &mnt] {
        std::fs::create_dir_all(d).unwrap();
    }
    // bindfs: a FUSE filesystem showing `source`.
    run(Command::new("bindfs").arg(&source).arg(&mnt));
    let _mounted = Overlay(mnt.clone());
    let work = Workload::new(&mnt.join("root"), &mnt.join("outside"), 12).without_hard_links();
    falls_back_and_converges(&env, work, "ENODEV");
}
