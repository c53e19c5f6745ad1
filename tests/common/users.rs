//! Real users for the permission tests: made with `useradd` (once, idempotently), and `fandex` run as one
//! of them against a daemon's public socket.

#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};

use super::Env;

/// Creates (once) a system user without a home and returns its uid and gid.
pub fn user(name: &str) -> (u32, u32) {
    let _ = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            name,
        ])
        .output();
    let id = |flag: &str| -> u32 {
        let out = Command::new("id").args([flag, name]).output().unwrap();
        assert!(out.status.success(), "useradd {name} failed");
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    (id("-u"), id("-g"))
}

/// Gives `path` to `uid:gid`.
pub fn chown(path: &Path, (uid, gid): (u32, u32)) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
}

/// Sets `path`'s permission bits.
pub fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// `fandex ARGS` run as `who` (None = root) through the public socket.
pub fn fandex_as(env: &Env, who: Option<(u32, u32)>, socket: &Path, args: &[&str]) -> Output {
    let mut cmd = env.cmd();
    cmd.env("FANDEX_SOCKET", socket).args(args).current_dir("/");
    if let Some((uid, gid)) = who {
        cmd.uid(uid).gid(gid);
    }
    cmd.output().unwrap()
}
