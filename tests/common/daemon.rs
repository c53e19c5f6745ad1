//! Helpers for daemon tests: private mounts, a daemon child process, a seeded workload, and a
//! verification that compares search results with the test's own scan of the files.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::Env;

/// True when the test may run: as root. Under `CI=true` a missing capability fails the test instead.
pub fn require_root(what: &str) -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{what} needs root (fanotify, mounts) and CI=true: failing instead of skipping");
        }
        eprintln!("skipping {what}: needs root");
    }
    root
}

/// A tmpfs mounted on a temporary directory, unmounted on drop: each test gets its own filesystem, so
/// fanotify filesystem marks see only its own events.
pub struct Tmpfs {
    pub path: PathBuf,
}

impl Tmpfs {
    pub fn mount(at: &Path) -> Self {
        fs::create_dir_all(at).unwrap();
        nix::mount::mount(
            Some("tmpfs"),
            at,
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            Some("size=512m,mode=0755"),
        )
        .unwrap_or_else(|e| {
            panic!(
                "mount tmpfs on {}: {e} (CI needs mount rights)",
                at.display()
            )
        });
        Self {
            path: fs::canonicalize(at).unwrap(),
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(&self.path, nix::mount::MntFlags::MNT_DETACH);
    }
}

/// Serializes tests that change global sysctls (queue sizes) against daemon starts.
pub fn sysctl_lock(exclusive: bool) -> nix::fcntl::Flock<fs::File> {
    let f = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open("/tmp/fandex-tests-sysctl.lock")
        .unwrap();
    let arg = if exclusive {
        nix::fcntl::FlockArg::LockExclusive
    } else {
        nix::fcntl::FlockArg::LockShared
    };
    nix::fcntl::Flock::lock(f, arg).map_err(|(_, e)| e).unwrap()
}

/// A running `fandex daemon`.
pub struct DaemonProc {
    pub child: Child,
}

impl DaemonProc {
    /// Starts the daemon and waits until it answers `status` and has reconciled its roots.
    pub fn start(env: &Env, root: &Path, backend: &str, rename_source: &str) -> Self {
        let _guard = sysctl_lock(false);
        Self::start_unlocked(env, root, backend, rename_source)
    }

    pub fn start_unlocked(env: &Env, root: &Path, backend: &str, rename_source: &str) -> Self {
        Self::start_with(env, root, backend, rename_source, &[])
    }

    /// Starts with extra arguments (before the subcommand, e.g. `--config FILE`).
    pub fn start_with(
        env: &Env,
        root: &Path,
        backend: &str,
        rename_source: &str,
        extra: &[&str],
    ) -> Self {
        Self::start_in(env, root, backend, rename_source, extra, &[])
    }

    /// Starts with extra arguments and with `vars` set in the daemon's environment.
    pub fn start_in(
        env: &Env,
        root: &Path,
        backend: &str,
        rename_source: &str,
        extra: &[&str],
        vars: &[(&str, &str)],
    ) -> Self {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(env.tmp.path().join("daemon.log"))
            .unwrap();
        let child = env
            .cmd()
            .args(extra)
            .args([
                "daemon",
                "--backend",
                backend,
                "--rename-source",
                rename_source,
            ])
            .arg(root)
            .env(
                "RUST_LOG",
                std::env::var("FANDEX_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .envs(vars.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn daemon");
        let mut d = Self { child };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = d.child.try_wait().unwrap() {
                panic!("daemon exited early with {status}: {}", env.daemon_log());
            }
            if super::reconciled(&env.run(&["status", "--json"])) {
                return d;
            }
            assert!(
                Instant::now() < deadline,
                "daemon not ready: {}",
                env.daemon_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, no cleanup.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM; returns the exit code.
    pub fn terminate(mut self) -> Option<i32> {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "daemon did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for DaemonProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Env {
    pub fn daemon_log(&self) -> String {
        fs::read_to_string(self.tmp.path().join("daemon.log")).unwrap_or_default()
    }

    /// `fandex sync` must succeed.
    pub fn sync(&self) {
        let out = self.run(&["sync", "--timeout", "120"]);
        assert!(
            out.status.success(),
            "sync failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.daemon_log()
        );
    }

    /// Waits up to 10 s until the daemon's `status --json` satisfies `ok`.
    pub fn wait_for(&self, what: &str, ok: impl Fn(&serde_json::Value) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let status = self.status_json();
            if ok(&status) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "waited 10 s for {what}: {status}\n{}",
                self.daemon_log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn status_json(&self) -> serde_json::Value {
        let out = self.run(&["status", "--json"]);
        assert!(
            out.status.success(),
            "status: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// A small deterministic random generator (xorshift64*), so workloads replay from their seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The vocabulary the workload writes: distinct words that tokenize to themselves.
pub fn vocabulary() -> Vec<String> {
    (0..60).map(|i| format!("word{i}z")).collect()
}

/// A random filesystem workload below `root`, with `outside` (same filesystem, not watched as a root) for
/// moves in and out.
pub struct Workload {
    pub root: PathBuf,
    pub outside: PathBuf,
    rng: Rng,
    words: Vec<String>,
    counter: u64,
    hard_links: bool,
}

impl Workload {
    pub fn new(root: &Path, outside: &Path, seed: u64) -> Self {
        fs::create_dir_all(root).unwrap();
        fs::create_dir_all(outside).unwrap();
        Self {
            root: root.to_owned(),
            outside: outside.to_owned(),
            rng: Rng::new(seed),
            words: vocabulary(),
            counter: 0,
            hard_links: true,
        }
    }

    /// No hard links: on FUSE the kernel caches a file's size per name for a while, so a write through
    /// one link leaves reads through another short (bindfs shows it with `echo new > b; cat a`).
    pub fn without_hard_links(mut self) -> Self {
        self.hard_links = false;
        self
    }

    fn text(&mut self) -> String {
        let n = 1 + self.rng.below(6);
        (0..n)
            .map(|_| self.words[self.rng.below(self.words.len())].clone())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn fresh_name(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}", self.counter)
    }

    fn list(&self, base: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
        let mut files = Vec::new();
        let mut dirs = vec![base.to_owned()];
        let mut stack = vec![base.to_owned()];
        while let Some(d) = stack.pop() {
            let Ok(rd) = fs::read_dir(&d) else { continue };
            for e in rd.flatten() {
                let p = e.path();
                match e.file_type() {
                    Ok(t) if t.is_dir() => {
                        dirs.push(p.clone());
                        stack.push(p);
                    }
                    Ok(t) if t.is_file() => files.push(p),
                    _ => {}
                }
            }
        }
        files.sort();
        dirs.sort();
        (files, dirs)
    }

    fn pick(&mut self, items: &[PathBuf]) -> Option<PathBuf> {
        (!items.is_empty()).then(|| items[self.rng.below(items.len())].clone())
    }

    /// Runs `n` random operations.
    pub fn run(&mut self, n: usize) {
        let (mut files, mut dirs) = self.list(&self.root.clone());
        for i in 0..n {
            if i % 50 == 0 {
                (files, dirs) = self.list(&self.root.clone());
            }
            self.step(&mut files, &mut dirs);
        }
    }

    fn step(&mut self, files: &mut Vec<PathBuf>, dirs: &mut Vec<PathBuf>) {
        let op = self.rng.below(100);
        let dir = self.pick(dirs).unwrap_or(self.root.clone());
        let dir = if dir.exists() { dir } else { self.root.clone() };
        let file = self.pick(files).filter(|f| f.is_file());
        match (op, file) {
            (0..=24, _) => {
                let p = {
                    let n = self.fresh_name("f");
                    dir.join(n)
                };
                let t = self.text();
                if fs::write(&p, t).is_ok() {
                    files.push(p);
                }
            }
            (25..=34, Some(f)) => {
                let t = self.text();
                let _ = fs::write(&f, t);
            }
            (35..=42, Some(f)) => {
                let t = self.text();
                if let Ok(mut h) = fs::OpenOptions::new().append(true).open(&f) {
                    let _ = write!(h, " {t}");
                }
            }
            (43..=46, Some(f)) => {
                if let Ok(h) = fs::OpenOptions::new().write(true).open(&f) {
                    let _ = h.set_len(0);
                }
            }
            (47..=54, Some(f)) => {
                let to = {
                    let n = self.fresh_name("r");
                    dir.join(n)
                };
                if fs::rename(&f, &to).is_ok() {
                    files.push(to);
                }
            }
            (55..=60, Some(f)) => {
                // Atomic save: write a temporary file, rename it over the original.
                let tmp = {
                    let n = self.fresh_name(".tmp");
                    f.with_file_name(n)
                };
                let t = self.text();
                if fs::write(&tmp, t).is_ok() {
                    let _ = fs::rename(&tmp, &f);
                }
            }
            (61..=64, Some(f)) => {
                let to = {
                    let n = self.fresh_name("out");
                    self.outside.join(n)
                };
                let _ = fs::rename(&f, to);
            }
            (65..=68, _) => {
                let src = {
                    let n = self.fresh_name("in");
                    self.outside.join(n)
                };
                let t = self.text();
                if fs::write(&src, t).is_ok() {
                    let to = {
                        let n = self.fresh_name("moved-in");
                        dir.join(n)
                    };
                    if fs::rename(&src, &to).is_ok() {
                        files.push(to);
                    }
                }
            }
            (69..=75, Some(f)) => {
                let _ = fs::remove_file(&f);
            }
            (76..=79, Some(f)) if self.hard_links => {
                let to = {
                    let n = self.fresh_name("link");
                    dir.join(n)
                };
                if fs::hard_link(&f, &to).is_ok() {
                    files.push(to);
                }
            }
            (80..=87, _) => {
                let d = {
                    let n = self.fresh_name("d");
                    dir.join(n)
                };
                if fs::create_dir(&d).is_ok() {
                    dirs.push(d);
                }
            }
            (88..=92, _) if dir != self.root => {
                // Rename a directory to somewhere not inside itself.
                let target_parent = self.pick(dirs).unwrap_or(self.root.clone());
                if !target_parent.starts_with(&dir) {
                    let to = {
                        let n = self.fresh_name("dm");
                        target_parent.join(n)
                    };
                    let _ = fs::rename(&dir, to);
                }
            }
            (93..=95, _) if dir != self.root => {
                let _ = fs::remove_dir_all(&dir);
            }
            (96..=97, _) if dir != self.root => {
                let _ = fs::rename(&dir, {
                    let n = self.fresh_name("tree-out");
                    self.outside.join(n)
                });
            }
            (98..=99, _) => {
                // A tree built outside, moved in whole.
                let t = {
                    let n = self.fresh_name("tree-in");
                    self.outside.join(n)
                };
                let _ = fs::create_dir_all(t.join("sub"));
                for k in 0..3 {
                    let text = self.text();
                    let _ = fs::write(t.join("sub").join(format!("t{k}")), text);
                }
                let _ = fs::rename(&t, {
                    let n = self.fresh_name("arrived");
                    dir.join(n)
                });
            }
            _ => {}
        }
    }
}

/// The test's own scan: every regular file below `root` with its words. (Not libfuse's `.fuse_hidden*`
/// files: an unlinked file kept while open, deleted behind the mount's back once closed, and excluded
/// by fandex's defaults.)
pub fn scan(root: &Path) -> BTreeMap<PathBuf, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            if e.file_name()
                .as_encoded_bytes()
                .starts_with(b".fuse_hidden")
            {
                continue;
            }
            let p = e.path();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(p);
            } else if t.is_file() {
                let text = fs::read_to_string(&p).unwrap_or_default();
                let words = text.split_whitespace().map(str::to_owned).collect();
                out.insert(p, words);
            }
        }
    }
    out
}

/// Every directory below `root` (not `root` itself).
pub fn scan_dirs(root: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                out.insert(e.path());
                stack.push(e.path());
            }
        }
    }
    out
}

/// Asserts that search results equal the test's own scan: every file is a document, every directory a
/// folder (issue 13), and every word's hits are exactly the files containing it.
pub fn verify(env: &Env, root: &Path) {
    let dirs = scan_dirs(root);
    let found = env.search(&format!("type:folder path:{}", root.display()));
    if found != dirs {
        let missing: Vec<_> = dirs.difference(&found).collect();
        let extra: Vec<_> = found.difference(&dirs).collect();
        panic!(
            "folders differ from the directories: missing {missing:?}, extra {extra:?}\n{}",
            env.daemon_log()
        );
    }
    let files = scan(root);
    let all: BTreeSet<PathBuf> = files.keys().cloned().collect();
    let found = env.search(&format!("path:{}", root.display()));
    if found != all {
        let missing: Vec<_> = all.difference(&found).collect();
        let extra: Vec<_> = found.difference(&all).collect();
        panic!(
            "documents differ from the files: missing {missing:?}, extra {extra:?}\n{}",
            env.daemon_log()
        );
    }
    for word in vocabulary() {
        let expected: BTreeSet<PathBuf> = files
            .iter()
            .filter(|(_, w)| w.contains(&word))
            .map(|(p, _)| p.clone())
            .collect();
        let found = env.search(&word);
        if found != expected {
            let missing: Vec<_> = expected.difference(&found).collect();
            let extra: Vec<_> = found.difference(&expected).collect();
            // Tell a late update (sync returned too early) from a lost one.
            std::thread::sleep(std::time::Duration::from_secs(3));
            let again = env.search(&word);
            let diag = format!(
                "3 s later still missing {:?}, extra {:?}",
                expected.difference(&again).collect::<Vec<_>>(),
                again.difference(&expected).collect::<Vec<_>>()
            );
            panic!(
                "hits for {word} differ: missing {missing:?}, extra {extra:?}\n{diag}\n{}",
                env.daemon_log()
            );
        }
    }
}
