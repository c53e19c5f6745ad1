//! Sync cookies: files whose change events mark a point in the event stream.
//!
//! `sync` creates one cookie in each root and answers once the pipeline has committed a batch containing
//! its event: every change made before the cookie was created was queued before it, so it is searchable.
//! fanotify drops events caused by the daemon's own process, so cookies are created by a short-lived
//! child process.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Creates `path` (exclusively, mode 0600, empty) from a forked child so that the watcher sees the event as
/// coming from another process.
pub fn create_from_child(path: &Path) -> std::io::Result<()> {
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "path contains NUL"))?;
    // SAFETY: after fork the child only calls async-signal-safe functions (open, close, _exit) on data
    // prepared before the fork, as required in a multithreaded process.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(std::io::Error::last_os_error()),
        0 => {
            // SAFETY: see above; the child never returns into Rust code.
            unsafe {
                let fd = libc::open(
                    c_path.as_ptr(),
                    libc::O_WRONLY
                        | libc::O_CREAT
                        | libc::O_EXCL
                        | libc::O_CLOEXEC
                        | libc::O_NOFOLLOW,
                    0o600,
                );
                if fd < 0 {
                    libc::_exit(1);
                }
                libc::close(fd);
                libc::_exit(0);
            }
        }
        child => {
            let mut status = 0;
            // SAFETY: waiting for the child we just forked; `status` is a valid out pointer.
            let waited = unsafe { libc::waitpid(child, &mut status, 0) };
            if waited < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::other(format!(
                    "cannot create {}",
                    path.display()
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_creates_exclusively() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join(".fandex-sync-test");
        create_from_child(&p).unwrap();
        assert!(p.is_file());
        assert!(create_from_child(&p).is_err(), "exclusive");
    }
}
