//! The work items the stages hand each other: what classify plans, what the extract stage reads and
//! what reaches the apply stage.

use std::path::PathBuf;

use fandex_schema::DocMeta;

use crate::catalog::{FileRecord, Status};
use crate::fileio::FileId;

/// A known file found at a new path: its record and document move, the file is not read.
pub(super) struct MoveJob {
    pub(super) id: u64,
    pub(super) old: FileRecord,
    pub(super) path: PathBuf,
    pub(super) meta: std::fs::Metadata,
    /// A record of another file that had the new path before, to remove.
    pub(super) displaced: Option<(u64, FileRecord)>,
}

/// A file to read and index under `id`.
pub(super) struct ExtractJob {
    pub(super) id: u64,
    pub(super) path: PathBuf,
    /// The file the walk or the event's `lstat` saw at `path`: only that file is read as its content.
    pub(super) expected: FileId,
    /// The descriptor a fanotify event carried: content is read through it when it is still this path's
    /// file.
    pub(super) content: Option<fandex_watcher::ContentFd>,
    pub(super) old: Option<FileRecord>,
    /// A record of another file that had this path before, to remove.
    pub(super) displaced: Option<(u64, FileRecord)>,
}

/// A directory to (re)write under `id`: its document is its name and metadata, never its content.
pub(super) struct FolderJob {
    pub(super) id: u64,
    pub(super) path: PathBuf,
    /// Its record as it is now ([`crate::catalog::Kind::Folder`]).
    pub(super) record: FileRecord,
    pub(super) old: Option<FileRecord>,
    /// A record of something else that had this path before, to remove.
    pub(super) displaced: Option<(u64, FileRecord)>,
}

/// What reaches the apply stage.
pub(super) enum Outcome {
    Unchanged,
    Special,
    /// The walk could not read a path (when known) for this reason.
    WalkError(Option<PathBuf>, String),
    /// The file was read (or could not be, and `record.error` says why). `pieces` are its documents:
    /// the file itself first, then its parts; empty when its content is unchanged (see [`same_content`]),
    /// and the stored documents stay.
    Extracted {
        job: ExtractJob,
        record: FileRecord,
        pieces: Vec<Piece>,
    },
    /// The file disappeared (or stopped being a regular file) between the walk and the read.
    Vanished(ExtractJob),
    /// The file could not be opened for want of a system resource: left as it was, to be read again.
    Deferred(ExtractJob, String),
    Move(MoveJob),
    /// A directory new or changed (its name, mtime, owner or mode).
    Folder(FolderJob),
}

/// One document of a file: the file itself (part 0) or one of its parts, before the file's path, size and
/// mtime are added.
#[derive(Debug, Clone, Default)]
pub(super) struct Piece {
    pub(super) meta: DocMeta,
    pub(super) text: String,
}

impl Piece {
    /// The document of the file itself with `text`, of type `mime` (empty: from its name).
    pub(super) fn file(mime: &str, text: String) -> Self {
        Piece {
            meta: DocMeta {
                mime: mime.to_owned(),
                ..DocMeta::default()
            },
            text,
        }
    }
}

/// Whether `record` (just read) has the content its previous record `old` had, so its documents need no
/// rewrite: a close-after-write that changed nothing.
pub(super) fn same_content(old: &FileRecord, record: &FileRecord) -> bool {
    !matches!(old.status, Status::Stale | Status::OverBudget)
        && old.hash.is_some()
        && (&old.hash, &old.path, old.mtime_ns, old.size)
            == (&record.hash, &record.path, record.mtime_ns, record.size)
}
