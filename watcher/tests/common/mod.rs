//! Test harness: a private tmpfs or loop ext4 per test, a watcher per backend combination, helpers that run
//! changes from another process, collect and normalize events, and fold them into the set of final paths.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, bounded};
use fandex_watcher::{Backend, Change, RenameSource, RescanReason, WatchConfig, Watcher};

/// Backend combinations (content + namespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combo {
    FanFan,
    FanIno,
    Ino,
}

impl Combo {
    pub fn config(self) -> (Backend, RenameSource) {
        match self {
            Combo::FanFan => (Backend::Fanotify, RenameSource::Fanotify),
            Combo::FanIno => (Backend::Fanotify, RenameSource::Inotify),
            Combo::Ino => (Backend::Inotify, RenameSource::Inotify),
        }
    }
    pub fn fanotify_content(self) -> bool {
        self != Combo::Ino
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fs {
    Tmpfs,
    Ext4,
}

/// Watcher starts hold this for reading; tests that lower the global queue sysctls hold it for writing.
pub static SYSCTL: RwLock<()> = RwLock::new(());

/// Whether the environment allows these tests. Under CI=true a missing capability is a failure.
pub fn env_ok() -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let why = if nix::unistd::geteuid().as_raw() != 0 {
        Some("not root".to_string())
    } else {
        // SAFETY (test): probing fanotify with a plain syscall; the fd is closed at once.
        let fd = unsafe {
            libc::fanotify_init(libc::FAN_CLASS_NOTIF | libc::FAN_REPORT_DFID_NAME_TARGET, 0)
        };
        if fd < 0 {
            Some(format!(
                "fanotify FID unavailable: {}",
                std::io::Error::last_os_error()
            ))
        } else {
            // SAFETY (test): closing the probe fd we own.
            unsafe { libc::close(fd) };
            None
        }
    };
    match why {
        None => true,
        Some(w) if ci => panic!("CI=true and the watcher tests cannot run: {w}"),
        Some(w) => {
            eprintln!("skipping: {w}");
            false
        }
    }
}

/// A private filesystem mounted under a tempdir, lazily unmounted on drop.
pub struct Mount {
    pub dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Mount {
    pub fn new(fs: Fs) -> Mount {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("mnt");
        std::fs::create_dir(&dir).expect("mkdir mnt");
        match fs {
            Fs::Tmpfs => {
                if let Err(e) = nix::mount::mount(
                    Some("tmpfs"),
                    &dir,
                    Some("tmpfs"),
                    nix::mount::MsFlags::empty(),
                    Some("size=512m,nr_inodes=200k"),
                ) {
                    panic!("mount tmpfs: {e}");
                }
            }
            Fs::Ext4 => {
                let img = tmp.path().join("img");
                let f = File::create(&img).expect("img");
                f.set_len(128 << 20).expect("size img");
                let ok = Command::new("mkfs.ext4")
                    .args(["-q", "-F"])
                    .arg(&img)
                    .status()
                    .expect("mkfs.ext4");
                assert!(ok.success(), "mkfs.ext4 failed");
                let ok = Command::new("mount")
                    .args(["-o", "loop"])
                    .arg(&img)
                    .arg(&dir)
                    .status()
                    .expect("mount");
                assert!(ok.success(), "mount -o loop failed");
            }
        }
        let dir = dir.canonicalize().expect("canonical");
        Mount { dir, _tmp: tmp }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.dir, nix::mount::MntFlags::MNT_DETACH);
    }
}

/// One watcher on `<mount>/root`, with `<mount>/outside` as a place outside the root on the same filesystem.
pub struct Harness {
    pub combo: Combo,
    pub mnt: Mount,
    pub root: PathBuf,
    pub outside: PathBuf,
    pub watcher: Option<Watcher>,
    pub rx: Receiver<Change>,
}

pub struct Opts<'a> {
    pub fs: Fs,
    pub setup: &'a str,
    pub excluded: Option<&'a str>,
    pub sink_capacity: usize,
    pub lower_queues: bool,
    pub barrier_prefix: Option<&'a str>,
}

impl Default for Opts<'_> {
    fn default() -> Self {
        Opts {
            fs: Fs::Tmpfs,
            setup: "",
            excluded: None,
            sink_capacity: 100_000,
            lower_queues: false,
            barrier_prefix: None,
        }
    }
}

fn write_sysctl(path: &str, v: &str) {
    std::fs::write(path, v).unwrap_or_else(|e| panic!("write {path}: {e}"));
}

impl Harness {
    pub fn new(combo: Combo, opts: Opts<'_>) -> Harness {
        let mnt = Mount::new(opts.fs);
        let root = mnt.dir.join("root");
        let outside = mnt.dir.join("outside");
        std::fs::create_dir(&root).expect("root");
        std::fs::create_dir(&outside).expect("outside");
        if !opts.setup.is_empty() {
            sh_in(&mnt.dir, opts.setup);
        }
        let (backend, rename_source) = combo.config();
        let config = WatchConfig {
            roots: vec![root.clone()],
            backend,
            rename_source,
            excluded: opts
                .excluded
                .map(|e| vec![root.join(e)])
                .unwrap_or_default(),
            barrier_prefix: opts.barrier_prefix.map(Into::into),
        };
        let (tx, rx) = bounded(opts.sink_capacity);
        let watcher = if opts.lower_queues {
            let _g = SYSCTL.write().unwrap_or_else(|e| e.into_inner());
            let lock = File::create("/tmp/fandex-watcher-tests.sysctl.lock").expect("lock file");
            // SAFETY (test): flock on a descriptor we own for the duration of the call.
            let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
            assert_eq!(rc, 0, "flock");
            let fan = std::fs::read_to_string("/proc/sys/fs/fanotify/max_queued_events")
                .expect("read sysctl");
            let ino = std::fs::read_to_string("/proc/sys/fs/inotify/max_queued_events")
                .expect("read sysctl");
            write_sysctl("/proc/sys/fs/fanotify/max_queued_events", "100");
            write_sysctl("/proc/sys/fs/inotify/max_queued_events", "50");
            let w = Watcher::start(config, tx);
            write_sysctl("/proc/sys/fs/fanotify/max_queued_events", fan.trim());
            write_sysctl("/proc/sys/fs/inotify/max_queued_events", ino.trim());
            w
        } else {
            let _g = SYSCTL.read().unwrap_or_else(|e| e.into_inner());
            Watcher::start(config, tx)
        };
        let watcher = watcher.expect("watcher start");
        Harness {
            combo,
            mnt,
            root,
            outside,
            watcher: Some(watcher),
            rx,
        }
    }

    /// Runs a shell script in another process, with $R = root, $O = outside, $M = mount dir.
    pub fn sh(&self, script: &str) {
        sh_in(&self.mnt.dir, script);
    }

    /// Collects events until none arrives for `quiet` (or 60 s passed).
    pub fn collect(&self, quiet: Duration) -> Vec<Change> {
        let start = Instant::now();
        let mut out = Vec::new();
        while start.elapsed() < Duration::from_secs(60) {
            match self.rx.recv_timeout(quiet) {
                // Keep a few content descriptors to check; close the rest at once, as a consumer must.
                Ok(Change::Modified {
                    path,
                    content: Some(_),
                }) if out.len() > 256 => out.push(Change::Modified {
                    path,
                    content: None,
                }),
                Ok(c) => out.push(c),
                Err(_) => break,
            }
        }
        out
    }

    pub fn events(&self) -> Vec<Change> {
        self.collect(Duration::from_millis(500))
    }

    /// A path relative to the mount dir, for readable expectations.
    pub fn rel(&self, p: &Path) -> String {
        let r = p.strip_prefix(&self.mnt.dir).unwrap_or(p);
        fandex_watcher::escape_path(r)
    }

    /// Events as strings relative to the mount, without Attrib, consecutive duplicate MODIFIED merged.
    pub fn norm(&self, evs: &[Change]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for e in evs {
            let s = match e {
                Change::Attrib { .. } => continue,
                Change::Modified { path, .. } => format!("MODIFIED {}", self.rel(path)),
                Change::Created { path, is_dir } => {
                    format!("CREATED{} {}", dir_tag(*is_dir), self.rel(path))
                }
                Change::Removed { path, is_dir } => {
                    format!("REMOVED{} {}", dir_tag(*is_dir), self.rel(path))
                }
                Change::Renamed { from, to, is_dir } => {
                    format!(
                        "RENAMED{} {} -> {}",
                        dir_tag(*is_dir),
                        self.rel(from),
                        self.rel(to)
                    )
                }
                Change::Rescan { scope, reason } => {
                    format!("RESCAN {} ({reason})", self.rel(scope))
                }
            };
            if s.starts_with("MODIFIED") && out.last() == Some(&s) {
                continue;
            }
            out.push(s);
        }
        out
    }

    /// Asserts the normalized events. With content and names from different queues (fanotify + inotify)
    /// their relative order is unknowable, so the comparison is then on sets.
    pub fn assert_events(&self, evs: &[Change], expected: &[&str]) {
        let got = self.norm(evs);
        if self.combo == Combo::FanIno {
            // Names come from inotify in order; content from the fd group, with the path the file has when
            // the event is read (so possibly a rename target), in no order relative to names.
            let names = |v: &[String]| {
                v.iter()
                    .filter(|s| !s.starts_with("MODIFIED"))
                    .cloned()
                    .collect::<Vec<_>>()
            };
            let exp: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
            assert_eq!(
                names(&got),
                names(&exp),
                "{:?}: events {got:#?}",
                self.combo
            );
            let targets: BTreeSet<String> = exp
                .iter()
                .filter_map(|s| s.split(" -> ").nth(1).map(|t| format!("MODIFIED {t}")))
                .chain(exp.iter().filter(|s| s.starts_with("MODIFIED")).cloned())
                .collect();
            let got_mod: BTreeSet<String> = got
                .iter()
                .filter(|s| s.starts_with("MODIFIED"))
                .cloned()
                .collect();
            let exp_mod = exp.iter().any(|s| s.starts_with("MODIFIED"));
            assert_eq!(
                !got_mod.is_empty(),
                exp_mod,
                "{:?}: events {got:#?}",
                self.combo
            );
            assert!(
                got_mod.is_subset(&targets),
                "{:?}: events {got:#?}",
                self.combo
            );
        } else {
            assert_eq!(got, expected, "{:?}", self.combo);
        }
    }

    /// The set of paths under root (relative to the mount), by walking the tree.
    pub fn walk(&self) -> BTreeSet<PathBuf> {
        walk_under(&self.root)
    }

    pub fn stop(&mut self) {
        if let Some(w) = self.watcher.take() {
            w.stop();
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.stop();
    }
}

fn dir_tag(d: bool) -> &'static str {
    if d { ",DIR" } else { "" }
}

pub fn sh_in(dir: &Path, script: &str) {
    let out = Command::new("sh")
        .arg("-ec")
        .arg(script)
        .current_dir(dir)
        .env("M", dir)
        .env("R", dir.join("root"))
        .env("O", dir.join("outside"))
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "script failed: {script}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn walk_under(root: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                stack.push(p.clone());
            }
            out.insert(p);
        }
    }
    out
}

/// Folds events into the set of existing paths, starting from `initial`. A rescan replaces what is known
/// under its scope by a walk of the real tree (that is what the consumer does).
pub fn fold(initial: BTreeSet<PathBuf>, evs: &[Change]) -> BTreeSet<PathBuf> {
    let mut set = initial;
    let mut last_rescan: Option<&Path> = None;
    for e in evs {
        if let Change::Rescan { scope, .. } = e {
            // A run of rescans of one scope is one walk.
            if last_rescan == Some(scope.as_path()) {
                continue;
            }
            last_rescan = Some(scope);
        } else {
            last_rescan = None;
        }
        match e {
            Change::Created { path, .. } => {
                set.insert(path.clone());
            }
            Change::Modified { path, .. } => {
                // The consumer re-checks the path: a late content event about a name gone since adds nothing.
                if std::fs::symlink_metadata(path).is_ok() {
                    set.insert(path.clone());
                }
            }
            Change::Removed { path, .. } => set.retain(|p| !p.starts_with(path)),
            Change::Renamed { from, to, .. } => {
                if !set.contains(from) {
                    // Unknown source: the consumer indexes whatever is at the target now.
                    set.insert(from.clone());
                }
                set.retain(|p| !p.starts_with(to) || p.starts_with(from));
                let moved: Vec<PathBuf> = set
                    .iter()
                    .filter(|p| p.starts_with(from))
                    .cloned()
                    .collect();
                for p in moved {
                    set.remove(&p);
                    let rest = p
                        .strip_prefix(from)
                        .map(Path::to_path_buf)
                        .unwrap_or_default();
                    set.insert(if rest.as_os_str().is_empty() {
                        to.clone()
                    } else {
                        to.join(rest)
                    });
                }
            }
            Change::Attrib { .. } => {}
            Change::Rescan { scope, .. } => {
                set.retain(|p| !p.starts_with(scope) || p == scope);
                set.extend(walk_under(scope));
            }
        }
    }
    set
}

/// Reads the whole content through a Modified event's descriptor.
pub fn read_content(c: &Change) -> Option<Vec<u8>> {
    let Change::Modified {
        content: Some(fd), ..
    } = c
    else {
        return None;
    };
    let owned = fd.as_fd_dup()?;
    let mut f = File::from(owned);
    let mut v = Vec::new();
    use std::io::Seek;
    f.seek(std::io::SeekFrom::Start(0)).ok()?;
    f.read_to_end(&mut v).ok()?;
    Some(v)
}

trait DupFd {
    fn as_fd_dup(&self) -> Option<std::os::fd::OwnedFd>;
}

impl DupFd for fandex_watcher::ContentFd {
    fn as_fd_dup(&self) -> Option<std::os::fd::OwnedFd> {
        use std::os::fd::AsFd;
        self.as_fd().try_clone_to_owned().ok()
    }
}

pub fn count_rescans(evs: &[Change], reason: &RescanReason) -> usize {
    evs.iter()
        .filter(|e| matches!(e, Change::Rescan { reason: r, .. } if r == reason))
        .count()
}

pub fn bytes(p: &Path) -> &[u8] {
    p.as_os_str().as_bytes()
}

/// Asserts two path sets are equal, printing only the differences.
pub fn assert_same(got: &BTreeSet<PathBuf>, want: &BTreeSet<PathBuf>, what: &str) {
    let extra: Vec<_> = got.difference(want).take(10).collect();
    let missing: Vec<_> = want.difference(got).take(10).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "{what}: extra {extra:?}, missing {missing:?}"
    );
}
