//! Sync cookies as files: their names, creating one in a root, removing it, and cleaning up leftovers.
//! When a cookie counts as seen is the business of [`crate::sync`].
//!
//! fanotify drops events caused by the daemon's own process, so cookies are created by a short-lived
//! child process.
//!
//! A root's top directory may be writable by other users, so cookies are built to survive them:
//!
//! - names are unpredictable: a random nonce and a tag (a hash of the nonce keyed with a secret kept in
//!   the index directory), so nobody can occupy the names in advance, and only this index's daemon can
//!   make a name that passes [`CookieKey::is_ours`];
//! - they are created relative to the root's directory (opened without following any symbolic link),
//!   exclusively and without following a link at the name; a name that is taken is retried with another;
//! - a cookie is removed only if the name still holds the file that was created. Leftovers of a killed
//!   daemon are removed at start only when they carry a valid tag, belong to the daemon's user and are
//!   empty regular files: another user's files, whatever their names, are never touched.

use std::ffi::{CString, OsStr};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use fandex_indexer::IndexDir;
pub(crate) use fandex_indexer::config::SYNC_COOKIE_PREFIX;
use fandex_watcher::beneath::open_root_no_symlinks;
use nix::errno::Errno;
use nix::fcntl::AtFlags;
use nix::sys::stat::{FileStat, SFlag};
use tracing::{debug, warn};

/// Random bytes in a cookie name.
const NONCE_BYTES: usize = 8;
/// Tag bytes in a cookie name.
const TAG_BYTES: usize = 8;
/// Names tried before giving up on a root (each is taken only if someone created that exact file).
const ATTEMPTS: usize = 8;
/// The key's file in the index directory.
const KEY_FILE: &str = "sync-cookie-key";

/// Fills `buf` from the kernel's random number generator.
fn random_bytes(buf: &mut [u8]) -> std::io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let rest = &mut buf[filled..];
        // SAFETY: getrandom writes at most `rest.len()` bytes into `rest`, a valid, exclusively
        // borrowed buffer.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        match usize::try_from(n) {
            Ok(n) => filled += n,
            Err(_) if Errno::last() == Errno::EINTR => {}
            Err(_) => return Err(std::io::Error::last_os_error()),
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks(2)
        .map(|pair| {
            let digit = |c: u8| match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            };
            Some(digit(pair[0])? << 4 | digit(pair[1])?)
        })
        .collect()
}

/// The secret that makes this daemon's cookie names.
#[derive(Clone)]
pub struct CookieKey([u8; 32]);

impl CookieKey {
    /// Reads the key from the index directory, creating it (mode 0600) on first use.
    pub fn load_or_create(dir: &IndexDir) -> std::io::Result<Self> {
        let path = dir.path().join(KEY_FILE);
        let open = || {
            std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)
        };
        match open() {
            Ok(mut file) => {
                let mut key = [0; 32];
                let mut extra = [0; 1];
                if file.read_exact(&mut key).is_ok() && file.read(&mut extra)? == 0 {
                    return Ok(Self(key));
                }
                // A key cut short by a crash while it was written: make a new one.
                warn!("{} is damaged; making a new one", path.display());
                std::fs::remove_file(&path)?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut key = [0; 32];
        random_bytes(&mut key)?;
        let tmp = dir.path().join(format!("{KEY_FILE}.tmp"));
        let _ = std::fs::remove_file(&tmp);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        file.write_all(&key)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        Ok(Self(key))
    }

    fn tag(&self, nonce: &[u8]) -> [u8; TAG_BYTES] {
        let hash = blake3::keyed_hash(&self.0, nonce);
        let mut tag = [0; TAG_BYTES];
        tag.copy_from_slice(&hash.as_bytes()[..TAG_BYTES]);
        tag
    }

    /// A fresh, unpredictable cookie name.
    pub fn new_name(&self) -> std::io::Result<String> {
        let mut nonce = [0; NONCE_BYTES];
        random_bytes(&mut nonce)?;
        Ok(format!(
            "{SYNC_COOKIE_PREFIX}{}{}",
            hex(&nonce),
            hex(&self.tag(&nonce))
        ))
    }

    /// Whether `name` is one this key made.
    pub fn is_ours(&self, name: &[u8]) -> bool {
        let Some(rest) = name.strip_prefix(SYNC_COOKIE_PREFIX.as_bytes()) else {
            return false;
        };
        let Some(bytes) = unhex(rest).filter(|b| b.len() == NONCE_BYTES + TAG_BYTES) else {
            return false;
        };
        let (nonce, tag) = bytes.split_at(NONCE_BYTES);
        self.tag(nonce) == tag
    }
}

/// Whether `path` is named like a cookie (of any daemon: anyone may create such a name).
pub(crate) fn is_cookie(path: &Path) -> bool {
    path.file_name().is_some_and(|n| {
        n.as_encoded_bytes()
            .starts_with(SYNC_COOKIE_PREFIX.as_bytes())
    })
}

/// What `name` in `dir` is, without following a link.
fn stat_at(dir: &OwnedFd, name: &CString) -> nix::Result<FileStat> {
    nix::sys::stat::fstatat(dir.as_fd(), name.as_c_str(), AtFlags::AT_SYMLINK_NOFOLLOW)
}

fn is_regular(stat: &FileStat) -> bool {
    SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFREG
}

/// A cookie this daemon created, removed (if still there) by [`PlacedCookie::remove`].
pub struct PlacedCookie {
    dir: OwnedFd,
    name: CString,
    /// The cookie's full path (as the watcher reports it).
    pub path: PathBuf,
    identity: (u64, u64),
}

impl PlacedCookie {
    /// Removes the cookie if its name still holds the file that was created: same inode, empty, owned
    /// by this process's user (a user who can write the root may have replaced it: their file stays).
    pub fn remove(self) {
        match stat_at(&self.dir, &self.name) {
            // An inode number can be reused by a file made after ours was deleted: it must also still
            // be an empty regular file of ours.
            Ok(stat)
                if (stat.st_dev, stat.st_ino) == self.identity
                    && is_regular(&stat)
                    && stat.st_size == 0
                    && stat.st_uid == nix::unistd::geteuid().as_raw() =>
            {
                if let Err(err) = nix::unistd::unlinkat(
                    self.dir.as_fd(),
                    self.name.as_c_str(),
                    nix::unistd::UnlinkatFlags::NoRemoveDir,
                ) {
                    debug!("cannot remove sync cookie {}: {err}", self.path.display());
                }
            }
            _ => debug!(
                "sync cookie {} was replaced or removed",
                self.path.display()
            ),
        }
    }
}

/// Creates a cookie in `root` under a fresh name. `register` is called with the cookie's path before the
/// file exists (its events may arrive before this returns) and `unregister` if that name could not be
/// used.
pub fn place(
    root: &Path,
    key: &CookieKey,
    mut register: impl FnMut(&Path),
    mut unregister: impl FnMut(&Path),
) -> std::io::Result<PlacedCookie> {
    let dir = open_root_no_symlinks(root)?;
    for _ in 0..ATTEMPTS {
        let name = key.new_name()?;
        let path = root.join(&name);
        let c_name = CString::new(name).map_err(std::io::Error::other)?;
        register(&path);
        let created = create_from_child(&dir, &c_name).and_then(|()| Ok(stat_at(&dir, &c_name)?));
        match created {
            Ok(stat) => {
                return Ok(PlacedCookie {
                    dir,
                    name: c_name,
                    path,
                    identity: (stat.st_dev, stat.st_ino),
                });
            }
            Err(err) => {
                unregister(&path);
                if err.kind() != std::io::ErrorKind::AlreadyExists {
                    return Err(err);
                }
                warn!(
                    "sync cookie name {} is taken; trying another",
                    path.display()
                );
            }
        }
    }
    Err(std::io::Error::other(format!(
        "{ATTEMPTS} fresh cookie names were all taken"
    )))
}

/// Creates `name` in `dir` (exclusively, never through a symbolic link, mode 0600, empty) from a forked
/// child, so that the watcher sees the event as coming from another process.
fn create_from_child(dir: &OwnedFd, name: &CString) -> std::io::Result<()> {
    let dir_fd = dir.as_raw_fd();
    // SAFETY: after fork the child only calls async-signal-safe functions (openat, close, _exit) on data
    // prepared before the fork, as required in a multithreaded process.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(std::io::Error::last_os_error()),
        0 => {
            // SAFETY: see above; the child never returns into Rust code. Its exit status is 0 or the
            // errno of the failed openat.
            unsafe {
                let fd = libc::openat(
                    dir_fd,
                    name.as_ptr(),
                    libc::O_WRONLY
                        | libc::O_CREAT
                        | libc::O_EXCL
                        | libc::O_CLOEXEC
                        | libc::O_NOFOLLOW,
                    0o600,
                );
                if fd < 0 {
                    let errno = *libc::__errno_location();
                    libc::_exit(if (1..256).contains(&errno) {
                        errno
                    } else {
                        255
                    });
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
            match (libc::WIFEXITED(status), libc::WEXITSTATUS(status)) {
                (true, 0) => Ok(()),
                (true, 255) | (false, _) => {
                    Err(std::io::Error::other("the cookie's process failed"))
                }
                (true, errno) => Err(std::io::Error::from_raw_os_error(errno)),
            }
        }
    }
}

/// Removes cookies a killed daemon of this index left in `roots`: only names made with `key`, owned by
/// this process's user, empty regular files. Anything else is left alone, whatever its name.
pub fn remove_stale(roots: &[PathBuf], key: &CookieKey) {
    let uid = nix::unistd::geteuid().as_raw();
    for root in roots {
        let Ok(dir) = open_root_no_symlinks(root) else {
            continue;
        };
        let Ok(entries) = std::fs::read_dir(root) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if !key.is_ours(name.as_bytes()) {
                continue;
            }
            let Ok(c_name) = CString::new(name.as_bytes()) else {
                continue;
            };
            match stat_at(&dir, &c_name) {
                Ok(stat) if is_regular(&stat) && stat.st_uid == uid && stat.st_size == 0 => {
                    let removed = nix::unistd::unlinkat(
                        dir.as_fd(),
                        c_name.as_c_str(),
                        nix::unistd::UnlinkatFlags::NoRemoveDir,
                    );
                    if removed.is_ok() {
                        debug!(
                            "removed a stale sync cookie {}",
                            Path::new(OsStr::from_bytes(name.as_bytes())).display()
                        );
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn key_in(tmp: &tempfile::TempDir) -> CookieKey {
        let dir = IndexDir::at(tmp.path().join("index"));
        dir.create().unwrap();
        CookieKey::load_or_create(&dir).unwrap()
    }

    #[test]
    fn names_are_fresh_and_verifiable() {
        let tmp = tempfile::tempdir().unwrap();
        let key = key_in(&tmp);
        let a = key.new_name().unwrap();
        let b = key.new_name().unwrap();
        assert_ne!(a, b);
        assert!(key.is_ours(a.as_bytes()));
        // Another key, a changed digit, a guessed name: not ours.
        let other = key_in(&tempfile::tempdir().unwrap());
        assert!(!other.is_ours(a.as_bytes()));
        let mut forged = a.clone().into_bytes();
        let last = forged.len() - 1;
        forged[last] = if forged[last] == b'0' { b'1' } else { b'0' };
        assert!(!key.is_ours(&forged));
        assert!(!key.is_ours(b".fandex-sync-123-0"));
        // The key persists, private.
        let again = CookieKey::load_or_create(&IndexDir::at(tmp.path().join("index"))).unwrap();
        assert!(again.is_ours(a.as_bytes()));
        let mode = std::fs::metadata(tmp.path().join("index").join(KEY_FILE))
            .unwrap()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_cookie_is_created_in_the_root_and_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let key = key_in(&tmp);
        let root = tmp.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let mut registered = Vec::new();
        let cookie = place(&root, &key, |p| registered.push(p.to_owned()), |_| {}).unwrap();
        assert_eq!(registered, vec![cookie.path.clone()]);
        let meta = std::fs::symlink_metadata(&cookie.path).unwrap();
        assert!(meta.is_file());
        assert_eq!(meta.mode() & 0o777, 0o600);
        let path = cookie.path.clone();
        cookie.remove();
        assert!(!path.exists());
    }

    #[test]
    fn a_replaced_cookie_is_not_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let key = key_in(&tmp);
        let root = tmp.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let cookie = place(&root, &key, |_| {}, |_| {}).unwrap();
        let path = cookie.path.clone();
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, "someone else's").unwrap();
        cookie.remove();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "someone else's");
    }

    #[test]
    fn a_root_reached_through_a_symlink_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let key = key_in(&tmp);
        let real = tmp.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(place(&link, &key, |_| {}, |_| {}).is_err());
        assert_eq!(std::fs::read_dir(&real).unwrap().count(), 0);
    }

    #[test]
    fn a_symlink_at_the_name_is_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let target = tmp.path().join("target");
        std::os::unix::fs::symlink(&target, root.join(".fandex-sync-x")).unwrap();
        let dir = open_root_no_symlinks(&root).unwrap();
        let err = create_from_child(&dir, &CString::new(".fandex-sync-x").unwrap()).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
        assert!(!target.exists(), "the link's target was created");
    }

    #[test]
    fn only_our_stale_cookies_are_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let key = key_in(&tmp);
        let root = tmp.path().join("root");
        std::fs::create_dir(&root).unwrap();
        let ours = root.join(key.new_name().unwrap());
        std::fs::write(&ours, "").unwrap();
        let guessed = root.join(".fandex-sync-1-0");
        std::fs::write(&guessed, "").unwrap();
        let other_key = key_in(&tempfile::tempdir().unwrap());
        let foreign = root.join(other_key.new_name().unwrap());
        std::fs::write(&foreign, "").unwrap();
        let with_content = root.join(key.new_name().unwrap());
        std::fs::write(&with_content, "data").unwrap();
        remove_stale(std::slice::from_ref(&root), &key);
        assert!(!ours.exists());
        assert!(guessed.exists() && foreign.exists() && with_content.exists());
    }
}
