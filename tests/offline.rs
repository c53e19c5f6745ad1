//! A root whose filesystem is not mounted when the daemon starts or `fandex index` runs (issue 15): an
//! unplugged disk, a stopped share. It is offline: not walked (its empty mount point would remove every
//! record), its records kept and its files hidden, `status` says since when, the other roots are served;
//! when its filesystem is mounted again it is reconciled without reading anything again. As root, on an
//! ext4 image on a loop device, in a tmpfs of the test's own; everything is released at the end.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::Env;
use common::daemon::{DaemonProc, Tmpfs, require_root};
use common::image::Image;

/// A tmpfs of the test's own holding an ext4 image mounted at `mnt` with `n` files saying `ibis`.
fn image_with_files(env: &Env, n: usize) -> (Tmpfs, Image, PathBuf) {
    let fs = Tmpfs::mount(&env.tmp.path().join("fs"));
    let mut image = Image::make(fs.path.join("ext4.img"), "ext4", 32);
    let mnt = fs.path.join("mnt");
    let dev = image.attach();
    image.mount(&dev, &mnt);
    let mnt = std::fs::canonicalize(&mnt).unwrap();
    for i in 0..n {
        std::fs::write(mnt.join(format!("f{i}.txt")), format!("ibis item{i}")).unwrap();
    }
    (fs, image, mnt)
}

fn set(paths: &[&Path]) -> BTreeSet<PathBuf> {
    paths.iter().map(|p| p.to_path_buf()).collect()
}

fn counts(summary: &serde_json::Value) -> (u64, u64, u64) {
    let n = |k: &str| summary[k].as_u64().unwrap();
    (n("unchanged"), n("indexed"), n("removed"))
}

#[test]
fn daemon_starts_with_a_root_not_mounted_hides_it_and_reconciles_it_when_mounted() {
    if !require_root("loop-mounting an ext4 image") {
        return;
    }
    let env = Env::new();
    let (_fs, mut image, mnt) = image_with_files(&env, 10);
    let other = env.write(b"other.txt", b"quokka");
    assert_eq!(counts(&env.index(&[&mnt, &env.root])), (0, 11, 0));
    image.umount(&mnt);

    // The daemon starts, with the image's root offline (the empty mount point is not walked).
    let daemon = DaemonProc::start(&env, &env.root, "auto", "auto");
    let status = env.status_json();
    let offline = status["offline_roots"].as_array().unwrap();
    assert_eq!(offline.len(), 1, "{status}");
    assert_eq!(offline[0]["root"].as_str(), Some(mnt.to_str().unwrap()));
    assert!(offline[0]["since"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(
        offline[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("not mounted")),
        "{status}"
    );
    let human = String::from_utf8(env.run(&["status"]).stdout).unwrap();
    assert!(human.contains("offline since"), "status says: {human}");
    // Its files are hidden; the other root is served and watched.
    assert!(env.search("ibis").is_empty());
    assert_eq!(env.search("quokka"), set(&[&other]));
    let new = env.write(b"new.txt", b"walrus");
    env.sync();
    assert_eq!(env.search("walrus"), set(&[&new]));
    let indexed = |env: &Env| env.status_json()["totals"]["indexed"].as_u64().unwrap();
    let before = indexed(&env);

    // Mounted again (from another loop device): reconciled, found, nothing read again.
    image.remount_on_another_device(&mnt);
    env.wait_for("the root to come back", |s| {
        s["offline_roots"].as_array().is_some_and(Vec::is_empty)
    });
    env.sync();
    assert_eq!(env.search("ibis").len(), 10);
    assert_eq!(indexed(&env), before, "the reconcile walk read nothing");
    assert_eq!(env.status_json()["totals"]["removed"].as_u64(), Some(0));
    // And it is watched now.
    std::fs::write(mnt.join("late.txt"), "ibis newcomer").unwrap();
    env.sync();
    assert_eq!(env.search("newcomer"), set(&[&mnt.join("late.txt")]));
    drop(daemon);
}

#[test]
fn index_keeps_the_records_of_a_root_not_mounted() {
    if !require_root("loop-mounting an ext4 image") {
        return;
    }
    let env = Env::new();
    let (_fs, mut image, mnt) = image_with_files(&env, 10);
    assert_eq!(counts(&env.index(&[&mnt])), (0, 10, 0));
    image.umount(&mnt);

    // The only root is offline: nothing indexed (exit 1), records kept, said in one line.
    let out = env.run(&["index"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let line = format!("offline, not indexed, records kept: {} (", mnt.display());
    assert!(stdout.contains(&line), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("every root is offline"));

    // With another root: that one is indexed, exit 0, the offline root reported and kept.
    env.write(b"other.txt", b"quokka");
    assert_eq!(counts(&env.index(&[&env.root])), (0, 1, 0));
    let summary = env.index(&[]);
    assert_eq!(counts(&summary), (1, 0, 0), "{summary}");
    assert_eq!(summary["roots_walked"].as_u64(), Some(1));
    let offline = summary["offline_roots"].as_array().unwrap();
    assert_eq!(offline.len(), 1, "{summary}");
    assert_eq!(offline[0]["root"].as_str(), Some(mnt.to_str().unwrap()));
    assert!(
        offline[0]["volume"]
            .as_str()
            .is_some_and(|v| v.starts_with("uuid:"))
    );

    // Mounted again: every record is still there, nothing is read again.
    image.remount_on_another_device(&mnt);
    let summary = env.index(&[]);
    assert_eq!(counts(&summary), (11, 0, 0), "{summary}");
    assert!(summary["offline_roots"].as_array().unwrap().is_empty());
    assert_eq!(env.search("ibis").len(), 10);
}
