//! The newest changes the pipeline applied, for `status` (and `status --follow`): which files a batch
//! names, and who owns them according to the catalog (so a caller who does not own the index is shown
//! only changes to their own files).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use fandex_indexer::catalog::Catalog;
use fandex_indexer::coalesce::Work;

use crate::activity::{ChangeKind, RECENT_CHANGES, RecentChange, now_rfc3339};

/// A change named by a batch, noted before the batch is applied.
pub(crate) struct Noted {
    path: PathBuf,
    change: ChangeKind,
    /// The owner before the batch (a removed file's is known only then).
    owner_before: Option<u32>,
}

/// The owner of the file the catalog records at `path`.
fn owner(catalog: &Catalog, path: &Path) -> Option<u32> {
    let (_, record) = catalog
        .get_by_path(path.as_os_str().as_bytes())
        .ok()
        .flatten()?;
    Some(record.owner?.uid)
}

/// The last [`RECENT_CHANGES`] files `work` names (oldest first), leaving out the daemon's own sync
/// cookies (names starting with `cookie_prefix`) and rescans (they name directories).
pub(crate) fn before(work: &[Work], catalog: &Catalog, cookie_prefix: &OsStr) -> Vec<Noted> {
    let is_cookie = |path: &Path| {
        path.file_name()
            .is_some_and(|n| n.as_bytes().starts_with(cookie_prefix.as_bytes()))
    };
    let mut noted: Vec<Noted> = work
        .iter()
        .rev()
        .filter_map(|item| match item {
            Work::Refresh { path, .. } => Some((path, ChangeKind::Changed)),
            Work::Move { to, .. } => Some((to, ChangeKind::Moved)),
            Work::Remove { path } => Some((path, ChangeKind::Removed)),
            Work::Rescan { .. } => None,
        })
        .filter(|(path, _)| !is_cookie(path))
        .take(RECENT_CHANGES)
        .map(|(path, change)| Noted {
            owner_before: owner(catalog, path),
            path: path.clone(),
            change,
        })
        .collect();
    noted.reverse();
    noted
}

/// The noted changes as applied: a file the catalog no longer records was removed (or gone before it
/// was looked at), the others carry their owner now.
pub(crate) fn after(noted: Vec<Noted>, catalog: &Catalog) -> Vec<RecentChange> {
    let at = now_rfc3339();
    noted
        .into_iter()
        .map(|n| {
            let record = catalog
                .get_by_path(n.path.as_os_str().as_bytes())
                .ok()
                .flatten();
            let (change, owner) = match (n.change, record) {
                (ChangeKind::Removed, _) | (_, None) => (ChangeKind::Removed, n.owner_before),
                (kind, Some((_, record))) => (kind, record.owner.map(|o| o.uid)),
            };
            RecentChange {
                path: n.path.display().to_string(),
                change,
                at: at.clone(),
                owner,
                exact_path: Some(n.path),
            }
        })
        .collect()
}
