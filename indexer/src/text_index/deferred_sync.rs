//! The index's tantivy [`Directory`]: tantivy's `MmapDirectory` with the disk's per-file cost taken out
//! of a commit, durability unchanged (issue 16).
//!
//! tantivy's own directory makes every file durable on its own: each segment file is `fdatasync`ed when
//! written, and `.managed.json` (the list of files tantivy created, which only tells its garbage
//! collector what it may delete) is rewritten atomically (temporary file, `fdatasync`, rename) for each
//! new file: a live commit of one small segment cost 13 `fdatasync` and 7 renames, one after the other.
//! Here:
//!
//! - A written file is *pending* when tantivy terminates it. [`Directory::sync_directory`] is the
//!   durability point tantivy calls before every `meta.json` write: all pending files are
//!   `fdatasync`ed at once, concurrently (ext4 commits concurrent syncs in one journal transaction),
//!   then the directory once. `meta.json` itself is written as before (temporary file, `fdatasync`,
//!   rename), and any file still pending is made durable first. So **every file `meta.json` names is
//!   durable before `meta.json` is** (the order the commit relies on), and a file not yet made durable
//!   is not named by any durable `meta.json`: a crash or power loss loses only garbage. Unlike
//!   tantivy's, the rename of `meta.json` is made durable too (the directory synced) before the write
//!   returns: the catalog, committed after the index, is never durable ahead of it.
//! - `.managed.json` is held in memory and written (atomically, as before) at the next durability point,
//!   with the pending files: once per commit instead of once per new file. A lost or stale list only
//!   means files the collector does not know of (never deleted: disk leaked, not data lost) or files it
//!   already deleted (harmless); and when tantivy reads the list at open, this directory answers the
//!   files on disk it lacks (every regular file not starting with `.`: only tantivy writes here), so
//!   files left by an interrupted commit are collected. A list that cannot be parsed (a torn write by
//!   another program) is replaced by the files on disk: the index is never refused for it.
//! - A failed `fdatasync` is not retried (after an error Linux may report the same data as synced):
//!   every later durability point fails until [`DeferredSyncDirectory::reset_after_failure`], called
//!   once the writer has rolled back to the last durable commit (which drops every segment whose files
//!   could not be made durable).
//!
//! Reading, deleting, locks and watching `meta.json` are `MmapDirectory`'s.

use std::collections::BTreeSet;
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tantivy::directory::error::{DeleteError, LockError, OpenReadError, OpenWriteError};
use tantivy::directory::{
    AntiCallToken, Directory, DirectoryLock, FileHandle, Lock, MmapDirectory, TerminatingWrite,
    WatchCallback, WatchHandle, WritePtr,
};

/// tantivy's list of the files it created.
const MANAGED_FILE: &str = ".managed.json";

/// Most threads syncing files at once at a durability point.
const MAX_SYNC_THREADS: usize = 16;

/// The disk operations that make files durable: the real ones, or a recording fake in tests.
pub(crate) trait Disk: fmt::Debug + Send + Sync {
    /// `fdatasync` of `file` (at `path`).
    fn sync_data(&self, path: &Path, file: &File) -> io::Result<()>;
    /// `fsync` of the directory.
    fn sync_dir(&self, dir: &File) -> io::Result<()>;
    /// Renames `from` to `to` (replacing it).
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
}

/// The system's calls.
#[derive(Debug)]
struct RealDisk;

impl Disk for RealDisk {
    fn sync_data(&self, _path: &Path, file: &File) -> io::Result<()> {
        file.sync_data()
    }

    fn sync_dir(&self, dir: &File) -> io::Result<()> {
        dir.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }
}

/// A written file whose data is not yet known durable.
struct Pending {
    path: PathBuf,
    file: File,
}

/// What every clone of the directory shares.
struct Shared {
    root: PathBuf,
    /// The directory itself, for its `fsync`.
    dir: File,
    disk: Arc<dyn Disk>,
    /// Files terminated since the last durability point.
    pending: Mutex<Vec<Pending>>,
    /// The newest `.managed.json` tantivy asked for, not yet written.
    managed: Mutex<Option<Vec<u8>>>,
    /// Durability points one at a time (they write the same temporary files).
    serial: Mutex<()>,
    /// A sync failed: no durability point succeeds until the writer has rolled back.
    failed: AtomicBool,
    /// Durability points that wrote something (for tests and reports).
    points: AtomicUsize,
}

/// tantivy's `MmapDirectory` whose files become durable at the commit point, together (see the module
/// documentation).
#[derive(Clone)]
pub struct DeferredSyncDirectory {
    inner: MmapDirectory,
    shared: Arc<Shared>,
}

impl fmt::Debug for DeferredSyncDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeferredSyncDirectory({})", self.shared.root.display())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl DeferredSyncDirectory {
    /// Opens the directory `dir` (which must exist).
    pub fn open(dir: &Path) -> io::Result<Self> {
        Self::with_disk(dir, Arc::new(RealDisk))
    }

    /// Opens `dir` making files durable through `disk`.
    pub(crate) fn with_disk(dir: &Path, disk: Arc<dyn Disk>) -> io::Result<Self> {
        let inner = MmapDirectory::open(dir).map_err(|e| io::Error::other(e.to_string()))?;
        let root = dir.canonicalize()?;
        let dir = File::open(&root)?;
        Ok(Self {
            inner,
            shared: Arc::new(Shared {
                root,
                dir,
                disk,
                pending: Mutex::default(),
                managed: Mutex::default(),
                serial: Mutex::default(),
                failed: AtomicBool::new(false),
                points: AtomicUsize::new(0),
            }),
        })
    }

    /// Lets durability points succeed again after a failed sync: call once the index writer has rolled
    /// back to the last durable commit. Files still pending belong to segments the rollback dropped:
    /// they are forgotten.
    pub fn reset_after_failure(&self) {
        let _serial = lock(&self.shared.serial);
        lock(&self.shared.pending).clear();
        self.shared.failed.store(false, Ordering::SeqCst);
    }

    /// How many durability points wrote something so far.
    #[cfg(test)]
    pub(crate) fn durability_points(&self) -> usize {
        self.shared.points.load(Ordering::SeqCst)
    }

    /// Makes everything pending durable: the pending files' data and, when given, `meta` (a temporary
    /// file) together; then `.managed.json` in place and the directory synced; then `meta` renamed over
    /// its target and the directory synced again.
    fn durability_point(&self, meta: Option<(&Path, &[u8])>) -> io::Result<()> {
        let shared = &*self.shared;
        let _serial = lock(&shared.serial);
        if shared.failed.load(Ordering::SeqCst) {
            return Err(io::Error::other(
                "an earlier sync of the index failed; the writer must roll back first",
            ));
        }
        let files = std::mem::take(&mut *lock(&shared.pending));
        let managed = lock(&shared.managed).take();
        if files.is_empty() && managed.is_none() && meta.is_none() {
            return Ok(());
        }
        shared.points.fetch_add(1, Ordering::SeqCst);
        let result = self.write_durably(files, managed, meta);
        if result.is_err() {
            shared.failed.store(true, Ordering::SeqCst);
        }
        result
    }

    fn write_durably(
        &self,
        files: Vec<Pending>,
        managed: Option<Vec<u8>>,
        meta: Option<(&Path, &[u8])>,
    ) -> io::Result<()> {
        let shared = &*self.shared;
        let new_entries = !files.is_empty() || managed.is_some();
        let managed = managed
            .map(|data| self.write_temp(Path::new(MANAGED_FILE), &data))
            .transpose()?;
        let meta = meta
            .map(|(path, data)| self.write_temp(path, data))
            .transpose()?;
        let mut syncs: Vec<&Pending> = files.iter().collect();
        syncs.extend(managed.iter().map(|(temp, _)| temp));
        syncs.extend(meta.iter().map(|(temp, _)| temp));
        sync_all(shared.disk.as_ref(), &syncs)?;
        if let Some((temp, target)) = &managed {
            shared.disk.rename(&temp.path, target)?;
        }
        if new_entries {
            shared.disk.sync_dir(&shared.dir)?;
        }
        if let Some((temp, target)) = &meta {
            shared.disk.rename(&temp.path, target)?;
            // The commit is durable when it returns: the catalog, written next, is never ahead of it.
            shared.disk.sync_dir(&shared.dir)?;
        }
        Ok(())
    }

    /// Writes `data` into the temporary file of `path` (a name starting with `.`, so tantivy never
    /// manages nor collects it; one per target, overwritten: durability points are serial). Returns it
    /// with the full path of the target.
    fn write_temp(&self, path: &Path, data: &[u8]) -> io::Result<(Pending, PathBuf)> {
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::other(format!("no file name in {}", path.display())))?;
        let mut temp_name = std::ffi::OsString::new();
        if !name.as_encoded_bytes().starts_with(b".") {
            temp_name.push(".");
        }
        temp_name.push(name);
        temp_name.push(".fandex-tmp");
        let temp = self.shared.root.join(temp_name);
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)?;
        file.write_all(data)?;
        Ok((Pending { path: temp, file }, self.shared.root.join(path)))
    }

    /// The managed list tantivy reads at open: the one on disk (if it can be parsed) plus every file in
    /// the directory it lacks (see the module documentation).
    fn managed_list(&self) -> Result<Vec<u8>, OpenReadError> {
        let on_disk = match self.inner.atomic_read(Path::new(MANAGED_FILE)) {
            Ok(data) => Some(data),
            Err(OpenReadError::FileDoesNotExist(_)) => None,
            Err(e) => return Err(e),
        };
        let mut files: BTreeSet<PathBuf> = on_disk
            .and_then(|data| serde_json::from_slice(&data).ok())
            .unwrap_or_default();
        let wrap = |e: io::Error| OpenReadError::wrap_io_error(e, PathBuf::from(MANAGED_FILE));
        for entry in std::fs::read_dir(&self.shared.root).map_err(wrap)? {
            let entry = entry.map_err(wrap)?;
            let name = entry.file_name();
            if entry.file_type().map_err(wrap)?.is_file()
                && !name.as_encoded_bytes().starts_with(b".")
            {
                files.insert(PathBuf::from(name));
            }
        }
        let mut out = serde_json::to_vec(&files).map_err(|e| wrap(io::Error::other(e)))?;
        out.push(b'\n');
        Ok(out)
    }
}

/// `fdatasync`s every file in `files`, concurrently (at most [`MAX_SYNC_THREADS`] at once); the first
/// error, if any.
fn sync_all(disk: &dyn Disk, files: &[&Pending]) -> io::Result<()> {
    if let [one] = files {
        return disk.sync_data(&one.path, &one.file);
    }
    let next = AtomicUsize::new(0);
    let threads = files.len().min(MAX_SYNC_THREADS);
    let results: Vec<io::Result<()>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    loop {
                        let Some(pending) = files.get(next.fetch_add(1, Ordering::Relaxed)) else {
                            return Ok(());
                        };
                        disk.sync_data(&pending.path, &pending.file)?;
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(io::Error::other("a sync thread panicked")))
            })
            .collect()
    });
    results.into_iter().collect()
}

/// A file being written: pending once terminated.
struct PendingWriter {
    file: Option<File>,
    path: PathBuf,
    shared: Arc<Shared>,
}

impl PendingWriter {
    fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("write after terminate"))
    }
}

impl Write for PendingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file()?.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file()?.flush()
    }
}

impl TerminatingWrite for PendingWriter {
    fn terminate_ref(&mut self, _: AntiCallToken) -> io::Result<()> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("terminated twice"))?;
        file.flush()?;
        lock(&self.shared.pending).push(Pending {
            path: std::mem::take(&mut self.path),
            file,
        });
        Ok(())
    }
}

impl Directory for DeferredSyncDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        self.inner.get_file_handle(path)
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.inner.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.inner.exists(path)
    }

    /// A new file (it must not exist), durable at the next durability point after it is terminated.
    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        let full = self.shared.root.join(path);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&full)
            .map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    OpenWriteError::FileAlreadyExists(path.to_owned())
                } else {
                    OpenWriteError::wrap_io_error(e, path.to_owned())
                }
            })?;
        Ok(BufWriter::new(Box::new(PendingWriter {
            file: Some(file),
            path: full,
            shared: Arc::clone(&self.shared),
        })))
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        if path == Path::new(MANAGED_FILE) {
            if let Some(data) = lock(&self.shared.managed).clone() {
                return Ok(data);
            }
            return self.managed_list();
        }
        self.inner.atomic_read(path)
    }

    /// `.managed.json` is kept for the next durability point; anything else (`meta.json`) is one.
    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        if path == Path::new(MANAGED_FILE) {
            *lock(&self.shared.managed) = Some(data.to_vec());
            return Ok(());
        }
        self.durability_point(Some((path, data)))
    }

    /// The durability point: every file terminated so far and `.managed.json` made durable, then the
    /// directory.
    fn sync_directory(&self) -> io::Result<()> {
        self.durability_point(None)
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        self.inner.acquire_lock(lock)
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.inner.watch(watch_callback)
    }
}

#[cfg(test)]
mod tests;
