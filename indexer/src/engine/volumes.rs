//! Files known by volume and inode, not `st_dev` and inode (issue 15): the one-time rewrite of a catalog
//! written when records held `st_dev`.
//!
//! A record's `dev` holds the key of its filesystem's volume (`fandex_watcher::Volume`: the UUID, or a
//! `f_fsid` derived from it, that a remount keeps), asked of the filesystem through
//! [`RootSet::volume_key`] wherever the engine makes or compares records. An older catalog is rewritten
//! in place when the engine opens it (its records and documents stay; nothing is read again): each
//! record whose file is still at its path on the same `st_dev` gets its volume's key. A record that cannot
//! be checked (its root offline, its file gone or replaced) keeps its `st_dev`, which matches no volume
//! key: the next walk reads that file again or removes the record, as it would have anyway.

use std::os::unix::fs::MetadataExt;
use std::time::Instant;

use tracing::info;

use super::Engine;
use super::pipeline::COMMIT_EVERY_OPS;
use crate::catalog::CatalogBatch;
use crate::error::Result;
use crate::fileio::RootSet;

impl Engine {
    /// Rewrites `st_dev` to the volume key in every record it can check, then marks the catalog as keyed
    /// by volume. Once per catalog; interrupted, it resumes (a rewritten record's key is no `st_dev`).
    pub(super) fn key_records_by_volume(&mut self) -> Result<()> {
        let started = Instant::now();
        let mut ids = Vec::new();
        for entry in self.catalog.iter() {
            ids.push(entry?.0);
        }
        let roots = RootSet::open(&self.roots);
        let mut batch = CatalogBatch::default();
        let mut rewritten = 0usize;
        for &id in &ids {
            let Some(rec) = self.catalog.get(id)? else {
                continue;
            };
            let Ok(meta) = roots.lstat(rec.path()) else {
                continue;
            };
            if meta.dev() != rec.dev || meta.ino() != rec.ino {
                continue;
            }
            let key = roots.volume_key(rec.path(), &meta);
            if key == rec.dev {
                continue;
            }
            let mut keyed = rec.clone();
            keyed.dev = key;
            batch.put(id, &keyed, Some(&rec));
            rewritten += 1;
            if batch.len() >= COMMIT_EVERY_OPS {
                self.commit(std::mem::take(&mut batch))?;
            }
        }
        batch.set_volumes_keyed(true);
        self.commit(batch)?;
        if !ids.is_empty() {
            info!(
                records = ids.len(),
                rewritten,
                seconds = started.elapsed().as_secs_f64(),
                "records keyed by their filesystem's volume (survives remounts)"
            );
        }
        Ok(())
    }
}
