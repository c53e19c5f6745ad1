//! Directories in the index (issue 13): each directory below a root is one document, found by its name
//! and metadata alone (MIME type [`mime::DIRECTORY`], class `folder`, size 0), with a catalog record of
//! [`Kind::Folder`]. Its content is never read: the files in it are documents of their own.
//!
//! A directory is planned here from the walk's or an event's `lstat`, like a file by `classify`: known
//! at its path (same volume and inode) with the same mtime, ctime and owner, it is unchanged; else its
//! record and document are written again. A directory is never matched to a record by inode alone (a
//! rename while no daemon ran makes a new record; the old one goes when the walk does not find it), and
//! the inode lookups of files skip directories' records (an inode number may be reused).

use std::collections::HashSet;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use fandex_schema::{DocMeta, FileDoc, mime};

use super::job::FolderJob;
use super::record::record_from;
use crate::catalog::{Catalog, FileRecord, Kind, Status};
use crate::error::Result;
use crate::fileio::RootSet;

/// A directory's record from its metadata: status indexed, size 0 (the document's size: a folder is
/// not a size on disk worth sorting by), the owner for the per-owner view.
pub(super) fn folder_record(
    path: &std::path::Path,
    meta: &std::fs::Metadata,
    volume: u64,
) -> FileRecord {
    let mut record = record_from(path, meta, volume);
    record.kind = Kind::Folder;
    record.status = Status::Indexed;
    record.size = 0;
    record
}

/// Decides what to do with the directory at `path`: `None` when its record is current, else the job
/// that writes it (claiming its id, as `classify` does for files).
pub(super) fn classify_folder(
    catalog: &Catalog,
    roots: &RootSet,
    claimed: &mut HashSet<u64>,
    path: PathBuf,
    meta: &std::fs::Metadata,
) -> Result<Option<FolderJob>> {
    let volume = roots.volume_key(&path, meta);
    let record = folder_record(&path, meta, volume);
    let mut old = None;
    let mut displaced = None;
    let known = catalog
        .get_by_path(path.as_os_str().as_bytes())?
        .filter(|(id, _)| !claimed.contains(id));
    let id = match known {
        Some((id, rec)) if rec.is_folder() && (rec.dev, rec.ino) == (volume, meta.ino()) => {
            claimed.insert(id);
            let same = rec.status != Status::Stale
                && rec.mtime_ns == record.mtime_ns
                && rec.ctime_ns == record.ctime_ns
                && rec.owner.map(|o| o.uid) == record.owner.map(|o| o.uid);
            if same {
                return Ok(None);
            }
            old = Some(rec);
            id
        }
        Some((id, rec)) => {
            // A file (or another directory) had this name: its record goes.
            claimed.insert(id);
            displaced = Some((id, rec));
            catalog.new_id()?
        }
        None => catalog.new_id()?,
    };
    claimed.insert(id);
    Ok(Some(FolderJob {
        id,
        path,
        record,
        old,
        displaced,
    }))
}

/// The one document of a directory: its path (so its name and ancestors are searchable), its mtime,
/// no text.
pub(super) fn folder_document(job: &FolderJob) -> (FileDoc, DocMeta) {
    let doc = FileDoc {
        file_id: job.id,
        path: job.path.clone(),
        size: 0,
        mtime_ns: job.record.mtime_ns,
        text: String::new(),
    };
    let meta = DocMeta {
        mime: mime::DIRECTORY.to_owned(),
        ..DocMeta::default()
    };
    (doc, meta)
}
