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

    // An index written by another format version is refused, not touched.
    std::fs::write(env.index.join("format"), "999\n").unwrap();
    for args in [&["search", "alpha"][..], &["index"][..]] {
        let out = env.run(args);
        assert_eq!(out.status.code(), Some(2));
        let err = stderr_of(&out);
        assert!(
            err.contains("format 999") && err.contains("remove that directory"),
            "{err}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(env.index.join("format")).unwrap(),
        "999\n"
    );
}
