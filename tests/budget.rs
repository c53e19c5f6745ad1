//! The per-owner text budget (`index.max_text_bytes_per_owner`, issue 10 item 8): a root daemon stops
//! indexing the text of one user's files once that user's files hold the budget, without affecting
//! anyone else, says so in `status` (to the index owner, and to that user only about themselves), and
//! indexes their text again once they are under the budget. The totals stay equal to a recount of the
//! records, also after a SIGKILL.

mod common;

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::Env;
use common::daemon::{Tmpfs, require_root};
use common::users::{fandex_as, public_daemon, user};
use fandex::indexer::catalog::{Catalog, OWNER_BUDGET_REACHED, Status};

/// Writes `text` to `path` as `who`, so the file is theirs from the start.
fn write_as(who: (u32, u32), path: &Path, text: &str) {
    let status = Command::new("sh")
        .args(["-c", "printf '%s' \"$1\" > \"$2\"", "sh", text])
        .arg(path)
        .uid(who.0)
        .gid(who.1)
        .status()
        .unwrap();
    assert!(status.success(), "writing {} as {who:?}", path.display());
}

/// About `bytes` bytes of text: `word` followed by filler.
fn text_of(word: &str, bytes: usize) -> String {
    let mut text = format!("{word} ");
    while text.len() < bytes {
        text.push_str("filler ");
    }
    text.truncate(bytes);
    text
}

fn hits(env: &Env, query: &str) -> BTreeSet<PathBuf> {
    env.search(query)
}

/// The owners-over-budget entries of a status report, as (uid, text bytes, files without text).
fn over_budget(status: &serde_json::Value) -> Vec<(u64, u64, u64)> {
    status["catalog"]["owners_over_budget"]
        .as_array()
        .unwrap_or_else(|| panic!("no owners_over_budget in {status}"))
        .iter()
        .map(|o| {
            (
                o["uid"].as_u64().unwrap(),
                o["text_bytes"].as_u64().unwrap(),
                o["files_without_text"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Polls `status` (its catalog figures are cached for a few seconds) until `check` holds.
fn wait_status(env: &Env, what: &str, check: impl Fn(&serde_json::Value) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let status = env.status_json();
        if check(&status) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {status}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn an_owner_past_the_budget_gets_names_only_and_nobody_else_is_affected() {
    if !require_root("per-owner budget (needs useradd)") {
        return;
    }
    let a = user("fandex-test-a");
    let b = user("fandex-test-b");
    let env = Env::new();
    std::fs::set_permissions(
        env.tmp.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let fs = Tmpfs::mount(&env.tmp.path().join("fs"));
    let root = fs.path.join("root");
    let a_dir = root.join("a");
    std::fs::create_dir_all(&a_dir).unwrap();
    std::os::unix::fs::chown(&a_dir, Some(a.0), Some(a.1)).unwrap();

    let (daemon, public) = public_daemon(&env, &root, "[index]\nmax_text_bytes_per_owner = 3000\n");

    // A's first 2,400 bytes fit; the third file would take A past 3,000 bytes.
    let a1 = a_dir.join("one.txt");
    let a2 = a_dir.join("two.txt");
    let a3 = a_dir.join("threefile.txt");
    for (path, word) in [(&a1, "alphaone"), (&a2, "alphatwo"), (&a3, "alphathree")] {
        write_as(a, path, &text_of(word, 1200));
        env.sync();
    }
    assert_eq!(hits(&env, "alphaone"), BTreeSet::from([a1.clone()]));
    assert_eq!(hits(&env, "alphatwo"), BTreeSet::from([a2.clone()]));
    assert!(
        hits(&env, "alphathree").is_empty(),
        "A's text past the budget"
    );
    assert_eq!(
        hits(&env, "name:threefile"),
        BTreeSet::from([a3.clone()]),
        "still found by name"
    );
    // Root's files (another owner) keep their text, however much A wrote.
    let r1 = root.join("rootfile.txt");
    std::fs::write(&r1, text_of("rootword", 2500)).unwrap();
    env.sync();
    assert_eq!(hits(&env, "rootword"), BTreeSet::from([r1.clone()]));

    // The index owner sees A's uid and bytes; A sees their own entry; B, under no budget, sees none.
    wait_status(&env, "root sees A over budget", |s| {
        over_budget(s) == [(u64::from(a.0), 2400, 1)]
    });
    let human = String::from_utf8_lossy(&env.run(&["status"]).stdout).into_owned();
    assert!(
        human.contains(&format!("owner uid {}: text budget reached", a.0)),
        "{human}"
    );
    let as_a: serde_json::Value =
        serde_json::from_slice(&fandex_as(&env, Some(a), &public, &["status", "--json"]).stdout)
            .unwrap();
    assert_eq!(over_budget(&as_a), [(u64::from(a.0), 2400, 1)]);
    let as_b: serde_json::Value =
        serde_json::from_slice(&fandex_as(&env, Some(b), &public, &["status", "--json"]).stdout)
            .unwrap();
    assert_eq!(over_budget(&as_b), [], "B learns nothing about A");

    // A deletes files: new changes get their text again, the dropped file on its next change too.
    std::fs::remove_file(&a1).unwrap();
    std::fs::remove_file(&a2).unwrap();
    env.sync();
    let a4 = a_dir.join("four.txt");
    write_as(a, &a4, &text_of("alphafour", 1200));
    write_as(a, &a3, &text_of("alphathree again", 1200));
    env.sync();
    assert_eq!(hits(&env, "alphafour"), BTreeSet::from([a4.clone()]));
    assert_eq!(hits(&env, "alphathree"), BTreeSet::from([a3.clone()]));
    wait_status(&env, "A under budget again", |s| over_budget(s).is_empty());

    // Past the budget again, then a chown moves a file's share to its new owner (an ATTRIB event).
    let a5 = a_dir.join("five.txt");
    write_as(a, &a5, &text_of("alphafive", 1200));
    env.sync();
    assert!(hits(&env, "alphafive").is_empty());
    std::os::unix::fs::chown(&a4, Some(b.0), Some(b.1)).unwrap();
    env.sync();
    // The end of the daemon is a crash: the totals must still equal a recount of the records.
    daemon.kill9();
    let catalog = Catalog::open(&env.index.join("catalog")).unwrap();
    let totals = catalog.owner_totals().unwrap();
    assert_eq!(totals, catalog.recount_owners().unwrap());
    assert_eq!(totals.get(&a.0), Some(&1200), "{totals:?}");
    assert_eq!(totals.get(&b.0), Some(&1200), "{totals:?}");
    assert_eq!(totals.get(&0), Some(&2500), "{totals:?}");
    let (_, five) = catalog
        .get_by_path(a5.as_os_str().as_encoded_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(five.status, Status::OverBudget);
    assert_eq!(five.error.as_deref(), Some(OWNER_BUDGET_REACHED));
}
