//! Operating fandex (issue 15): `status --follow` through a running daemon, the progress bar of
//! `fandex index` (only on a terminal), logs with journal fields under systemd, the shipped system unit
//! (`systemd-analyze verify` and `security`) and the Debian package.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Env;
use common::daemon::{DaemonProc, Tmpfs, require_root};
use common::users::{chmod, chown, fandex_as, public_daemon, user};

/// `n` small files in 20 directories.
fn corpus(env: &Env, n: usize) {
    for i in 0..n {
        let name = format!("d{}/f{i}.txt", i % 20);
        env.write(
            name.as_bytes(),
            format!("common word{} unique{i}\n", i % 50).as_bytes(),
        );
    }
}

fn signal(child: &std::process::Child, signal: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, signal).unwrap();
}

/// Waits for `child` to exit within `limit`; returns its exit code.
fn exit_within(child: &mut std::process::Child, limit: Duration, what: &str) -> Option<i32> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        assert!(Instant::now() < deadline, "{what} did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `fandex status --follow` into a pipe: one line per change of the report. A rebuild shows its files
/// done growing with a rate, then the time left once the walk is over; a change made meanwhile shows
/// as the last change; following ends, with exit 0, when the daemon stops. Another follower ends on
/// SIGINT (Ctrl-C) with exit 0.
#[test]
fn status_follow_shows_progress_and_changes_until_the_daemon_stops() {
    if !require_root("status --follow (daemon)") {
        return;
    }
    let env = Env::new();
    corpus(&env, 3000);
    env.index(&[&env.root]);
    // An index of another format: the daemon rebuilds it while serving.
    std::fs::write(env.index.join("format"), "0\n").unwrap();
    let daemon = DaemonProc::start(&env, &env.root, "inotify", "inotify");
    let mut follow = env
        .cmd()
        .args(["status", "--follow", "--interval", "0.05"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = follow.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map(Result::unwrap)
            .collect::<Vec<String>>()
    });
    // Wait for the rebuild to end, then make a change and wait for it to be applied.
    let deadline = Instant::now() + Duration::from_secs(90);
    while env.status_json()["state"] != "watching" {
        assert!(Instant::now() < deadline, "rebuild did not end");
        std::thread::sleep(Duration::from_millis(50));
    }
    let late = env.write(b"d0/news.txt", b"fresh words");
    env.sync();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(daemon.terminate(), Some(0));
    let code = exit_within(&mut follow, Duration::from_secs(10), "status --follow");
    let lines = reader.join().unwrap();
    let text = lines.join("\n");
    assert_eq!(code, Some(0), "{text}");
    // The rebuild's progress, as it went: several different counts of files done, with rates.
    let rebuilding: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("rebuilding; rebuilding: "))
        .collect();
    assert!(rebuilding.len() >= 2, "{text}");
    assert!(
        rebuilding.iter().all(|l| l.contains(" files/s, ")),
        "{text}"
    );
    assert!(
        rebuilding
            .iter()
            .any(|l| l.contains(" of 3000 files (") && l.contains(" left")),
        "a total and the time left once the walk is over: {text}"
    );
    // Lines are printed only when the report changes.
    assert!(lines.windows(2).all(|w| w[0] != w[1]), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("watching; ")
                && l.contains(&format!("changed {}", late.display()))),
        "the last change: {text}"
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some("the daemon stopped"),
        "{text}"
    );

    // Ctrl-C ends following cleanly, on a terminal-less run too.
    let _daemon = DaemonProc::start(&env, &env.root, "inotify", "inotify");
    let mut follow = env
        .cmd()
        .args(["status", "--follow", "--json"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(follow.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let report: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(report["state"], "watching", "{first}");
    assert!(report["recent_changes"].is_array(), "{first}");
    signal(&follow, nix::sys::signal::Signal::SIGINT);
    assert_eq!(
        exit_within(
            &mut follow,
            Duration::from_secs(5),
            "status --follow after SIGINT"
        ),
        Some(0)
    );
}

/// The recent changes in `status --json` as `who` sees them through `socket`: their file names.
fn recent_as(env: &Env, who: Option<(u32, u32)>, socket: &Path) -> Vec<String> {
    let out = fandex_as(env, who, socket, &["status", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut names: Vec<String> = status["recent_changes"]
        .as_array()
        .unwrap_or_else(|| panic!("no recent_changes in {status}"))
        .iter()
        .map(|c| {
            let path = c["path"].as_str().unwrap();
            path.rsplit('/').next().unwrap().to_owned()
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Privacy of the last changes: root sees every change; another user, through the public socket, only
/// changes to files they own and may read now (not their file in a directory closed to them, not
/// someone else's).
#[test]
fn others_see_only_their_own_readable_changes() {
    if !require_root("recent changes for other users") {
        return;
    }
    let a = user("fandex-test-a");
    let b = user("fandex-test-b");
    let env = Env::new();
    chmod(env.tmp.path(), 0o755);
    let fs = Tmpfs::mount(&env.tmp.path().join("fs"));
    let root = fs.path.join("rootdir");
    std::fs::create_dir_all(root.join("closed")).unwrap();
    chmod(&root, 0o755);
    chmod(&root.join("closed"), 0o700);
    let (_daemon, public) = public_daemon(&env, &root, "");
    for (name, owner) in [
        ("a-open.txt", a),
        ("closed/a-closed.txt", a),
        ("b-open.txt", b),
    ] {
        let path = root.join(name);
        std::fs::write(&path, "words").unwrap();
        chown(&path, owner);
    }
    env.sync();
    assert_eq!(
        recent_as(&env, None, &public),
        ["a-closed.txt", "a-open.txt", "b-open.txt"]
    );
    assert_eq!(recent_as(&env, Some(a), &public), ["a-open.txt"]);
    assert_eq!(recent_as(&env, Some(b), &public), ["b-open.txt"]);
}

/// Runs `fandex ARGS` with a pseudo-terminal as stdin, stdout and stderr (`script`); returns what was
/// written to it.
fn on_terminal(env: &Env, args: &str) -> String {
    let bin = env!("CARGO_BIN_EXE_fandex");
    let out = Command::new("script")
        .args(["-qec", &format!("{bin} {args}"), "/dev/null"])
        .env("FANDEX_INDEX_DIR", &env.index)
        .env("XDG_CONFIG_HOME", env.tmp.path().join("no-config"))
        .env("TERM", "xterm")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux)");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `fandex index` draws a progress bar (files, rate, then the total and time left) on a terminal only:
/// not into a pipe, not with --quiet.
#[test]
fn index_shows_progress_only_on_a_terminal() {
    let env = Env::new();
    corpus(&env, 4000);
    let root = env.root.display().to_string();
    let shown = on_terminal(&env, &format!("index {root}"));
    assert!(shown.contains(" files/s"), "{shown}");
    assert!(shown.contains("files found"), "{shown}");
    assert!(shown.contains("4000 files seen, 4000 indexed"), "{shown}");
    // A fresh index again, with --quiet.
    std::fs::remove_dir_all(&env.index).unwrap();
    let quiet = on_terminal(&env, &format!("index --quiet {root}"));
    assert!(!quiet.contains("files/s"), "{quiet}");
    assert!(quiet.contains("4000 files seen"), "{quiet}");
    // Into a pipe: no bar either.
    std::fs::remove_dir_all(&env.index).unwrap();
    let out = env.run(&["index", &root]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("files/s"), "{err}");
}

/// The fields of one journal datagram (the native protocol: `NAME=value\n`, or `NAME\n`, a 64-bit
/// little-endian length, the value and `\n`).
fn journal_fields(mut data: &[u8]) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    while let Some(end) = data.iter().position(|b| *b == b'\n' || *b == b'=') {
        let name = String::from_utf8_lossy(&data[..end]).into_owned();
        let (value, rest) = if data[end] == b'=' {
            let rest = &data[end + 1..];
            let stop = rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
            (&rest[..stop], rest.get(stop + 1..).unwrap_or_default())
        } else {
            let rest = &data[end + 1..];
            let len = u64::from_le_bytes(rest[..8].try_into().unwrap()) as usize;
            (
                &rest[8..8 + len],
                rest.get(8 + len + 1..).unwrap_or_default(),
            )
        };
        fields.push((name, String::from_utf8_lossy(value).into_owned()));
        data = rest;
    }
    fields
}

/// Under systemd (stderr is the journal's stream, named by `JOURNAL_STREAM`), the daemon's events go to
/// the journal with their fields: a file that cannot be extracted is logged with `FANDEX_FILE` and
/// `FANDEX_ERROR_KIND`. The journal here is a socket of the test's, bound over `/run` in a private
/// mount namespace. With a `JOURNAL_STREAM` that is not stderr's, lines go to stderr instead.
#[test]
fn under_systemd_logs_go_to_the_journal_with_fields() {
    if !require_root("journal fields (mount namespace)") {
        return;
    }
    let env = Env::new();
    let bad = env.write(b"bad.txt.gz", b"\x1f\x8b\x08\x00 not really gzip");
    env.write(b"good.txt", b"fine words");
    let fake_run = env.tmp.path().join("run");
    std::fs::create_dir_all(fake_run.join("systemd/journal")).unwrap();
    let journal = UnixDatagram::bind(fake_run.join("systemd/journal/socket")).unwrap();
    journal
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    for (to_journal, index) in [(true, "index-a"), (false, "index-b")] {
        let log_path = env.tmp.path().join(format!("{index}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let meta = log.metadata().unwrap();
        let stream = if to_journal {
            format!("{}:{}", meta.dev(), meta.ino())
        } else {
            format!("{}:{}", meta.dev(), meta.ino() + 1)
        };
        let index_dir = env.tmp.path().join(index);
        let mut daemon = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c"])
            .arg("mount --bind \"$0\" /run && exec \"$@\"")
            .arg(&fake_run)
            .arg(env!("CARGO_BIN_EXE_fandex"))
            .args([
                "daemon",
                "--backend",
                "inotify",
                "--rename-source",
                "inotify",
            ])
            .arg(&env.root)
            .env("FANDEX_INDEX_DIR", &index_dir)
            .env("XDG_CONFIG_HOME", env.tmp.path().join("no-config"))
            .env("RUST_LOG", "info")
            .env("JOURNAL_STREAM", &stream)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut datagrams = Vec::new();
        let mut buf = vec![0u8; 65536];
        let deadline = Instant::now() + Duration::from_secs(30);
        let ready = |env: &Env| {
            env.cmd()
                .env("FANDEX_INDEX_DIR", &index_dir)
                .arg("status")
                .output()
                .unwrap()
                .status
                .success()
        };
        while !ready(&env) {
            assert!(Instant::now() < deadline, "daemon not ready");
            assert!(daemon.try_wait().unwrap().is_none(), "daemon exited");
            if let Ok(n) = journal.recv(&mut buf) {
                datagrams.push(journal_fields(&buf[..n]));
            }
        }
        while let Ok(n) = journal.recv(&mut buf) {
            datagrams.push(journal_fields(&buf[..n]));
        }
        signal(&daemon, nix::sys::signal::Signal::SIGTERM);
        exit_within(&mut daemon, Duration::from_secs(30), "daemon");
        let stderr = std::fs::read_to_string(&log_path).unwrap();
        let field = |d: &[(String, String)], name: &str| {
            d.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
        };
        let failed = datagrams
            .iter()
            .find(|d| field(d, "FANDEX_ERROR_KIND").as_deref() == Some("extract"));
        if to_journal {
            let failed = failed.unwrap_or_else(|| panic!("no extract failure in {datagrams:?}"));
            assert_eq!(
                field(failed, "FANDEX_FILE"),
                Some(bad.display().to_string())
            );
            assert_eq!(
                field(failed, "SYSLOG_IDENTIFIER").as_deref(),
                Some("fandex")
            );
            assert!(field(failed, "PRIORITY").is_some(), "{failed:?}");
            assert!(
                field(failed, "MESSAGE").is_some_and(|m| m.starts_with("not indexed: ")),
                "{failed:?}"
            );
            assert!(!stderr.contains("not indexed"), "{stderr}");
        } else {
            assert!(failed.is_none(), "{datagrams:?}");
            assert!(stderr.contains("not indexed"), "{stderr}");
            assert!(stderr.contains("error_kind=\"extract\""), "{stderr}");
        }
    }
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Runs a tool the packaging tests need; under `CI=true` a missing tool fails the test.
fn tool(name: &str) -> Option<Command> {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{name} is missing (scripts/setup.sh installs it) and CI=true");
        }
        eprintln!("skipping: {name} is missing");
        return None;
    }
    Some(Command::new(name))
}

/// The unit with its binary at `bin`, in a directory of its own (`systemd-analyze` reads it there).
fn unit_at(dir: &Path, bin: &str) -> PathBuf {
    let unit = std::fs::read_to_string(repo("dist/systemd/fandex.service")).unwrap();
    assert!(
        unit.contains("ExecStart=/usr/local/bin/fandex daemon\n"),
        "{unit}"
    );
    let path = dir.join("fandex.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/fandex", bin)).unwrap();
    path
}

/// The system unit passes `systemd-analyze verify` without a word (its man pages resolve to doc/man),
/// keeps its hardening, and `systemd-analyze security` rates its exposure at most 2.0 (README states
/// the figure).
#[test]
fn the_system_unit_verifies_and_is_hardened() {
    let (Some(mut verify), Some(mut security)) = (tool("systemd-analyze"), tool("systemd-analyze"))
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let unit = unit_at(tmp.path(), env!("CARGO_BIN_EXE_fandex"));
    let manpath = tmp.path().join("man");
    std::fs::create_dir(&manpath).unwrap();
    std::os::unix::fs::symlink(repo("doc/man"), manpath.join("man1")).unwrap();
    let out = verify
        .arg("verify")
        .arg(&unit)
        .env("MANPATH", &manpath)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
    let text = std::fs::read_to_string(&unit).unwrap();
    for line in [
        "Type=notify",
        "ProtectSystem=strict",
        "ProtectHome=read-only",
        "ReadWritePaths=/var/lib/fandex /run/fandex",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing");
    }
    let caps = text
        .lines()
        .find_map(|l| l.strip_prefix("CapabilityBoundingSet="))
        .unwrap();
    assert!(caps.contains("CAP_SYS_ADMIN") && caps.contains("CAP_DAC_READ_SEARCH"));
    let out = security
        .args(["security", "--offline=true"])
        .arg(&unit)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    let score: f64 = report
        .split("Overall exposure level for fandex.service: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in {report}"));
    assert!(score <= 2.0, "exposure {score}: {report}");
    let tmpfiles = std::fs::read_to_string(repo("dist/tmpfiles.d/fandex.conf")).unwrap();
    assert!(
        tmpfiles
            .lines()
            .any(|l| l == "d /run/fandex 0755 root root -"),
        "{tmpfiles}"
    );
}

/// `scripts/package-deb.sh` makes a package from a built binary that installs the binary, the unit
/// (naming the packaged binary), the tmpfiles entry, a man page per subcommand, the completions and the
/// desktop files; unpacked into a temporary root, its binary runs.
#[test]
fn the_debian_package_installs_everything() {
    let Some(mut dpkg_deb) = tool("dpkg-deb") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(repo("scripts/package-deb.sh"))
        .args(["--binary", env!("CARGO_BIN_EXE_fandex"), "--out"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let deb = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    assert!(deb.starts_with(tmp.path()) && deb.exists(), "{deb:?}");
    let installed = tmp.path().join("root");
    let out = dpkg_deb
        .arg("-x")
        .arg(&deb)
        .arg(&installed)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let listing = Command::new("dpkg-deb")
        .arg("-c")
        .arg(&deb)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    let mut expected: Vec<String> = [
        "usr/bin/fandex",
        "lib/systemd/system/fandex.service",
        "usr/lib/tmpfiles.d/fandex.conf",
        "usr/share/bash-completion/completions/fandex",
        "usr/share/zsh/vendor-completions/_fandex",
        "usr/share/fish/vendor_completions.d/fandex.fish",
        "usr/share/dbus-1/services/org.fandex.Fandex.service",
        "usr/share/gnome-shell/search-providers/org.fandex.Fandex.search-provider.ini",
        "usr/share/krunner/dbusplugins/plasma-runner-fandex.desktop",
    ]
    .map(String::from)
    .to_vec();
    for page in std::fs::read_dir(repo("doc/man")).unwrap() {
        let name = page.unwrap().file_name().into_string().unwrap();
        expected.push(format!("usr/share/man/man1/{name}.gz"));
    }
    for path in &expected {
        assert!(installed.join(path).is_file(), "{path} not installed");
        assert!(
            listing.contains(&format!("./{path}\n")),
            "{path} not listed: {listing}"
        );
    }
    assert!(listing.contains("root/root"), "owned by root: {listing}");
    let unit =
        std::fs::read_to_string(installed.join("lib/systemd/system/fandex.service")).unwrap();
    assert!(
        unit.contains("ExecStart=/usr/bin/fandex daemon\n"),
        "{unit}"
    );
    let version = Command::new(installed.join("usr/bin/fandex"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("fandex {}", env!("CARGO_PKG_VERSION"))
    );
    let info = Command::new("dpkg-deb")
        .args(["-f"])
        .arg(&deb)
        .args(["Package", "Version"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&info.stdout),
        format!("Package: fandex\nVersion: {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// `scripts/try.sh` (here with a built binary instead of its setup and release build) installs the
/// binary, indexes into a named demo index that it keeps, and ends saying where things are and how to
/// search again; the command it prints works.
#[test]
fn try_sh_installs_and_says_how_to_search_again() {
    let env = Env::new();
    corpus(&env, 30);
    let bin_dir = env.tmp.path().join("bin");
    std::fs::create_dir(&bin_dir).unwrap();
    let cache = env.tmp.path().join("cache");
    let out = Command::new(repo("scripts/try.sh"))
        .arg(&env.root)
        .arg("common")
        .env("FANDEX_TRY_BIN", env!("CARGO_BIN_EXE_fandex"))
        .env("FANDEX_INSTALL_DIR", &bin_dir)
        .env("XDG_CACHE_HOME", &cache)
        .env("XDG_CONFIG_HOME", env.tmp.path().join("no-config"))
        .env_remove("FANDEX_INDEX_DIR")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let installed = bin_dir.join("fandex");
    let demo = cache.join("fandex-demo");
    assert!(
        demo.join("format").is_file(),
        "the demo index is kept: {said}"
    );
    for expected in [
        format!("== installed {}", installed.display()),
        format!("demo index:  {} (", demo.display()),
        format!(
            "FANDEX_INDEX_DIR={} {} search 'your words'",
            demo.display(),
            installed.display()
        ),
        format!("remove it with: rm -rf {}", demo.display()),
    ] {
        assert!(said.contains(&expected), "{expected:?} in {said}");
    }
    let again = Command::new(&installed)
        .args(["search", "--json", "--limit", "100", "common"])
        .env("FANDEX_INDEX_DIR", &demo)
        .env("XDG_CONFIG_HOME", env.tmp.path().join("no-config"))
        .output()
        .unwrap();
    assert!(again.status.success(), "{again:?}");
    assert_eq!(String::from_utf8_lossy(&again.stdout).lines().count(), 30);
}
