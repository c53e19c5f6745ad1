//! Exclusion rules for single paths, the same rules the crawl applies while walking: built-in defaults,
//! configured globs (relative to the root), hidden names, `.fandexignore` files in the path's directories
//! (and `.gitignore` when enabled), and pruned subtrees such as the index directory.
//!
//! The daemon checks every changed path here, so a file created by an event is indexed exactly when a walk
//! would have indexed it.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::overrides::Override;

use crate::config::{IGNORE_FILE_NAME, IndexConfig};
use crate::crawl::overrides_for;
use crate::error::Result;

/// Exclusion rules for a set of roots.
pub struct Exclusions {
    roots: Vec<(PathBuf, Override)>,
    pruned: Vec<PathBuf>,
    hidden: bool,
    gitignore: bool,
    /// Parsed ignore files per directory (`None`: the directory has none).
    ignore_files: Mutex<HashMap<PathBuf, Option<Gitignore>>>,
}

impl Exclusions {
    /// Rules for `roots` (absolute, canonical) under `config`, never descending into `pruned`.
    pub fn new(roots: &[PathBuf], config: &IndexConfig, pruned: &[PathBuf]) -> Result<Self> {
        let roots = roots
            .iter()
            .map(|r| Ok((r.clone(), overrides_for(r, config)?)))
            .collect::<Result<_>>()?;
        Ok(Self {
            roots,
            pruned: pruned.to_vec(),
            hidden: config.hidden,
            gitignore: config.gitignore,
            ignore_files: Mutex::new(HashMap::new()),
        })
    }

    /// The root that holds `path`, if any.
    pub fn root_of(&self, path: &Path) -> Option<&Path> {
        self.roots
            .iter()
            .map(|(r, _)| r.as_path())
            .find(|r| path.starts_with(r))
    }

    /// Forgets cached ignore files (call when a `.fandexignore` or `.gitignore` changed).
    pub fn invalidate(&self, dir: &Path) {
        if let Ok(mut cache) = self.ignore_files.lock() {
            cache.remove(dir);
        }
    }

    /// Whether an ignore file's change affects the rules (the caller should invalidate and rescan).
    pub fn is_ignore_file(&self, path: &Path) -> bool {
        path.file_name().is_some_and(|n| {
            n.as_bytes() == IGNORE_FILE_NAME.as_bytes() || (self.gitignore && n == ".gitignore")
        })
    }

    /// Whether `path` is outside every root or excluded. `is_dir` tells whether `path` itself is a
    /// directory (its ancestors always are).
    pub fn is_excluded(&self, path: &Path, is_dir: bool) -> bool {
        let Some((root, overrides)) = self.roots.iter().find(|(r, _)| path.starts_with(r)) else {
            return true;
        };
        if self.pruned.iter().any(|p| path.starts_with(p)) {
            return true;
        }
        let Ok(relative) = path.strip_prefix(root) else {
            return true;
        };
        // Check each component below the root, outermost first, as the walk would meet them.
        let mut current = root.clone();
        let components: Vec<_> = relative.components().collect();
        for (i, component) in components.iter().enumerate() {
            let parent = current.clone();
            current.push(component);
            let component_is_dir = i + 1 < components.len() || is_dir;
            if !self.hidden && component.as_os_str().as_bytes().starts_with(b".") {
                return true;
            }
            if matches!(
                overrides.matched(&current, component_is_dir),
                Match::Ignore(_)
            ) {
                return true;
            }
            if self.ignored_by_file(&parent, &current, component_is_dir) {
                return true;
            }
        }
        false
    }

    fn ignored_by_file(&self, dir: &Path, path: &Path, is_dir: bool) -> bool {
        let Ok(mut cache) = self.ignore_files.lock() else {
            return false;
        };
        let rules = cache.entry(dir.to_owned()).or_insert_with(|| {
            let mut builder = GitignoreBuilder::new(dir);
            let mut any = false;
            let mut names = vec![IGNORE_FILE_NAME];
            if self.gitignore {
                names.push(".gitignore");
            }
            for name in names {
                let file = dir.join(name);
                if file.is_file() {
                    any = true;
                    if let Some(err) = builder.add(&file) {
                        tracing::warn!(file = %file.display(), "ignore file: {err}");
                    }
                }
            }
            any.then(|| builder.build().ok()).flatten()
        });
        rules
            .as_ref()
            .is_some_and(|g| g.matched(path, is_dir).is_ignore())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn single_paths_follow_the_walk_rules() {
        let tmp = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(tmp.path()).unwrap();
        fs::create_dir_all(root.join("sub")).unwrap();
        fs::write(root.join("sub/.fandexignore"), "*.md\n").unwrap();
        let config = IndexConfig {
            exclude: vec!["*.log".into(), "/build/".into()],
            ..IndexConfig::default()
        };
        let pruned = [root.join("index")];
        let ex = Exclusions::new(std::slice::from_ref(&root), &config, &pruned).unwrap();
        let no = |p: &str| assert!(!ex.is_excluded(&root.join(p), false), "{p} must be indexed");
        let yes = |p: &str| assert!(ex.is_excluded(&root.join(p), false), "{p} must be excluded");
        no("a.txt");
        no("sub/a.txt");
        no(".hidden/x");
        no("sub/build/keep.txt");
        no("a.md");
        yes("sub/a.md");
        yes("a.log");
        yes("build/x.txt");
        yes(".git/config");
        yes("deep/er/.git/HEAD");
        yes("notes.txt~");
        yes("index/tantivy/meta.json");
        yes("sub/.fandex-sync-1-2");
        assert!(ex.is_excluded(Path::new("/elsewhere/file"), false));
        assert!(ex.is_ignore_file(&root.join("sub/.fandexignore")));
        // Rules can change: after invalidation the new ignore file applies.
        fs::write(root.join("sub/.fandexignore"), "*.txt\n").unwrap();
        ex.invalidate(&root.join("sub"));
        yes("sub/a.txt");
        no("sub/a.md");
    }
}
