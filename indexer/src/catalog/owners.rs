//! The per-owner text totals: read, recounted from the records (to check them), and whether every record
//! carries its owner. [`super::Catalog::apply`] keeps them exact.

use std::collections::BTreeMap;

use super::Catalog;
#[cfg(test)]
use super::keys::file_key;
use super::keys::{OWNER_TOTAL, OWNERS_COUNTED, id_of, owner_key};
#[cfg(test)]
use super::record::Status;
use crate::error::Result;
#[cfg(test)]
use serde::Serialize;

impl Catalog {
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
