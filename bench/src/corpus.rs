//! Listing the files of a corpus the way an indexer sees them.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{BenchError, Result};

/// Every regular file under `root`, recursively, sorted by path bytes. Symbolic links are neither
/// followed nor listed; FIFOs, sockets and devices are skipped. Fails on any directory that cannot be
/// read: a benchmark over part of a corpus would be misleading.
pub fn list_files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| BenchError::io("cannot list", &dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| BenchError::io("cannot list", &dir, e))?;
            let path = entry.path();
            let kind = entry
                .file_type()
                .map_err(|e| BenchError::io("cannot stat", &path, e))?;
            if kind.is_dir() {
                dirs.push(path);
            } else if kind.is_file() {
                files.push(path);
            }
        }
    }
    files.sort_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn lists_regular_files_sorted_skipping_links() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("b/c")).unwrap();
        std::fs::write(root.join("b/c/z"), "z").unwrap();
        std::fs::write(root.join("a"), "a").unwrap();
        let odd = root.join(OsStr::from_bytes(b"n\xff\nl"));
        std::fs::write(&odd, "x").unwrap();
        std::os::unix::fs::symlink(root.join("a"), root.join("link")).unwrap();
        std::os::unix::fs::symlink(root.join("b"), root.join("dlink")).unwrap();
        let files = list_files(root).unwrap();
        assert_eq!(files, vec![root.join("a"), root.join("b/c/z"), odd]);
    }

    #[test]
    fn missing_root_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(list_files(&tmp.path().join("nope")).is_err());
    }
}
