//! Helpers shared by the end-to-end tests: run the built `fandex` binary against a private index.

#![allow(dead_code)]

pub mod daemon;
pub mod image;
pub mod users;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;

/// Whether `out`, the output of `fandex status --json`, came from a daemon done with its start-up
/// reconcile. A daemon answers as soon as it watches, while it still reconciles (state `reconciling`);
/// a test that looks at the index right after a start waits for the end of the reconcile.
pub fn reconciled(out: &Output) -> bool {
    out.status.success()
        && serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .is_ok_and(|status| status["state"] != "reconciling")
}

/// A temporary directory holding a tree to index and an index directory.
pub struct Env {
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub index: PathBuf,
}

impl Env {
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("root");
        std::fs::create_dir_all(&root).unwrap();
        let root = std::fs::canonicalize(root).unwrap();
        let index = tmp.path().join("index");
        Self { tmp, root, index }
    }

    /// A `fandex` command with this env's index dir and no user config.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_fandex"));
        c.env("FANDEX_INDEX_DIR", &self.index)
            .env("NO_COLOR", "1")
            .env_remove("RUST_LOG")
            .env("XDG_CONFIG_HOME", self.tmp.path().join("no-config"))
            .current_dir(&self.root);
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run fandex")
    }

    /// Writes a file (creating parents) under the root; `name` is raw bytes.
    pub fn write(&self, name: &[u8], content: &[u8]) -> PathBuf {
        let p = self.root.join(OsStr::from_bytes(name));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, content).unwrap();
        p
    }

    /// `fandex index` must succeed; returns the JSON summary.
    pub fn index(&self, roots: &[&Path]) -> serde_json::Value {
        let mut c = self.cmd();
        c.arg("index").arg("--json").args(roots);
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "fandex index failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("summary JSON")
    }

    /// The exact set of paths `fandex search --json` returns (exit 0 or 1 only).
    pub fn search(&self, query: &str) -> BTreeSet<PathBuf> {
        let out = self.run(&["search", "--json", "--limit", "100000", query]);
        let code = out.status.code();
        assert!(
            code == Some(0) || code == Some(1),
            "search {query:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let paths = parse_paths(&out.stdout);
        assert_eq!(
            code == Some(0),
            !paths.is_empty(),
            "exit code follows grep for {query:?}"
        );
        paths
    }
}

/// The hits of `fandex search --json` output, one JSON object per line; a "did you mean" line
/// (`{"suggestion": ...}`) is not a hit.
pub fn json_hits(stdout: &[u8]) -> Vec<serde_json::Value> {
    stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|line| serde_json::from_slice::<serde_json::Value>(line).expect("JSON line"))
        .filter(|v| v.get("suggestion").is_none())
        .collect()
}

/// Paths from JSON lines, exact bytes (from `path_b64` when present); a "did you mean" line
/// (`{"suggestion": ...}`) is not a hit.
pub fn parse_paths(stdout: &[u8]) -> BTreeSet<PathBuf> {
    json_hits(stdout)
        .into_iter()
        .map(|v| match v.get("path_b64").and_then(|b| b.as_str()) {
            Some(b64) => PathBuf::from(OsStr::from_bytes(
                &base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap(),
            )),
            None => PathBuf::from(v["path"].as_str().expect("path")),
        })
        .collect()
}
