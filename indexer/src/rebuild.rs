//! Rebuilding an index written in another on-disk format.
//!
//! An index whose `format` marker holds another number than this build's
//! [`SCHEMA_VERSION`](fandex_schema::SCHEMA_VERSION) (older after an upgrade, newer after a downgrade)
//! is never refused: it is rebuilt from the roots it covered. A newer one is rebuilt too, after a
//! warning naming both formats (a newer fandex run later rebuilds it again); a directory whose `format`
//! marker is not a number is not a fandex index and is refused ([`crate::Error::NotAnIndex`]).
//!
//! The steps, each crash-safe (the writer lock is held throughout):
//!
//! 1. the roots are read from the old catalog (`m+roots`); when it cannot be read, none are kept and
//!    the roots given on the command line or in the configuration are used, as for a new index;
//! 2. the `rebuild` marker is written (temporary file, fsync, rename, fsync of the directory): the
//!    format rebuilt from and the roots. From now on the marker, not the old catalog, holds the roots;
//! 3. `catalog/` and `tantivy/` are deleted;
//! 4. the `format` marker is rewritten with this build's format (same way as the marker);
//! 5. the engine opens a fresh catalog and index, records the marker's roots in it, and the next full
//!    walk ([`crate::Engine::update`], the daemon's start) fills them; once that walk has committed,
//!    the `rebuild` marker is removed ([`finish`]).
//!
//! A crash before 2 leaves the old index, rebuilt again at the next open; between 2 and 4 the marker
//! exists with the old format, so the next open repeats 3 and 4 with the marker's roots (the old catalog
//! may be half deleted); after 4 the index has the new format and a marker: the next open keeps what was
//! already rebuilt (the usual generation repair applies) and the next walk finishes it, reading only the
//! files not yet indexed. The rebuild happens in place, so searches during it (the daemon's) answer from
//! what has been rebuilt so far.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use fandex_schema::SCHEMA_VERSION;
use tracing::{info, warn};

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::layout::IndexDir;

/// A rebuild in progress: the format the index had and the one it is rebuilt in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rebuild {
    /// The format found on disk.
    pub from: u32,
    /// This build's format.
    pub to: u32,
}

/// What the `rebuild` marker records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Marker {
    /// The format rebuilt from.
    pub from: u32,
    /// The roots the old index covered.
    pub roots: Vec<PathBuf>,
}

fn marker_file(dir: &IndexDir) -> PathBuf {
    dir.path().join("rebuild")
}

/// The rebuild in progress in `dir`, if any (read without the writer lock: for status and searchers).
pub fn in_progress(dir: &IndexDir) -> Result<Option<Rebuild>> {
    Ok(read_marker(dir)?.map(|m| Rebuild {
        from: m.from,
        to: SCHEMA_VERSION,
    }))
}

/// Whether the index in `dir` records other stemming languages than `wanted` (the configuration's):
/// then it is rebuilt like an index of another format, so a search never tokenizes with stemmers the
/// index was not written with. False when there is no index yet.
pub(crate) fn languages_changed(
    dir: &IndexDir,
    wanted: &[fandex_schema::Language],
) -> Result<bool> {
    let recorded = crate::text_index::recorded_languages(&dir.tantivy_dir())?;
    let changed = recorded
        .as_ref()
        .is_some_and(|had| *had != fandex_schema::analysis::normalized(wanted));
    if changed {
        let codes = |ls: &[fandex_schema::Language]| {
            ls.iter().map(|l| l.code()).collect::<Vec<_>>().join(", ")
        };
        warn!(
            "the index in {} stems in [{}], the configuration asks for [{}]: rebuilding it",
            dir.path().display(),
            codes(recorded.as_deref().unwrap_or_default()),
            codes(wanted)
        );
    }
    Ok(changed)
}

/// Reads the marker: `FROM\n` then each root's bytes followed by a NUL (paths hold no NUL).
pub(crate) fn read_marker(dir: &IndexDir) -> Result<Option<Marker>> {
    let file = marker_file(dir);
    let bytes = match fs::read(&file) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(format!("cannot read {}", file.display()), e)),
    };
    let corrupt = || {
        Error::io(
            format!("cannot read {}", file.display()),
            std::io::Error::other("not a rebuild marker"),
        )
    };
    let newline = bytes.iter().position(|&b| b == b'\n').ok_or_else(corrupt)?;
    let from = std::str::from_utf8(&bytes[..newline])
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(corrupt)?;
    let roots = bytes[newline + 1..]
        .split(|&b| b == 0)
        .filter(|r| !r.is_empty())
        .map(|r| PathBuf::from(OsStr::from_bytes(r)))
        .collect();
    Ok(Some(Marker { from, roots }))
}

/// Replaces `path` with `bytes` atomically and durably: a temporary file, fsync, rename, fsync of the
/// directory.
pub(crate) fn write_durably(dir: &IndexDir, path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let written = File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| fs::rename(&tmp, path))
        .and_then(|()| File::open(dir.path())?.sync_all());
    written.map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

/// Steps 1 to 4 (see the module doc) for an index of format `found`; the caller holds the writer lock.
pub(crate) fn begin(dir: &IndexDir, found: u32) -> Result<()> {
    let marker = match read_marker(dir)? {
        Some(marker) => marker, // an earlier attempt stopped before the new format was written
        None => {
            let marker = Marker {
                from: found,
                roots: old_roots(dir),
            };
            let mut bytes = format!("{found}\n").into_bytes();
            for root in &marker.roots {
                bytes.extend_from_slice(root.as_os_str().as_bytes());
                bytes.push(0);
            }
            write_durably(dir, &marker_file(dir), &bytes)?;
            marker
        }
    };
    if marker.from > SCHEMA_VERSION {
        warn!(
            "the index in {} has format {}, newer than this fandex's format {SCHEMA_VERSION}: \
             rebuilding it in format {SCHEMA_VERSION} (a newer fandex will rebuild it again)",
            dir.path().display(),
            marker.from
        );
    } else {
        info!(
            "the index in {} has format {}: rebuilding it in format {SCHEMA_VERSION} from its {} roots",
            dir.path().display(),
            marker.from,
            marker.roots.len()
        );
    }
    for sub in [dir.catalog_dir(), dir.tantivy_dir()] {
        let removed = match fs::symlink_metadata(&sub) {
            Ok(meta) if meta.is_dir() => fs::remove_dir_all(&sub),
            Ok(_) => fs::remove_file(&sub),
            Err(e) => Err(e),
        };
        match removed {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(format!("cannot remove {}", sub.display()), e)),
        }
    }
    write_durably(
        dir,
        &dir.format_file(),
        format!("{SCHEMA_VERSION}\n").as_bytes(),
    )
}

/// The roots recorded in the old catalog, or none when it cannot be read (sled may panic on a
/// catalog it cannot read).
fn old_roots(dir: &IndexDir) -> Vec<PathBuf> {
    let path = dir.catalog_dir();
    if !path.exists() {
        return Vec::new();
    }
    let read = std::panic::catch_unwind(|| Catalog::open(&path).and_then(|c| c.roots()));
    match read {
        Ok(Ok(roots)) => roots,
        Ok(Err(err)) => {
            warn!(error = %err, "the old catalog's roots cannot be read; using the roots given");
            Vec::new()
        }
        Err(_) => {
            warn!("the old catalog's roots cannot be read (sled panicked); using the roots given");
            Vec::new()
        }
    }
}

/// Step 5's end: the walk that refilled the index has committed.
pub(crate) fn finish(dir: &IndexDir) -> Result<()> {
    let file = marker_file(dir);
    match fs::remove_file(&file) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(format!("cannot remove {}", file.display()), e)),
    }
    File::open(dir.path())
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(format!("cannot sync {}", dir.path().display()), e))?;
    info!("index rebuilt in format {SCHEMA_VERSION}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_keeps_the_format_and_roots_as_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = IndexDir::at(tmp.path());
        dir.create().unwrap();
        let odd = PathBuf::from(OsStr::from_bytes(b"/data/\xffnew\nline"));
        {
            let catalog = Catalog::open(&dir.catalog_dir()).unwrap();
            let mut batch = crate::catalog::CatalogBatch::default();
            batch.set_roots(&[PathBuf::from("/home/a"), odd.clone()]);
            catalog.apply(batch, 1).unwrap();
        }
        fs::write(dir.format_file(), "0\n").unwrap();
        begin(&dir, 0).unwrap();
        let marker = read_marker(&dir).unwrap().unwrap();
        assert_eq!(marker.from, 0);
        assert_eq!(marker.roots, [PathBuf::from("/home/a"), odd]);
        assert!(!dir.catalog_dir().exists());
        assert_eq!(
            in_progress(&dir).unwrap(),
            Some(Rebuild {
                from: 0,
                to: SCHEMA_VERSION
            })
        );
        dir.check_format().unwrap();
        finish(&dir).unwrap();
        assert_eq!(in_progress(&dir).unwrap(), None);
    }
}
