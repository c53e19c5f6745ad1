//! Matching text in every script through the binary (issue 13), straight from the index and through a
//! running daemon: folding, CJK words inside runs (text and names), stemming and `=word`, "did you
//! mean", and the stemming languages of the configuration (changing them rebuilds the index).

mod common;

use std::collections::BTreeSet;

use common::Env;
use common::daemon::DaemonProc;

/// (file name, text): words of several scripts and forms.
const FILES: &[(&str, &str)] = &[
    ("greek.txt", "Καλημέρα κόσμε"),
    ("russian.txt", "Ёлка в лесу"),
    ("japanese.txt", "東京都の天気は晴れです"),
    ("京都の地図.txt", "map"),
    ("run.txt", "we run"),
    ("running.txt", "we were running"),
    ("wide.txt", "ＦＵＬＬ width"),
    ("receive.txt", "please receive this"),
];

/// The file names `fandex search --json QUERY` returns, and the suggestion line if any.
fn search(env: &Env, query: &str) -> (BTreeSet<String>, Option<String>) {
    let out = env.run(&["search", "--json", "--limit", "100", query]);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{query}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names = BTreeSet::new();
    let mut suggestion = None;
    for line in out.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let v: serde_json::Value = serde_json::from_slice(line).unwrap();
        if let Some(s) = v.get("suggestion") {
            suggestion = Some(s.as_str().unwrap().to_owned());
            continue;
        }
        let path = v["path"].as_str().unwrap();
        names.insert(path.rsplit('/').next().unwrap().to_owned());
    }
    (names, suggestion)
}

/// The oracle: the files whose name or text holds one of `words` (as written in `FILES`).
fn holding(words: &[&str]) -> BTreeSet<String> {
    FILES
        .iter()
        .filter(|(name, text)| words.iter().any(|w| text.contains(w) || name.contains(w)))
        .map(|(name, _)| name.to_string())
        .collect()
}

fn check(env: &Env) {
    let names = |q: &str| search(env, q).0;
    assert_eq!(names("καλημερα"), holding(&["Καλημέρα"]));
    assert_eq!(names("ΚΑΛΗΜΕΡΑ"), holding(&["Καλημέρα"]));
    assert_eq!(names("елка"), holding(&["Ёлка"]));
    assert_eq!(names("full"), holding(&["ＦＵＬＬ"]));
    assert_eq!(names("東京"), holding(&["東京"]));
    assert_eq!(names("天気は晴れ"), holding(&["天気は晴れ"]));
    assert_eq!(names("京都"), holding(&["京都"]));
    assert_eq!(names("name:地図"), holding(&["地図"]));
    assert_eq!(names("running"), holding(&["run"]));
    assert_eq!(names("=running"), holding(&["running"]));
    assert_eq!(names("\"run\""), holding(&["we run"]));
    let (found, suggestion) = search(env, "recieve");
    assert!(found.is_empty());
    assert_eq!(suggestion.as_deref(), Some("receive"));
    let out = env.run(&["search", "recieve"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("did you mean: receive"), "{err}");
}

#[test]
fn every_script_stems_and_suggestions_through_the_index_and_the_daemon() {
    let env = Env::new();
    for (name, text) in FILES {
        env.write(name.as_bytes(), text.as_bytes());
    }
    env.index(&[&env.root]);
    check(&env);
    let daemon = DaemonProc::start(&env, &env.root, "inotify", "inotify");
    env.sync();
    check(&env);
    daemon.terminate();
}

#[test]
fn changing_the_languages_rebuilds_the_index() {
    let env = Env::new();
    for (name, text) in FILES {
        env.write(name.as_bytes(), text.as_bytes());
    }
    env.index(&[&env.root]);
    assert_eq!(search(&env, "running").0, holding(&["run"]));
    let config = env.root.parent().unwrap().join("no-stems.toml");
    std::fs::write(&config, "[index]\nlanguages = []\n").unwrap();
    let config = config.to_str().unwrap();
    let out = env.run(&["--config", config, "index", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Without stemming only the exact form is found: the index was rebuilt, not left mismatched.
    assert_eq!(search(&env, "running").0, holding(&["running"]));
    let bad = config.replace("no-stems", "bad");
    std::fs::write(&bad, "[index]\nlanguages = [\"xx\"]\n").unwrap();
    let out = env.run(&["--config", &bad, "index"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown language 'xx'"), "{err}");
}
