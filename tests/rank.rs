//! Relevance blended with a name match and recency (`[rank]`, issue 13) through the binary, straight
//! from the index and through a running daemon: two files with the same text, the recent one first;
//! a file named after the word first; weights 0 give equal text scores; a bad `[rank]` is a one-line
//! error. Mtimes are set with `utimensat`; the expected score ratios are computed here from them.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use common::Env;
use common::daemon::DaemonProc;
use nix::sys::stat::{UtimensatFlags, utimensat};
use nix::sys::time::TimeSpec;

const DAY: i64 = 86_400;

/// (name, text, age in seconds).
const FILES: &[(&str, &str, i64)] = &[
    ("old.txt", "quarterly figures for the board", 400 * DAY),
    ("new.txt", "quarterly figures for the board", 3 * 3600),
    ("quarterly.txt", "a note", 400 * DAY),
];

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn write_files(env: &Env, now: i64) {
    for (name, text, age) in FILES {
        let path = env.write(name.as_bytes(), text.as_bytes());
        let t = TimeSpec::new(now - age, 0);
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

/// (file name, score) of `fandex [--config CONFIG] search --json QUERY`, in order.
fn hits(env: &Env, config: Option<&Path>, query: &str) -> Vec<(String, f64)> {
    let mut cmd = env.cmd();
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    let out = cmd.args(["search", "--json", query]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{query}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice::<serde_json::Value>(l).unwrap())
        .map(|v| {
            let path = v["path"].as_str().unwrap();
            let name = path.rsplit('/').next().unwrap().to_owned();
            (name, v["score"].as_f64().unwrap())
        })
        .collect()
}

/// The recency factor of the default weights for a file `age` seconds old, from the start of the hour.
fn recency(now: i64, age: i64) -> f64 {
    let age = (now - now.rem_euclid(3600) - (now - age)).max(0) as f64;
    1.0 + 0.5 * (-age / (30.0 * DAY as f64)).exp2()
}

/// The default blend: equal text, the recent file first with the ratio of their recency factors; the
/// file named after the word first for `quarterly`.
fn check_default(env: &Env, config: Option<&Path>, now: i64) {
    let found = hits(env, config, "figures");
    let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["new.txt", "old.txt"]);
    let expected = recency(now, 3 * 3600) / recency(now, 400 * DAY);
    let ratio = found[0].1 / found[1].1;
    assert!((ratio - expected).abs() < 1e-4, "{ratio} vs {expected}");
    let found = hits(env, config, "quarterly");
    assert_eq!(found[0].0, "quarterly.txt", "{found:?}");
}

#[test]
fn recent_and_name_matching_files_first_in_the_cli_and_the_daemon() {
    let env = Env::new();
    let now = now();
    write_files(&env, now);
    env.index(&[&env.root]);
    check_default(&env, None, now);

    // Weights 0: the text score alone, equal for equal text.
    let text_only = env.tmp.path().join("text-only.toml");
    std::fs::write(&text_only, "[rank]\nname = 0\nrecency = 0\n").unwrap();
    let found = hits(&env, Some(&text_only), "figures");
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].1, found[1].1, "{found:?}");
    let by_text: BTreeMap<String, f64> = hits(&env, Some(&text_only), "quarterly")
        .into_iter()
        .collect();
    // The blend multiplies the text score: quarterly.txt holds the one word of the query in its name
    // (factor 1 + 1) and is 400 days old.
    let blended: BTreeMap<String, f64> = hits(&env, None, "quarterly").into_iter().collect();
    let expected = by_text["quarterly.txt"] * 2.0 * recency(now, 400 * DAY);
    assert!(
        (blended["quarterly.txt"] - expected).abs() < 1e-4 * expected,
        "{blended:?} vs {by_text:?}"
    );

    // Through the daemon: its configuration's weights rank the socket's answers.
    let daemon = DaemonProc::start_with(
        &env,
        &env.root,
        "inotify",
        "inotify",
        &["--config", text_only.to_str().unwrap()],
    );
    let found = hits(&env, None, "figures");
    assert_eq!(found[0].1, found[1].1, "daemon, text only: {found:?}");
    daemon.terminate();
    let daemon = DaemonProc::start(&env, &env.root, "inotify", "inotify");
    check_default(&env, None, now);
    daemon.terminate();
}

#[test]
fn a_bad_rank_section_is_a_one_line_error() {
    let env = Env::new();
    env.write(b"a.txt", b"word");
    env.index(&[&env.root]);
    for (bad, expected) in [
        ("[rank]\nname = -2\n", "rank.name"),
        ("[rank]\nrecency_half_life = \"later\"\n", "not a duration"),
        ("[rank]\nweight = 1\n", "weight"),
    ] {
        let config = env.tmp.path().join("bad.toml");
        std::fs::write(&config, bad).unwrap();
        let out = env
            .cmd()
            .arg("--config")
            .arg(&config)
            .args(["search", "word"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{bad}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{bad}: {err}");
    }
}
