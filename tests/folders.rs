//! Directories as results (issue 13): indexed by name, found with `type:folder`, `name:` and `--names`,
//! after the files in relevance order, shown with a trailing `/` and the MIME type `inode/directory`;
//! through the binary straight from the index, through a running daemon's socket and through the
//! library; kept current by live events on fanotify and inotify; and shown by a root daemon to a user
//! only when that user may list them. The expected answers are computed from the tree this test made.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::Env;
use common::daemon::{DaemonProc, Tmpfs, require_root};
use common::users::{chmod, fandex_as, public_daemon, user};

/// The directories the tree holds (relative to the root), all indexed.
const DIRS: &[&str] = &[
    "projects",
    "work",
    "work/projects-2026",
    "work/misc",
    "empty-projects",
];

/// (file, text).
const FILES: &[(&str, &str)] = &[
    ("projects/plan.txt", "projects plan for the year"),
    ("work/projects-2026/notes.md", "meeting notes"),
    ("work/misc/projects.txt", "a list"),
    ("node_modules/projects/x.js", "projects"),
];

/// Excluded by the default rules: never a result, nor anything below it.
const EXCLUDED: &str = "node_modules";

fn make_tree(env: &Env) {
    for dir in DIRS {
        std::fs::create_dir_all(env.root.join(dir)).unwrap();
    }
    for (name, text) in FILES {
        env.write(name.as_bytes(), text.as_bytes());
    }
}

/// The words of a name or text as the index splits them (these names are ASCII).
fn words(s: &str) -> BTreeSet<String> {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn name_of(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap()
}

/// The indexed directories whose name holds `word`.
fn folders_named(env: &Env, word: &str) -> BTreeSet<PathBuf> {
    DIRS.iter()
        .filter(|d| words(name_of(d)).contains(word))
        .map(|d| env.root.join(d))
        .collect()
}

/// The indexed files whose name or text holds `word`.
fn files_with(env: &Env, word: &str) -> BTreeSet<PathBuf> {
    FILES
        .iter()
        .filter(|(f, _)| !f.starts_with(EXCLUDED))
        .filter(|(f, t)| words(name_of(f)).contains(word) || words(t).contains(word))
        .map(|(f, _)| env.root.join(f))
        .collect()
}

fn all_folders(env: &Env) -> BTreeSet<PathBuf> {
    DIRS.iter().map(|d| env.root.join(d)).collect()
}

/// The JSON hits of `fandex search --json ARGS...`, in order.
fn json_hits(env: &Env, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["search", "--json", "--limit", "1000"];
    all.extend_from_slice(args);
    let out = env.run(&all);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    common::json_hits(&out.stdout)
}

fn is_folder(hit: &serde_json::Value) -> bool {
    hit["mime"] == "inode/directory"
}

fn path_of(hit: &serde_json::Value) -> PathBuf {
    PathBuf::from(hit["path"].as_str().unwrap())
}

/// Lines of `fandex search --color never ARGS...` that are paths.
fn printed(env: &Env, args: &[&str]) -> Vec<String> {
    let mut all = vec!["search", "--color", "never", "--limit", "1000"];
    all.extend_from_slice(args);
    let out = env.run(&all);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('/'))
        .map(str::to_owned)
        .collect()
}

/// Everything a user expects of folders, through whatever answers `fandex search` (the index or a
/// daemon).
fn check(env: &Env) {
    // type:folder: every directory below the root, not the root, nothing excluded.
    assert_eq!(env.search("type:folder"), all_folders(env));
    assert_eq!(
        env.search("name:projects type:folder"),
        folders_named(env, "projects")
    );
    // A plain query: the files, then the folders (exactly split), every one counted.
    let hits = json_hits(env, &["projects"]);
    let files = files_with(env, "projects");
    let folders = folders_named(env, "projects");
    let split = hits.iter().take_while(|h| !is_folder(h)).count();
    let (first, rest) = hits.split_at(split);
    assert_eq!(first.iter().map(path_of).collect::<BTreeSet<_>>(), files);
    assert!(rest.iter().all(is_folder), "files after a folder: {hits:?}");
    assert_eq!(rest.iter().map(path_of).collect::<BTreeSet<_>>(), folders);
    // Printed with a trailing slash, files without.
    let lines: BTreeSet<String> = printed(env, &["projects"]).into_iter().collect();
    let expected: BTreeSet<String> = files
        .iter()
        .map(|p| p.display().to_string())
        .chain(folders.iter().map(|p| format!("{}/", p.display())))
        .collect();
    assert_eq!(lines, expected);
    // Sorted by name, files and folders mix by the key.
    let by_name: Vec<String> = json_hits(env, &["--sort", "name", "projects"])
        .iter()
        .map(|h| {
            path_of(h)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let mut sorted = by_name.clone();
    sorted.sort();
    assert_eq!(by_name, sorted);
    assert_eq!(by_name.len(), files.len() + folders.len());
    // Filters alone list files; other classes never match a folder.
    let files_only: BTreeSet<PathBuf> = FILES
        .iter()
        .filter(|(f, _)| !f.starts_with(EXCLUDED))
        .map(|(f, _)| env.root.join(f))
        .collect();
    assert_eq!(
        env.search(&format!("path:{}", env.root.display())),
        files_only
    );
    assert_eq!(env.search("type:text"), files_only);
    assert_eq!(
        env.search(&format!(
            "type:folder path:{}",
            env.root.join("work").display()
        )),
        folders_named(env, "projects")
            .into_iter()
            .chain([env.root.join("work/misc")])
            .filter(|p| p.starts_with(env.root.join("work")))
            .collect()
    );
    // --names lists folders like plocate does.
    let names: BTreeSet<String> = printed(env, &["--names", "proj"]).into_iter().collect();
    let expected: BTreeSet<String> = DIRS
        .iter()
        .filter(|d| name_of(d).contains("proj"))
        .map(|d| format!("{}/", env.root.join(d).display()))
        .chain(
            FILES
                .iter()
                .filter(|(f, _)| !f.starts_with(EXCLUDED) && name_of(f).contains("proj"))
                .map(|(f, _)| env.root.join(f).display().to_string()),
        )
        .collect();
    assert_eq!(names, expected);
}

#[test]
fn folders_are_found_by_name_through_the_cli_the_daemon_and_the_library() {
    let env = Env::new();
    make_tree(&env);
    let summary = env.index(&[&env.root]);
    // The file counts are the files'; the folders are counted apart.
    assert_eq!(summary["seen"], 3, "{summary}");
    assert_eq!(summary["folders"], DIRS.len(), "{summary}");
    check(&env);

    let daemon = DaemonProc::start(&env, &env.root, "inotify", "inotify");
    env.sync();
    check(&env);
    let status = env.status_json();
    assert_eq!(status["catalog"]["folders"], DIRS.len(), "{status}");
    assert_eq!(status["catalog"]["records"], 3, "{status}");
    assert_eq!(status["documents"], 3, "{status}");
    daemon.terminate();

    // The library: the hit carries the MIME type.
    let searcher = fandex::open_searcher(&fandex::IndexDir::at(&env.index)).unwrap();
    let results = searcher
        .search(&fandex::SearchRequest {
            query: "name:projects type:folder".into(),
            limit: 100,
            cwd: "/".into(),
            ..fandex::SearchRequest::default()
        })
        .unwrap();
    let found: BTreeSet<PathBuf> = results.hits.iter().map(|h| h.path.clone()).collect();
    assert_eq!(found, folders_named(&env, "projects"));
    assert_eq!(results.total, found.len());
    assert!(
        results
            .hits
            .iter()
            .all(|h| h.mime.as_deref() == Some("inode/directory"))
    );
}

/// `type:folder` below `root` as the daemon answers it now.
fn folders_below(env: &Env, root: &Path) -> BTreeSet<PathBuf> {
    env.search(&format!("type:folder path:{}", root.display()))
}

/// Directories created, renamed (with a file inside, which moves without being read) and removed
/// while the daemon runs are found, moved and gone after `sync`.
fn live(backend: &str) {
    if !require_root(&format!("live folders on {backend}")) {
        return;
    }
    let env = Env::new();
    let fs = Tmpfs::mount(&env.tmp.path().join("fs"));
    let root = fs.path.join("root");
    std::fs::create_dir_all(root.join("a")).unwrap();
    std::fs::write(root.join("a/f.txt"), "alpha").unwrap();
    let daemon = DaemonProc::start(&env, &root, backend, backend);
    env.sync();
    let set = |rel: &[&str]| -> BTreeSet<PathBuf> { rel.iter().map(|r| root.join(r)).collect() };
    assert_eq!(folders_below(&env, &root), set(&["a"]));

    std::fs::create_dir_all(root.join("b/inner")).unwrap();
    std::fs::create_dir(root.join("a/new")).unwrap();
    std::fs::write(root.join("b/inner/g.txt"), "gamma").unwrap();
    env.sync();
    assert_eq!(
        folders_below(&env, &root),
        set(&["a", "a/new", "b", "b/inner"])
    );

    std::fs::rename(root.join("b"), root.join("moved")).unwrap();
    chmod(&root.join("a/new"), 0o700);
    env.sync();
    assert_eq!(
        folders_below(&env, &root),
        set(&["a", "a/new", "moved", "moved/inner"])
    );
    assert_eq!(env.search("gamma"), set(&["moved/inner/g.txt"]));
    assert_eq!(env.search("name:inner type:folder"), set(&["moved/inner"]));

    std::fs::remove_dir(root.join("a/new")).unwrap();
    std::fs::remove_dir_all(root.join("moved")).unwrap();
    env.sync();
    assert_eq!(folders_below(&env, &root), set(&["a"]));
    let status = env.status_json();
    assert_eq!(status["catalog"]["folders"], 1, "{status}");
    assert_eq!(status["catalog"]["records"], 1, "{status}");
    daemon.terminate();
}

#[test]
fn folders_follow_live_changes_fanotify() {
    live("fanotify");
}

#[test]
fn folders_follow_live_changes_inotify() {
    live("inotify");
}

/// A root daemon shows a user the folders they may list, and nothing of the others: not in hits,
/// totals or suggestions.
#[test]
fn a_user_sees_only_the_folders_they_may_list() {
    if !require_root("permission-filtered folders") {
        return;
    }
    let someone = user("fandex-test-b");
    let env = Env::new();
    chmod(env.tmp.path(), 0o755);
    let fs = Tmpfs::mount(&env.tmp.path().join("fs"));
    let root = fs.path.join("root");
    for (dir, mode) in [
        ("open", 0o755),
        ("open/sub", 0o755),
        ("secret", 0o700),
        ("secret/inner", 0o755),
        ("noexec", 0o744),
    ] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
        chmod(&root.join(dir), mode);
    }
    chmod(&root, 0o755);
    let (daemon, public) = public_daemon(&env, &root, "");
    env.sync();
    let folders = |who, query: &str| -> BTreeSet<PathBuf> {
        let out = fandex_as(
            &env,
            who,
            &public,
            &["search", "--json", "--limit", "100", query],
        );
        common::parse_paths(&out.stdout)
    };
    let set = |rel: &[&str]| -> BTreeSet<PathBuf> { rel.iter().map(|r| root.join(r)).collect() };
    assert_eq!(
        folders(None, "type:folder"),
        set(&["open", "open/sub", "secret", "secret/inner", "noexec"])
    );
    assert_eq!(
        folders(Some(someone), "type:folder"),
        set(&["open", "open/sub"])
    );
    assert_eq!(folders(Some(someone), "inner"), set(&[]));
    // The count is of what the user may see.
    let out = fandex_as(
        &env,
        Some(someone),
        &public,
        &["search", "--limit", "0", "type:folder"],
    );
    let told = String::from_utf8_lossy(&out.stderr);
    assert!(told.contains("0 of 2 matches"), "{told}");
    // No suggestion from a folder the user cannot list; root is offered it.
    let suggestion = |who| {
        let out = fandex_as(&env, who, &public, &["search", "--json", "innerr"]);
        String::from_utf8_lossy(&out.stdout).contains("\"suggestion\"")
    };
    assert!(suggestion(None));
    assert!(!suggestion(Some(someone)));
    daemon.terminate();
}
