//! Issue 10 item 1: a directory swapped for a symlink while the root daemon reads it must never make the
//! daemon read another user's file and file its text under the attacker's path, and the index must still
//! converge to exactly the files on disk afterwards.
//!
//! The attack, as reported: the attacker fills an excluded `node_modules/d` with many files, moves it into
//! view (the daemon starts reading it), renames it away and puts a symlink to the victim's private
//! directory in its place for a few seconds while the daemon is still reading `d/...`, then removes the
//! symlink and syncs. The victim's directory holds files of the same names (so every read through the
//! symlink would hit one), each 0600 with the victim's words.

mod common;

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::Env;
use common::daemon::{Tmpfs, require_root};
use common::users::{chmod, chown, public_daemon, user};

/// Files in the attacker's directory (and of the same names in the victim's).
const FILES: usize = 4000;

/// `fandex search --json QUERY` as `who` through the public socket: the paths returned.
fn hits_as(env: &Env, who: (u32, u32), socket: &Path, query: &str) -> BTreeSet<PathBuf> {
    let out: Output = env
        .cmd()
        .env("FANDEX_SOCKET", socket)
        .args(["search", "--json", "--limit", "100000", query])
        .current_dir("/")
        .uid(who.0)
        .gid(who.1)
        .output()
        .unwrap();
    let code = out.status.code();
    assert!(
        code == Some(0) || code == Some(1),
        "search as {who:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("victimword"),
        "victim's text in the attacker's answer"
    );
    common::parse_paths(&out.stdout)
}

/// ~16 KB of text holding `word` (so each read takes a moment and the race window stays open).
fn body(word: &str, i: usize) -> String {
    let mut s = format!("{word} number{i} ");
    while s.len() < 16 * 1024 {
        s.push_str("filler lorem ipsum dolor sit amet consectetur ");
    }
    s
}

#[test]
fn directory_swapped_for_a_symlink_leaks_nothing_and_converges() {
    if !require_root("the directory-symlink race (two users, a root daemon)") {
        return;
    }
    let attacker = user("fandex-test-a");
    let victim = user("fandex-test-b");
    let env = Env::new();
    chmod(env.tmp.path(), 0o755);
    let fs = Tmpfs::mount(&env.tmp.path().join("fs"));
    let root = fs.path.join("root");
    std::fs::create_dir_all(&root).unwrap();
    chmod(&root, 0o755);

    // The victim's private directory: same names as the attacker's files, plus one name of its own.
    let private = root.join("victim");
    std::fs::create_dir(&private).unwrap();
    let mut victim_files = BTreeSet::new();
    for i in 0..FILES {
        let p = private.join(format!("f{i:05}.txt"));
        std::fs::write(&p, body("victimwordzq", i)).unwrap();
        victim_files.insert(p);
    }
    for name in ["secret0600.txt", "victimonlyzq.txt"] {
        let p = private.join(name);
        std::fs::write(&p, "victimwordzq victimsecretzq").unwrap();
        victim_files.insert(p);
    }
    for p in victim_files.iter().chain([&private]) {
        chown(p, victim);
        chmod(p, if p == &private { 0o700 } else { 0o600 });
    }

    // The attacker's tree, excluded (node_modules) to begin with.
    let att = root.join("att");
    let staged = att.join("node_modules/d");
    std::fs::create_dir_all(&staged).unwrap();
    let mut names = Vec::new();
    for i in 0..FILES {
        let name = format!("f{i:05}.txt");
        std::fs::write(staged.join(&name), body("attackerwordzq", i)).unwrap();
        names.push(name);
    }
    std::fs::write(staged.join("secret0600.txt"), "attackerwordzq decoy").unwrap();
    names.push("secret0600.txt".into());
    for p in [&att, &att.join("node_modules"), &staged] {
        chown(p, attacker);
    }
    for name in &names {
        chown(&staged.join(name), attacker);
    }

    let (daemon, public) = public_daemon(&env, &root, "");
    env.sync();
    assert_eq!(env.search("victimwordzq"), victim_files, "victim indexed");
    assert!(
        env.search("attackerwordzq").is_empty(),
        "node_modules excluded"
    );

    // The attack.
    let d = att.join("d");
    let d_real = att.join("d_real");
    std::fs::rename(&staged, &d).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    std::fs::rename(&d, &d_real).unwrap();
    std::os::unix::fs::symlink(&private, &d).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    std::fs::remove_file(&d).unwrap();
    env.sync();

    // Nothing of the victim's under the attacker's names: not the text, not a name.
    for word in ["victimwordzq", "victimsecretzq", "victimonlyzq"] {
        assert!(
            hits_as(&env, attacker, &public, word).is_empty(),
            "the attacker found {word}: {}",
            env.daemon_log()
        );
    }
    assert_eq!(
        env.search("victimwordzq"),
        victim_files,
        "the victim's text is filed under the victim's paths only"
    );
    // Converged: exactly the attacker's files on disk, each once, under d_real.
    let expected: BTreeSet<PathBuf> = names.iter().map(|n| d_real.join(n)).collect();
    let found = env.search("attackerwordzq");
    assert_eq!(
        found.len(),
        expected.len(),
        "{} of {} attacker files indexed after sync; missing e.g. {:?}, extra e.g. {:?}",
        found.intersection(&expected).count(),
        expected.len(),
        expected.difference(&found).take(3).collect::<Vec<_>>(),
        found.difference(&expected).take(3).collect::<Vec<_>>(),
    );
    assert_eq!(found, expected);
    assert_eq!(
        hits_as(&env, attacker, &public, "attackerwordzq"),
        expected,
        "the attacker sees its own files"
    );
    drop(daemon);
}
