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
//!
//! The owner totals are the sum of [`FileRecord::owner`] over all records. They are never written by a
//! caller: [`Catalog::apply`] derives them from the records a batch replaces, so they stay exact and are
//! committed in the same atomic batch as the records (a crash leaves both old or both new).
//!
//! The catalog and the tantivy index are not committed atomically together; both record a generation
//! number, and [`crate::engine`] repairs a mismatch when it opens them.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How a file's content ended up in the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Text was extracted and indexed.
    Indexed,
    /// Binary content: indexed by name and metadata only.
    Binary,
    /// Extraction or reading failed; indexed by name and metadata, the error is recorded. Not retried until
    /// the file changes.
    Failed,
    /// The record may not match the index (found by the repair after a crash): re-read on the next crawl.
    Stale,
    /// Indexed by name and metadata only: the owner's text budget was reached (the error says so). Read
    /// again when the file changes, or on a walk once its owner is under the budget again.
    OverBudget,
}

/// The error recorded for a file indexed by name only because its owner's text budget was reached.
pub const OWNER_BUDGET_REACHED: &str = "owner's text budget reached";

/// Who owns a file and how much of the index its text takes, for the per-owner budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// The file's owner.
    pub uid: u32,
    /// Bytes of text indexed (and stored) for this record's document.
    pub text_bytes: u64,
    /// Bytes of text left out because the budget was reached ([`Status::OverBudget`]; else 0): the file
    /// is read again once they fit.
    pub dropped_bytes: u64,
}

/// What the catalog knows about one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Exact path bytes.
    pub path: Vec<u8>,
    /// The volume key of the file's filesystem (`fandex_watcher::Volume`: from its UUID or `f_fsid`,
    /// so it survives a remount on another device number). `st_dev` in catalogs written before
    /// [`Catalog::volumes_keyed`], until the engine rewrote them.
    pub dev: u64,
    /// Inode number.
    pub ino: u64,
    /// Size in bytes when indexed.
    pub size: u64,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
    /// Status change time, ns since the epoch.
    pub ctime_ns: i64,
    /// blake3 of the bytes extraction read; `None` when nothing was read.
    pub hash: Option<[u8; 32]>,
    /// Extraction outcome.
    pub status: Status,
    /// Whether a size limit cut the text.
    pub truncated: bool,
    /// Why: the error of a [`Status::Failed`] file; for a [`Status::Indexed`] document, what its parser
    /// noted is missing (`scanned: no text layer`, a part's `encrypted: needs a password`, a cap reached);
    /// the budget for [`Status::OverBudget`].
    pub error: Option<String>,
    /// The file changed within a clock tick of being read: equal timestamps later prove nothing, so the
    /// next walk reads it again.
    pub racy: bool,
    /// The owner and the text bytes this record's document holds; `None` only in records written before
    /// owners were counted (the engine fills them in once when it opens such a catalog).
    pub owner: Option<Owner>,
}

/// A record as written before owners were counted (same fields, without `owner`).
#[derive(Deserialize)]
struct LegacyRecord {
    path: Vec<u8>,
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i64,
    ctime_ns: i64,
    hash: Option<[u8; 32]>,
    status: Status,
    truncated: bool,
    error: Option<String>,
    racy: bool,
}

impl From<LegacyRecord> for FileRecord {
    fn from(old: LegacyRecord) -> Self {
        Self {
            path: old.path,
            dev: old.dev,
            ino: old.ino,
            size: old.size,
            mtime_ns: old.mtime_ns,
            ctime_ns: old.ctime_ns,
            hash: old.hash,
            status: old.status,
            truncated: old.truncated,
            error: old.error,
            racy: old.racy,
            owner: None,
        }
    }
}

/// Decodes a record, in today's layout or the one before owners were counted.
fn decode_record(bytes: &[u8]) -> std::result::Result<FileRecord, bincode::Error> {
    bincode::deserialize::<FileRecord>(bytes)
        .or_else(|_| bincode::deserialize::<LegacyRecord>(bytes).map(FileRecord::from))
}

impl FileRecord {
    /// The path as a [`Path`].
    pub fn path(&self) -> &Path {
        Path::new(OsStr::from_bytes(&self.path))
    }
}

/// The catalog database. Cloning gives another handle on the same database (for readers on other
/// threads).
#[derive(Clone)]
pub struct Catalog {
    db: sled::Db,
    tree: sled::Tree,
    dir: PathBuf,
}

const FILE: u8 = b'f';
const PATH: u8 = b'p';
const INODE: u8 = b'i';
const GENERATION: &[u8] = b"mgeneration";
const ROOTS: &[u8] = b"mroots";
/// Present once every record carries its owner (see [`Catalog::owners_counted`]).
const OWNERS_COUNTED: &[u8] = b"mowners";
const OWNER_TOTAL: u8 = b'u';
/// Present once records hold volume keys, not `st_dev` (see [`Catalog::volumes_keyed`]).
const VOLUMES_KEYED: &[u8] = b"mvolumes";

fn owner_key(uid: u32) -> [u8; 5] {
    let mut k = [OWNER_TOTAL; 5];
    k[1..].copy_from_slice(&uid.to_be_bytes());
    k
}

fn file_key(id: u64) -> [u8; 9] {
    let mut k = [FILE; 9];
    k[1..].copy_from_slice(&id.to_be_bytes());
    k
}

fn path_key(path: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(path.len() + 1);
    k.push(PATH);
    k.extend_from_slice(path);
    k
}

fn inode_prefix(dev: u64, ino: u64) -> [u8; 17] {
    let mut k = [INODE; 17];
    k[1..9].copy_from_slice(&dev.to_be_bytes());
    k[9..].copy_from_slice(&ino.to_be_bytes());
    k
}

fn inode_key(dev: u64, ino: u64, id: u64) -> [u8; 25] {
    let mut k = [0; 25];
    k[..17].copy_from_slice(&inode_prefix(dev, ino));
    k[17..].copy_from_slice(&id.to_be_bytes());
    k
}

fn id_of(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
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

    fn err(&self, e: impl std::fmt::Display) -> Error {
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

    /// The remembered roots.
    pub fn roots(&self) -> Result<Vec<PathBuf>> {
        let Some(bytes) = self.tree.get(ROOTS).map_err(|e| self.err(e))? else {
            return Ok(Vec::new());
        };
        let raw: Vec<Vec<u8>> = bincode::deserialize(&bytes).map_err(|e| self.err(e))?;
        Ok(raw
            .into_iter()
            .map(|b| PathBuf::from(OsStr::from_bytes(&b)))
            .collect())
    }

    /// Text bytes indexed for files owned by `uid` (committed state).
    pub fn owner_total(&self, uid: u32) -> Result<u64> {
        Ok(self
            .tree
            .get(owner_key(uid))
            .map_err(|e| self.err(e))?
            .and_then(|v| id_of(&v))
            .unwrap_or(0))
    }

    /// Text bytes indexed per owner (owners with none are absent), as maintained with every batch.
    pub fn owner_totals(&self) -> Result<BTreeMap<u32, u64>> {
        self.tree
            .scan_prefix([OWNER_TOTAL])
            .map(|kv| {
                let (k, v) = kv.map_err(|e| self.err(e))?;
                let uid = k[1..]
                    .try_into()
                    .map(u32::from_be_bytes)
                    .map_err(|_| self.err("malformed owner key"))?;
                Ok((
                    uid,
                    id_of(&v).ok_or_else(|| self.err("malformed owner total"))?,
                ))
            })
            .collect()
    }

    /// The owner totals recomputed from the records (a full scan): equal to [`Catalog::owner_totals`]
    /// at every commit.
    pub fn recount_owners(&self) -> Result<BTreeMap<u32, u64>> {
        let mut totals = BTreeMap::new();
        for entry in self.iter() {
            if let Some(owner) = entry?.1.owner
                && owner.text_bytes > 0
            {
                *totals.entry(owner.uid).or_insert(0) += owner.text_bytes;
            }
        }
        Ok(totals)
    }

    /// Whether every record carries its owner: false for a catalog written before owners were counted,
    /// until the engine has filled them in.
    pub fn owners_counted(&self) -> Result<bool> {
        self.tree
            .contains_key(OWNERS_COUNTED)
            .map_err(|e| self.err(e))
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
impl Catalog {
    /// Rewrites the catalog as it was before owners were counted: records without `owner` (in the old
    /// layout), no totals, no marker.
    pub(crate) fn downgrade_for_test(&self) {
        #[derive(Serialize)]
        struct Old<'a>(
            &'a [u8],
            u64,
            u64,
            u64,
            i64,
            i64,
            Option<[u8; 32]>,
            Status,
            bool,
            &'a Option<String>,
            bool,
        );
        let mut batch = sled::Batch::default();
        for (id, r) in self.iter().map(|e| e.unwrap()) {
            let old = Old(
                &r.path,
                r.dev,
                r.ino,
                r.size,
                r.mtime_ns,
                r.ctime_ns,
                r.hash,
                r.status,
                r.truncated,
                &r.error,
                r.racy,
            );
            batch.insert(&file_key(id)[..], bincode::serialize(&old).unwrap());
        }
        for uid in self.owner_totals().unwrap().keys() {
            batch.remove(&owner_key(*uid)[..]);
        }
        batch.remove(OWNERS_COUNTED);
        self.tree.apply_batch(batch).unwrap();
        self.flush().unwrap();
    }
}

/// Changes to apply to the catalog in one atomic step.
#[derive(Default)]
pub struct CatalogBatch {
    inner: sled::Batch,
    roots: Option<Vec<u8>>,
    /// The owner each record touched by the batch ends with (`None`: removed, or no owner).
    owners: HashMap<u64, Option<Owner>>,
    /// Text bytes the batch adds per owner (negative: frees), as seen from the callers' old records.
    pending: HashMap<u32, i64>,
    owners_counted: bool,
    volumes_keyed: Option<bool>,
    len: usize,
}

impl CatalogBatch {
    /// Inserts or replaces record `id`. `old` is the record it replaces, if any, so its lookup keys can be
    /// removed when the path or inode changed.
    pub fn put(&mut self, id: u64, record: &FileRecord, old: Option<&FileRecord>) {
        if let Some(old) = old {
            if old.path != record.path {
                self.inner.remove(path_key(&old.path));
            }
            if (old.dev, old.ino) != (record.dev, record.ino) {
                self.inner.remove(&inode_key(old.dev, old.ino, id)[..]);
            }
        }
        self.note_owner(id, old, record.owner);
        // Serializing plain data into a Vec cannot fail.
        let value = bincode::serialize(record).unwrap_or_default();
        self.inner.insert(&file_key(id)[..], value);
        self.inner
            .insert(path_key(&record.path), &id.to_be_bytes()[..]);
        self.inner
            .insert(&inode_key(record.dev, record.ino, id)[..], &[][..]);
        self.len += 1;
    }

    /// Removes record `id` and its lookup keys.
    pub fn remove(&mut self, id: u64, record: &FileRecord) {
        self.note_owner(id, Some(record), None);
        self.inner.remove(&file_key(id)[..]);
        self.inner.remove(path_key(&record.path));
        self.inner
            .remove(&inode_key(record.dev, record.ino, id)[..]);
        self.len += 1;
    }

    /// The owner record `id` has as of this batch: its last put here, else `old`'s.
    pub fn owner_of(&self, id: u64, old: Option<&FileRecord>) -> Option<Owner> {
        match self.owners.get(&id) {
            Some(last) => *last,
            None => old.and_then(|r| r.owner),
        }
    }

    /// Text bytes this batch adds for `uid` so far (negative when it frees more than it adds).
    pub fn pending_text_bytes(&self, uid: u32) -> i64 {
        self.pending.get(&uid).copied().unwrap_or(0)
    }

    fn note_owner(&mut self, id: u64, old: Option<&FileRecord>, new: Option<Owner>) {
        let bytes = |o: &Owner| i64::try_from(o.text_bytes).unwrap_or(i64::MAX);
        if let Some(prev) = self.owner_of(id, old) {
            *self.pending.entry(prev.uid).or_insert(0) -= bytes(&prev);
        }
        if let Some(new) = new {
            *self.pending.entry(new.uid).or_insert(0) += bytes(&new);
        }
        self.owners.insert(id, new);
    }

    /// Marks every record as carrying its owner (after the one-time count of an older catalog).
    pub fn set_owners_counted(&mut self) {
        self.owners_counted = true;
        self.len += 1;
    }

    /// Marks the records as holding volume keys (`false`: `st_dev`, as older catalogs did).
    pub fn set_volumes_keyed(&mut self, keyed: bool) {
        self.volumes_keyed = Some(keyed);
        self.len += 1;
    }

    /// Records the set of roots.
    pub fn set_roots(&mut self, roots: &[PathBuf]) {
        let raw: Vec<&[u8]> = roots.iter().map(|r| r.as_os_str().as_bytes()).collect();
        self.roots = Some(bincode::serialize(&raw).unwrap_or_default());
        self.len += 1;
    }

    /// Number of operations in the batch.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests;
