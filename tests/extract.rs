//! Issue 12: `fandex extract` through real sandboxed worker processes (the binary's hidden
//! `extract-worker`), worker failures named and survived, and the same parser in the daemon: a file whose
//! worker crashed or timed out is recorded as failed with the reason, found by name, listed in `status`,
//! and the next file is indexed. Failures are made with the debug-build trigger
//! `FANDEX_TEST_WORKER_TRIGGER` (`ACTION:NAME`, honoured by workers of debug builds only).

mod common;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::Env;
use common::daemon::{Tmpfs, require_root, sysctl_lock};

const TRIGGER: &str = "FANDEX_TEST_WORKER_TRIGGER";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("formats/tests/fixtures")
        .join(name)
}

/// A marker in a command's environment, inherited by its workers: finds any process left behind.
fn marker() -> String {
    format!(
        "FANDEX_TEST_MARK=extract-{}-{:?}",
        std::process::id(),
        Instant::now()
    )
}

/// Processes (other than zombies reaped since) whose environment holds `marker`.
fn marked_processes(marker: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ.split(|b| *b == 0).any(|v| v == marker.as_bytes()) {
            found.push(pid);
        }
    }
    found
}

/// `fandex extract ARGS` with a config (the `[extract]` section) and the worker trigger, marked.
fn extract(env: &Env, config: &str, trigger: &str, args: &[&str]) -> (Output, String) {
    let config_path = env.tmp.path().join("extract.toml");
    std::fs::write(&config_path, config).unwrap();
    let mark = marker();
    let (key, value) = mark.split_once('=').unwrap();
    let out = env
        .cmd()
        .arg("--config")
        .arg(&config_path)
        .arg("extract")
        .args(args)
        .env(TRIGGER, trigger)
        .env(key, value)
        .output()
        .unwrap();
    (out, mark)
}

fn stdout_json(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect()
}

#[test]
fn extract_prints_documents_parsed_in_workers() {
    let env = Env::new();
    std::fs::copy(fixture("sample.pdf"), env.root.join("report")).unwrap();
    env.write(b"notes.txt", b"plain words: caravel\n");
    env.write(
        b"page.html",
        b"<html><body><p>harbour <b>lights</b></p><script>x()</script></body></html>",
    );
    let files = [
        fixture("sample.docx"),
        fixture("sample.eml"),
        fixture("archive.zip"),
    ];
    let mut args: Vec<String> = vec!["--json".into()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    args.extend(["report", "notes.txt", "page.html"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (out, mark) = extract(&env, "", "", &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs = stdout_json(&out);
    assert_eq!(docs.len(), 6, "{docs:?}");
    let squeeze = |v: &serde_json::Value| {
        v.as_str()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };

    let docx = &docs[0];
    assert_eq!(docx["kind"], "docx");
    assert_eq!(docx["meta"]["title"], "Fixture Document");
    assert_eq!(docx["meta"]["author"], "Ada Lovelace");
    assert!(
        squeeze(&docx["text"]).contains("Grüße aus Köln, naïve café"),
        "{docx}"
    );

    let mail = &docs[1];
    assert_eq!(mail["mime"], "message/rfc822");
    assert_eq!(mail["meta"]["subject"], "Grüße zum Geburtstag ☃");
    assert!(
        squeeze(&mail["text"]).contains("viel Glück mit der Maschine"),
        "{mail}"
    );
    assert_eq!(mail["parts"][0]["name"], "notes.txt");

    let zip = &docs[2];
    assert_eq!(zip["kind"], "zip");
    let parts: Vec<(&str, &str)> = zip["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["text"].as_str().unwrap()))
        .collect();
    assert!(
        parts.contains(&("readme.txt", "Readme of the archive: comet\n")),
        "{parts:?}"
    );
    assert!(
        parts.contains(&("inner.zip » deep.txt", "deep member text: nebula\n")),
        "nested parts flattened: {parts:?}"
    );

    // Detected by content: a PDF without an extension.
    let pdf = &docs[3];
    assert_eq!(pdf["kind"], "pdf");
    assert_eq!(pdf["mime"], "application/pdf");
    assert_eq!(pdf["meta"]["title"], "Fixture PDF Title");
    assert_eq!(pdf["meta"]["pages"], "2");
    assert!(
        squeeze(&pdf["text"]).contains("Page two mentions the difference engine."),
        "{pdf}"
    );

    // Plain text and HTML: what the in-process extractor gives.
    assert_eq!(docs[4]["mime"], "text/plain");
    assert_eq!(docs[4]["text"], "plain words: caravel\n");
    assert_eq!(docs[5]["mime"], "text/html");
    let html = squeeze(&docs[5]["text"]);
    assert!(
        html.contains("harbour lights") && !html.contains("x()"),
        "{html}"
    );

    // The human form has a heading per document and part.
    let human = env.run(&["extract", fixture("archive.zip").to_str().unwrap()]);
    assert!(human.status.success());
    let human = String::from_utf8(human.stdout).unwrap();
    assert!(human.contains(": application/zip (zip)"), "{human}");
    assert!(
        human.contains("archive.zip » readme.txt: text/plain\n"),
        "{human}"
    );
    assert!(human.contains("Readme of the archive: comet"), "{human}");

    assert_eq!(
        marked_processes(&mark),
        Vec::<u32>::new(),
        "workers left behind"
    );
}

#[test]
fn worker_crash_timeout_and_memory_limit_are_named_and_survived() {
    let env = Env::new();
    for name in ["crash.pdf", "hang.pdf", "big.pdf", "good.pdf"] {
        std::fs::copy(fixture("sample.pdf"), env.root.join(name)).unwrap();
    }
    // 3 s: long enough for the good file's pdftotext on a loaded machine, short for the hang.
    let config = "[extract]\ntimeout = 3\nworkers = 1\nmemory_limit = 268435456\n";
    let started = Instant::now();
    let (out, mark) = extract(
        &env,
        config,
        "segv:crash.pdf,hang:hang.pdf,alloc:big.pdf",
        &["--json", "crash.pdf", "hang.pdf", "big.pdf", "good.pdf"],
    );
    let elapsed = started.elapsed();
    assert_eq!(out.status.code(), Some(1), "a failed file exits 1");
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines,
        [
            "fandex: error: crash.pdf: extractor crashed (SIGSEGV)",
            "fandex: error: hang.pdf: timed out after 3 s",
            "fandex: error: big.pdf: memory limit (256 MiB)",
        ],
        "{stderr}"
    );
    // The pool replaced each failed worker: the last file is still extracted.
    let docs = stdout_json(&out);
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["meta"]["title"], "Fixture PDF Title");
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
    assert_eq!(
        marked_processes(&mark),
        Vec::<u32>::new(),
        "workers left behind"
    );
}

#[test]
fn pdfs_are_read_by_pdftotext_inside_the_worker() {
    // The default configuration: pdftotext from PATH, run by a locked-down worker (as `nobody` for root).
    let env = Env::new();
    std::fs::copy(fixture("sample.pdf"), env.root.join("report.pdf")).unwrap();
    let (out, mark) = extract(&env, "", "", &["--json", "report.pdf"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs = stdout_json(&out);
    // poppler writes the date with its zone; pdf_oxide, the fallback when pdftotext cannot start, without.
    assert_eq!(
        docs[0]["meta"]["created"], "2026-12-07T03:14:44Z",
        "{}",
        docs[0]
    );
    assert_eq!(docs[0]["meta"]["pages"], "2");
    assert_eq!(
        marked_processes(&mark),
        Vec::<u32>::new(),
        "processes left behind"
    );
}

#[test]
fn a_hanging_pdftotext_is_killed_with_its_worker() {
    let env = Env::new();
    std::fs::copy(fixture("sample.pdf"), env.root.join("slow.pdf")).unwrap();
    // A pdftotext that never answers: the worker waits for it, the pool's timeout kills both.
    let bin = env.tmp.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let program = bin.join("pdftotext");
    std::fs::write(&program, "#!/bin/sh\nexec sleep 300\n").unwrap();
    std::fs::set_permissions(
        &program,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let config = format!(
        "[extract]\ntimeout = 1\nworkers = 1\nuser = \"\"\npdftotext = \"{}\"\n",
        program.display()
    );
    let started = Instant::now();
    let (out, mark) = extract(&env, &config, "", &["--json", "slow.pdf"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim_end(),
        "fandex: error: slow.pdf: timed out after 1 s",
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    // Neither the worker nor its `sleep` (which inherited the marker) is left.
    assert_eq!(
        marked_processes(&mark),
        Vec::<u32>::new(),
        "processes left behind"
    );
}

#[test]
fn extract_never_follows_symlinks_or_opens_fifos() {
    let env = Env::new();
    let target = env.write(b"target.txt", b"secret target text\n");
    symlink(&target, env.root.join("link.txt")).unwrap();
    nix::unistd::mkfifo(
        &env.root.join("fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o600),
    )
    .unwrap();
    std::fs::create_dir(env.root.join("dir")).unwrap();
    let started = Instant::now();
    let out = env
        .cmd()
        .args([
            "extract",
            "link.txt",
            "fifo",
            "dir",
            "missing.pdf",
            "target.txt",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "a FIFO never blocks"
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{stderr}");
    assert!(
        lines[0].starts_with("fandex: error: link.txt: ") && lines[0].contains("symlink"),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with("fandex: error: fifo: ") && lines[1].contains("fifo"),
        "{stderr}"
    );
    assert!(
        lines[2].starts_with("fandex: error: dir: ") && lines[2].contains("directory"),
        "{stderr}"
    );
    assert!(
        lines[3].starts_with("fandex: error: missing.pdf: ") && lines[3].contains("not found"),
        "{stderr}"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.matches("secret target text").count(), 1, "{stdout}");
    assert!(stdout.starts_with("== target.txt: text/plain"), "{stdout}");
}

/// The extraction workers alive under `pid` (its children running `extract-worker`).
fn worker_children(pid: u32) -> usize {
    worker_pids(pid).len()
}

/// The pids of the extraction workers alive under `pid`.
fn worker_pids(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
    {
        let children = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        for child in children.split_whitespace() {
            let cmdline = std::fs::read(format!("/proc/{child}/cmdline")).unwrap_or_default();
            if cmdline.split(|b| *b == 0).any(|a| a == b"extract-worker")
                && let Ok(child) = child.parse()
            {
                found.push(child);
            }
        }
    }
    found
}

/// The real, effective, saved and filesystem uids of process `pid`.
fn uids_of(pid: u32) -> Vec<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace()
        .skip(1)
        .map(|uid| uid.parse().unwrap())
        .collect()
}

/// Needs the engine to call its parser (branch i12-index) as well as this branch's wiring.
#[test]
fn daemon_records_worker_failures_and_keeps_indexing() {
    if !require_root("daemon extraction failures") {
        return;
    }
    let env = Env::new();
    let fs = Tmpfs::mount(&env.tmp.path().join("fs"));
    let root = fs.path.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let config = env.tmp.path().join("config.toml");
    std::fs::write(&config, "[extract]\ntimeout = 1\nworkers = 2\n").unwrap();
    let mark = marker();
    let (key, value) = mark.split_once('=').unwrap();
    let log = std::fs::File::create(env.tmp.path().join("daemon.log")).unwrap();
    let _guard = sysctl_lock(false);
    let mut daemon = env
        .cmd()
        .arg("--config")
        .arg(&config)
        .args([
            "daemon",
            "--backend",
            "fanotify",
            "--rename-source",
            "fanotify",
        ])
        .arg(&root)
        .env(TRIGGER, "segv:crash.pdf,hang:hang.pdf")
        .env(key, value)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !common::reconciled(&env.run(&["status", "--json"])) {
        assert!(daemon.try_wait().unwrap().is_none(), "{}", env.daemon_log());
        assert!(Instant::now() < deadline, "{}", env.daemon_log());
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = daemon.id();

    std::fs::copy(fixture("sample.pdf"), root.join("crash.pdf")).unwrap();
    std::fs::copy(fixture("sample.pdf"), root.join("hang.pdf")).unwrap();
    std::fs::copy(fixture("scanned.pdf"), root.join("scan.pdf")).unwrap();
    env.sync();
    std::fs::copy(fixture("sample.docx"), root.join("after.docx")).unwrap();
    env.sync();
    assert!(
        daemon.try_wait().unwrap().is_none(),
        "the daemon keeps running"
    );

    let crash = root.join("crash.pdf");
    let hang = root.join("hang.pdf");
    assert_eq!(
        env.search("crash"),
        std::collections::BTreeSet::from([crash.clone()])
    );
    assert_eq!(
        env.search("hang"),
        std::collections::BTreeSet::from([hang.clone()])
    );
    assert_eq!(
        env.search("Jupiter").into_iter().collect::<Vec<_>>(),
        [root.join("after.docx")],
        "the next file is parsed and indexed: {}",
        env.daemon_log()
    );
    let status = env.status_json();
    let failures: Vec<(String, String)> = status["catalog"]["recent_failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["error"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        failures.contains(&(
            crash.display().to_string(),
            "extractor crashed (SIGSEGV)".into()
        )),
        "{status}"
    );
    assert!(
        failures.contains(&(hang.display().to_string(), "timed out after 1 s".into())),
        "{status}"
    );
    assert_eq!(status["catalog"]["failed"], 2, "{status}");
    let human = String::from_utf8(env.run(&["status"]).stdout).unwrap();
    assert!(
        human.contains(&format!(
            "failed: {}: extractor crashed (SIGSEGV)",
            crash.display()
        )),
        "{human}"
    );
    assert!(worker_children(pid) <= 2, "at most `workers` workers");
    // A root daemon's workers run as `extract.user` (default nobody), not as root.
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let workers = worker_pids(pid);
    assert!(!workers.is_empty(), "a worker is alive after parsing");
    for worker in workers {
        assert_eq!(uids_of(worker), [nobody.uid.as_raw(); 4], "worker {worker}");
    }

    // A scanned PDF is indexed with its parser's note as the reason: listed apart from failures, found
    // by name.
    let scan = root.join("scan.pdf");
    assert_eq!(
        env.search("scan"),
        std::collections::BTreeSet::from([scan.clone()])
    );
    assert_eq!(status["catalog"]["noted"], 1, "{status}");
    assert_eq!(
        status["catalog"]["recent_notes"][0]["path"],
        scan.display().to_string()
    );
    assert_eq!(
        status["catalog"]["recent_notes"][0]["error"],
        "scanned: no text layer"
    );
    assert!(
        human.contains(&format!("note: {}: scanned: no text layer", scan.display())),
        "{human}"
    );

    let pid_t = nix::unistd::Pid::from_raw(pid as i32);
    nix::sys::signal::kill(pid_t, nix::sys::signal::Signal::SIGTERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while daemon.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "daemon did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while !marked_processes(&mark).is_empty() {
        assert!(Instant::now() < deadline, "workers outlived the daemon");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(fs);
}

/// A user other than root sees their own failing files in `status`, and nobody else's.
#[test]
fn status_lists_only_the_callers_own_failures() {
    if !require_root("status failures per user (needs useradd)") {
        return;
    }
    let a = common::users::user("fandex-test-a");
    let b = common::users::user("fandex-test-b");
    let env = Env::new();
    common::users::chmod(env.tmp.path(), 0o755);
    let fs = Tmpfs::mount(&env.tmp.path().join("fs"));
    let root = fs.path.join("root");
    std::fs::create_dir_all(&root).unwrap();
    // Corrupt gzip: a read failure recorded with its reason (in-process, no parser needed).
    for (name, owner) in [
        ("mine-a.txt.gz", a),
        ("mine-b.txt.gz", b),
        ("roots.txt.gz", (0, 0)),
    ] {
        let path = root.join(name);
        std::fs::write(&path, b"\x1f\x8b\x08\x00 not really gzip").unwrap();
        common::users::chown(&path, owner);
    }
    // A scanned PDF of a's: a note, listed to a (and the owner) only.
    let scan = root.join("scan-a.pdf");
    std::fs::copy(fixture("scanned.pdf"), &scan).unwrap();
    common::users::chown(&scan, a);
    let (daemon, public) = common::users::public_daemon(&env, &root, "");
    let status_of = |who| {
        let out = common::users::fandex_as(&env, Some(who), &public, &["status", "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let of_a = status_of(a);
    assert_eq!(of_a["redacted"], true);
    assert_eq!(of_a["catalog"]["failed"], 1, "{of_a}");
    let listed = of_a["catalog"]["recent_failures"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{of_a}");
    assert_eq!(
        listed[0]["path"],
        root.join("mine-a.txt.gz").display().to_string()
    );
    assert!(
        listed[0]["error"].as_str().unwrap().contains("gzip"),
        "{of_a}"
    );
    assert_eq!(of_a["catalog"]["noted"], 1, "{of_a}");
    assert_eq!(
        of_a["catalog"]["recent_notes"][0]["error"],
        "scanned: no text layer"
    );
    let text = of_a.to_string();
    assert!(
        !text.contains("mine-b") && !text.contains("roots.txt"),
        "{text}"
    );
    let human = common::users::fandex_as(&env, Some(b), &public, &["status"]);
    let human = String::from_utf8(human.stdout).unwrap();
    assert!(
        human.contains("files that failed to read or extract: 1"),
        "{human}"
    );
    assert!(
        human.contains("mine-b.txt.gz") && !human.contains("mine-a"),
        "{human}"
    );
    assert!(
        !human.contains("scan-a") && !human.contains("something missing"),
        "{human}"
    );
    // The owner sees all three.
    assert_eq!(env.status_json()["catalog"]["failed"], 3);
    drop(daemon);
}

/// `fandex index` uses the same parser (needs branch i12-index for the engine to call it).
#[test]
fn index_records_a_crashed_worker_and_goes_on() {
    let env = Env::new();
    std::fs::copy(fixture("sample.pdf"), env.root.join("crash.pdf")).unwrap();
    std::fs::copy(fixture("sample.docx"), env.root.join("fine.docx")).unwrap();
    let out = env
        .cmd()
        .args(["index", "--json"])
        .arg(&env.root)
        .env(TRIGGER, "segv:crash.pdf")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["failed"], 1, "{summary}");
    assert_eq!(env.search("crash"), [env.root.join("crash.pdf")].into());
    assert_eq!(env.search("Jupiter"), [env.root.join("fine.docx")].into());
}
