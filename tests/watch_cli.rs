//! `fandex watch` end to end: the normalized events of a few changes, as JSON lines, on both backends.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::Env;
use common::daemon::{Tmpfs, require_root, sysctl_lock};

fn watch(backend: &str) {
    if !require_root("fandex watch") {
        return;
    }
    let env = Env::new();
    let fs = Tmpfs::mount(&env.tmp.path().join("fs"));
    let root = fs.path.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let mut child = {
        let _guard = sysctl_lock(false);
        env.cmd()
            .args([
                "watch",
                "--json",
                "--backend",
                backend,
                "--rename-source",
                backend,
            ])
            .arg(&root)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // The first stderr line says what it watches with: then it is ready.
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut first = String::new();
    err.read_line(&mut first).unwrap();
    assert!(first.starts_with("watching "), "{first}");
    std::fs::write(root.join("a.txt"), "x").unwrap();
    std::fs::rename(root.join("a.txt"), root.join("b\nc.txt")).unwrap();
    std::fs::remove_file(root.join("b\nc.txt")).unwrap();
    let (tx, rx) = crossbeam_channel::unbounded();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut events = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !events
        .iter()
        .any(|e: &serde_json::Value| e["event"] == "removed")
        && Instant::now() < deadline
    {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            events.push(serde_json::from_str(&line).expect("one JSON object per line"));
        }
    }
    let p = |name: &str| root.join(name).to_str().unwrap().to_owned();
    let kinds: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            let path = e
                .get("path")
                .or(e.get("to"))
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_owned();
            (e["event"].as_str().unwrap_or("").to_owned(), path)
        })
        .collect();
    assert!(kinds.contains(&("created".into(), p("a.txt"))), "{kinds:?}");
    assert!(
        kinds.contains(&("renamed".into(), p("b\nc.txt"))),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("removed".into(), p("b\nc.txt"))),
        "{kinds:?}"
    );
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "watch exits 0 on SIGINT: {status}");
}

#[test]
fn watch_streams_json_events_fanotify() {
    watch("fanotify");
}

#[test]
fn watch_streams_json_events_inotify() {
    watch("inotify");
}
