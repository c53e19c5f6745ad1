//! Which paths belong to the watched set: under a root and not under an excluded subtree.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The roots and excluded subtrees, compared component-wise on raw bytes.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    roots: Vec<PathBuf>,
    excluded: Vec<PathBuf>,
    barrier_prefix: Option<OsString>,
}

impl Filter {
    pub(crate) fn new(
        roots: Vec<PathBuf>,
        excluded: Vec<PathBuf>,
        barrier_prefix: Option<OsString>,
    ) -> Self {
        Self {
            roots,
            excluded,
            barrier_prefix,
        }
    }

    /// The roots.
    pub(crate) fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// `lstat` of `p` without following a symlink anywhere below its root (see [`crate::beneath`]).
    pub(crate) fn lstat(&self, p: &Path) -> Result<std::fs::Metadata, crate::beneath::OpenError> {
        crate::beneath::RootDir::open_root_of(&self.roots, p)?.lstat(p)
    }

    /// Whether `p` names a barrier (a sync marker: see [`crate::config::WatchConfig::barrier_prefix`]).
    pub(crate) fn is_barrier(&self, p: &Path) -> bool {
        match (&self.barrier_prefix, p.file_name()) {
            (Some(prefix), Some(name)) => name.as_bytes().starts_with(prefix.as_bytes()),
            _ => false,
        }
    }

    /// Whether `p` is excluded.
    pub(crate) fn is_excluded(&self, p: &Path) -> bool {
        self.excluded.iter().any(|e| p.starts_with(e))
    }

    /// Whether events about `p` are reported.
    pub(crate) fn in_scope(&self, p: &Path) -> bool {
        self.roots.iter().any(|r| p.starts_with(r)) && !self.is_excluded(p)
    }

    /// Roots that are `p` itself or lie below it (so they move or vanish with `p`).
    pub(crate) fn roots_under(&self, p: &Path) -> Vec<PathBuf> {
        self.roots
            .iter()
            .filter(|r| r.starts_with(p))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_is_component_wise() {
        let f = Filter::new(
            vec!["/w/r".into()],
            vec!["/w/r/.idx".into()],
            Some(".sync-".into()),
        );
        assert!(f.in_scope(Path::new("/w/r")));
        assert!(f.in_scope(Path::new("/w/r/a")));
        assert!(!f.in_scope(Path::new("/w/rr/a")));
        assert!(!f.in_scope(Path::new("/w/r/.idx/seg")));
        assert!(f.in_scope(Path::new("/w/r/.idx2")));
        assert_eq!(f.roots_under(Path::new("/w")), vec![PathBuf::from("/w/r")]);
        assert!(f.roots_under(Path::new("/w/r/a")).is_empty());
        assert!(f.is_barrier(Path::new("/w/r/.sync-1")));
        assert!(!f.is_barrier(Path::new("/w/r/.sync-1/x")));
        assert!(!f.is_barrier(Path::new("/w/r/x.sync-1")));
    }
}
