//! Issue 14: the per-user service. `fandex daemon` run by a user other than root (or `--user`) keeps
//! that user's index in `$XDG_DATA_HOME/fandex`, listens on `$XDG_RUNTIME_DIR/fandex/socket`, watches
//! with inotify, and indexes the XDG user directories (from `user-dirs.dirs`, else the usual names),
//! never all of `$HOME`; `search`, `sync` and `status` find that daemon with no option.

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::Env;
use common::daemon::{DaemonProc, require_root};
use common::users::{chmod, chown, user};

/// A home directory for `who` (None: root) with `files` (relative paths) written in it, owned by them.
fn home_with(env: &Env, name: &str, who: Option<(u32, u32)>, files: &[(&str, &str)]) -> PathBuf {
    let home = env.tmp.path().join(name);
    for (path, text) in files {
        let path = home.join(path);
        if let Some(dir) = path.to_str().unwrap().strip_suffix('/') {
            std::fs::create_dir_all(dir).unwrap();
        } else {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
        }
    }
    if let Some(who) = who {
        Command::new("chown")
            .args(["-R", &format!("{}:{}", who.0, who.1)])
            .arg(&home)
            .status()
            .unwrap();
    }
    std::fs::canonicalize(home).unwrap()
}

/// `fandex` as `who` with only the environment a session gives (HOME, PATH, `extra`).
fn fandex(home: &Path, who: Option<(u32, u32)>, extra: &[(&str, &Path)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fandex"));
    cmd.env_clear()
        .env("HOME", home)
        .env("PATH", "/usr/bin:/bin")
        .env("NO_COLOR", "1")
        .current_dir(home);
    for (key, value) in extra {
        cmd.env(key, value);
    }
    if let Some((uid, gid)) = who {
        cmd.uid(uid).gid(gid);
    }
    cmd
}

/// Waits until `status --json` answers through a daemon done with its start-up reconcile, and returns
/// it.
fn wait_ready(status: impl Fn() -> Output) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = status();
        if common::reconciled(&out) {
            return serde_json::from_slice(&out.stdout).unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "daemon not ready: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn paths(out: &Output) -> BTreeSet<PathBuf> {
    common::parse_paths(&out.stdout)
}

fn roots(status: &serde_json::Value) -> Vec<PathBuf> {
    status["roots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| PathBuf::from(r.as_str().unwrap()))
        .collect()
}

#[test]
fn a_users_daemon_indexes_their_user_dirs_and_is_found_by_default() {
    if !require_root("user service (needs useradd)") {
        return;
    }
    let u = user("fandex-test-u");
    let env = Env::new();
    chmod(env.tmp.path(), 0o755);
    let home = home_with(
        &env,
        "home-u",
        Some(u),
        &[
            ("Documents/report.txt", "wordu1"),
            ("Music/song.txt", "wordu2"),
            ("notes.txt", "wordu3"),
            ("Projects/p.txt", "wordu4"),
            (
                ".config/user-dirs.dirs",
                "# xdg-user-dirs\nXDG_DESKTOP_DIR=\"$HOME/\"\nXDG_DOCUMENTS_DIR=\"$HOME/Documents\"\n\
                 XDG_MUSIC_DIR=\"$HOME/Music\"\nXDG_VIDEOS_DIR=\"$HOME/Videos\"\n",
            ),
        ],
    );
    chmod(&home, 0o700);
    let runtime = env.tmp.path().join("run-u");
    std::fs::create_dir(&runtime).unwrap();
    chown(&runtime, u);
    chmod(&runtime, 0o700);
    let session = [("XDG_RUNTIME_DIR", runtime.as_path())];
    let as_u = |args: &[&str]| {
        fandex(&home, Some(u), &session)
            .args(args)
            .output()
            .unwrap()
    };
    // No option at all: a user's `fandex daemon` is the user service.
    let mut daemon = DaemonProc {
        child: fandex(&home, Some(u), &session)
            .arg("daemon")
            .stderr(std::fs::File::create(env.tmp.path().join("daemon.log")).unwrap())
            .spawn()
            .unwrap(),
    };
    let status = wait_ready(|| as_u(&["status", "--json"]));
    assert_eq!(
        roots(&status),
        [home.join("Documents"), home.join("Music")],
        "{status}"
    );
    assert_eq!(status["watcher"]["filesystems"][0]["content"], "inotify");
    let socket = runtime.join("fandex/socket");
    let meta = std::fs::metadata(&socket).unwrap();
    assert_eq!((meta.mode() & 0o777, meta.uid()), (0o600, u.0));
    let index = home.join(".local/share/fandex");
    assert!(index.join("format").exists(), "index in $XDG_DATA_HOME");
    assert!(
        !index.join("fandex.sock").exists(),
        "one socket, in the runtime dir"
    );
    // Searches go through that socket; only the user directories are indexed.
    assert_eq!(
        paths(&as_u(&["search", "--json", "wordu1"])),
        BTreeSet::from([home.join("Documents/report.txt")])
    );
    assert_eq!(
        paths(&as_u(&["search", "--json", "wordu2"])),
        BTreeSet::from([home.join("Music/song.txt")])
    );
    for outside in ["wordu3", "wordu4"] {
        assert_eq!(
            as_u(&["search", outside]).status.code(),
            Some(1),
            "{outside}"
        );
    }
    // `sync` reaches the daemon (no daemon would be an error), and a new file is then found.
    let later = home.join("Documents/later.txt");
    std::fs::write(&later, "wordu5").unwrap();
    chown(&later, u);
    let out = as_u(&["sync"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        paths(&as_u(&["search", "--json", "wordu5"])),
        BTreeSet::from([later])
    );
    // SIGTERM: the daemon stops and takes its socket with it.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(
        daemon.child.wait().unwrap().success(),
        "{}",
        env.daemon_log()
    );
    assert!(!socket.exists());
}

#[test]
fn root_runs_a_user_daemon_with_user_defaults() {
    if !require_root("user service as root") {
        return;
    }
    let env = Env::new();
    // No user-dirs.dirs and no runtime directory: the usual directory names that exist, the socket in
    // the index directory.
    let home = home_with(
        &env,
        "home-r",
        None,
        &[
            ("Pictures/caption.txt", "wordr1"),
            ("Downloads/", ""),
            ("Videos", "a file, not a directory"),
            ("Templates/t.txt", "wordr2"),
        ],
    );
    let index = home.join(".local/share/fandex");
    let _daemon = DaemonProc {
        child: fandex(&home, None, &[])
            .args(["daemon", "--user"])
            .stderr(std::fs::File::create(env.tmp.path().join("daemon.log")).unwrap())
            .spawn()
            .unwrap(),
    };
    let client = |args: &[&str]| {
        fandex(&home, None, &[("FANDEX_INDEX_DIR", index.as_path())])
            .args(args)
            .output()
            .unwrap()
    };
    let status = wait_ready(|| client(&["status", "--json"]));
    assert_eq!(
        roots(&status),
        [home.join("Downloads"), home.join("Pictures")],
        "{status}"
    );
    assert_eq!(status["watcher"]["filesystems"][0]["content"], "inotify");
    assert!(index.join("fandex.sock").exists());
    assert_eq!(
        paths(&client(&["search", "--json", "wordr1"])),
        BTreeSet::from([home.join("Pictures/caption.txt")])
    );
    assert_eq!(client(&["search", "wordr2"]).status.code(), Some(1));
    // The user's index is private, as root's would be.
    let mode = std::fs::metadata(&index).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
}
