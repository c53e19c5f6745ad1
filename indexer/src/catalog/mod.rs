//! The catalog: one record per indexed file, in sled.
//!
//! This is the only module that touches sled. Everything lives in one tree with key prefixes, so that a
//! batch of changes to records and their lookup keys is applied atomically:
//!
//! | key | value |
//! |---|---|
//! | `f` + file id (u64 BE) | [`FileRecord`] (bincode) |
//! | `p` + path bytes | file id |
//! | `i` + dev (u64 BE) + inode (u64 BE) + file id | empty (several ids for hard links) |
//! | `m` + name | metadata: generation, roots, whether owner totals are complete, whether records hold volume keys |
//! | `u` + uid (u32 BE) | text bytes indexed for files of that owner (u64 BE) |
//! | `r` + root path bytes | [`RootVolume`]: the filesystem the root was last walked on (bincode) |
//!
//! The owner totals are the sum of [`FileRecord::owner`] over all records. They are never written by a
//! caller: [`Catalog::apply`] derives them from the records a batch replaces, so they stay exact and are
//! committed in the same atomic batch as the records (a crash leaves both old or both new).
//!
//! The catalog and the tantivy index are not committed atomically together; both record a generation
//! number, and [`crate::engine`] repairs a mismatch when it opens them.
//!
//! One module per job: `record` (what a record holds, and decoding older layouts), `keys` (the key
//! layout above), `batch` ([`CatalogBatch`]: the changes of one atomic step), `owners` (the per-owner
//! text totals), `roots` (the remembered roots and the volume each was last walked on); this file opens
//! the database, reads records and applies batches.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use keys::{
    FILE, GENERATION, OWNERS_COUNTED, ROOTS, VOLUMES_KEYED, file_key, id_of, inode_prefix,
    owner_key, path_key,
};
use record::decode_record;

mod batch;
mod keys;
mod owners;
mod record;
mod roots;

pub use batch::CatalogBatch;
pub use record::{FileRecord, Kind, OWNER_BUDGET_REACHED, Owner, RootVolume, Status};

/// The catalog database. Cloning gives another handle on the same database (for readers on other
/// threads).
#[derive(Clone)]
pub struct Catalog {
    db: sled::Db,
    tree: sled::Tree,
    dir: PathBuf,
}

impl Catalog {
    /// Opens or creates the catalog in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(32 << 20)
            .flush_every_ms(None) // every commit flushes explicitly; no idle wake-ups or writes
            .open()
            .map_err(|e| Self::error_in(dir, e))?;
        let tree = db.open_tree("files").map_err(|e| Self::error_in(dir, e))?;
        Ok(Self {
            db,
            tree,
            dir: dir.to_owned(),
        })
    }

    /// Deletes a catalog that cannot be opened, so it can be rebuilt from the filesystem.
    pub fn destroy(dir: &Path) -> Result<()> {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(
                format!("cannot remove catalog {}", dir.display()),
                e,
            )),
        }
    }

    fn error_in(dir: &Path, e: sled::Error) -> Error {
        Error::Catalog {
            dir: dir.to_owned(),
            message: e.to_string(),
        }
    }

    pub(super) fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::Catalog {
            dir: self.dir.clone(),
            message: e.to_string(),
        }
    }

    /// A new file id, never reused (not even after a crash), never 0.
    pub fn new_id(&self) -> Result<u64> {
        Ok(self.db.generate_id().map_err(|e| self.err(e))? + 1)
    }

    /// The record with this id.
    pub fn get(&self, id: u64) -> Result<Option<FileRecord>> {
        match self.tree.get(file_key(id)).map_err(|e| self.err(e))? {
            Some(bytes) => Ok(Some(decode_record(&bytes).map_err(|e| self.err(e))?)),
            None => Ok(None),
        }
    }

    /// The id and record at exactly this path.
    pub fn get_by_path(&self, path: &[u8]) -> Result<Option<(u64, FileRecord)>> {
        let Some(id) = self.tree.get(path_key(path)).map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        let id = id_of(&id).ok_or_else(|| self.err("malformed path entry"))?;
        Ok(self.get(id)?.map(|r| (id, r)))
    }

    /// The ids of every record for this inode (more than one for hard links).
    pub fn ids_by_inode(&self, dev: u64, ino: u64) -> Result<Vec<u64>> {
        self.tree
            .scan_prefix(inode_prefix(dev, ino))
            .keys()
            .map(|k| {
                let k = k.map_err(|e| self.err(e))?;
                id_of(&k[17..]).ok_or_else(|| self.err("malformed inode entry"))
            })
            .collect()
    }

    /// Every (id, record) whose path is `dir` itself or lies below it, in path order.
    pub fn under(&self, dir: &Path) -> impl Iterator<Item = Result<(u64, FileRecord)>> + '_ {
        let dir = dir.as_os_str().as_bytes();
        let mut prefix = path_key(dir);
        if !dir.ends_with(b"/") {
            prefix.push(b'/');
        }
        let exact = self.get_by_path(dir).transpose();
        exact
            .into_iter()
            .chain(self.tree.scan_prefix(prefix).values().map(
                move |v| -> Result<(u64, FileRecord)> {
                    let v = v.map_err(|e| self.err(e))?;
                    let id = id_of(&v).ok_or_else(|| self.err("malformed path entry"))?;
                    let rec = self
                        .get(id)?
                        .ok_or_else(|| self.err(format!("path entry for missing record {id}")))?;
                    Ok((id, rec))
                },
            ))
    }

    /// The ids of the records whose path is `dir` itself or lies below it, in path order, except those
    /// `keep(path, id)` says to keep. Read from the path keys alone: no record is read or decoded, so a
    /// pass over a whole root (the removals after a walk) costs one ordered scan.
    pub fn ids_under_except(
        &self,
        dir: &Path,
        mut keep: impl FnMut(&Path, u64) -> bool,
    ) -> Result<Vec<u64>> {
        let dir_bytes = dir.as_os_str().as_bytes();
        let mut prefix = path_key(dir_bytes);
        let mut out = Vec::new();
        if let Some(id) = self.tree.get(&prefix).map_err(|e| self.err(e))? {
            let id = id_of(&id).ok_or_else(|| self.err("malformed path entry"))?;
            if !keep(dir, id) {
                out.push(id);
            }
        }
        if !dir_bytes.ends_with(b"/") {
            prefix.push(b'/');
        }
        for entry in self.tree.scan_prefix(&prefix) {
            let (key, value) = entry.map_err(|e| self.err(e))?;
            let id = id_of(&value).ok_or_else(|| self.err("malformed path entry"))?;
            let path = Path::new(std::ffi::OsStr::from_bytes(&key[1..]));
            if !keep(path, id) {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// Every (id, record).
    pub fn iter(&self) -> impl Iterator<Item = Result<(u64, FileRecord)>> + '_ {
        self.tree.scan_prefix([FILE]).map(|kv| {
            let (k, v) = kv.map_err(|e| self.err(e))?;
            let id = id_of(&k[1..]).ok_or_else(|| self.err("malformed file key"))?;
            Ok((id, decode_record(&v).map_err(|e| self.err(e))?))
        })
    }

    /// Number of records (walks the records: O(n)).
    pub fn len(&self) -> usize {
        self.tree.scan_prefix([FILE]).count()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.tree.scan_prefix([FILE]).next().is_none()
    }

    /// The generation of the last applied batch (0 for a new catalog).
    pub fn generation(&self) -> Result<u64> {
        Ok(self
            .tree
            .get(GENERATION)
            .map_err(|e| self.err(e))?
            .and_then(|v| id_of(&v))
            .unwrap_or(0))
    }

    /// Whether records hold volume keys in [`FileRecord::dev`]: false for a catalog written when they held
    /// `st_dev`, until the engine has rewritten them.
    pub fn volumes_keyed(&self) -> Result<bool> {
        self.tree
            .contains_key(VOLUMES_KEYED)
            .map_err(|e| self.err(e))
    }

    /// Applies a batch atomically together with its generation number and the owner totals it changes,
    /// then flushes to disk.
    pub fn apply(&self, batch: CatalogBatch, generation: u64) -> Result<()> {
        let mut b = batch.inner;
        b.insert(GENERATION, &generation.to_be_bytes());
        if let Some(roots) = batch.roots {
            b.insert(ROOTS, roots);
        }
        if batch.owners_counted {
            b.insert(OWNERS_COUNTED, &[][..]);
        }
        match batch.volumes_keyed {
            Some(true) => b.insert(VOLUMES_KEYED, &[][..]),
            Some(false) => b.remove(VOLUMES_KEYED),
            None => {}
        }
        // Exact deltas: what each touched record ends as, minus what is stored now (whatever the callers
        // believed the old record was).
        let mut deltas: HashMap<u32, i128> = HashMap::new();
        for (id, last) in &batch.owners {
            if let Some(stored) = self.get(*id)?.and_then(|r| r.owner) {
                *deltas.entry(stored.uid).or_insert(0) -= i128::from(stored.text_bytes);
            }
            if let Some(owner) = last {
                *deltas.entry(owner.uid).or_insert(0) += i128::from(owner.text_bytes);
            }
        }
        for (uid, delta) in deltas {
            if delta == 0 {
                continue;
            }
            let total = i128::from(self.owner_total(uid)?) + delta;
            let total = u64::try_from(total)
                .map_err(|_| self.err(format!("owner {uid}: text total would become {total}")))?;
            if total == 0 {
                b.remove(&owner_key(uid)[..]);
            } else {
                b.insert(&owner_key(uid)[..], &total.to_be_bytes()[..]);
            }
        }
        self.tree.apply_batch(b).map_err(|e| self.err(e))?;
        self.flush()
    }

    /// Writes everything to disk.
    pub fn flush(&self) -> Result<()> {
        self.db.flush().map_err(|e| self.err(e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
