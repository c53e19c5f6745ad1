//! [`CatalogBatch`]: changes to records, their lookup keys and the catalog's markers, applied in one atomic
//! step by [`super::Catalog::apply`], with the owner each touched record ends with.

use std::collections::HashMap;

use super::keys::{file_key, inode_key, path_key};
use super::record::{FileRecord, Owner};

/// Changes to apply to the catalog in one atomic step.
#[derive(Default)]
pub struct CatalogBatch {
    pub(super) inner: sled::Batch,
    pub(super) roots: Option<Vec<u8>>,
    /// The owner each record touched by the batch ends with (`None`: removed, or no owner).
    pub(super) owners: HashMap<u64, Option<Owner>>,
    /// Text bytes the batch adds per owner (negative: frees), as seen from the callers' old records.
    pending: HashMap<u32, i64>,
    pub(super) owners_counted: bool,
    pub(super) volumes_keyed: Option<bool>,
    pub(super) len: usize,
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

    /// Number of operations in the batch.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
