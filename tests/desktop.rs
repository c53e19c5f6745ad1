//! The desktop side of the command line (issue 14): `fandex pause [--for]` and `fandex resume` against a
//! running daemon, refused to other users, and D-Bus activation: a call to `org.fandex.Fandex` on a bus
//! with the shipped `.service` file starts the daemon, which answers.

mod common;

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Env;
use common::daemon::{DaemonProc, Tmpfs, require_root};
use common::users::{fandex_as, public_daemon, user};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Waits up to `limit` for `check`.
fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn pause_records_changes_and_resume_applies_them() {
    let env = Env::new();
    env.write(b"a.txt", b"alpha");
    let _daemon = DaemonProc::start(&env, &env.root, "inotify", "inotify");
    assert_eq!(env.search("alpha").len(), 1);

    let out = env.run(&["pause"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("paused indefinitely"),
        "{}",
        stdout(&out)
    );
    let b = env.write(b"b.txt", b"bravo");
    std::fs::remove_file(env.root.join("a.txt")).unwrap();
    assert!(
        eventually(Duration::from_secs(5), || {
            env.status_json()["paused"]["waiting"].as_u64() >= Some(2)
        }),
        "changes not shown waiting: {}",
        env.status_json()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(env.search("bravo").is_empty(), "applied while paused");
    assert_eq!(env.search("alpha").len(), 1, "applied while paused");
    let text = stdout(&env.run(&["status"]));
    assert!(
        text.contains("paused indefinitely (2 changes waiting)"),
        "{text}"
    );

    let out = env.run(&["resume"]);
    assert!(out.status.success(), "{}", stderr(&out));
    env.sync();
    assert_eq!(env.search("bravo"), BTreeSet::from([b]));
    assert!(env.search("alpha").is_empty());
    assert!(env.status_json()["paused"].is_null());
    assert!(!stdout(&env.run(&["status"])).contains("paused"));
}

#[test]
fn pause_for_a_while_ends_by_itself() {
    let env = Env::new();
    let _daemon = DaemonProc::start(&env, &env.root, "inotify", "inotify");
    let out = env.run(&["pause", "--for", "2s"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stdout(&out);
    assert!(said.starts_with("paused until "), "{said}");
    let text = stdout(&env.run(&["status"]));
    assert!(text.contains("paused until "), "{text}");
    let c = env.write(b"c.txt", b"charlie");
    std::thread::sleep(Duration::from_millis(700));
    assert!(env.search("charlie").is_empty(), "applied while paused");
    assert!(
        eventually(Duration::from_secs(10), || env.search("charlie")
            == BTreeSet::from([c.clone()])),
        "the pause did not end: {}",
        env.status_json()
    );
    assert!(env.status_json()["paused"].is_null());
    let bad = env.run(&["pause", "--for", "soon"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("10m"), "{}", stderr(&bad));
}

#[test]
fn only_the_daemons_owner_may_pause() {
    if !require_root("pause permissions") {
        return;
    }
    let env = Env::new();
    let fs = Tmpfs::mount(&env.tmp.path().join("fs"));
    let (_daemon, public) = public_daemon(&env, &fs.path, "");
    let other = user("fandex-test-pause");
    for args in [&["pause"][..], &["resume"][..]] {
        let out = fandex_as(&env, Some(other), &public, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stdout(&out));
        assert!(
            stderr(&out).contains("only root and the daemon's own user"),
            "{}",
            stderr(&out)
        );
    }
    assert!(env.status_json()["paused"].is_null());
    // Root may.
    let out = fandex_as(&env, None, &public, &["pause"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(env.status_json()["paused"]["reason"], "user");
}

/// A `dbus-daemon` whose activation directory is `services`, stopped on drop.
struct ActivationBus {
    child: std::process::Child,
    address: String,
}

impl Drop for ActivationBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn activation_bus(dir: &Path, services: &Path) -> ActivationBus {
    let config = dir.join("bus.conf");
    std::fs::write(
        &config,
        format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={}</listen>
  <servicedir>{}</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
            dir.display(),
            services.display()
        ),
    )
    .unwrap();
    let spawned = Command::new("dbus-daemon")
        .arg(format!("--config-file={}", config.display()))
        .args(["--nofork", "--nopidfile", "--print-address=1"])
        .stdout(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => panic!("dbus-daemon is needed (Debian package dbus): {e}"),
    };
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    ActivationBus {
        child,
        address: line.trim().to_owned(),
    }
}

type Dict = HashMap<String, zbus::OwnedVariant>;

#[test]
fn dbus_activation_starts_the_daemon() {
    if Command::new("dbus-daemon")
        .arg("--version")
        .output()
        .is_err()
    {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "dbus-daemon is needed (Debian package dbus)"
        );
        eprintln!("SKIP: no dbus-daemon");
        return;
    }
    let env = Env::new();
    env.write(b"docs/wallaby.txt", b"wallaby hop");
    // The shipped activation file, with the built binary for /usr/bin/fandex and this test's index and
    // root given explicitly.
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/org.fandex.Fandex.service"),
    )
    .unwrap();
    let exec = shipped
        .lines()
        .find_map(|l| l.strip_prefix("Exec="))
        .expect("an Exec line");
    let args: Vec<&str> = exec.split_whitespace().collect();
    assert_eq!(&args[..2], ["/usr/bin/fandex", "daemon"], "{exec}");
    assert!(
        args.contains(&"--dbus"),
        "activation must serve the bus: {exec}"
    );
    // `--user` (the per-user defaults) is replaced by this test's own index and root.
    let rest: Vec<&str> = args[1..]
        .iter()
        .copied()
        .filter(|a| *a != "--user")
        .collect();
    let services = env.tmp.path().join("services");
    std::fs::create_dir(&services).unwrap();
    let service = shipped.replace(
        exec,
        &format!(
            "/usr/bin/env FANDEX_INDEX_DIR={} XDG_CONFIG_HOME={} RUST_LOG=info {} {} --backend inotify --rename-source inotify {}",
            env.index.display(),
            env.tmp.path().join("no-config").display(),
            env!("CARGO_BIN_EXE_fandex"),
            rest.join(" "),
            env.root.display()
        ),
    );
    std::fs::write(services.join("org.fandex.Fandex.service"), service).unwrap();
    let bus_dir = env.tmp.path().join("bus");
    std::fs::create_dir(&bus_dir).unwrap();
    let bus = activation_bus(&bus_dir, &services);
    let conn =
        zbus::block_on(zbus::connection::Builder::address(bus.address.as_str()).build()).unwrap();
    // Nobody owns the name yet: this call starts the daemon, and it answers.
    let status: Dict = zbus::block_on(conn.call_method(
        Some("org.fandex.Fandex"),
        "/org/fandex/Fandex",
        Some("org.fandex.Fandex1"),
        "Status",
        &(),
    ))
    .and_then(|m| m.body().deserialize())
    .unwrap_or_else(|e| panic!("Status by activation: {e}"));
    let pid = u64::try_from(status["pid"].try_clone().unwrap()).unwrap();
    let _stop = StopPid(pid);
    assert_eq!(
        String::try_from(status["state"].try_clone().unwrap()).unwrap(),
        "watching"
    );
    let (total, _hits): (u64, Vec<Dict>) = zbus::block_on(conn.call_method(
        Some("org.fandex.Fandex"),
        "/org/fandex/Fandex",
        Some("org.fandex.Fandex1"),
        "Search",
        &("wallaby", Dict::new()),
    ))
    .and_then(|m| m.body().deserialize())
    .unwrap();
    assert_eq!(total, 1);
}

/// SIGTERMs the activated daemon (a child of the bus) at the end, and waits for it.
struct StopPid(u64);

impl Drop for StopPid {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.0 as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        // Gone, or a zombie waiting for the bus to reap it.
        let running = |pid: u64| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                !stat
                    .rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
        };
        while running(self.0) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
