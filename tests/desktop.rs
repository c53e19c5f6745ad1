//! The desktop side of the command line (issue 14): `fandex pause [--for]` and `fandex resume` against a
//! running daemon, refused to other users, and D-Bus activation: a call to `org.fandex.Fandex` on a bus
//! with the shipped `.service` file starts the user's daemon, which answers, or, when a root daemon
//! serves the user, the bridge (`fandex bridge`), run as the user, which answers with only what the user
//! may read and, with that daemon stopped, answers the shell in time all the same.

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

/// A session bus listening in `dir`, activating from `services`, run as `who` (None: this process's
/// user; activated services then run as `who` too). Every user may connect to it.
fn activation_bus(dir: &Path, services: &Path, who: Option<(u32, u32)>) -> ActivationBus {
    use std::os::unix::process::CommandExt;
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
    <allow user="*"/>
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
    let mut cmd = Command::new("dbus-daemon");
    cmd.arg(format!("--config-file={}", config.display()))
        .args(["--nofork", "--nopidfile", "--print-address=1"])
        .stdout(Stdio::piped());
    if let Some((uid, gid)) = who {
        common::users::chown(dir, (uid, gid));
        cmd.uid(uid).gid(gid);
    }
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => panic!("dbus-daemon is needed (Debian package dbus): {e}"),
    };
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(!line.trim().is_empty(), "dbus-daemon printed no address");
    ActivationBus {
        child,
        address: line.trim().to_owned(),
    }
}

type Dict = HashMap<String, zbus::OwnedVariant>;

/// Whether `dbus-daemon` can run; without it the test skips, or fails under `CI=true`.
fn have_dbus_daemon() -> bool {
    if Command::new("dbus-daemon")
        .arg("--version")
        .output()
        .is_ok()
    {
        return true;
    }
    assert_ne!(
        std::env::var("CI").as_deref(),
        Ok("true"),
        "dbus-daemon is needed (Debian package dbus)"
    );
    eprintln!("SKIP: no dbus-daemon");
    false
}

/// Writes the shipped activation file into a new `services` directory of `env`, its command run with
/// the built binary for /usr/bin/fandex and with `vars` set in its environment; returns the directory.
fn shipped_activation(env: &Env, vars: &[(&str, &Path)]) -> std::path::PathBuf {
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/org.fandex.Fandex.service"),
    )
    .unwrap();
    let exec = shipped
        .lines()
        .find_map(|l| l.strip_prefix("Exec="))
        .expect("an Exec line");
    let args = exec
        .strip_prefix("/usr/bin/fandex ")
        .unwrap_or_else(|| panic!("activation must run /usr/bin/fandex: {exec}"));
    let vars: Vec<String> = vars
        .iter()
        .map(|(k, v)| format!("{k}={}", v.display()))
        .collect();
    let service = shipped.replace(
        exec,
        &format!(
            "/usr/bin/env RUST_LOG=info {} {} {args}",
            vars.join(" "),
            env!("CARGO_BIN_EXE_fandex"),
        ),
    );
    let services = env.tmp.path().join("services");
    std::fs::create_dir(&services).unwrap();
    std::fs::write(services.join("org.fandex.Fandex.service"), service).unwrap();
    services
}

/// Calls `method` of `org.fandex.Fandex1` on `org.fandex.Fandex`.
fn call_api<B, R>(conn: &zbus::Connection, method: &str, body: &B) -> zbus::Result<R>
where
    B: serde::Serialize + zbus::DynamicType,
    R: for<'d> serde::Deserialize<'d> + zbus::Type,
{
    call_object(
        conn,
        "/org/fandex/Fandex",
        "org.fandex.Fandex1",
        method,
        body,
    )
}

fn call_object<B, R>(
    conn: &zbus::Connection,
    path: &str,
    interface: &str,
    method: &str,
    body: &B,
) -> zbus::Result<R>
where
    B: serde::Serialize + zbus::DynamicType,
    R: for<'d> serde::Deserialize<'d> + zbus::Type,
{
    zbus::block_on(conn.call_method(
        Some("org.fandex.Fandex"),
        path,
        Some(interface),
        method,
        body,
    ))
    .and_then(|m| m.body().deserialize())
}

/// The uid and pid of the process owning `org.fandex.Fandex`.
fn name_owner(conn: &zbus::Connection) -> (u32, u32) {
    let ask = |method: &str| -> u32 {
        zbus::block_on(conn.call_method(
            Some("org.freedesktop.DBus"),
            "/org/freedesktop/DBus",
            Some("org.freedesktop.DBus"),
            method,
            &("org.fandex.Fandex",),
        ))
        .and_then(|m| m.body().deserialize())
        .unwrap_or_else(|e| panic!("{method}: {e}"))
    };
    (
        ask("GetConnectionUnixUser"),
        ask("GetConnectionUnixProcessID"),
    )
}

fn paths_of(hits: &[Dict]) -> BTreeSet<std::path::PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    hits.iter()
        .map(|h| {
            let bytes = Vec::<u8>::try_from(h["path"].try_clone().unwrap()).unwrap();
            std::path::PathBuf::from(std::ffi::OsStr::from_bytes(&bytes))
        })
        .collect()
}

#[test]
fn dbus_activation_starts_the_daemon() {
    if !have_dbus_daemon() {
        return;
    }
    let env = Env::new();
    env.write(b"docs/wallaby.txt", b"wallaby hop");
    // The shipped activation file as it is: no daemon answers on the system socket, so the user's own
    // daemon starts, on this test's index, with the root its configuration names.
    let config_home = env.tmp.path().join("config");
    std::fs::create_dir_all(config_home.join("fandex")).unwrap();
    std::fs::write(
        config_home.join("fandex/config.toml"),
        format!("roots = [{:?}]\n", env.root.to_str().unwrap()),
    )
    .unwrap();
    let services = shipped_activation(
        &env,
        &[
            ("FANDEX_INDEX_DIR", &env.index),
            ("XDG_CONFIG_HOME", &config_home),
            (
                "FANDEX_SOCKET",
                &env.tmp.path().join("no-system-daemon.sock"),
            ),
        ],
    );
    let bus_dir = env.tmp.path().join("bus");
    std::fs::create_dir(&bus_dir).unwrap();
    let bus = activation_bus(&bus_dir, &services, None);
    let conn =
        zbus::block_on(zbus::connection::Builder::address(bus.address.as_str()).build()).unwrap();
    // Nobody owns the name yet: this call starts the daemon, and it answers.
    let status: Dict =
        call_api(&conn, "Status", &()).unwrap_or_else(|e| panic!("Status by activation: {e}"));
    let pid = u64::try_from(status["pid"].try_clone().unwrap()).unwrap();
    let _stop = StopPid(pid);
    // The bridge became the daemon: the same process owns the name.
    assert_eq!(u64::from(name_owner(&conn).1), pid);
    // Ready before its start-up walk (reconciling), or already past it (watching).
    let state = String::try_from(status["state"].try_clone().unwrap()).unwrap();
    assert!(
        ["reconciling", "watching"].contains(&state.as_str()),
        "{state}"
    );
    // Read-your-writes: a sync returns once the start-up walk has indexed the file.
    let _generation: u64 = call_api(&conn, "Sync", &(10_000u32,)).unwrap();
    let (total, _hits): (u64, Vec<Dict>) =
        call_api(&conn, "Search", &("wallaby", Dict::new())).unwrap();
    assert_eq!(total, 1);
}

#[test]
fn dbus_activation_bridges_a_user_to_the_system_daemon() {
    if !require_root("the bridge to a root daemon") || !have_dbus_daemon() {
        return;
    }
    let env = Env::new();
    common::users::chmod(env.tmp.path(), 0o755);
    let fs = Tmpfs::mount(&env.tmp.path().join("fs"));
    let shared = fs.path.join("shared.txt");
    std::fs::write(&shared, "marmot burrow, for everyone").unwrap();
    common::users::chmod(&shared, 0o644);
    let secret = fs.path.join("secret.txt");
    std::fs::write(&secret, "marmot burrow, for root only").unwrap();
    common::users::chmod(&secret, 0o600);
    let (daemon, public) = public_daemon(&env, &fs.path, "");
    env.sync();
    // Root's own search finds both: the bridge's answers below would show the secret if it leaked.
    assert_eq!(env.search("marmot").len(), 2);

    let someone = user("fandex-test-bridge");
    // The shipped activation file, on a bus of the user's: the bridge starts as them. They have no index
    // of their own, and the system daemon answers on the public socket.
    let services = shipped_activation(
        &env,
        &[
            ("FANDEX_SOCKET", &public),
            (
                "FANDEX_INDEX_DIR",
                &env.tmp.path().join("no-index-of-theirs"),
            ),
        ],
    );
    let bus_dir = env.tmp.path().join("bus");
    std::fs::create_dir(&bus_dir).unwrap();
    let bus = activation_bus(&bus_dir, &services, Some(someone));
    let conn =
        zbus::block_on(zbus::connection::Builder::address(bus.address.as_str()).build()).unwrap();
    let (total, hits): (u64, Vec<Dict>) = call_api(&conn, "Search", &("marmot", Dict::new()))
        .unwrap_or_else(|e| panic!("Search by activation: {e}"));
    let (uid, bridge_pid) = name_owner(&conn);
    let _stop = StopPid(u64::from(bridge_pid));
    assert_eq!(uid, someone.0, "the bridge runs as the bus's user");
    assert_ne!(
        u64::from(bridge_pid),
        u64::from(daemon.child.id()),
        "a bridge, not a daemon of the user's"
    );
    assert_eq!(total, 1, "the count includes only what the user may read");
    assert_eq!(paths_of(&hits), BTreeSet::from([shared.clone()]));
    // The shell providers, through the same bridge.
    let id = fandex::service::dbus::result_id::encode(&shared, None);
    let initial: Vec<String> = call_object(
        &conn,
        "/org/fandex/SearchProvider",
        "org.gnome.Shell.SearchProvider2",
        "GetInitialResultSet",
        &(vec!["marmot"],),
    )
    .unwrap();
    assert_eq!(initial, [id.as_str()]);
    type Match = (String, String, String, i32, f64, Dict);
    let matches: Vec<Match> = call_object(
        &conn,
        "/org/fandex/KRunner",
        "org.kde.krunner1",
        "Match",
        &("burrow",),
    )
    .unwrap();
    assert_eq!(
        matches.iter().map(|m| m.0.clone()).collect::<Vec<_>>(),
        [id]
    );
    // A word only the secret holds finds nothing.
    let (total, _): (u64, Vec<Dict>) = call_api(&conn, "Search", &("root", Dict::new())).unwrap();
    assert_eq!(total, 0);
    // The status is the public one (no document count), and pausing root's daemon is refused.
    let status: Dict = call_api(&conn, "Status", &()).unwrap();
    assert!(status.contains_key("state"), "{status:?}");
    assert!(!status.contains_key("documents"), "{status:?}");
    match call_api::<_, ()>(&conn, "Pause", &(0u32,)) {
        Err(zbus::Error::MethodError(name, _, _)) => {
            assert_eq!(name.as_str(), "org.freedesktop.DBus.Error.AccessDenied")
        }
        Err(zbus::Error::FDO(e)) => assert!(matches!(*e, zbus::fdo::Error::AccessDenied(_)), "{e}"),
        other => panic!("Pause through the bridge: {other:?}"),
    }
    assert!(env.status_json()["paused"].is_null());

    // A hung daemon never holds up the shell: the provider answers "nothing ready" at its deadline.
    let daemon_pid = nix::unistd::Pid::from_raw(daemon.child.id() as i32);
    nix::sys::signal::kill(daemon_pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    let asked = Instant::now();
    let during: zbus::Result<Vec<String>> = call_object(
        &conn,
        "/org/fandex/SearchProvider",
        "org.gnome.Shell.SearchProvider2",
        "GetInitialResultSet",
        &(vec!["marmot"],),
    );
    let took = asked.elapsed();
    nix::sys::signal::kill(daemon_pid, nix::sys::signal::Signal::SIGCONT).unwrap();
    assert_eq!(during.unwrap(), Vec::<String>::new());
    assert!(took < Duration::from_secs(2), "took {took:?}");
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

/// A stand-in for UPower's daemon object: `OnBattery`, changed by the test.
struct FakeUPower {
    on_battery: bool,
}

#[zbus::interface(name = "org.freedesktop.UPower")]
impl FakeUPower {
    #[zbus(property)]
    fn on_battery(&self) -> bool {
        self.on_battery
    }
}

/// Serves a [`FakeUPower`] as `org.freedesktop.UPower` on the bus at `address`.
fn fake_upower(address: &str, on_battery: bool) -> zbus::Connection {
    zbus::block_on(
        zbus::connection::Builder::address(address)
            .serve_at("/org/freedesktop/UPower", FakeUPower { on_battery })
            .name("org.freedesktop.UPower")
            .build(),
    )
    .unwrap()
}

/// Sets the fake's `OnBattery` and signals the change, as UPower does.
fn set_on_battery(upower: &zbus::Connection, on_battery: bool) {
    zbus::block_on(async {
        let iface = upower
            .object_server()
            .interface::<_, FakeUPower>("/org/freedesktop/UPower")
            .await
            .unwrap();
        iface.get_mut().await.on_battery = on_battery;
        iface
            .get()
            .await
            .on_battery_changed(iface.signal_emitter())
            .await
            .unwrap();
    });
}

/// A private bus standing in for the system bus (no services to activate), in `env`'s directory.
fn system_bus(env: &Env) -> ActivationBus {
    let services = env.tmp.path().join("services");
    let bus_dir = env.tmp.path().join("system-bus");
    std::fs::create_dir_all(&services).unwrap();
    std::fs::create_dir_all(&bus_dir).unwrap();
    activation_bus(&bus_dir, &services, None)
}

/// With UPower on the system bus, its `OnBattery` decides: on battery the start-up walk waits while a
/// live change is indexed; back on mains (its `PropertiesChanged`) the walk runs; on battery again,
/// the daemon says so.
#[test]
fn upower_on_battery_holds_bulk_work_and_mains_releases_it() {
    if !have_dbus_daemon() {
        return;
    }
    let env = Env::new();
    let bus = system_bus(&env);
    let upower = fake_upower(&bus.address, true);
    let old = env.write(b"old.txt", b"kangaroo sightings");
    let _daemon = DaemonProc::start_in(
        &env,
        &env.root,
        "inotify",
        "inotify",
        &[],
        &[
            ("DBUS_SYSTEM_BUS_ADDRESS", bus.address.as_str()),
            ("FANDEX_POWER_SUPPLY_DIR", ""),
        ],
    );
    assert!(
        env.daemon_log().contains("following UPower"),
        "{}",
        env.daemon_log()
    );
    let status = env.status_json();
    assert_eq!(status["on_battery"], true, "{status}");
    assert_eq!(status["paused"]["reason"], "battery", "{status}");
    let live = env.write(b"live.txt", b"dingo tracks");
    assert!(
        eventually(Duration::from_secs(10), || env.search("dingo")
            == BTreeSet::from([live.clone()])),
        "a live change on battery was not indexed: {}",
        env.status_json()
    );
    assert!(env.search("kangaroo").is_empty(), "the walk ran on battery");

    set_on_battery(&upower, false);
    assert!(
        eventually(Duration::from_secs(10), || env.search("kangaroo")
            == BTreeSet::from([old.clone()])),
        "the walk did not run on mains power: {}",
        env.status_json()
    );
    let status = env.status_json();
    assert_eq!(status["on_battery"], false, "{status}");
    assert!(status["paused"].is_null(), "{status}");

    set_on_battery(&upower, true);
    assert!(
        eventually(Duration::from_secs(5), || env.status_json()["on_battery"]
            == true),
        "the daemon did not follow UPower back to battery: {}",
        env.status_json()
    );
}

/// Without UPower on the system bus, the daemon reads the kernel's power supplies.
#[test]
fn without_upower_the_power_supplies_are_read() {
    if !have_dbus_daemon() {
        return;
    }
    let env = Env::new();
    let bus = system_bus(&env);
    let _daemon = DaemonProc::start_in(
        &env,
        &env.root,
        "inotify",
        "inotify",
        &[],
        &[
            ("DBUS_SYSTEM_BUS_ADDRESS", bus.address.as_str()),
            ("FANDEX_POWER_SUPPLY_DIR", ""),
        ],
    );
    let log = env.daemon_log();
    assert!(
        log.contains("UPower not available, reading /sys/class/power_supply"),
        "{log}"
    );
}
