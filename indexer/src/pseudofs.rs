//! Pseudo-filesystems: kernel state presented as files (`/proc`, `/sys`, cgroups, device nodes...). Their
//! "files" are not documents, change without events and vanish while being listed, so they are refused
//! as roots.

use std::path::Path;

/// The raw `f_type` of `statfs(2)`.
type Magic = libc::__fsword_t;

/// Magic numbers (`linux/magic.h`) of pseudo-filesystems, with their names.
const PSEUDO_FILESYSTEMS: &[(Magic, &str)] = &[
    (0x9fa0, "proc"),
    (0x6265_6572, "sysfs"),
    (0x0027_e0eb, "cgroup"),
    (0x6367_7270, "cgroup2"),
    (0x6462_6720, "debugfs"),
    (0x7472_6163, "tracefs"),
    (0x7363_6673, "securityfs"),
    (0x6165_676c, "pstore"),
    (0xcafe_4a11, "bpf"),
    (0x6265_6570, "configfs"),
    (0x6573_5543, "fusectl"),
    (0x1980_0202, "mqueue"),
    (0x9584_58f6, "hugetlbfs"),
    (0x1cd1, "devpts"),
    (0x0187, "autofs"),
    (0x4249_4e4d, "binfmt_misc"),
    (0xde5e_81e4, "efivarfs"),
    (0x6e73_6673, "nsfs"),
    (0xf97c_ff8c, "selinuxfs"),
    (0x4341_5d53, "smackfs"),
    (0x534f_434b, "sockfs"),
    (0x5049_5045, "pipefs"),
];

/// `f_type` of tmpfs, which `devtmpfs` reports too: told apart by the mount table.
const TMPFS_MAGIC: Magic = 0x0102_1994;

/// The name of the pseudo-filesystem `path` is on, or `None` for a filesystem that holds files (or when
/// it cannot be told).
pub fn pseudo_filesystem(path: &Path) -> Option<&'static str> {
    let magic = nix::sys::statfs::statfs(path).ok()?.filesystem_type().0;
    if magic == TMPFS_MAGIC {
        return (mount_fstype(path).as_deref() == Some("devtmpfs")).then_some("devtmpfs");
    }
    PSEUDO_FILESYSTEMS
        .iter()
        .find(|(m, _)| *m == magic)
        .map(|(_, name)| *name)
}

/// The filesystem type of the mount holding `path` (absolute, canonical), from `/proc/self/mountinfo`:
/// the last-mounted of the longest mount points containing it.
fn mount_fstype(path: &Path) -> Option<String> {
    let table = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut best: Option<(usize, String)> = None;
    for line in table.lines() {
        // id parent major:minor root mount-point options [optional fields...] - fstype source options
        let mut fields = line.split(' ');
        let Some(mount_point) = fields.nth(4).map(unescape) else {
            continue;
        };
        let Some(fstype) = line.split(" - ").nth(1).and_then(|t| t.split(' ').next()) else {
            continue;
        };
        let mount_point = Path::new(&mount_point);
        if path.starts_with(mount_point) {
            let depth = mount_point.components().count();
            if best.as_ref().is_none_or(|(d, _)| depth >= *d) {
                best = Some((depth, fstype.to_owned()));
            }
        }
    }
    best.map(|(_, fstype)| fstype)
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        if bytes[i] == b'\\'
            && let Some(digits) = octal
        {
            let value = digits.iter().fold(0u32, |n, d| n * 8 + u32::from(d - b'0'));
            out.push(u8::try_from(value).unwrap_or(b'?'));
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_and_sys_are_pseudo_filesystems() {
        assert_eq!(pseudo_filesystem(Path::new("/proc")), Some("proc"));
        assert_eq!(pseudo_filesystem(Path::new("/proc/self")), Some("proc"));
        if Path::new("/sys/kernel").is_dir() {
            assert_eq!(pseudo_filesystem(Path::new("/sys")), Some("sysfs"));
        }
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(pseudo_filesystem(tmp.path()), None);
    }

    /// Filesystems that hold users' files must never be taken for pseudo-filesystems: FUSE (sshfs,
    /// bindfs) differs from fusectl, its control filesystem, in one digit.
    #[test]
    fn filesystems_holding_files_are_not_pseudo() {
        const FUSE_SUPER_MAGIC: Magic = 0x6573_5546;
        const EXT4_SUPER_MAGIC: Magic = 0xef53;
        const NFS_SUPER_MAGIC: Magic = 0x6969;
        for magic in [
            FUSE_SUPER_MAGIC,
            EXT4_SUPER_MAGIC,
            NFS_SUPER_MAGIC,
            TMPFS_MAGIC,
        ] {
            assert!(
                PSEUDO_FILESYSTEMS.iter().all(|(m, _)| *m != magic),
                "{magic:#x}"
            );
        }
    }

    #[test]
    fn mountinfo_escapes_are_undone() {
        assert_eq!(unescape(r"/mnt/a\040b"), "/mnt/a b");
        assert_eq!(unescape(r"/plain"), "/plain");
        assert_eq!(unescape(r"/end\04"), r"/end\04");
    }
}
