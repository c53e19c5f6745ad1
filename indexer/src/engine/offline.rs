//! Roots whose filesystem is not there when an update or the daemon starts (issue 15): an unplugged
//! disk, a stopped share.
//!
//! Each walk records the volume its root was on ([`RootVolume`], the identity `fandex_watcher::Volume`
//! computes, which survives a remount on another device number). A remembered root is *offline* when its
//! path is missing (or not a directory), or when it now lies on another volume than recorded: the empty
//! mount-point directory on the parent filesystem, or some other filesystem mounted there. An offline root
//! is not walked and its records are kept (a walk of the mount point would find nothing and remove them
//! all); the daemon hides its files from searches and reconciles it when its volume returns
//! (`fandex_daemon::roots`). A catalog without a root's record (written before volumes were recorded)
//! learns it on the root's next walk; until then only a missing path makes that root offline.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use fandex_watcher::FsIdentity;

use super::Engine;
use super::summary::OfflineRoot;
use crate::catalog::{CatalogBatch, RootVolume};
use crate::error::Result;

/// Whether `root` is offline given the volume it was last walked on: `Some(reason)` when it is.
fn offline_reason(root: &Path, recorded: Option<&RootVolume>) -> Option<String> {
    match FsIdentity::of(root) {
        Err(e) => Some(format!("the directory is gone: {e}")),
        Ok(now) => match recorded {
            Some(r) if r.identity != now.volume.identity => Some(format!(
                "not mounted: the path is on another filesystem ({}) than when it was indexed ({})",
                now.volume.identity, r.identity
            )),
            _ => None,
        },
    }
}

impl Engine {
    /// The remembered roots that are offline now (see the module documentation).
    pub fn offline_roots(&self) -> Result<Vec<OfflineRoot>> {
        self.offline_among(&self.roots)
    }

    /// Which of `roots` are offline now.
    pub(super) fn offline_among(&self, roots: &[PathBuf]) -> Result<Vec<OfflineRoot>> {
        let mut offline = Vec::new();
        for root in roots {
            let recorded = self.catalog.root_volume(root)?;
            if let Some(reason) = offline_reason(root, recorded.as_ref()) {
                offline.push(OfflineRoot {
                    path: root.clone(),
                    root: root.display().to_string(),
                    reason,
                    volume: recorded.as_ref().map(|r| r.identity.clone()),
                    walked_secs: recorded.map(|r| r.walked_secs),
                });
            }
        }
        Ok(offline)
    }

    /// Records in `batch` the volume each of `roots` is on now, as walked from `started`.
    pub(super) fn record_root_volumes(
        roots: &[PathBuf],
        started: SystemTime,
        batch: &mut CatalogBatch,
    ) {
        let walked_secs = started
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        for root in roots {
            if let Ok(now) = FsIdentity::of(root) {
                batch.set_root_volume(
                    root,
                    &RootVolume {
                        identity: now.volume.identity,
                        walked_secs,
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_on_its_recorded_volume_or_without_a_record_is_online() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(offline_reason(dir.path(), None), None);
        let identity = FsIdentity::of(dir.path()).unwrap().volume.identity;
        let same = RootVolume {
            identity,
            walked_secs: 1,
        };
        assert_eq!(offline_reason(dir.path(), Some(&same)), None);
    }

    #[test]
    fn a_missing_root_or_one_on_another_volume_is_offline() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        assert!(offline_reason(&gone, None).is_some_and(|r| r.contains("gone")));
        let other = RootVolume {
            identity: "uuid:not-this-one".into(),
            walked_secs: 1,
        };
        assert!(
            offline_reason(dir.path(), Some(&other))
                .is_some_and(|r| r.contains("not mounted") && r.contains("uuid:not-this-one"))
        );
    }
}
