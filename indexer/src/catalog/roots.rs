//! The remembered roots, and for each the filesystem volume it was last walked on ([`RootVolume`], issue
//! 15): what tells a root from the empty mount point left when its filesystem is not mounted.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::Catalog;
use super::batch::CatalogBatch;
use super::keys::{ROOTS, root_volume_key};
use super::record::RootVolume;
use crate::error::Result;

impl Catalog {
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

    /// The volume `root` was last walked on; `None` before its first walk (or in a catalog written before
    /// volumes were recorded: it learns it on the next walk).
    pub fn root_volume(&self, root: &Path) -> Result<Option<RootVolume>> {
        let Some(bytes) = self
            .tree
            .get(root_volume_key(root.as_os_str().as_bytes()))
            .map_err(|e| self.err(e))?
        else {
            return Ok(None);
        };
        Ok(Some(bincode::deserialize(&bytes).map_err(|e| self.err(e))?))
    }
}

impl CatalogBatch {
    /// Records the set of roots.
    pub fn set_roots(&mut self, roots: &[PathBuf]) {
        let raw: Vec<&[u8]> = roots.iter().map(|r| r.as_os_str().as_bytes()).collect();
        self.roots = Some(bincode::serialize(&raw).unwrap_or_default());
        self.len += 1;
    }

    /// Records the volume `root` was walked on.
    pub fn set_root_volume(&mut self, root: &Path, volume: &RootVolume) {
        // Serializing plain data into a Vec cannot fail.
        let value = bincode::serialize(volume).unwrap_or_default();
        self.inner
            .insert(root_volume_key(root.as_os_str().as_bytes()), value);
        self.len += 1;
    }

    /// Forgets the volume of a root that is no longer one.
    pub fn remove_root_volume(&mut self, root: &Path) {
        self.inner
            .remove(root_volume_key(root.as_os_str().as_bytes()));
        self.len += 1;
    }
}
