//! End-to-end tests of the watcher, as root, each on its own private filesystem, for every backend
//! combination: fanotify content + fanotify names, fanotify content + inotify names, inotify only.
//! Changes are made by child processes (`sh`), since the watcher drops its own process's events.

mod common;

use std::time::Duration;

use common::*;
use fandex_watcher::{Change, RescanReason};

/// Generates one test per backend combination running `$body(combo)`.
macro_rules! combos {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn fan_fan() {
                if env_ok() {
                    ($body)(Combo::FanFan)
                }
            }
            #[test]
            fn fan_ino() {
                if env_ok() {
                    ($body)(Combo::FanIno)
                }
            }
            #[test]
            fn ino() {
                if env_ok() {
                    ($body)(Combo::Ino)
                }
            }
        }
    };
}

fn h(combo: Combo, setup: &str) -> Harness {
    Harness::new(
        combo,
        Opts {
            setup,
            ..Opts::default()
        },
    )
}

combos!(create, |c| {
    let h = h(c, "");
    h.sh("printf hello > $R/a");
    let evs = h.events();
    h.assert_events(&evs, &["CREATED root/a", "MODIFIED root/a"]);
    if c.fanotify_content() {
        let m = evs
            .iter()
            .find(|e| matches!(e, Change::Modified { .. }))
            .expect("modified");
        assert_eq!(read_content(m).as_deref(), Some(&b"hello"[..]));
    }
});

combos!(write_and_append, |c| {
    let h = h(c, "printf one > $R/a");
    h.sh("printf two > $R/a");
    h.assert_events(&h.events(), &["MODIFIED root/a"]);
    h.sh("printf three >> $R/a");
    let evs = h.events();
    h.assert_events(&evs, &["MODIFIED root/a"]);
    if c.fanotify_content() {
        assert_eq!(
            read_content(&evs[evs.len() - 1]).as_deref(),
            Some(&b"twothree"[..])
        );
    }
});

combos!(truncate_by_path, |c| {
    let h = h(c, "printf hello > $R/a");
    h.sh("python3 -c 'import os,sys; os.truncate(sys.argv[1], 2)' $R/a");
    let evs = h.events();
    h.assert_events(&evs, &["MODIFIED root/a"]);
    if c.fanotify_content() {
        assert_eq!(read_content(&evs[0]).as_deref(), Some(&b"he"[..]));
    }
});

combos!(barrier_comes_after_pending_modifications, |c| {
    // A truncate by path has no close-write: its modification waits a while for one. A barrier (a sync
    // marker) created just after must not overtake it.
    let h = Harness::new(
        c,
        Opts {
            setup: "printf hello > $R/a",
            barrier_prefix: Some(".sync-"),
            ..Opts::default()
        },
    );
    h.sh("python3 -c 'import os,sys; os.truncate(sys.argv[1], 2)' $R/a && : > $R/.sync-1");
    let got = h.norm(&h.events());
    let at = |s: &str| got.iter().position(|g| g == s);
    let modified = at("MODIFIED root/a").unwrap_or_else(|| panic!("{c:?}: no MODIFIED: {got:?}"));
    let barrier =
        at("CREATED root/.sync-1").unwrap_or_else(|| panic!("{c:?}: no barrier: {got:?}"));
    assert!(
        modified < barrier,
        "{c:?}: barrier overtook a modification: {got:?}"
    );
    assert!(at("MODIFIED root/.sync-1").is_some(), "{c:?}: {got:?}");
});

combos!(rename_file, |c| {
    let h = h(c, "printf x > $R/a");
    h.sh("mv $R/a $R/b");
    h.assert_events(&h.events(), &["RENAMED root/a -> root/b"]);
});

combos!(atomic_save, |c| {
    let h = h(c, "printf old > $R/a");
    let before = h.walk();
    h.sh("printf new > $R/.a.tmp && mv $R/.a.tmp $R/a");
    let evs = h.events();
    h.assert_events(
        &evs,
        &[
            "CREATED root/.a.tmp",
            "MODIFIED root/.a.tmp",
            "RENAMED root/.a.tmp -> root/a",
        ],
    );
    assert_eq!(fold(before, &evs), h.walk());
    assert!(
        !evs.iter().any(|e| matches!(e, Change::Removed { .. })),
        "no delete for the replaced name"
    );
});

combos!(move_directory_with_files, |c| {
    let h = h(
        c,
        "mkdir -p $R/d/s && printf x > $R/d/x && printf y > $R/d/s/y",
    );
    let before = h.walk();
    h.sh("mv $R/d $R/e");
    let evs = h.events();
    if c == Combo::FanFan {
        h.assert_events(&evs, &["RENAMED,DIR root/d -> root/e"]);
    } else {
        h.assert_events(
            &evs,
            &[
                "RENAMED,DIR root/d -> root/e",
                "RESCAN root/e (new directory)",
            ],
        );
    }
    assert_eq!(fold(before, &evs), h.walk());
    // The moved subtree is still watched under its new name.
    h.sh("printf z > $R/e/s/z");
    h.assert_events(&h.events(), &["CREATED root/e/s/z", "MODIFIED root/e/s/z"]);
});

combos!(move_tree_in_and_out, |c| {
    let h = h(
        c,
        "mkdir -p $O/t/s && printf x > $O/t/x && printf y > $O/t/s/y",
    );
    let before = h.walk();
    h.sh("mv $O/t $R/t");
    let evs = h.events();
    let mut got = h.norm(&evs);
    assert_eq!(
        got.first().map(String::as_str),
        Some("CREATED,DIR root/t"),
        "{c:?}"
    );
    got.sort();
    got.dedup();
    assert_eq!(
        got,
        [
            "CREATED root/t/s/y",
            "CREATED root/t/x",
            "CREATED,DIR root/t",
            "CREATED,DIR root/t/s"
        ],
        "{c:?}"
    );
    assert_eq!(fold(before, &evs), h.walk());
    // Watched after moving in.
    h.sh("printf w > $R/t/s/w");
    h.assert_events(&h.events(), &["CREATED root/t/s/w", "MODIFIED root/t/s/w"]);
    h.sh("mv $R/t $O/t2");
    h.assert_events(&h.events(), &["REMOVED,DIR root/t"]);
    h.sh("printf q > $O/t2/s/q");
    h.assert_events(&h.events(), &[]);
});

combos!(delete_file_and_tree, |c| {
    let h = h(
        c,
        "printf a > $R/a && mkdir -p $R/t/s && printf x > $R/t/x && printf y > $R/t/s/y",
    );
    h.sh("rm $R/a");
    h.assert_events(&h.events(), &["REMOVED root/a"]);
    let before = h.walk();
    h.sh("rm -rf $R/t");
    let evs = h.events();
    let mut got = h.norm(&evs);
    got.sort();
    assert_eq!(
        got,
        [
            "REMOVED root/t/s/y",
            "REMOVED root/t/x",
            "REMOVED,DIR root/t",
            "REMOVED,DIR root/t/s"
        ],
        "{c:?}"
    );
    assert_eq!(got.last().map(String::as_str), Some("REMOVED,DIR root/t/s"));
    assert_eq!(
        h.norm(&evs).last().map(String::as_str),
        Some("REMOVED,DIR root/t"),
        "{c:?}"
    );
    assert!(fold(before, &evs).is_empty());
});

combos!(hard_link, |c| {
    let h = h(c, "printf a > $R/a");
    h.sh("ln $R/a $R/h");
    h.assert_events(&h.events(), &["CREATED root/h"]);
    h.sh("printf b >> $R/h");
    let evs = h.events();
    h.assert_events(&evs, &["MODIFIED root/h"]);
    if c.fanotify_content() {
        assert_eq!(read_content(&evs[0]).as_deref(), Some(&b"ab"[..]));
    }
    h.sh("rm $R/a");
    h.assert_events(&h.events(), &["REMOVED root/a"]);
});

combos!(write_through_mmap, |c| {
    let h = h(c, "printf hello > $R/a");
    h.sh(
        "python3 -c 'import mmap,sys\nf=open(sys.argv[1],\"r+b\")\nm=mmap.mmap(f.fileno(),0)\nm[0:1]=b\"J\"\nm.close()\nf.close()' $R/a",
    );
    let evs = h.events();
    h.assert_events(&evs, &["MODIFIED root/a"]);
    if c.fanotify_content() {
        assert_eq!(read_content(&evs[0]).as_deref(), Some(&b"Jello"[..]));
    }
});

combos!(write_through_bind_mount, |c| {
    let h = h(c, "printf a > $R/a");
    let bind = h.mnt.dir.parent().expect("parent").join("bind");
    std::fs::create_dir(&bind).expect("bind dir");
    nix::mount::mount(
        Some(&h.mnt.dir),
        &bind,
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    )
    .expect("bind mount");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("printf b >> \"$1\"")
        .arg("sh")
        .arg(bind.join("root/a"))
        .status()
        .expect("sh");
    let evs = h.events();
    let _ = nix::mount::umount2(&bind, nix::mount::MntFlags::MNT_DETACH);
    assert!(out.success());
    h.assert_events(&evs, &["MODIFIED root/a"]);
    if c.fanotify_content() {
        assert_eq!(read_content(&evs[0]).as_deref(), Some(&b"ab"[..]));
    }
});

combos!(burst_of_new_files_in_fresh_directories, |c| {
    let h = h(c, "");
    let before = h.walk();
    h.sh("for i in $(seq 1 200); do mkdir -p $R/d$i/sub; for j in $(seq 1 100); do : > $R/d$i/sub/f$j; done; done");
    let evs = h.collect(Duration::from_millis(1500));
    let after = h.walk();
    let rescans: Vec<String> = h
        .norm(&evs)
        .into_iter()
        .filter(|e| e.starts_with("RESCAN"))
        .collect();
    eprintln!(
        "{c:?}: {} events, {} rescans {:?}",
        evs.len(),
        rescans.len(),
        &rescans[..rescans.len().min(5)]
    );
    assert_eq!(
        after.len(),
        200 * 101 + 200,
        "{:?}",
        std::fs::read_dir(&h.root).map(|d| d.count())
    );
    assert_eq!(
        count_rescans(&evs, &RescanReason::QueueOverflow),
        0,
        "{c:?}: queue overflowed"
    );
    assert_same(&fold(before, &evs), &after, &format!("{c:?}"));
});

combos!(forced_overflow_yields_rescan, |c| {
    // A tiny kernel queue and a sink that is not read during the burst: the watcher blocks, the kernel
    // queue overflows, and that must surface as a rescan.
    let h = Harness::new(
        c,
        Opts {
            sink_capacity: 1,
            lower_queues: true,
            ..Opts::default()
        },
    );
    let before = h.walk();
    h.sh("for i in $(seq 1 3000); do printf x > $R/f$i; done");
    let evs = h.collect(Duration::from_millis(1500));
    assert!(
        count_rescans(&evs, &RescanReason::QueueOverflow) >= 1,
        "{c:?}: no overflow rescan in {} events",
        evs.len()
    );
    assert_same(&fold(before, &evs), &h.walk(), &format!("{c:?}"));
});

combos!(own_writes_ignored, |c| {
    let h = h(c, "printf a > $R/a");
    if c == Combo::Ino {
        // inotify reports no pid: the daemon's own writes are excluded by path instead (see excluded_index_dir).
        return;
    }
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(h.root.join("a"))
        .expect("open");
    f.write_all(b"own").expect("write");
    drop(f);
    h.assert_events(&h.events(), &[]);
    if c == Combo::FanFan {
        std::fs::write(h.root.join("b"), b"own").expect("write b");
        std::fs::rename(h.root.join("b"), h.root.join("c")).expect("rename");
        h.assert_events(&h.events(), &[]);
    }
    let st = h.watcher.as_ref().expect("watcher").status();
    assert!(st.counters.dropped_own >= 1, "{st:?}");
    // Someone else's write still shows.
    h.sh("printf x >> $R/a");
    h.assert_events(&h.events(), &["MODIFIED root/a"]);
});

combos!(excluded_index_dir, |c| {
    let h = Harness::new(
        c,
        Opts {
            setup: "mkdir -p $R/.idx/seg",
            excluded: Some(".idx"),
            ..Opts::default()
        },
    );
    h.sh("printf x > $R/.idx/seg/1 && mkdir $R/.idx/new && printf y > $R/.idx/new/2 && mv $R/.idx/seg/1 $R/.idx/seg/3 && rm -r $R/.idx/new");
    std::fs::write(h.root.join(".idx/own"), b"own").expect("own write");
    h.assert_events(&h.events(), &[]);
    let st = h.watcher.as_ref().expect("watcher").status();
    if c != Combo::FanFan {
        assert_eq!(
            st.counters.inotify_watches, 1,
            "only the root is watched: {st:?}"
        );
    }
    h.sh("printf z > $R/z");
    h.assert_events(&h.events(), &["CREATED root/z", "MODIFIED root/z"]);
});

combos!(root_moved, |c| {
    let h = h(c, "printf a > $R/a");
    h.sh("mv $R $O/moved");
    let evs = h.events();
    h.assert_events(&evs, &["RESCAN root (root moved or deleted)"]);
});

combos!(odd_names, |c| {
    let h = h(c, "");
    h.sh("printf x > \"$R/new
line\" && printf y > \"$R/$(printf '\\377')\"");
    let evs = h.events();
    h.assert_events(
        &evs,
        &[
            "CREATED root/new\\nline",
            "MODIFIED root/new\\nline",
            "CREATED root/\\xff",
            "MODIFIED root/\\xff",
        ],
    );
    let raw: Vec<&[u8]> = evs.iter().map(|e| bytes(e.path())).collect();
    assert!(raw.iter().any(|p| p.ends_with(b"/root/\xff")));
});

// The same core sequence on a loop-mounted ext4 filesystem.
combos!(ext4_core_sequence, |c| {
    let h = Harness::new(
        c,
        Opts {
            fs: Fs::Ext4,
            setup: "printf old > $R/keep && mkdir $R/d",
            ..Opts::default()
        },
    );
    h.sh("printf hello > $R/a");
    h.assert_events(&h.events(), &["CREATED root/a", "MODIFIED root/a"]);
    h.sh("mv $R/a $R/d/b");
    h.assert_events(&h.events(), &["RENAMED root/a -> root/d/b"]);
    h.sh("printf new > $R/.k && mv $R/.k $R/keep");
    h.assert_events(
        &h.events(),
        &[
            "CREATED root/.k",
            "MODIFIED root/.k",
            "RENAMED root/.k -> root/keep",
        ],
    );
    h.sh("ln $R/keep $R/d/l && rm $R/d/b");
    let evs = h.events();
    h.assert_events(&evs, &["CREATED root/d/l", "REMOVED root/d/b"]);
    h.sh("rm -r $R/d");
    let mut got = h.norm(&h.events());
    got.sort();
    assert_eq!(got, ["REMOVED root/d/l", "REMOVED,DIR root/d"], "{c:?}");
});
