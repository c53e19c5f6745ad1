//! Query v2 through the binary, with and without a daemon: `size:` and `modified:` filters in the
//! caller's time zone (`TZ`), and `--sort`, `--reverse`, `--offset`, against the files this test made
//! (sizes written, mtimes set with `utimensat`).

mod common;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use common::Env;
use common::daemon::DaemonProc;
use nix::sys::stat::{UtimensatFlags, utimensat};
use nix::sys::time::TimeSpec;

/// The caller's zone: POSIX `TZ` for UTC+5:30 (no daylight saving).
const TZ: &str = "XST-5:30";
const OFFSET: i64 = 5 * 3600 + 1800;
const DAY: i64 = 86_400;

/// (name, size, seconds since the epoch of the mtime).
fn files(now: i64) -> Vec<(String, usize, i64)> {
    // Fixed dates a year before these tests were written, so that no relative filter reaches them.
    // 2025-11-30 00:30 local is 2025-11-29 19:00 UTC: a UTC reading would put it on the 29th.
    let nov30 = 1_764_460_800 - OFFSET; // 2025-11-30T00:00 local
    vec![
        ("a-nov30-early.txt".into(), 100, nov30 + 1800),
        ("b-nov29-late.txt".into(), 5000, nov30 - 1800),
        ("c-dec01.txt".into(), 3 << 20, nov30 + DAY + 60),
        ("d-hour-ago.txt".into(), 4096, now - 3600),
        ("e-old.txt".into(), 11 << 20, 1_577_836_800),
        ("f-same-size.txt".into(), 4096, now - 2 * 3600),
    ]
}

fn write_files(env: &Env, now: i64) {
    for (name, size, mtime) in files(now) {
        let mut text = b"common ".repeat(size / 7 + 1);
        text.truncate(size);
        let path = env.write(name.as_bytes(), &text);
        let t = TimeSpec::new(mtime, 0);
        utimensat(
            nix::fcntl::AT_FDCWD,
            &path,
            &t,
            &t,
            UtimensatFlags::NoFollowSymlink,
        )
        .unwrap();
    }
}

/// Names of the hits of `fandex search --json ARGS`, in order.
fn names(env: &Env, args: &[&str]) -> Vec<String> {
    let out = env
        .cmd()
        .env("TZ", TZ)
        .args(["search", "--json"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    common::json_hits(&out.stdout)
        .into_iter()
        .map(|v| {
            let path = PathBuf::from(v["path"].as_str().unwrap());
            path.file_name().unwrap().to_string_lossy().into_owned()
        })
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn check(env: &Env) {
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let q = |query: &str| sorted(names(env, &["--limit", "100", query]));
    // Calendar days are the caller's (TZ), not UTC's.
    assert_eq!(q("modified:2025-11-30"), s(&["a-nov30-early.txt"]));
    assert_eq!(
        q("mtime:2025-11"),
        s(&["a-nov30-early.txt", "b-nov29-late.txt"])
    );
    assert_eq!(
        q("modified:2025-11..2025-12-01"),
        s(&["a-nov30-early.txt", "b-nov29-late.txt", "c-dec01.txt"])
    );
    assert_eq!(q("modified:<7d"), s(&["d-hour-ago.txt", "f-same-size.txt"]));
    assert_eq!(q("modified:>7d size:>10M"), s(&["e-old.txt"]));
    assert_eq!(q("size:<4k"), s(&["a-nov30-early.txt"]));
    assert_eq!(
        q("common size:4096"),
        s(&["d-hour-ago.txt", "f-same-size.txt"])
    );
    assert_eq!(q("size:1m..5M"), s(&["c-dec01.txt"]));
    // Orders and pages: size descending; a page is the same slice of that order.
    let by_size = names(env, &["--sort", "size", "--limit", "100", "common"]);
    assert_eq!(by_size[..2], s(&["e-old.txt", "c-dec01.txt"]));
    let page2 = names(
        env,
        &["--sort", "size", "--offset", "2", "--limit", "2", "common"],
    );
    assert_eq!(page2, by_size[2..4]);
    let newest = names(env, &["--sort", "modified", "--limit", "2", "common"]);
    assert_eq!(newest, s(&["d-hour-ago.txt", "f-same-size.txt"]));
    let by_name = names(
        env,
        &["--sort", "name", "--reverse", "--limit", "100", "common"],
    );
    let mut expected: Vec<String> = files(0).into_iter().map(|f| f.0).collect();
    expected.sort();
    expected.reverse();
    assert_eq!(by_name, expected);
    // A misspelled word with `~` finds the file (its text is "common ...").
    assert_eq!(q("size:<4k comon~"), s(&["a-nov30-early.txt"]));
    assert_eq!(q("size:<4k commno~1"), s(&["a-nov30-early.txt"]));
    assert!(q("size:<4k comon").is_empty());
    // A malformed value is a one-line error naming its position.
    let out = env.run(&["search", "modified:2025-13"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("month 13") && err.contains("character 15"),
        "{err}"
    );
}

#[test]
fn filters_sort_and_pages_through_the_index_and_the_daemon() {
    let env = Env::new();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    write_files(&env, now);
    env.index(&[&env.root]);
    check(&env);
    let daemon = DaemonProc::start(&env, &env.root, "inotify", "inotify");
    env.sync();
    assert!(env.status_json().is_object());
    check(&env);
    daemon.terminate();
}
