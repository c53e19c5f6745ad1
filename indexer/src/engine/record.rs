//! Catalog records from file metadata: timestamps in nanoseconds, a fresh record, the owner.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::catalog::{FileRecord, Kind, Owner, Status};

/// The modification time in nanoseconds, as catalog records hold it.
pub(super) fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.mtime().saturating_mul(1_000_000_000) + meta.mtime_nsec()
}

/// The status-change time in nanoseconds, as catalog records hold it.
pub(super) fn ctime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.ctime().saturating_mul(1_000_000_000) + meta.ctime_nsec()
}

/// A catalog record for `path` from its metadata, before extraction fills in the outcome. `volume` is
/// the key of its filesystem ([`crate::fileio::RootSet::volume_key`]), stored instead of `st_dev`.
pub(super) fn record_from(path: &Path, meta: &std::fs::Metadata, volume: u64) -> FileRecord {
    FileRecord {
        path: path.as_os_str().as_bytes().to_vec(),
        dev: volume,
        ino: meta.ino(),
        size: meta.size(),
        mtime_ns: mtime_ns(meta),
        ctime_ns: ctime_ns(meta),
        hash: None,
        status: Status::Failed,
        truncated: false,
        error: None,
        racy: false,
        owner: Some(Owner {
            uid: meta.uid(),
            text_bytes: 0,
            dropped_bytes: 0,
        }),
        kind: Kind::File,
    }
}

/// Sets the owner of `record` to the file's current owner (a chown changes it), keeping its text bytes.
pub(super) fn set_owner_uid(record: &mut FileRecord, meta: &std::fs::Metadata) {
    if let Some(owner) = &mut record.owner {
        owner.uid = meta.uid();
    }
}
