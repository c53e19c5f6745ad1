//! Real users for the permission tests: made with `useradd` (once, idempotently), and `fandex` run as one
//! of them against a daemon's public socket.

#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::Env;
use super::daemon::{DaemonProc, sysctl_lock};

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

/// A fanotify daemon on `root` that also serves the public socket, which it returns. `extra` is appended
/// to the configuration after `public_socket` (more `[daemon]` keys, then other tables).
pub fn public_daemon(env: &Env, root: &Path, extra: &str) -> (DaemonProc, PathBuf) {
    let public = env.tmp.path().join("public/fandex.sock");
    let config = env.tmp.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\npublic_socket = {:?}\n{extra}",
            public.to_str().unwrap()
        ),
    )
    .unwrap();
    let config_arg = config.to_str().unwrap().to_owned();
    let _guard = sysctl_lock(false);
    let daemon = DaemonProc::start_with(
        env,
        root,
        "fanotify",
        "fanotify",
        &["--config", &config_arg],
    );
    (daemon, public)
}
