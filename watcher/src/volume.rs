//! What identifies a filesystem across unmounts, remounts and reboots: its *volume*.
//!
//! `st_dev` does not survive a remount: an ext4 image mounted on another loop device, a disk plugged into
//! another port or a btrfs subvolume after a reboot gets a new device number. A file is therefore known by
//! its volume's key and its inode, and a volume is identified by the first of these that is available:
//!
//! 1. **btrfs**: `statfs.f_fsid`, which btrfs derives from the filesystem's UUID and the subvolume's id
//!    (each subvolume has its own inode numbers and its own `st_dev`, so the subvolume must be part of
//!    the identity; the UUID alone is not enough).
//! 2. **a filesystem on a block device** (`st_dev` major not 0: ext2/3/4, xfs, ...): its UUID, from the
//!    `/dev/disk/by-uuid` links, else read from the superblock on the device (ext2/3/4 and xfs; needs
//!    read access to the device, so root).
//! 3. `statfs.f_fsid` with the filesystem type, when not 0 (NFS, and whatever else reports one).
//! 4. `st_dev` itself: no better identity exists (tmpfs, most FUSE filesystems); a remount on another
//!    device number reads such a filesystem again.
//!
//! The identity is a short text (`uuid:…`, `btrfs:…`, `fsid:…`, `dev:…`, shown by `status`) and the key
//! stored in catalog records is a 64-bit FNV-1a hash of it.

use std::fs::File;
use std::io;
use std::os::fd::BorrowedFd;
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

/// `statfs.f_type` of btrfs.
const BTRFS_MAGIC: u64 = 0x9123_683e;
/// Where the `/dev/disk/by-uuid` links are (maintained by udev; absent in many containers).
const BY_UUID: &str = "/dev/disk/by-uuid";

/// A filesystem's identity across remounts, and the key catalog records store for it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Volume {
    /// What identifies it: `uuid:UUID`, `btrfs:FSID`, `fsid:TYPE:FSID` or `dev:MAJOR:MINOR`.
    pub identity: String,
    /// The 64-bit key of `identity` (FNV-1a), stored as a file record's volume.
    pub key: u64,
}

impl Volume {
    /// The volume of the filesystem with device number `dev`, type `f_type` and id `fsid` (from
    /// `stat` and `statfs` of one of its files).
    pub fn identify(dev: u64, f_type: u64, fsid: [i32; 2]) -> Volume {
        let fsid_hex = format!("{:08x}{:08x}", fsid[0] as u32, fsid[1] as u32);
        let identity = if f_type == BTRFS_MAGIC {
            format!("btrfs:{fsid_hex}")
        } else if let Some(uuid) = (libc::major(dev) != 0)
            .then(|| uuid_of_block_device(dev))
            .flatten()
        {
            format!("uuid:{uuid}")
        } else if fsid != [0, 0] {
            format!("fsid:{f_type:x}:{fsid_hex}")
        } else {
            Volume::dev_identity(dev)
        };
        Volume::from_identity(identity)
    }

    /// The volume known only by its device number (when its filesystem cannot be asked).
    pub fn of_dev(dev: u64) -> Volume {
        Volume::from_identity(Volume::dev_identity(dev))
    }

    /// Whether the identity survives a remount on another device number.
    pub fn is_stable(&self) -> bool {
        !self.identity.starts_with("dev:")
    }

    fn dev_identity(dev: u64) -> String {
        format!("dev:{}:{}", libc::major(dev), libc::minor(dev))
    }

    /// The volume with this identity (as [`Volume::identity`] gives it, e.g. recorded in a catalog).
    pub fn from_identity(identity: String) -> Volume {
        Volume {
            key: fnv1a(identity.as_bytes()),
            identity,
        }
    }
}

/// 64-bit FNV-1a: stable across builds and versions (unlike `std`'s hasher), so keys on disk stay valid.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The UUID of the filesystem on block device `dev`: from `/dev/disk/by-uuid`, else its superblock.
fn uuid_of_block_device(dev: u64) -> Option<String> {
    if let Ok(links) = std::fs::read_dir(BY_UUID) {
        for link in links.flatten() {
            let Ok(meta) = std::fs::metadata(link.path()) else {
                continue;
            };
            if meta.file_type().is_block_device() && meta.rdev() == dev {
                return link.file_name().to_str().map(str::to_ascii_lowercase);
            }
        }
    }
    uuid_from_superblock(dev)
}

/// The UUID in the superblock of block device `dev` (ext2/3/4 and xfs), read from its `/dev` node as the
/// kernel names it in `/sys/dev/block/MAJOR:MINOR/uevent`. `None` without read access or another type.
fn uuid_from_superblock(dev: u64) -> Option<String> {
    let uevent = std::fs::read_to_string(format!(
        "/sys/dev/block/{}:{}/uevent",
        libc::major(dev),
        libc::minor(dev)
    ))
    .ok()?;
    let name = uevent.lines().find_map(|l| l.strip_prefix("DEVNAME="))?;
    if name.contains("..") {
        return None;
    }
    let node = Path::new("/dev").join(name);
    let device = File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&node)
        .ok()?;
    let meta = device.metadata().ok()?;
    if !meta.file_type().is_block_device() || meta.rdev() != dev {
        return None;
    }
    let mut head = [0u8; 2048];
    device.read_exact_at(&mut head, 0).ok()?;
    superblock_uuid(&head)
}

/// The UUID in the first 2 KiB of a device: ext2/3/4 (magic 0xEF53 at 1024 + 0x38, UUID at 1024 + 0x68)
/// or xfs (`XFSB` at 0, UUID at 32).
fn superblock_uuid(head: &[u8; 2048]) -> Option<String> {
    let uuid: &[u8] = if head[1024 + 0x38..1024 + 0x3a] == [0x53, 0xef] {
        &head[1024 + 0x68..1024 + 0x78]
    } else if &head[..4] == b"XFSB" {
        &head[32..48]
    } else {
        return None;
    };
    if uuid.iter().all(|&b| b == 0) {
        return None;
    }
    let hex: String = uuid.iter().map(|b| format!("{b:02x}")).collect();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// The kind of a network or FUSE filesystem (by `statfs.f_type`), `None` for a local one. On these the
/// kernel reports only changes made through this machine's mount: another client's (or, for FUSE,
/// changes below the filesystem's own source) are never notified, and fanotify's filesystem marks are
/// refused or report nothing more. They are watched with inotify and walked periodically.
pub fn remote_kind(f_type: u64) -> Option<&'static str> {
    Some(match f_type {
        0x6969 => "nfs",
        0x517b => "smb",
        0xff53_4d42 => "cifs",
        0xfe53_4d42 => "smb3",
        0x6573_5546 => "fuse",
        0x0102_1997 => "9p",
        0x00c3_6400 => "ceph",
        0x5346_414f | 0x6b41_4653 => "afs",
        0x7375_7245 => "coda",
        0x0bd0_0bd0 => "lustre",
        0x4750_4653 => "gpfs",
        _ => return None,
    })
}

/// The device number and volume of the filesystem holding the open descriptor `fd` (`fstat` and
/// `fstatfs` on it; an `O_PATH` descriptor will do).
pub(crate) fn volume_of_fd(fd: BorrowedFd<'_>) -> io::Result<(u64, Volume)> {
    let (dev, ..) = crate::sys::fd_stat(fd)?;
    let (f_type, fsid) = crate::sys::statfs_of_fd(fd)?;
    Ok((dev, Volume::identify(dev, f_type, fsid)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ext4_and_xfs_superblocks_give_their_uuid() {
        let mut ext = [0u8; 2048];
        ext[1024 + 0x38] = 0x53;
        ext[1024 + 0x39] = 0xef;
        for (i, b) in ext[1024 + 0x68..1024 + 0x78].iter_mut().enumerate() {
            *b = i as u8 + 1;
        }
        assert_eq!(
            superblock_uuid(&ext).as_deref(),
            Some("01020304-0506-0708-090a-0b0c0d0e0f10")
        );
        let mut xfs = [0u8; 2048];
        xfs[..4].copy_from_slice(b"XFSB");
        xfs[32] = 0xab;
        assert_eq!(
            superblock_uuid(&xfs).as_deref(),
            Some("ab000000-0000-0000-0000-000000000000")
        );
        assert_eq!(superblock_uuid(&[0u8; 2048]), None);
    }

    #[test]
    fn identities_and_keys_are_stable() {
        // btrfs: the fsid (UUID and subvolume), whatever the device number.
        let a = Volume::identify(libc::makedev(0, 50), BTRFS_MAGIC, [1, 2]);
        let b = Volume::identify(libc::makedev(0, 51), BTRFS_MAGIC, [1, 2]);
        assert_eq!(a, b);
        assert_eq!(a.identity, "btrfs:0000000100000002");
        assert_ne!(
            a,
            Volume::identify(libc::makedev(0, 50), BTRFS_MAGIC, [1, 3])
        );
        // No fsid, no block device: the device number, not stable.
        let t = Volume::identify(libc::makedev(0, 60), 0x0102_1994, [0, 0]);
        assert_eq!(t, Volume::of_dev(libc::makedev(0, 60)));
        assert!(!t.is_stable() && a.is_stable());
        // The key is FNV-1a of the identity: fixed forever (records on disk hold it).
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
