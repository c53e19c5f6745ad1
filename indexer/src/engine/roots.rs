//! The roots an index covers: checked and made canonical when added, kept as a minimal set.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Makes a root absolute and canonical, and checks it is a directory on a filesystem that holds files
/// (not a pseudo-filesystem such as `/proc` or `/sys`).
pub fn canonical_root(root: &Path) -> Result<PathBuf> {
    let canonical = std::fs::canonicalize(root).map_err(|e| Error::BadRoot {
        path: root.to_owned(),
        reason: match e.kind() {
            std::io::ErrorKind::NotFound => "does not exist".to_owned(),
            _ => e.to_string(),
        },
    })?;
    if !canonical.is_dir() {
        return Err(Error::BadRoot {
            path: root.to_owned(),
            reason: "is not a directory".to_owned(),
        });
    }
    if let Some(fstype) = crate::pseudofs::pseudo_filesystem(&canonical) {
        return Err(Error::BadRoot {
            path: root.to_owned(),
            reason: format!(
                "is on a {fstype} filesystem, which presents kernel state, not files to index"
            ),
        });
    }
    Ok(canonical)
}

/// Removes paths nested inside other paths (and duplicates), keeping a sorted, minimal set.
pub(super) fn minimal_roots(mut roots: Vec<PathBuf>) -> Vec<PathBuf> {
    roots.sort();
    roots.dedup();
    let mut out: Vec<PathBuf> = Vec::new();
    for root in roots {
        if !out.iter().any(|r| root.starts_with(r)) {
            out.push(root);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_roots_collapse() {
        let r = |s: &str| PathBuf::from(s);
        assert_eq!(
            minimal_roots(vec![r("/a/b"), r("/a"), r("/c"), r("/ab"), r("/a")]),
            [r("/a"), r("/ab"), r("/c")]
        );
    }
}
