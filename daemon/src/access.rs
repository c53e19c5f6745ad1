//! Who is asking, and what they may read.
//!
//! A root daemon indexes every user's files; each caller is answered only with files it could open for
//! reading right now. The caller is identified by `SO_PEERCRED` (uid, gid, pid) plus its user's
//! supplementary groups. The check is the kernel's own: a short-lived thread takes the caller's filesystem
//! identity (`setfsuid`, `setfsgid` and `setgroups` are per-thread system calls; changing the fsuid away
//! from 0 drops the thread's file capabilities) and asks `faccessat2(R_OK, AT_EACCESS)` for each path. So
//! modes, search permission on every ancestor, POSIX ACLs and security modules all apply exactly, and a
//! chmod takes effect for the very next query.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
use nix::unistd::{Gid, Uid, User, getgrouplist};

/// The identity of a connected client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary groups of the user (from the group database).
    pub groups: Vec<u32>,
}

impl Peer {
    /// The identity of the process at the other end of `stream`.
    pub fn of(stream: &UnixStream) -> std::io::Result<Self> {
        let creds = getsockopt(stream, PeerCredentials).map_err(std::io::Error::from)?;
        let (uid, gid) = (creds.uid(), creds.gid());
        let groups = User::from_uid(Uid::from_raw(uid))
            .ok()
            .flatten()
            .and_then(|user| {
                let name = CString::new(user.name).ok()?;
                getgrouplist(&name, Gid::from_raw(gid)).ok()
            })
            .map(|gs| gs.into_iter().map(Gid::as_raw).collect())
            .unwrap_or_else(|| vec![gid]);
        Ok(Self { uid, gid, groups })
    }

    /// Whether the peer owns the index: root, or the user the daemon runs as. Owners see every file and
    /// the full status report.
    pub fn is_owner(&self) -> bool {
        self.uid == 0 || self.uid == nix::unistd::geteuid().as_raw()
    }

    /// Whether answers for this peer must be filtered: it does not own the index. (A daemon running as a
    /// user is normally reachable only by that user, its socket being in a 0700 directory; through a
    /// configured public socket other users get only what they may read, which a daemon without the
    /// privilege to take their identity cannot check: nothing.)
    pub fn needs_filtering(&self) -> bool {
        !self.is_owner()
    }
}

/// The user id of the process at the other end of `stream` (`SO_PEERCRED`, without the group lookups of
/// [`Peer::of`]: cheap enough for the accept loop).
pub fn peer_uid(stream: &UnixStream) -> std::io::Result<u32> {
    let creds = getsockopt(stream, PeerCredentials).map_err(std::io::Error::from)?;
    Ok(creds.uid())
}

/// For each path, whether `peer` may open it for reading now (every ancestor searchable, the file
/// readable). Runs the checks on a separate thread with the peer's filesystem identity.
pub fn readable_by(peer: &Peer, paths: Vec<PathBuf>) -> std::io::Result<Vec<bool>> {
    visible_to(peer, paths.into_iter().map(|p| (p, false)).collect())
}

/// For each `(path, is_folder)`, whether `peer` may see it now: a file when they may read it (every
/// ancestor searchable, the file readable), a folder when they may list it (every ancestor searchable,
/// the directory itself readable and searchable, as `ls DIR/` needs). Runs the checks on a separate
/// thread with the peer's filesystem identity.
pub fn visible_to(peer: &Peer, paths: Vec<(PathBuf, bool)>) -> std::io::Result<Vec<bool>> {
    let peer = peer.clone();
    std::thread::Builder::new()
        .name("fandex-access".into())
        .spawn(move || -> std::io::Result<Vec<bool>> {
            become_peer(&peer)?;
            Ok(paths
                .iter()
                .map(|(p, folder)| {
                    let mode = if *folder {
                        libc::R_OK | libc::X_OK
                    } else {
                        libc::R_OK
                    };
                    may_access(p, mode)
                })
                .collect())
        })?
        .join()
        .map_err(|_| std::io::Error::other("access check thread panicked"))?
}

/// Switches the calling thread (only) to the peer's filesystem identity.
fn become_peer(peer: &Peer) -> std::io::Result<()> {
    let groups: Vec<libc::gid_t> = peer.groups.clone();
    // SAFETY: the raw setgroups system call changes the supplementary groups of the calling thread only
    // (glibc's wrapper would broadcast to every thread); `groups` is a valid array of `len` gids.
    let rc = unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: setfsgid/setfsuid change the calling thread's filesystem ids; they take plain integers.
    unsafe {
        libc::setfsgid(peer.gid);
        libc::setfsuid(peer.uid);
    }
    // setfsuid reports the previous id, never an error: confirm the switch took effect.
    // SAFETY: as above; passing an invalid id (-1) only queries the current value.
    let now = unsafe { libc::setfsuid(u32::MAX) };
    if now as u32 != peer.uid {
        return Err(std::io::Error::other(
            "could not take the caller's identity",
        ));
    }
    Ok(())
}

/// `faccessat2(path, mode, AT_EACCESS)` with the thread's current (filesystem) identity.
fn may_access(path: &std::path::Path, mode: libc::c_int) -> bool {
    let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: c_path is a valid NUL-terminated string that outlives the call; the other arguments are
    // plain integers. faccessat2 (Linux 5.8) honours AT_EACCESS in the kernel, using the fsuid/fsgid.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_faccessat2,
            libc::AT_FDCWD,
            c_path.as_ptr(),
            mode,
            libc::AT_EACCESS,
        )
    };
    rc == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// Whether the test can switch identities (root). Elsewhere it is skipped, except under `CI=true`,
    /// where it must run: it fails instead.
    fn running_as_root() -> bool {
        let root = nix::unistd::geteuid().is_root();
        assert!(
            root || std::env::var("CI").as_deref() != Ok("true"),
            "switching identity needs root, and CI=true runs every test"
        );
        root
    }

    #[test]
    fn checks_use_the_peers_identity() {
        if !running_as_root() {
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let open = tmp.path().join("open");
        let private = tmp.path().join("private");
        let dir = tmp.path().join("dir");
        std::fs::write(&open, "x").unwrap();
        std::fs::write(&private, "x").unwrap();
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("inside"), "x").unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let nobody = Peer {
            uid: 65534,
            gid: 65534,
            groups: vec![65534],
        };
        let paths = vec![
            open.clone(),
            private.clone(),
            dir.join("inside"),
            tmp.path().join("missing"),
        ];
        assert_eq!(
            readable_by(&nobody, paths.clone()).unwrap(),
            [true, false, false, false]
        );
        // The daemon's own threads keep root's view.
        assert!(may_access(&private, libc::R_OK));
        let root = Peer {
            uid: 0,
            gid: 0,
            groups: vec![0],
        };
        assert_eq!(
            readable_by(&root, paths).unwrap(),
            [true, true, true, false]
        );
    }

    /// A folder is visible to whoever may list it: read and search permission on the directory itself,
    /// every ancestor searchable.
    #[test]
    fn folders_need_read_and_search() {
        if !running_as_root() {
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut paths = Vec::new();
        for (name, mode) in [("open", 0o755), ("noread", 0o711), ("nosearch", 0o744)] {
            let dir = tmp.path().join(name);
            std::fs::create_dir(&dir).unwrap();
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
            paths.push((dir, true));
        }
        let hidden = tmp.path().join("private");
        std::fs::create_dir_all(hidden.join("inner")).unwrap();
        std::fs::set_permissions(&hidden, std::fs::Permissions::from_mode(0o700)).unwrap();
        paths.push((hidden.join("inner"), true));
        let nobody = Peer {
            uid: 65534,
            gid: 65534,
            groups: vec![65534],
        };
        assert_eq!(
            visible_to(&nobody, paths).unwrap(),
            [true, false, false, false]
        );
    }
}
