//! Per-filesystem fallback: overlayfs refuses fanotify FID marks (EOPNOTSUPP), so a root on it gets
//! fanotify for content and inotify for renames, says so in `status`, and still indexes every change.

mod common;

use std::path::PathBuf;

use common::Env;
use common::daemon::{DaemonProc, Tmpfs, require_root, verify};

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
