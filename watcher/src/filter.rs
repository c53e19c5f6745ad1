//! Which paths belong to the watched set: under a root and not under an excluded subtree.

use std::path::{Path, PathBuf};

/// The roots and excluded subtrees, compared component-wise on raw bytes.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    roots: Vec<PathBuf>,
    excluded: Vec<PathBuf>,
}

impl Filter {
    pub(crate) fn new(roots: Vec<PathBuf>, excluded: Vec<PathBuf>) -> Self {
        Self { roots, excluded }
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
        let f = Filter::new(vec!["/w/r".into()], vec!["/w/r/.idx".into()]);
        assert!(f.in_scope(Path::new("/w/r")));
        assert!(f.in_scope(Path::new("/w/r/a")));
        assert!(!f.in_scope(Path::new("/w/rr/a")));
        assert!(!f.in_scope(Path::new("/w/r/.idx/seg")));
        assert!(f.in_scope(Path::new("/w/r/.idx2")));
        assert_eq!(f.roots_under(Path::new("/w")), vec![PathBuf::from("/w/r")]);
        assert!(f.roots_under(Path::new("/w/r/a")).is_empty());
    }
}
