//! `fandex search --names` and `name:` patterns through the binary (issue 13): straight from the index,
//! through a running daemon, and as two users of a root daemon who each get only the names they may
//! read. The expected answers are computed from the names this test wrote.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::Env;
use common::daemon::{DaemonProc, Tmpfs, require_root};
use common::users::{chmod, chown, fandex_as, public_daemon, user};

const NAMES: &[&str] = &[
    "Report-2024.pdf",
    "report-2025.pdf",
    "quarterly_REPORT.odt",
    "export.tar.gz",
    "notes.txt",
    "Bär.md",
    "καλημέρα.txt",
];

/// The names (as a set) whose lowercase satisfies `keep`.
fn expect(keep: impl Fn(&str) -> bool) -> BTreeSet<String> {
    NAMES
        .iter()
        .filter(|n| keep(&n.to_lowercase()))
        .map(|n| n.to_string())
        .collect()
}

/// File names printed by `fandex search ARGS` (one path per line in `--names` mode).
fn printed(out: &std::process::Output) -> BTreeSet<String> {
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let line = String::from_utf8_lossy(l).into_owned();
            assert!(
                line.starts_with('/'),
                "a path per line, nothing else: {line:?}"
            );
            Path::new(&line)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

fn check(env: &Env) {
    let names = |args: &[&str]| {
        let mut all = vec!["search", "--color", "never", "--names", "--limit", "100"];
        all.extend_from_slice(args);
        printed(&env.run(&all))
    };
    assert_eq!(names(&["port"]), expect(|n| n.contains("port")));
    assert_eq!(names(&["*.pdf"]), expect(|n| n.ends_with(".pdf")));
    assert_eq!(
        names(&["report-202?.pdf"]),
        expect(|n| n.starts_with("report-202") && n.len() == 15)
    );
    assert_eq!(names(&["*.tar.gz"]), expect(|n| n.ends_with(".tar.gz")));
    assert_eq!(names(&["ΚΑΛΗ"]), expect(|n| n.contains("καλη")));
    assert_eq!(names(&["bä"]), expect(|n| n.contains("bä")));
    assert_eq!(
        names(&["port", "ext:pdf"]),
        expect(|n| n.contains("port") && n.ends_with(".pdf"))
    );
    // Paging: the same order, cut.
    let all = env.run(&["search", "--names", "--sort", "name", "--limit", "100", "e"]);
    let page = env.run(&[
        "search", "--names", "--sort", "name", "--offset", "1", "--limit", "2", "e",
    ]);
    let all_lines: Vec<&[u8]> = all.stdout.split(|&b| b == b'\n').collect();
    let page_lines: Vec<&[u8]> = page
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(page_lines, all_lines[1..3]);
    // In the query language, outside --names, the same patterns after `name:`.
    let json = env.run(&["search", "--json", "--limit", "100", "name:*port*"]);
    let found: BTreeSet<String> = common::parse_paths(&json.stdout)
        .iter()
        .map(|p: &PathBuf| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(found, expect(|n| n.contains("port")));
    // No match: exit code 1 and nothing printed.
    let none = env.run(&["search", "--names", "zzz*"]);
    assert_eq!(none.status.code(), Some(1));
    assert!(none.stdout.is_empty());
}

#[test]
fn names_mode_through_the_index_and_the_daemon() {
    let env = Env::new();
    for name in NAMES {
        env.write(name.as_bytes(), b"text");
    }
    env.index(&[&env.root]);
    check(&env);
    let daemon = DaemonProc::start(&env, &env.root, "inotify", "inotify");
    env.sync();
    check(&env);
    daemon.terminate();
}

#[test]
fn names_mode_answers_each_user_with_what_they_may_read() {
    if !require_root("permission-filtered names") {
        return;
    }
    let a = user("fandex-test-a");
    let b = user("fandex-test-b");
    let env = Env::new();
    chmod(env.tmp.path(), 0o755);
    let fs = Tmpfs::mount(&env.tmp.path().join("fs"));
    let root = fs.path.join("root");
    std::fs::create_dir_all(&root).unwrap();
    chmod(&root, 0o755);
    std::fs::write(root.join("shared-report.txt"), "x").unwrap();
    let private = root.join("a-report.txt");
    std::fs::write(&private, "x").unwrap();
    chown(&private, a);
    chmod(&private, 0o600);
    let (daemon, public) = public_daemon(&env, &root, "");
    env.sync();
    let names = |who| {
        printed(&fandex_as(
            &env,
            who,
            &public,
            &["search", "--names", "*report*"],
        ))
    };
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(names(None), set(&["shared-report.txt", "a-report.txt"]));
    assert_eq!(names(Some(a)), set(&["shared-report.txt", "a-report.txt"]));
    assert_eq!(names(Some(b)), set(&["shared-report.txt"]));
    // The count B is told does not include A's file either.
    let out = fandex_as(
        &env,
        Some(b),
        &public,
        &["search", "--names", "--limit", "0", "*report*"],
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("0 of 1 matches"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    daemon.terminate();
}
