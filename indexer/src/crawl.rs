//! The parallel walk of the roots, with exclusions.
//!
//! Each root is walked by the `ignore` crate's parallel walker with its own exclusion rules (globs are
//! matched relative to the root): the built-in [`DEFAULT_EXCLUDES`], the configured globs, `.fandexignore`
//! files (gitignore syntax), optionally `.gitignore` files and hidden names, and never the index directory
//! itself. Symlinks are never followed. What is found is sent as [`WalkItem`]s to a bounded channel, so a
//! slow consumer slows the walk instead of filling memory. Directories are reported too (they are
//! indexed by name), under the same rules as files, except the root itself: a root is what the user
//! asked to index, not a result.

use std::path::{Path, PathBuf};

use crossbeam_channel::Sender;
use ignore::overrides::OverrideBuilder;
use ignore::{WalkBuilder, WalkState};

use crate::config::{DEFAULT_EXCLUDES, IGNORE_FILE_NAME, IndexConfig, SYNC_COOKIE_PREFIX};
use crate::error::{Error, Result};
use crate::fileio::{OpenError, RootSet};

/// One thing the walk found.
#[derive(Debug)]
pub enum WalkItem {
    /// A regular file with its `lstat` metadata.
    File {
        /// Its path.
        path: PathBuf,
        /// `lstat` at walk time.
        meta: std::fs::Metadata,
    },
    /// A directory below the root (or the start of a walk below the root) with its `lstat` metadata.
    Folder {
        /// Its path.
        path: PathBuf,
        /// `lstat` at walk time.
        meta: std::fs::Metadata,
    },
    /// Something that is not a regular file or directory (FIFO, socket, device, symlink): never opened.
    Special {
        /// Its path.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
    },
    /// A directory or file that could not be read; nothing below `path` may be treated as deleted.
    Error {
        /// Where it happened, when known.
        path: Option<PathBuf>,
        /// What happened.
        message: String,
    },
}

/// Builds the exclusion rules of one root: built-in defaults plus configured globs, as negated overrides.
pub(crate) fn overrides_for(
    root: &Path,
    config: &IndexConfig,
) -> Result<ignore::overrides::Override> {
    let mut builder = OverrideBuilder::new(root);
    builder
        .add(&format!("!{SYNC_COOKIE_PREFIX}*"))
        .map_err(|e| Error::BadRoot {
            path: root.to_owned(),
            reason: e.to_string(),
        })?;
    let defaults: &[&str] = if config.default_excludes {
        DEFAULT_EXCLUDES
    } else {
        &[]
    };
    let defaults = defaults.iter().copied();
    for glob in defaults.chain(config.exclude.iter().map(String::as_str)) {
        let negated = match glob.strip_prefix('!') {
            // A leading `!` in the config means "include after all"; it cannot re-include below an
            // excluded directory, as in gitignore.
            Some(rest) => rest.to_owned(),
            None => format!("!{glob}"),
        };
        builder.add(&negated).map_err(|e| Error::BadRoot {
            path: root.to_owned(),
            reason: format!("invalid exclude glob {glob:?}: {e}"),
        })?;
    }
    builder.build().map_err(|e| Error::BadRoot {
        path: root.to_owned(),
        reason: format!("invalid exclude globs: {e}"),
    })
}

fn error_path(err: &ignore::Error) -> Option<PathBuf> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child.clone()),
        ignore::Error::Partial(errs) => errs.iter().find_map(error_path),
        _ => None,
    }
}

/// Walks `start` (`root` itself or a path below it; absolute and canonical), sending what it finds to
/// `sink`. Exclusion globs are anchored at `root`. Subtrees in `pruned` (the index directory) are skipped.
/// Returns when the walk is complete or the receiver is gone.
pub fn walk(
    root: &Path,
    start: &Path,
    roots: &RootSet,
    config: &IndexConfig,
    pruned: &[PathBuf],
    threads: usize,
    sink: &Sender<WalkItem>,
) -> Result<()> {
    let overrides = overrides_for(root, config)?;
    let pruned: Vec<PathBuf> = pruned.to_vec();
    let mut builder = WalkBuilder::new(start);
    builder
        .threads(threads)
        .follow_links(false)
        .same_file_system(config.one_file_system)
        .hidden(!config.hidden)
        .parents(false)
        .ignore(false)
        .git_ignore(config.gitignore)
        .git_global(false)
        .git_exclude(config.gitignore)
        .require_git(false)
        .add_custom_ignore_filename(IGNORE_FILE_NAME)
        .overrides(overrides)
        .filter_entry(move |entry| !pruned.iter().any(|p| entry.path().starts_with(p)));
    builder.build_parallel().run(|| {
        let sink = sink.clone();
        Box::new(move |entry| {
            let item = match entry {
                Err(err) => WalkItem::Error {
                    path: error_path(&err),
                    message: err.to_string(),
                },
                Ok(entry) => {
                    let Some(ft) = entry.file_type() else {
                        return WalkState::Continue;
                    };
                    if ft.is_dir() && entry.path() == root {
                        return WalkState::Continue;
                    }
                    // `ignore` lists directories by path, and a directory may have been swapped for a
                    // symlink since: look at every entry again from its root without following any
                    // symlink, so nothing behind one is reported under this path.
                    let path = entry.into_path();
                    match roots.lstat(&path) {
                        Ok(meta) if meta.is_file() => WalkItem::File { path, meta },
                        Ok(meta) if meta.is_dir() => WalkItem::Folder { path, meta },
                        Ok(meta) => WalkItem::Special {
                            path,
                            kind: crate::fileio::file_kind(&meta.file_type()),
                        },
                        Err(OpenError::Changed | OpenError::Outside) => {
                            tracing::debug!(path = %path.display(), "changed during the walk: skipped");
                            return WalkState::Continue;
                        }
                        Err(err) => WalkItem::Error {
                            path: Some(path),
                            message: err.to_string(),
                        },
                    }
                }
            };
            match sink.send(item) {
                Ok(()) => WalkState::Continue,
                Err(_) => WalkState::Quit,
            }
        })
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::fs;

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        for f in files {
            let p = tmp.path().join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, "x").unwrap();
        }
        tmp
    }

    fn collect(root: &Path, config: &IndexConfig, pruned: &[PathBuf]) -> BTreeSet<String> {
        let (tx, rx) = crossbeam_channel::unbounded();
        walk(
            root,
            root,
            &RootSet::open(&[root.to_owned()]),
            config,
            pruned,
            2,
            &tx,
        )
        .unwrap();
        drop(tx);
        rx.iter()
            .filter_map(|item| match item {
                WalkItem::File { path, .. } => Some(
                    path.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                ),
                _ => None,
            })
            .collect()
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn default_exclusions_skip_vcs_and_caches() {
        let t = tree(&[
            "a.txt",
            ".git/config",
            "src/.git/HEAD",
            "node_modules/x/y.js",
            ".cache/z",
            "notes.txt~",
            ".hidden/kept.txt",
            "src/main.rs",
        ]);
        let got = collect(t.path(), &IndexConfig::default(), &[]);
        assert_eq!(got, set(&["a.txt", ".hidden/kept.txt", "src/main.rs"]));
        let all = IndexConfig {
            default_excludes: false,
            ..IndexConfig::default()
        };
        assert_eq!(collect(t.path(), &all, &[]).len(), 8);
    }

    #[test]
    fn configured_globs_and_fandexignore_apply() {
        let t = tree(&[
            "a.log",
            "b.txt",
            "build/out.txt",
            "sub/build/keep.txt",
            "sub/c.txt",
            "sub/d.md",
        ]);
        fs::write(t.path().join("sub/.fandexignore"), "*.md\n").unwrap();
        let config = IndexConfig {
            exclude: vec!["*.log".into(), "/build/".into()],
            ..IndexConfig::default()
        };
        let got = collect(t.path(), &config, &[]);
        assert_eq!(
            got,
            set(&[
                "b.txt",
                "sub/.fandexignore",
                "sub/build/keep.txt",
                "sub/c.txt"
            ])
        );
    }

    #[test]
    fn hidden_gitignore_and_pruned_dirs() {
        let t = tree(&[".dot/a", "b", "ignored.txt", "index/tantivy/meta"]);
        fs::write(t.path().join(".gitignore"), "ignored.txt\n").unwrap();
        let pruned = [t.path().join("index")];
        let got = collect(t.path(), &IndexConfig::default(), &pruned);
        assert_eq!(got, set(&[".dot/a", ".gitignore", "b", "ignored.txt"]));
        let strict = IndexConfig {
            hidden: false,
            gitignore: true,
            ..IndexConfig::default()
        };
        assert_eq!(collect(t.path(), &strict, &pruned), set(&["b"]));
    }

    /// Everything a walk of `root` (the only root, default configuration) from `start` reports.
    fn walked(root: &Path, start: &Path, threads: usize) -> crossbeam_channel::Receiver<WalkItem> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let roots = RootSet::open(&[root.to_owned()]);
        walk(
            root,
            start,
            &roots,
            &IndexConfig::default(),
            &[],
            threads,
            &tx,
        )
        .unwrap();
        rx
    }

    #[test]
    fn specials_are_reported_not_opened() {
        let t = tree(&["f"]);
        nix::unistd::mkfifo(
            &t.path().join("fifo"),
            nix::sys::stat::Mode::from_bits_truncate(0o600),
        )
        .unwrap();
        std::os::unix::fs::symlink("/etc/passwd", t.path().join("link")).unwrap();
        let rx = walked(t.path(), t.path(), 2);
        let mut specials: Vec<&str> = rx
            .iter()
            .filter_map(|i| match i {
                WalkItem::Special { kind, .. } => Some(kind),
                _ => None,
            })
            .collect();
        specials.sort();
        assert_eq!(specials, ["fifo", "symlink"]);
    }

    #[test]
    fn a_walk_may_start_at_a_file() {
        let t = tree(&["d/f.txt", "g.txt"]);
        let start = t.path().join("d/f.txt");
        let rx = walked(t.path(), &start, 1);
        let files: Vec<PathBuf> = rx
            .iter()
            .filter_map(|i| match i {
                WalkItem::File { path, .. } => Some(path),
                _ => None,
            })
            .collect();
        assert_eq!(files, [start]);
    }

    /// Directories are reported like files, under the same exclusions, the root itself never.
    #[test]
    fn folders_are_reported_under_the_same_rules_but_not_the_root() {
        let t = tree(&["a/b/f.txt", ".git/config", "node_modules/x/y.js", "c/g.txt"]);
        let rx = walked(t.path(), t.path(), 2);
        let folders: BTreeSet<String> = rx
            .iter()
            .filter_map(|i| match i {
                WalkItem::Folder { path, meta } => {
                    assert!(meta.is_dir());
                    Some(path.strip_prefix(t.path()).unwrap().display().to_string())
                }
                _ => None,
            })
            .collect();
        assert_eq!(folders, set(&["a", "a/b", "c"]));
        // A walk starting below the root reports its start.
        let rx = walked(t.path(), &t.path().join("a"), 1);
        let n = rx
            .iter()
            .filter(|i| matches!(i, WalkItem::Folder { .. }))
            .count();
        assert_eq!(n, 2);
    }

    #[test]
    fn invalid_glob_is_a_clear_error() {
        let t = tree(&[]);
        let config = IndexConfig {
            exclude: vec!["a[".into()],
            ..IndexConfig::default()
        };
        let (tx, _rx) = crossbeam_channel::unbounded();
        let roots = RootSet::open(&[t.path().to_owned()]);
        let err = walk(t.path(), t.path(), &roots, &config, &[], 1, &tx)
            .unwrap_err()
            .to_string();
        assert!(err.contains("a["), "{err}");
    }

    /// `ignore` lists a directory by path, following a symlink that replaced one of its directories:
    /// nothing found behind it may be reported under the walked path.
    #[test]
    fn nothing_behind_a_symlinked_directory_is_reported() {
        let t = tree(&["real/mine.txt"]);
        let victim = tree(&["sub/secret.txt", "other.txt"]);
        std::os::unix::fs::symlink(victim.path(), t.path().join("link")).unwrap();
        for start in [t.path().join("link/sub"), t.path().join("link/other.txt")] {
            let rx = walked(t.path(), &start, 1);
            let items: Vec<WalkItem> = rx.iter().collect();
            assert!(items.is_empty(), "{start:?}: {items:?}");
        }
        assert_eq!(
            collect(t.path(), &IndexConfig::default(), &[]),
            set(&["real/mine.txt"])
        );
    }
}
