//! Files known by their filesystem's volume, not `st_dev` (issue 15): an image indexed on one loop
//! device and mounted again on another (a new device number, as a disk plugged into another port or a
//! btrfs subvolume after a reboot gets) reads nothing again. As root, on loop images of their own in the
//! test's temporary directory; every mount and loop device is released at the end.

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::Env;
use common::daemon::{DaemonProc, Tmpfs, require_root};
use common::image::{Image, run_ok};

fn dev_of(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().dev()
}

fn counts(summary: &serde_json::Value) -> (u64, u64) {
    (
        summary["unchanged"].as_u64().unwrap(),
        summary["indexed"].as_u64().unwrap(),
    )
}

fn set(paths: &[PathBuf]) -> BTreeSet<PathBuf> {
    paths.iter().cloned().collect()
}

#[test]
fn ext4_image_mounted_from_another_loop_device_reads_nothing_again() {
    if !require_root("loop-mounting an ext4 image") {
        return;
    }
    let env = Env::new();
    let mut image = Image::make(env.tmp.path().join("ext4.img"), "ext4", 64);
    let mnt = env.tmp.path().join("mnt");
    let dev = image.attach();
    image.mount(&dev, &mnt);
    let mnt = std::fs::canonicalize(&mnt).unwrap();
    for i in 0..20 {
        std::fs::write(mnt.join(format!("f{i}.txt")), format!("quokka number{i}")).unwrap();
    }
    std::fs::create_dir(mnt.join("sub")).unwrap();
    std::fs::write(mnt.join("sub/deep.txt"), "walrus").unwrap();
    assert_eq!(counts(&env.index(&[&mnt])), (0, 21));
    let before = dev_of(&mnt);

    image.remount_on_another_device(&mnt);
    assert_ne!(dev_of(&mnt), before, "the remount has another st_dev");
    assert_eq!(counts(&env.index(&[])), (21, 0), "nothing is read again");
    assert_eq!(env.search("walrus"), set(&[mnt.join("sub/deep.txt")]));

    // A change made while unmounted is still found.
    image.umount(&mnt);
    let dev = image.devices.last().cloned().unwrap();
    let scratch = env.tmp.path().join("scratch");
    image.mount(&dev, &scratch);
    std::fs::write(scratch.join("f3.txt"), "changed narwhal text").unwrap();
    image.umount(&scratch);
    image.remount_on_another_device(&mnt);
    assert_eq!(counts(&env.index(&[])), (20, 1));
    assert_eq!(env.search("narwhal"), set(&[mnt.join("f3.txt")]));
}

#[test]
fn btrfs_subvolumes_mounted_from_another_loop_device_read_nothing_again() {
    if !require_root("loop-mounting a btrfs image") {
        return;
    }
    let env = Env::new();
    let mut image = Image::make(env.tmp.path().join("btrfs.img"), "btrfs", 256);
    let mnt = env.tmp.path().join("mnt");
    let dev = image.attach();
    image.mount(&dev, &mnt);
    let mnt = std::fs::canonicalize(&mnt).unwrap();
    // Two subvolumes: each has its own st_dev and its own inode numbers (the same ones in both).
    let subs = [mnt.join("one"), mnt.join("two")];
    for (n, sub) in subs.iter().enumerate() {
        run_ok(
            Command::new("btrfs")
                .args(["-q", "subvolume", "create"])
                .arg(sub),
        );
        for i in 0..5 {
            std::fs::write(sub.join(format!("f{i}.txt")), format!("pelican{n} item{i}")).unwrap();
        }
    }
    assert_ne!(dev_of(&subs[0]), dev_of(&subs[1]));
    assert_eq!(
        std::fs::metadata(subs[0].join("f0.txt")).unwrap().ino(),
        std::fs::metadata(subs[1].join("f0.txt")).unwrap().ino(),
        "subvolumes number their inodes alike"
    );
    assert_eq!(counts(&env.index(&[&subs[0], &subs[1]])), (0, 10));
    let before = [dev_of(&subs[0]), dev_of(&subs[1])];

    // Hold the anonymous device numbers btrfs had, so the remount gets others.
    image.umount(&mnt);
    let holders: Vec<Tmpfs> = (0..4)
        .map(|i| Tmpfs::mount(&env.tmp.path().join(format!("hold{i}"))))
        .collect();
    image.remount_on_another_device(&mnt);
    let after = [dev_of(&subs[0]), dev_of(&subs[1])];
    assert!(
        before[0] != after[0] && before[1] != after[1],
        "the subvolumes have other device numbers: {before:?} then {after:?}"
    );
    assert_eq!(counts(&env.index(&[])), (10, 0), "nothing is read again");
    assert_eq!(env.search("pelican1"), files_in(&subs[1]));
    drop(holders);
}

fn files_in(dir: &Path) -> BTreeSet<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

/// The daemon sees the root's filesystem go (offline) and come back on another loop device: the same
/// volume, so the root is online again and its reconcile walk reads nothing.
#[test]
fn daemon_root_back_on_another_loop_device_is_online_without_reading() {
    if !require_root("loop-mounting an ext4 image under the daemon") {
        return;
    }
    let env = Env::new();
    let mut image = Image::make(env.tmp.path().join("ext4.img"), "ext4", 64);
    let mnt = env.tmp.path().join("mnt");
    let dev = image.attach();
    image.mount(&dev, &mnt);
    let mnt = std::fs::canonicalize(&mnt).unwrap();
    for i in 0..10 {
        std::fs::write(mnt.join(format!("f{i}.txt")), format!("ibis item{i}")).unwrap();
    }
    let daemon = DaemonProc::start(&env, &mnt, "auto", "auto");
    env.sync();
    assert_eq!(env.search("ibis").len(), 10);
    let indexed = |env: &Env| env.status_json()["totals"]["indexed"].as_u64().unwrap();
    let before = indexed(&env);

    image.umount(&mnt);
    env.wait_for("the root to go offline", |s| {
        s["offline_roots"].as_array().is_some_and(|o| o.len() == 1)
    });
    assert!(env.search("ibis").is_empty());
    image.remount_on_another_device(&mnt);
    env.wait_for("the root to come back", |s| {
        s["offline_roots"].as_array().is_some_and(Vec::is_empty)
    });
    env.sync();
    assert_eq!(env.search("ibis").len(), 10);
    assert_eq!(indexed(&env), before, "the reconcile walk read nothing");
    // And it is watched again: a new file is found.
    std::fs::write(mnt.join("new.txt"), "ibis newcomer").unwrap();
    env.sync();
    assert_eq!(env.search("newcomer"), set(&[mnt.join("new.txt")]));
    drop(daemon);
}
