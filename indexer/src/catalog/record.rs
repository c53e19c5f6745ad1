//! What the catalog holds per file ([`FileRecord`]) and per root ([`RootVolume`]), and decoding records
//! written in older layouts.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

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

/// What a record is of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// A regular file: its content is read and indexed.
    #[default]
    File,
    /// A directory: indexed by its name only (its document's MIME type is
    /// `fandex_schema::mime::DIRECTORY`); never opened for content.
    Folder,
}

/// What the catalog knows about one file (or directory: see [`FileRecord::kind`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// Exact path bytes.
    pub path: Vec<u8>,
    /// The volume key of the file's filesystem (`fandex_watcher::Volume`: from its UUID or `f_fsid`,
    /// so it survives a remount on another device number). `st_dev` in catalogs written before
    /// [`super::Catalog::volumes_keyed`], until the engine rewrote them.
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
    /// A file or a directory; [`Kind::File`] in records written before directories were recorded.
    pub kind: Kind,
}

/// A record as written before directories were recorded (today's fields without `kind`).
#[derive(Deserialize)]
struct OwnedRecord {
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
    owner: Option<Owner>,
}

impl From<OwnedRecord> for FileRecord {
    fn from(old: OwnedRecord) -> Self {
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
            owner: old.owner,
            kind: Kind::File,
        }
    }
}

/// A record as written before owners were counted (same fields, without `owner` and `kind`).
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
            kind: Kind::File,
        }
    }
}

/// Decodes a record, in today's layout, the one before directories were recorded, or the one before
/// owners were counted. Each older layout is a prefix of the newer one, so a newer record never decodes
/// as an older one's layout when the newer is tried first; an older one fails the newer for want of bytes.
pub(super) fn decode_record(bytes: &[u8]) -> std::result::Result<FileRecord, bincode::Error> {
    bincode::deserialize::<FileRecord>(bytes)
        .or_else(|_| bincode::deserialize::<OwnedRecord>(bytes).map(FileRecord::from))
        .or_else(|_| bincode::deserialize::<LegacyRecord>(bytes).map(FileRecord::from))
}

impl FileRecord {
    /// The path as a [`Path`].
    pub fn path(&self) -> &Path {
        Path::new(OsStr::from_bytes(&self.path))
    }

    /// Whether this is a directory's record.
    pub fn is_folder(&self) -> bool {
        self.kind == Kind::Folder
    }
}

/// The filesystem a root was on when a walk last covered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootVolume {
    /// The volume's identity (`fandex_watcher::Volume::identity`: `uuid:…`, `btrfs:…`, `fsid:…` or
    /// `dev:…`).
    pub identity: String,
    /// When that walk began, seconds since the epoch.
    pub walked_secs: u64,
}
