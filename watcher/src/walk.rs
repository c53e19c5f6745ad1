//! The one listing of a directory tree that just appeared (created, or moved in from outside the roots):
//! everything in it may predate any event about it, so each entry is reported as found.

use std::path::{Path, PathBuf};

use crate::event::Stopped;
use crate::filter::Filter;

/// What a listing of a new tree does at each directory and entry.
pub(crate) trait NewTree {
    /// The roots and exclusions the listing stays within.
    fn filter(&self) -> &Filter;
    /// Called for each directory before it is listed (inotify places its watch there first, so nothing
    /// created in it afterwards is missed); `false` skips the directory.
    fn enter(&mut self, dir: &Path) -> Result<bool, Stopped>;
    /// Called for each entry listed (excluded subtrees are left out).
    fn found(&mut self, path: PathBuf, is_dir: bool) -> Result<(), Stopped>;
}

/// Whether `p` is a directory now, seen from its root without following any symlink.
pub(crate) fn is_dir_now(filter: &Filter, p: &Path) -> bool {
    filter.lstat(p).is_ok_and(|m| m.is_dir())
}

/// Lists `dir` and every directory below it, depth first. A directory reached only through a symlink (one
/// swapped in) is neither entered nor listed; the indexer checks each name again anyway.
pub(crate) fn list_new_tree(dir: &Path, visit: &mut impl NewTree) -> Result<(), Stopped> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if visit.filter().is_excluded(&d) || !is_dir_now(visit.filter(), &d) {
            continue;
        }
        if !visit.enter(&d)? {
            continue;
        }
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in rd.flatten() {
            let p = entry.path();
            if visit.filter().is_excluded(&p) {
                continue;
            }
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            visit.found(p.clone(), is_dir)?;
            if is_dir {
                stack.push(p);
            }
        }
    }
    Ok(())
}
