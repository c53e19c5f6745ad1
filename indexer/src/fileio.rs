//! Opening a file for its content without ever blocking or following a symlink.

use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Why a file could not be opened for reading.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Not a regular file (never opened for reading).
    #[error("not a regular file: {kind}")]
    NotRegular {
        /// What it is.
        kind: &'static str,
    },
    /// It does not exist (any more).
    #[error("no such file")]
    NotFound,
    /// No permission to read it.
    #[error("permission denied")]
    PermissionDenied,
    /// Another I/O error.
    #[error("{0}")]
    Io(std::io::Error),
}

/// Opens `path` read-only with `O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC` (and `O_NOATIME` when permitted), and
/// refuses anything that is not a regular file.
pub fn open_regular(path: &Path) -> Result<(std::fs::File, std::fs::Metadata), OpenError> {
    let open = |flags| {
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | flags)
            .open(path)
    };
    let file = match open(libc::O_NOATIME) {
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => open(0),
        other => other,
    }
    .map_err(|e| match e.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::ENOTDIR) => OpenError::NotFound,
        Some(libc::EACCES) | Some(libc::EPERM) => OpenError::PermissionDenied,
        Some(libc::ELOOP) => OpenError::NotRegular { kind: "symlink" },
        _ => OpenError::Io(e),
    })?;
    let meta = file.metadata().map_err(OpenError::Io)?;
    if !meta.is_file() {
        return Err(OpenError::NotRegular {
            kind: crate::crawl::special_kind(&meta.file_type()),
        });
    }
    Ok((file, meta))
}
