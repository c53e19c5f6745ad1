//! Filesystem images on loop devices, for the tests of volumes (remounts, offline roots): made with
//! `mkfs`, attached with `losetup`, mounted; everything still mounted or attached is released on drop.

use std::path::{Path, PathBuf};
use std::process::Command;

use nix::mount::{MntFlags, MsFlags};

/// Runs `cmd`, which must succeed; returns its stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A filesystem image attached to loop devices; every device still attached is detached on drop.
pub struct Image {
    file: PathBuf,
    fstype: &'static str,
    /// The loop devices it is attached to, the last attached last.
    pub devices: Vec<PathBuf>,
    mounts: Vec<PathBuf>,
}

impl Image {
    /// A sparse image of `mib` MiB made by `mkfs.<fstype>`.
    pub fn make(file: PathBuf, fstype: &'static str, mib: u64) -> Self {
        std::fs::File::create(&file)
            .unwrap()
            .set_len(mib << 20)
            .unwrap();
        let quiet = if fstype == "btrfs" { "-q" } else { "-qF" };
        run_ok(Command::new(format!("mkfs.{fstype}")).arg(quiet).arg(&file));
        Self {
            file,
            fstype,
            devices: Vec::new(),
            mounts: Vec::new(),
        }
    }

    /// Attaches the image to a free loop device (another one than any it is still attached to).
    pub fn attach(&mut self) -> PathBuf {
        let dev = PathBuf::from(
            run_ok(
                Command::new("losetup")
                    .args(["--find", "--show"])
                    .arg(&self.file),
            )
            .trim(),
        );
        self.devices.push(dev.clone());
        dev
    }

    pub fn detach(&mut self, dev: &Path) {
        run_ok(Command::new("losetup").arg("-d").arg(dev));
        self.devices.retain(|d| d != dev);
    }

    pub fn mount(&mut self, dev: &Path, at: &Path) {
        std::fs::create_dir_all(at).unwrap();
        nix::mount::mount(
            Some(dev),
            at,
            Some(self.fstype),
            MsFlags::empty(),
            None::<&str>,
        )
        .unwrap_or_else(|e| panic!("mount {} on {}: {e}", dev.display(), at.display()));
        self.mounts.push(at.to_owned());
    }

    pub fn umount(&mut self, at: &Path) {
        nix::mount::umount2(at, MntFlags::empty())
            .unwrap_or_else(|e| panic!("umount {}: {e}", at.display()));
        self.mounts.retain(|m| m != at);
    }

    /// Mounted again (unmounted first if it is) from another loop device: attach a second device while
    /// the first is still attached (so they differ), then let the first go.
    pub fn remount_on_another_device(&mut self, at: &Path) {
        if self.mounts.iter().any(|m| m == at) {
            self.umount(at);
        }
        let old = self.devices.last().cloned().expect("attached");
        let new = self.attach();
        assert_ne!(new, old, "losetup gave the same device twice");
        self.detach(&old);
        self.mount(&new, at);
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        for m in self.mounts.drain(..).rev() {
            let _ = nix::mount::umount2(&m, MntFlags::MNT_DETACH);
        }
        for d in self.devices.drain(..) {
            let _ = Command::new("losetup").arg("-d").arg(&d).output();
        }
    }
}
