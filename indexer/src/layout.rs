//! Where an index lives and what is inside its directory.
//!
//! ```text
//! DIR/                 mode 0700: the index holds copies of private files
//!   format             the on-disk format version (one number)
//!   rebuild            present while an index of another format is rebuilt (see `crate::rebuild`)
//!   lock               flock'ed by the one process that writes (holds its pid)
//!   catalog/           sled: one record per file
//!   tantivy/           the full-text index
//! ```

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use fandex_schema::SCHEMA_VERSION;
use nix::fcntl::{Flock, FlockArg};

use crate::error::{Error, Result};

/// The index directory's location and layout.
#[derive(Debug, Clone)]
pub struct IndexDir {
    root: PathBuf,
}

/// The default index location: `/var/lib/fandex` for root, `$XDG_DATA_HOME/fandex` (default
/// `~/.local/share/fandex`) for other users.
pub fn default_index_dir() -> PathBuf {
    if nix::unistd::geteuid().is_root() {
        return PathBuf::from("/var/lib/fandex");
    }
    crate::user::index_dir()
}

impl IndexDir {
    /// The layout rooted at `root` (nothing is touched on disk).
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The directory itself.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The sled catalog.
    pub fn catalog_dir(&self) -> PathBuf {
        self.root.join("catalog")
    }

    /// The tantivy index.
    pub fn tantivy_dir(&self) -> PathBuf {
        self.root.join("tantivy")
    }

    /// The writer lock file.
    pub fn lock_file(&self) -> PathBuf {
        self.root.join("lock")
    }

    /// The format marker.
    pub fn format_file(&self) -> PathBuf {
        self.root.join("format")
    }

    /// The daemon's socket.
    pub fn socket_path(&self) -> PathBuf {
        self.root.join("fandex.sock")
    }

    /// Creates the directory (mode 0700) if needed, writes the format marker when there is none, and makes
    /// sure the directory is private even if it existed with looser permissions. An existing marker is
    /// left as it is: [`crate::Engine::open`] rebuilds an index of another format under the writer lock.
    pub fn create(&self) -> Result<()> {
        let dir = &self.root;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| {
                Error::io(
                    format!("cannot create index directory {}", dir.display()),
                    e,
                )
            })?;
        if let Err(err @ Error::NotAnIndex(_)) = self.format() {
            return Err(err); // someone else's directory: not even its mode is changed
        }
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(|e| {
            Error::io(
                format!("cannot make index directory {} private", dir.display()),
                e,
            )
        })?;
        match self.format()? {
            Some(_) => Ok(()),
            None => {
                let tmp = dir.join("format.tmp");
                fs::write(&tmp, format!("{SCHEMA_VERSION}\n"))
                    .and_then(|()| fs::rename(&tmp, self.format_file()))
                    .map_err(|e| {
                        Error::io(format!("cannot write {}", self.format_file().display()), e)
                    })
            }
        }
    }

    /// Takes group and other permissions off everything inside the directory (files end up at most
    /// 0600, directories 0700), so an index written before files were created private, or a directory
    /// loosened by hand, leaks nothing once made accessible. Symbolic links are left alone (never
    /// followed).
    pub fn make_private(&self) -> Result<()> {
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            let entries = fs::read_dir(&dir)
                .map_err(|e| Error::io(format!("cannot list {}", dir.display()), e))?;
            for entry in entries {
                let entry =
                    entry.map_err(|e| Error::io(format!("cannot list {}", dir.display()), e))?;
                let path = entry.path();
                let meta = match fs::symlink_metadata(&path) {
                    Ok(meta) => meta,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(Error::io(format!("cannot stat {}", path.display()), e)),
                };
                let kind = meta.file_type();
                if kind.is_symlink() {
                    continue;
                }
                if kind.is_dir() {
                    stack.push(path.clone());
                }
                let mode = meta.permissions().mode() & 0o7777;
                let private = if kind.is_dir() { 0o700 } else { mode & 0o700 };
                if mode != private {
                    match fs::set_permissions(&path, fs::Permissions::from_mode(private)) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(Error::io(
                                format!("cannot make {} private", path.display()),
                                e,
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Checks that an index exists here and has this build's format (for readers: a writer rebuilds an
    /// index of another format instead).
    pub fn check_format(&self) -> Result<()> {
        match self.format()? {
            None => Err(Error::NoIndex(self.root.clone())),
            Some(found) if found == SCHEMA_VERSION => Ok(()),
            Some(found) => Err(Error::IncompatibleIndex {
                dir: self.root.clone(),
                found,
                expected: SCHEMA_VERSION,
            }),
        }
    }

    /// The format recorded in the marker, `None` when there is no index here. A marker that is not a
    /// number means the directory is not a fandex index ([`Error::NotAnIndex`]).
    pub fn format(&self) -> Result<Option<u32>> {
        let file = self.format_file();
        match fs::read(&file) {
            Ok(bytes) => std::str::from_utf8(&bytes)
                .ok()
                .and_then(|text| text.trim().parse().ok())
                .map(Some)
                .ok_or_else(|| Error::NotAnIndex(self.root.clone())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if self.root.exists() {
                    // Distinguish "no index" from "an index we cannot read".
                    fs::read_dir(&self.root).map_err(|e| {
                        Error::io(
                            format!("cannot read index directory {}", self.root.display()),
                            e,
                        )
                    })?;
                }
                Ok(None)
            }
            Err(e) => Err(Error::io(format!("cannot read {}", file.display()), e)),
        }
    }

    /// Takes the writer lock, failing at once (with the holder's pid) when another process has it.
    pub fn lock(&self) -> Result<WriterLock> {
        let path = self.lock_file();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(format!("cannot open lock file {}", path.display()), e))?;
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                return Err(Error::Locked {
                    dir: self.root.clone(),
                    pid: holder.trim().parse().ok(),
                });
            }
            Err((_, errno)) => {
                return Err(Error::io(
                    format!("cannot lock {}", path.display()),
                    std::io::Error::from(errno),
                ));
            }
        };
        let pid = std::process::id();
        let written = lock
            .set_len(0)
            .and_then(|()| lock.rewind())
            .and_then(|()| writeln!(&mut *lock, "{pid}"));
        written.map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
        Ok(WriterLock { _lock: lock })
    }
}

/// Held while a process writes the index; released when dropped (or when the process dies).
#[derive(Debug)]
pub struct WriterLock {
    _lock: Flock<File>,
}

impl WriterLock {
    /// A guard that tells whether the index directory `dir` (whose lock this is) is still in place.
    pub fn guard(&self, dir: &IndexDir) -> Result<IndexGuard> {
        let lock = self
            ._lock
            .try_clone()
            .map_err(|e| Error::io(format!("cannot watch {}", dir.lock_file().display()), e))?;
        let identity = |meta: &fs::Metadata| (meta.dev(), meta.ino());
        let lock_meta = lock
            .metadata()
            .map_err(|e| Error::io(format!("cannot stat {}", dir.lock_file().display()), e))?;
        let dir_meta = fs::metadata(dir.path())
            .map_err(|e| Error::io(format!("cannot stat {}", dir.path().display()), e))?;
        Ok(IndexGuard {
            dir: dir.path().to_owned(),
            lock_path: dir.lock_file(),
            lock,
            dir_identity: identity(&dir_meta),
            lock_identity: identity(&lock_meta),
        })
    }
}

/// Tells whether an index directory is still the one a writer opened: `rm -rf` of the directory, or a
/// directory or lock file put in its place, leaves the writer with files nobody can find again and no
/// lock, so it must stop.
#[derive(Debug)]
pub struct IndexGuard {
    dir: PathBuf,
    lock_path: PathBuf,
    /// The writer's lock file (a second descriptor on it).
    lock: File,
    dir_identity: (u64, u64),
    lock_identity: (u64, u64),
}

impl IndexGuard {
    /// `Err` with a one-line description when the directory or its lock file was removed or replaced.
    /// (A check that cannot be made, for want of a descriptor, say, counts as intact.)
    pub fn check(&self) -> std::result::Result<(), String> {
        let identity = |meta: &fs::Metadata| (meta.dev(), meta.ino());
        let gone = |e: &std::io::Error| {
            matches!(
                e.raw_os_error(),
                Some(libc::ENOENT) | Some(libc::ENOTDIR) | Some(libc::ESTALE)
            )
        };
        match fs::symlink_metadata(&self.dir) {
            Ok(meta) if identity(&meta) != self.dir_identity => {
                return Err(format!(
                    "the index directory {} was replaced",
                    self.dir.display()
                ));
            }
            Ok(_) => {}
            Err(e) if gone(&e) => {
                return Err(format!(
                    "the index directory {} was removed",
                    self.dir.display()
                ));
            }
            Err(_) => {}
        }
        if let Ok(meta) = self.lock.metadata()
            && meta.nlink() == 0
        {
            return Err(format!(
                "the index's lock file {} was deleted",
                self.lock_path.display()
            ));
        }
        match fs::symlink_metadata(&self.lock_path) {
            Ok(meta) if identity(&meta) != self.lock_identity => Err(format!(
                "the index's lock file {} was replaced",
                self.lock_path.display()
            )),
            Err(e) if gone(&e) => Err(format!(
                "the index's lock file {} was removed",
                self.lock_path.display()
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_makes_a_private_dir_with_a_format() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = IndexDir::at(tmp.path().join("a/b"));
        dir.create().unwrap();
        assert_eq!(fs::metadata(dir.path()).unwrap().mode() & 0o777, 0o700);
        dir.check_format().unwrap();
        // Loosened permissions are tightened again.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        dir.create().unwrap();
        assert_eq!(fs::metadata(dir.path()).unwrap().mode() & 0o777, 0o700);
    }

    #[test]
    fn make_private_tightens_everything_inside() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = IndexDir::at(tmp.path().join("idx"));
        dir.create().unwrap();
        let sub = dir.path().join("tantivy");
        fs::create_dir(&sub).unwrap();
        fs::set_permissions(&sub, fs::Permissions::from_mode(0o755)).unwrap();
        let file = sub.join("segment");
        fs::write(&file, "x").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        let outside = tmp.path().join("outside");
        fs::write(&outside, "y").unwrap();
        fs::set_permissions(&outside, fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::symlink(&outside, dir.path().join("link")).unwrap();
        dir.make_private().unwrap();
        assert_eq!(fs::metadata(&sub).unwrap().mode() & 0o7777, 0o700);
        assert_eq!(fs::metadata(&file).unwrap().mode() & 0o7777, 0o600);
        assert_eq!(
            fs::metadata(&outside).unwrap().mode() & 0o7777,
            0o644,
            "a symlink is not followed"
        );
    }

    #[test]
    fn missing_and_incompatible_indexes_are_told_apart() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = IndexDir::at(tmp.path());
        assert!(matches!(dir.check_format(), Err(Error::NoIndex(_))));
        fs::write(dir.format_file(), "999\n").unwrap();
        let err = dir.check_format().unwrap_err();
        assert!(matches!(err, Error::IncompatibleIndex { found: 999, .. }));
        fs::write(dir.format_file(), "my notes\n").unwrap();
        assert!(matches!(dir.check_format(), Err(Error::NotAnIndex(_))));
        assert!(matches!(dir.create(), Err(Error::NotAnIndex(_))));
    }

    #[test]
    fn the_guard_notices_a_removed_or_replaced_index() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = IndexDir::at(tmp.path().join("idx"));
        dir.create().unwrap();
        let held = dir.lock().unwrap();
        let guard = held.guard(&dir).unwrap();
        assert_eq!(guard.check(), Ok(()));
        // The lock file replaced by another.
        fs::remove_file(dir.lock_file()).unwrap();
        let err = guard.check().unwrap_err();
        assert!(err.contains("lock file"), "{err}");
        // The whole directory removed, then recreated.
        fs::remove_dir_all(dir.path()).unwrap();
        let err = guard.check().unwrap_err();
        assert!(
            err.contains("directory") && err.contains("removed"),
            "{err}"
        );
        dir.create().unwrap();
        let other = IndexDir::at(tmp.path().join("idx"));
        drop(other.lock().unwrap());
        assert!(guard.check().is_err());
    }

    #[test]
    fn second_lock_fails_with_the_holders_pid() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = IndexDir::at(tmp.path());
        dir.create().unwrap();
        let held = dir.lock().unwrap();
        match dir.lock() {
            Err(Error::Locked { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(held);
        dir.lock().unwrap();
    }
}
