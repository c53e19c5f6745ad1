//! Errors a user meets, through the binary: each is one line that says what to do, exit code 2, and
//! nothing is corrupted.

mod common;

use common::Env;

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn user_errors_are_one_clear_line_with_exit_code_2() {
    let env = Env::new();
    env.write(b"a.txt", b"alpha");

    // No index yet.
    let out = env.run(&["search", "alpha"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(
        err.contains("no index") && err.contains("fandex index"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");

    // A missing root.
    let out = env.run(&["index", "/nonexistent/fandex-root"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(
        err.contains("/nonexistent/fandex-root") && err.contains("does not exist"),
        "{err}"
    );

    // No root at all.
    let out = env.run(&["index"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("no roots to index"),
        "{}",
        stderr_of(&out)
    );

    env.index(&[&env.root]);

    // A malformed query.
    let out = env.run(&["search", "(alpha OR"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(
        err.contains("invalid query") && err.contains("character"),
        "{err}"
    );

    // An unknown config key names the key.
    let config = env.tmp.path().join("bad.toml");
    std::fs::write(&config, "[index]\nexclud = []\n").unwrap();
    let out = env.run(&["--config", config.to_str().unwrap(), "index"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("exclud"), "{}", stderr_of(&out));

    // Another process holds the index: told who, and nothing breaks.
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(env.index.join("lock"))
        .unwrap();
    let held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusiveNonblock).unwrap();
    let out = env.run(&["index"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("in use by another fandex process"),
        "{}",
        stderr_of(&out)
    );
    // Searching still works while it is held.
    assert_eq!(env.run(&["search", "alpha"]).status.code(), Some(0));
    drop(held);

    // An index written by another format version: a search says how to rebuild it and touches nothing
    // (`fandex index` rebuilds it: tests/upgrade.rs).
    std::fs::write(env.index.join("format"), "999\n").unwrap();
    let out = env.run(&["search", "alpha"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert!(
        err.contains("format 999") && err.contains("to rebuild it"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert_eq!(
        std::fs::read_to_string(env.index.join("format")).unwrap(),
        "999\n"
    );
}

/// Issue 10 item 11: a duration that is not a finite, non-negative number of seconds of at most a day
/// is refused with one line and exit code 2 (`1e99`, `inf` and `99999999999999999999` panicked, `nan`
/// and `-0.5` were taken as 0); so is a configured duration out of range.
#[test]
fn bad_durations_are_one_line_errors() {
    let env = Env::new();
    env.write(b"a.txt", b"alpha");
    // With a daemon to talk to, where the bad values used to panic or wait for nothing.
    let daemon = common::daemon::DaemonProc::start(&env, &env.root, "inotify", "inotify");
    for bad in [
        "1e99",
        "inf",
        "99999999999999999999",
        "nan",
        "-0.5",
        "abc",
        "90000",
    ] {
        let out = env.run(&["sync", "--timeout", bad]);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{bad}: {err}");
        assert!(
            err.starts_with("fandex: error:") && err.contains("--timeout") && err.contains(bad),
            "{bad}: {err}"
        );
    }
    let out = env.run(&["sync", "--timeout", "30"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    drop(daemon);

    let config = env.tmp.path().join("durations.toml");
    std::fs::write(&config, "[daemon]\nbatch_ms = 18446744073709551615\n").unwrap();
    let out = env.run(&["--config", config.to_str().unwrap(), "index", "."]);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("daemon.batch_ms"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

/// `fandex ARGS` with its stdout a pipe whose reader is already gone: every write fails with EPIPE.
fn run_into_closed_pipe(env: &Env, args: &[&str]) -> std::process::Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    env.cmd()
        .args(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap()
}

/// Issue 10 item 11: a reader that stops early (`fandex status | head -3`) is a normal end for every
/// command that prints: no panic, the command's usual exit code.
#[test]
fn a_closed_stdout_is_a_normal_end() {
    let env = Env::new();
    for i in 0..50 {
        env.write(format!("f{i}.txt").as_bytes(), b"alpha");
    }
    let root = env.root.to_str().unwrap().to_owned();
    let check = |args: &[&str], code: i32| {
        let out = run_into_closed_pipe(&env, args);
        let err = stderr_of(&out);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
    };
    check(&["index", &root], 0);
    check(&["index", "--json"], 0);
    check(&["search", "alpha"], 0);
    check(&["search", "--json", "alpha"], 0);
    check(&["status"], 3);
    check(&["status", "--json"], 3);

    let daemon = common::daemon::DaemonProc::start(&env, &env.root, "inotify", "inotify");
    check(&["status"], 0);
    check(&["status", "--json"], 0);
    check(&["search", "alpha"], 0);
    drop(daemon);
}

/// A `sync` asking for a wait too long for the daemon's clock (it panicked the connection's thread, whose
/// place was then never given back) is answered.
#[test]
fn a_sync_without_end_is_answered() {
    use std::io::{BufRead, Write};
    let env = Env::new();
    env.write(b"a.txt", b"alpha");
    let daemon = common::daemon::DaemonProc::start(&env, &env.root, "inotify", "inotify");
    let mut stream =
        std::os::unix::net::UnixStream::connect(env.index.join("fandex.sock")).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    stream
        .write_all(b"{\"op\":\"sync\",\"timeout_ms\":18446744073709551615}\n")
        .unwrap();
    let mut answer = String::new();
    std::io::BufReader::new(&stream)
        .read_line(&mut answer)
        .unwrap();
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
    assert_eq!(answer["type"], "synced", "{answer}\n{}", env.daemon_log());
    drop(daemon);
}

/// The daemon closes idle connections (`daemon.idle_timeout_ms`); the library's client then connects
/// again for its next request instead of failing.
#[test]
fn an_idle_client_connects_again() {
    let env = Env::new();
    env.write(b"a.txt", b"alpha");
    let config = env.tmp.path().join("idle.toml");
    std::fs::write(&config, "[daemon]\nidle_timeout_ms = 300\n").unwrap();
    let daemon = common::daemon::DaemonProc::start_with(
        &env,
        &env.root,
        "inotify",
        "inotify",
        &["--config", config.to_str().unwrap()],
    );
    let mut client = fandex::query::client::Client::connect(&env.index.join("fandex.sock"))
        .unwrap()
        .unwrap();
    client.status().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    client.status().unwrap();
    client.sync(std::time::Duration::from_secs(30)).unwrap();
    drop(daemon);
}

/// Issue 15: options may come before or after the query words, `--` ends them, an unknown option is an
/// error (never query text), and a word with one leading dash that is no option stays a query word.
#[test]
fn options_and_query_words_are_told_apart() {
    let env = Env::new();
    for i in 0..3 {
        env.write(format!("z{i}.txt").as_bytes(), b"zlib inflate");
    }
    env.write(b"draft.txt", b"zlib draft");
    env.index(&[&env.root]);
    let json_paths = |args: &[&str]| {
        let out = env.run(args);
        assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
        common::parse_paths(&out.stdout)
    };

    // After the query, `-n 1` and `--json` are options, not query words.
    assert_eq!(
        json_paths(&["search", "zlib", "-n", "1", "--json"]).len(),
        1
    );
    assert_eq!(
        json_paths(&["search", "zlib", "--limit=2", "--json"]).len(),
        2
    );
    assert_eq!(json_paths(&["search", "--json", "zlib"]).len(), 4);

    // A leading-dash word that is no option is a query word, with or without `--`.
    let without_draft = json_paths(&["search", "--json", "zlib", "-draft"]);
    assert_eq!(without_draft.len(), 3, "{without_draft:?}");
    assert!(!without_draft.contains(&env.root.join("draft.txt")));
    assert_eq!(
        json_paths(&["search", "--json", "--", "zlib", "-draft"]),
        without_draft
    );
    assert_eq!(json_paths(&["search", "-draft", "--json"]), without_draft);

    // After `--`, everything is query text: `-n` is the (absent) word "n" excluded, `1` a word to find.
    let out = env.run(&["search", "--json", "zlib", "--", "-n", "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));

    // An unknown option is one line, exit 2, whether before or after the query.
    for args in [
        &["search", "--bogus", "zlib"][..],
        &["search", "zlib", "--bogus"][..],
        &["--bogus", "search", "zlib"][..],
    ] {
        let out = env.run(args);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("fandex: error:") && err.contains("'--bogus'"),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    let err = stderr_of(&env.run(&["search", "--bogus", "zlib"]));
    assert!(err.contains("fandex search -- --bogus"), "{err}");
}

/// Issue 15, a newcomer's first half hour: no message repeats itself, a failed `fandex index` creates
/// nothing, forgetting what is not a root and `search --sync` without a daemon are errors, the summary
/// says what it skipped, and an empty query names no position.
#[test]
fn first_steps_get_plain_answers() {
    let env = Env::new();
    env.write(b"a.txt", b"alpha");
    std::os::unix::fs::symlink("a.txt", env.root.join("link")).unwrap();
    let one_line_error = |args: &[&str]| {
        let out = env.run(args);
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        err
    };
    let index = env.index.to_str().unwrap().to_owned();

    // A failed first `fandex index` leaves no index behind, so the next search still gives the hint.
    for args in [
        &["index"][..],
        &["index", "/nonexistent/fandex-root"][..],
        &["index", "--forget", "/nonexistent/fandex-root"][..],
    ] {
        one_line_error(args);
        assert!(!env.index.exists(), "{args:?} created {index}");
    }
    let err = one_line_error(&["search", "alpha"]);
    assert_eq!(err.matches(&index).count(), 1, "{err}");
    assert!(
        err.contains("no index") && err.contains("fandex index"),
        "{err}"
    );
    let err = one_line_error(&["status"]);
    assert_eq!(err.matches(&index).count(), 1, "{err}");

    // A missing config file is said once.
    let err = one_line_error(&["--config", "/nonexistent/fandex.toml", "search", "alpha"]);
    assert_eq!(err.matches("No such file").count(), 1, "{err}");

    // The summary says what "skipped" was.
    let out = env.run(&["index", env.root.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let summary = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(summary.contains("1 skipped (symlinks"), "{summary}");

    // Forgetting a directory that is not a root is an error naming it and the roots; nothing changes.
    let err = one_line_error(&["index", "--forget", "/nonexistent/fandex-root"]);
    assert!(
        err.contains("/nonexistent/fandex-root")
            && err.contains("not a root")
            && err.contains(env.root.to_str().unwrap()),
        "{err}"
    );
    assert_eq!(env.search("alpha").len(), 1);

    // `search --sync` needs the daemon as `sync` does, and says so the same way.
    let err = one_line_error(&["search", "--sync", "alpha"]);
    assert_eq!(err, one_line_error(&["sync"]));
    assert!(err.contains("no daemon"), "{err}");

    // An empty query is refused without pointing at a character it does not have.
    let err = one_line_error(&["search", ""]);
    assert!(
        err.contains("empty query") && !err.contains("character"),
        "{err}"
    );
}

/// Issue 15: the daemon logs what its first reconcile did as the same readable line `fandex index`
/// prints, not a debug dump of the summary struct.
#[test]
fn the_daemon_logs_a_readable_summary() {
    let env = Env::new();
    env.write(b"a.txt", b"alpha");
    let daemon = common::daemon::DaemonProc::start(&env, &env.root, "inotify", "inotify");
    let log = env.daemon_log();
    drop(daemon);
    let line = log
        .lines()
        .find(|l| l.contains("reconciled"))
        .unwrap_or_else(|| panic!("no reconcile line in the log:\n{log}"));
    assert!(
        line.contains("files seen") && line.contains("indexed"),
        "{line}"
    );
    assert!(!log.contains("Summary {"), "{log}");
}

/// Issue 15: `fandex completions SHELL` prints the committed script, which the shell accepts.
#[test]
fn completions_are_printed_for_each_shell() {
    let env = Env::new();
    let doc = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("doc/completions");
    for (shell, file) in [
        ("bash", "fandex.bash"),
        ("zsh", "_fandex"),
        ("fish", "fandex.fish"),
    ] {
        let out = env.run(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr_of(&out));
        assert_eq!(
            out.stdout,
            std::fs::read(doc.join(file)).unwrap(),
            "{shell}"
        );
    }
    let script = doc.join("fandex.bash");
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", stderr_of(&check));
    let out = env.run(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}
