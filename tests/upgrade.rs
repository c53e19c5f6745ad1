//! Upgrading: an index of another format is rebuilt by `fandex index` and by the daemon (which serves
//! searches and shows `rebuilding` meanwhile), also after a kill -9 in the middle of the rebuild; a
//! directory that is not an index is refused.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::Env;
use common::daemon::DaemonProc;
use fandex::indexer::schema::SCHEMA_VERSION;

const QUERIES: &[&str] = &["common", "word7", "shared123", "word3 AND shared13*"];

/// `n` files spread over directories, each with a shared word, one of 50 and a unique one.
fn corpus(env: &Env, n: usize) {
    for i in 0..n {
        let name = format!("d{}/f{i}.txt", i % 20);
        let text = format!("common word{} shared{i}\n", i % 50);
        env.write(name.as_bytes(), text.as_bytes());
    }
}

fn results(env: &Env) -> Vec<BTreeSet<PathBuf>> {
    QUERIES.iter().map(|q| env.search(q)).collect()
}

fn set_format(env: &Env, format: &str) {
    std::fs::write(env.index.join("format"), format!("{format}\n")).unwrap();
}

fn marker_exists(env: &Env) -> bool {
    env.index.join("rebuild").exists()
}

/// Indexes `n` files and returns the answers of a fresh index.
fn indexed(env: &Env, n: usize) -> Vec<BTreeSet<PathBuf>> {
    corpus(env, n);
    env.index(&[&env.root]);
    let fresh = results(env);
    assert_eq!(fresh[0].len(), n);
    fresh
}

#[test]
fn index_rebuilds_an_older_or_a_newer_index_from_its_roots() {
    let env = Env::new();
    let fresh = indexed(&env, 60);
    set_format(&env, "0");
    let out = env.run(&["search", "common"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("format 0") && err.contains("rebuild"), "{err}");
    // No root named: the old catalog's roots are used.
    let summary = env.index(&[]);
    assert_eq!(summary["indexed"], 60);
    assert_eq!(results(&env), fresh, "same results as a fresh index");
    assert!(!marker_exists(&env));
    // A newer format (a downgrade) is rebuilt too, after a warning naming both formats.
    set_format(&env, "999");
    let out = env.run(&["index"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("format 999") && err.contains("newer"), "{err}");
    assert_eq!(results(&env), fresh);
}

#[test]
fn a_directory_that_is_not_an_index_is_refused() {
    let env = Env::new();
    corpus(&env, 3);
    std::fs::create_dir_all(&env.index).unwrap();
    std::fs::write(env.index.join("format"), "letter\n").unwrap();
    let out = env.run(&["index", env.root.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a fandex index"), "{err}");
    assert_eq!(
        std::fs::read_to_string(env.index.join("format")).unwrap(),
        "letter\n"
    );
}

#[test]
fn index_killed_during_a_rebuild_converges() {
    let env = Env::new();
    let fresh = indexed(&env, 2000);
    set_format(&env, "0");
    for delay in [50, 300, 800] {
        let mut child = env
            .cmd()
            .arg("index")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        let _ = child.kill();
        let _ = child.wait();
    }
    // No root named: the roots survived every kill.
    env.index(&[]);
    assert_eq!(results(&env), fresh);
    assert!(!marker_exists(&env));
}

/// Polls `status --json` until the rebuild is over; returns the reports that showed it running.
fn watch_rebuild(env: &Env) -> Vec<serde_json::Value> {
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = env.status_json();
        if status["state"] != "rebuilding" {
            return seen;
        }
        // Searches answer meanwhile, from what is rebuilt so far.
        let out = env.run(&["search", "--json", "common"]);
        assert!(matches!(out.status.code(), Some(0 | 1)), "{out:?}");
        let rebuild = &status["rebuild"];
        assert_eq!(rebuild["from"], 0, "{status}");
        assert_eq!(rebuild["to"], SCHEMA_VERSION, "{status}");
        let (done, seen_files) = (
            rebuild["files_done"].as_u64(),
            rebuild["files_seen"].as_u64(),
        );
        assert!(done.is_some() && done <= seen_files, "{status}");
        let human = String::from_utf8(env.run(&["status"]).stdout).unwrap();
        assert!(
            human.contains(&format!("rebuilding (format 0 -> {SCHEMA_VERSION}): "))
                || human.contains(": watching"),
            "{human}"
        );
        seen.push(status);
        assert!(Instant::now() < deadline, "rebuild did not end");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_daemon_rebuilds_while_serving() {
    let env = Env::new();
    let fresh = indexed(&env, 3000);
    set_format(&env, "0");
    let daemon = DaemonProc::start(&env, &env.root, "inotify", "inotify");
    let during = watch_rebuild(&env);
    assert!(!during.is_empty(), "status showed the rebuild");
    let after = env.status_json();
    assert_eq!(after["state"], "watching");
    assert!(after["rebuild"].is_null(), "{after}");
    env.sync();
    assert_eq!(results(&env), fresh);
    assert!(!marker_exists(&env));
    // Read-your-writes as usual afterwards.
    let new = env.write(b"late/new.txt", b"common latecomer");
    env.sync();
    assert_eq!(env.search("latecomer"), BTreeSet::from([new]));
    drop(daemon);
}

#[test]
fn a_daemon_killed_during_a_rebuild_finishes_it_at_restart() {
    let env = Env::new();
    let fresh = indexed(&env, 3000);
    set_format(&env, "0");
    let daemon = DaemonProc::start(&env, &env.root, "inotify", "inotify");
    assert_eq!(env.status_json()["state"], "rebuilding");
    std::thread::sleep(Duration::from_millis(100));
    daemon.kill9();
    assert!(marker_exists(&env));
    let daemon = DaemonProc::start(&env, &env.root, "inotify", "inotify");
    watch_rebuild(&env);
    env.sync();
    assert_eq!(results(&env), fresh);
    assert!(!marker_exists(&env));
    drop(daemon);
}
