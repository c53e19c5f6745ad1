//! The daemon on a private D-Bus (a `dbus-daemon` of each test's own): every method of
//! `org.fandex.Fandex1`, the GNOME and KRunner providers answered by the running daemon, `IndexUpdated`
//! after a change, pause and resume, a timed pause, and walks held back on battery while live changes go
//! on. The daemon watches with inotify (no privileges needed); `dbus-daemon` must be installed (under
//! `CI=true` a missing one fails the test).

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::power;
use fandex_daemon::dbus::names::{
    BUS_NAME, FANDEX_INTERFACE, FANDEX_PATH, KRUNNER_PATH, SEARCH_PROVIDER_PATH,
};
use fandex_daemon::dbus::{Bus, Desktop, ServiceOptions, result_id};
use fandex_daemon::{Daemon, DaemonOptions, DbusOptions};
use fandex_indexer::config::OnBattery;
use fandex_indexer::{Config, IndexDir};
use fandex_watcher::{Backend, RenameSource};
use zbus::OwnedVariant;

type Dict = HashMap<String, OwnedVariant>;

/// A `dbus-daemon` of the test's own, stopped on drop.
struct TestBus {
    child: Child,
    address: String,
}

impl Drop for TestBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a private session bus; `None` (skip) when `dbus-daemon` is missing, a failure under `CI=true`.
fn test_bus() -> Option<TestBus> {
    let spawned = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
        .stdout(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("dbus-daemon is needed (Debian package dbus): {e}")
        }
        Err(e) => {
            eprintln!("SKIP: cannot run dbus-daemon (install the dbus package): {e}");
            return None;
        }
    };
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line.trim().to_owned();
    assert!(!address.is_empty(), "dbus-daemon printed no address");
    Some(TestBus { child, address })
}

/// Stand-in `xdg-open` and `wl-copy` that append what they got to `opened.log` and `copied.log`.
struct StandIns {
    dir: tempfile::TempDir,
}

impl StandIns {
    fn new() -> Self {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let log = |name: &str| dir.path().join(name).display().to_string();
        for (name, body) in [
            (
                "xdg-open",
                format!(
                    "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n",
                    log("opened.log")
                ),
            ),
            (
                "wl-copy",
                format!(
                    "#!/bin/sh\ncat >> '{}'\necho >> '{}'\n",
                    log("copied.log"),
                    log("copied.log")
                ),
            ),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, body).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Self { dir }
    }

    /// The lines written to `log`, waiting up to 5 s for `count` of them.
    fn lines(&self, log: &str, count: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let text = std::fs::read_to_string(self.dir.path().join(log)).unwrap_or_default();
            let lines: Vec<String> = text.lines().map(str::to_owned).collect();
            if lines.len() >= count || Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Files the tests know: (relative path, text).
const FILES: &[(&str, &str)] = &[
    (
        "notes/meeting.md",
        "Quarterly budget meeting with the finance team",
    ),
    ("notes/recipes.txt", "Lemon cake recipe, within budget"),
    ("docs/report.txt", "Budget report for the kangaroo project"),
    ("docs/kangaroo.txt", "Kangaroo sightings log"),
];

/// A daemon on a root holding [`FILES`], serving `bus`.
struct Setup {
    tmp: tempfile::TempDir,
    root: PathBuf,
    daemon: Option<Daemon>,
    stand_ins: StandIns,
}

impl Setup {
    fn start(bus: &TestBus, config: Config) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        for (rel, text) in FILES {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
        }
        let root = std::fs::canonicalize(&root).unwrap();
        let stand_ins = StandIns::new();
        let daemon = Daemon::start(DaemonOptions {
            index_dir: IndexDir::at(tmp.path().join("index")),
            config,
            roots: vec![root.clone()],
            backend: Some(Backend::Inotify),
            rename_source: Some(RenameSource::Inotify),
            listen: false,
            parser: None,
            dbus: Some(DbusOptions {
                service: ServiceOptions {
                    bus: Bus::Address(bus.address.clone()),
                    desktop: Desktop::with_search_path(stand_ins.dir.path()),
                    ..ServiceOptions::default()
                },
                required: true,
            }),
        })
        .unwrap();
        // The daemon answers while it reconciles; the tests begin once the roots are reconciled.
        let deadline = Instant::now() + Duration::from_secs(60);
        while daemon.status().state == fandex_query::protocol::status::State::Reconciling {
            assert!(
                Instant::now() < deadline,
                "the start-up reconcile did not end"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        Self {
            tmp,
            root,
            daemon: Some(daemon),
            stand_ins,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        if let Some(d) = self.daemon.take() {
            d.stop().unwrap();
        }
        let _ = &self.tmp;
    }
}

fn client(bus: &TestBus) -> zbus::Connection {
    zbus::block_on(zbus::connection::Builder::address(bus.address.as_str()).build()).unwrap()
}

fn call<B, R>(conn: &zbus::Connection, path: &str, iface: &str, method: &str, body: &B) -> R
where
    B: serde::Serialize + zbus::DynamicType,
    R: for<'d> serde::Deserialize<'d> + zbus::Type,
{
    zbus::block_on(async {
        let reply = conn
            .call_method(Some(BUS_NAME), path, Some(iface), method, body)
            .await?;
        reply.body().deserialize::<R>()
    })
    .unwrap_or_else(|e| panic!("{iface}.{method}: {e}"))
}

/// `Search(query)` over the bus: the paths found.
fn search(conn: &zbus::Connection, query: &str) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let (_, hits): (u64, Vec<Dict>) = call(
        conn,
        FANDEX_PATH,
        FANDEX_INTERFACE,
        "Search",
        &(query, Dict::new()),
    );
    let mut paths: Vec<PathBuf> = hits
        .iter()
        .map(|h| {
            let bytes = Vec::<u8>::try_from(h["path"].try_clone().unwrap()).unwrap();
            PathBuf::from(std::ffi::OsStr::from_bytes(&bytes))
        })
        .collect();
    paths.sort();
    paths
}

fn status(conn: &zbus::Connection) -> Dict {
    call(conn, FANDEX_PATH, FANDEX_INTERFACE, "Status", &())
}

/// The `paused` entry of the status, if any.
fn paused(conn: &zbus::Connection) -> Option<Dict> {
    let s = status(conn);
    s.get("paused")
        .map(|p| Dict::try_from(p.try_clone().unwrap()).unwrap())
}

fn u64_of(dict: &Dict, key: &str) -> u64 {
    u64::try_from(dict[key].try_clone().unwrap()).unwrap()
}

fn string_of(dict: &Dict, key: &str) -> String {
    String::try_from(dict[key].try_clone().unwrap()).unwrap()
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
fn every_fandex1_method_answers_from_the_daemon() {
    let Some(bus) = test_bus() else { return };
    let setup = Setup::start(&bus, Config::default());
    let conn = client(&bus);
    assert_eq!(
        search(&conn, "kangaroo"),
        [
            setup.path("docs/kangaroo.txt"),
            setup.path("docs/report.txt")
        ]
    );
    let s = status(&conn);
    assert_eq!(string_of(&s, "state"), "watching");
    assert_eq!(u64_of(&s, "documents"), FILES.len() as u64);
    // Read-your-writes: a file written just before Sync is found right after it.
    std::fs::write(setup.path("new.txt"), "platypus eggs").unwrap();
    let generation: u64 = call(&conn, FANDEX_PATH, FANDEX_INTERFACE, "Sync", &(10_000u32,));
    assert!(generation > 0);
    assert_eq!(search(&conn, "platypus"), [setup.path("new.txt")]);
    // Pause (0: until Resume) shows in the status; Resume ends it.
    let () = call(&conn, FANDEX_PATH, FANDEX_INTERFACE, "Pause", &(0u32,));
    let p = paused(&conn).expect("paused after Pause");
    assert_eq!(string_of(&p, "reason"), "user");
    assert!(!p.contains_key("until_unix"), "no end: {p:?}");
    let () = call(&conn, FANDEX_PATH, FANDEX_INTERFACE, "Resume", &());
    assert!(paused(&conn).is_none());
}

type Match = (String, String, String, i32, f64, Dict);

#[test]
fn shell_providers_answer_from_the_daemon() {
    let Some(bus) = test_bus() else { return };
    let setup = Setup::start(&bus, Config::default());
    let conn = client(&bus);
    const GNOME: &str = "org.gnome.Shell.SearchProvider2";
    const KRUNNER: &str = "org.kde.krunner1";
    let id = |rel: &str| result_id::encode(&setup.path(rel), None);
    let mut initial: Vec<String> = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "GetInitialResultSet",
        &(vec!["budg"],),
    );
    initial.sort();
    let mut expected = vec![
        id("docs/report.txt"),
        id("notes/meeting.md"),
        id("notes/recipes.txt"),
    ];
    expected.sort();
    assert_eq!(initial, expected);
    let refined: Vec<String> = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "GetSubsearchResultSet",
        &(initial.clone(), vec!["budget", "kanga"]),
    );
    assert_eq!(refined, [id("docs/report.txt")]);
    let metas: Vec<Dict> = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "GetResultMetas",
        &(vec![id("docs/report.txt")],),
    );
    assert_eq!(string_of(&metas[0], "name"), "report.txt");
    assert_eq!(
        string_of(&metas[0], "description"),
        "Budget report for the kangaroo project"
    );
    let () = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "ActivateResult",
        &(id("docs/report.txt"), vec!["budget"], 0u32),
    );
    assert_eq!(
        setup.stand_ins.lines("opened.log", 1),
        [setup.path("docs/report.txt").display().to_string()]
    );

    let matches: Vec<Match> = call(&conn, KRUNNER_PATH, KRUNNER, "Match", &("sightings",));
    assert_eq!(matches.len(), 1, "{matches:?}");
    assert_eq!(matches[0].0, id("docs/kangaroo.txt"));
    let () = call(&conn, KRUNNER_PATH, KRUNNER, "Run", &(&matches[0].0, ""));
    assert_eq!(
        setup.stand_ins.lines("opened.log", 2)[1],
        setup.path("docs/kangaroo.txt").display().to_string()
    );
}

/// Collects the daemon's signals: (member, body as u64 when it has one).
fn signals(conn: &zbus::Connection) -> mpsc::Receiver<(String, Option<u64>)> {
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface(FANDEX_INTERFACE)
        .path(FANDEX_PATH)
        .build()
        .unwrap();
    let mut stream = zbus::block_on(zbus::MessageStream::for_match_rule(rule, conn, None)).unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        loop {
            let next = zbus::block_on(std::future::poll_fn(|cx| {
                futures_core::Stream::poll_next(std::pin::Pin::new(&mut stream), cx)
            }));
            let Some(Ok(message)) = next else { return };
            let member = message
                .header()
                .member()
                .map(|m| m.to_string())
                .unwrap_or_default();
            let body = message.body().deserialize::<u64>().ok();
            if tx.send((member, body)).is_err() {
                return;
            }
        }
    });
    rx
}

#[test]
fn index_updated_follows_a_change() {
    let Some(bus) = test_bus() else { return };
    let setup = Setup::start(&bus, Config::default());
    let conn = client(&bus);
    let rx = signals(&conn);
    std::fs::write(setup.path("echidna.txt"), "echidna spines").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let generation = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((member, Some(g))) if member == "IndexUpdated" => break g,
            Ok(_) => continue,
            Err(e) => panic!("no IndexUpdated after a change: {e}"),
        }
    };
    assert!(generation > 0);
    // The commit it announces made the file searchable.
    assert_eq!(search(&conn, "echidna"), [setup.path("echidna.txt")]);
}

#[test]
fn changes_wait_while_paused_and_converge_on_resume() {
    let Some(bus) = test_bus() else { return };
    let setup = Setup::start(&bus, Config::default());
    let conn = client(&bus);
    let rx = signals(&conn);
    let () = call(&conn, FANDEX_PATH, FANDEX_INTERFACE, "Pause", &(0u32,));
    assert!(
        eventually(Duration::from_secs(5), || rx
            .try_recv()
            .is_ok_and(|(m, _)| m == "StatusChanged")),
        "no StatusChanged after Pause"
    );
    std::fs::write(setup.path("wombat.txt"), "wombat burrow").unwrap();
    std::fs::remove_file(setup.path("docs/kangaroo.txt")).unwrap();
    // Recorded, not applied.
    assert!(
        eventually(Duration::from_secs(5), || paused(&conn)
            .is_some_and(|p| u64_of(&p, "waiting") >= 2)),
        "the changes are not shown waiting: {:?}",
        paused(&conn)
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(search(&conn, "wombat").is_empty());
    assert_eq!(
        search(&conn, "sightings"),
        [setup.path("docs/kangaroo.txt")]
    );
    let () = call(&conn, FANDEX_PATH, FANDEX_INTERFACE, "Resume", &());
    let _: u64 = call(&conn, FANDEX_PATH, FANDEX_INTERFACE, "Sync", &(10_000u32,));
    assert_eq!(search(&conn, "wombat"), [setup.path("wombat.txt")]);
    assert!(search(&conn, "sightings").is_empty());
    assert!(paused(&conn).is_none());
}

#[test]
fn a_timed_pause_ends_by_itself() {
    let Some(bus) = test_bus() else { return };
    let setup = Setup::start(&bus, Config::default());
    let conn = client(&bus);
    let () = call(&conn, FANDEX_PATH, FANDEX_INTERFACE, "Pause", &(2u32,));
    let p = paused(&conn).expect("paused");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let until = u64_of(&p, "until_unix");
    assert!((now + 1..=now + 3).contains(&until), "{until} vs {now}");
    std::fs::write(setup.path("quokka.txt"), "quokka smile").unwrap();
    std::thread::sleep(Duration::from_millis(700));
    assert!(search(&conn, "quokka").is_empty(), "applied while paused");
    assert!(
        eventually(Duration::from_secs(10), || !search(&conn, "quokka")
            .is_empty()),
        "the pause did not end by itself"
    );
    assert!(paused(&conn).is_none());
}

#[test]
fn on_battery_the_crawl_waits_but_live_changes_are_indexed() {
    let Some(bus) = test_bus() else { return };
    let supplies = tempfile::tempdir().unwrap();
    power(supplies.path(), true);
    let mut config = Config::default();
    config.daemon.on_battery = OnBattery::Pause;
    config.daemon.power_supply_dir = Some(supplies.path().to_owned());
    let setup = Setup::start(&bus, config);
    let conn = client(&bus);
    // The start-up walk waits: the files already there are not indexed.
    let s = status(&conn);
    assert!(bool::try_from(s["on_battery"].try_clone().unwrap()).unwrap());
    let p = paused(&conn).expect("paused on battery");
    assert_eq!(string_of(&p, "reason"), "battery");
    assert!(
        eventually(Duration::from_secs(5), || paused(&conn)
            .is_some_and(|p| u64_of(&p, "held_walks") == 1)),
        "the start-up walk is not held: {:?}",
        paused(&conn)
    );
    // A live change is indexed meanwhile.
    std::fs::write(setup.path("live.txt"), "dingo tracks").unwrap();
    assert!(
        eventually(Duration::from_secs(10), || search(&conn, "dingo")
            == [setup.path("live.txt")]),
        "a live change on battery was not indexed"
    );
    assert!(
        search(&conn, "kangaroo").is_empty(),
        "the crawl ran on battery"
    );
    // Mains power: the walk runs.
    power(supplies.path(), false);
    assert!(
        eventually(Duration::from_secs(15), || search(&conn, "kangaroo").len()
            == 2),
        "the walk did not run on mains power"
    );
    assert!(paused(&conn).is_none());
}

#[test]
fn throttled_on_battery_walks_go_on_one_per_gap_and_live_changes_at_once() {
    let Some(bus) = test_bus() else { return };
    let supplies = tempfile::tempdir().unwrap();
    power(supplies.path(), true);
    const GAP_SECS: u64 = 10;
    let mut config = Config::default();
    config.daemon.on_battery = OnBattery::Throttle;
    config.daemon.throttle_gap_secs = GAP_SECS;
    config.daemon.power_supply_dir = Some(supplies.path().to_owned());
    let setup = Setup::start(&bus, config.clone());
    let conn = client(&bus);
    // Bulk work goes on: the start-up walk ran on battery.
    let s = status(&conn);
    assert!(bool::try_from(s["on_battery"].try_clone().unwrap()).unwrap());
    assert_eq!(
        search(&conn, "kangaroo").len(),
        2,
        "the start-up walk did not run"
    );
    assert!(paused(&conn).is_none(), "nothing waits yet");
    let daemon = setup.daemon.as_ref().unwrap();
    // A reload rescans the root: the first walk starts at once...
    daemon.reload(config.clone()).unwrap();
    let _: u64 = call(&conn, FANDEX_PATH, FANDEX_INTERFACE, "Sync", &(10_000u32,));
    // ...the next one waits for the gap, shown as a held walk.
    daemon.reload(config.clone()).unwrap();
    let held_at = Instant::now();
    assert!(
        eventually(Duration::from_secs(1), || paused(&conn)
            .is_some_and(|p| u64_of(&p, "held_walks") == 1)),
        "the second walk is not held: {:?}",
        paused(&conn)
    );
    assert_eq!(string_of(&paused(&conn).unwrap(), "reason"), "battery");
    // A live change is indexed meanwhile, within the gap (checked below: the walk still waits).
    std::fs::write(setup.path("live.txt"), "numbat termites").unwrap();
    assert!(
        eventually(Duration::from_secs(GAP_SECS - 3), || search(
            &conn, "numbat"
        ) == [
            setup.path("live.txt")
        ]),
        "a live change waited for the throttled walk"
    );
    assert!(
        held_at.elapsed() < Duration::from_secs(GAP_SECS),
        "too slow to tell"
    );
    assert!(paused(&conn).is_some_and(|p| u64_of(&p, "held_walks") == 1));
    // After the gap, the held walk runs.
    assert!(
        eventually(Duration::from_secs(GAP_SECS + 10), || paused(&conn)
            .is_none()),
        "the throttled walk never ran: {:?}",
        paused(&conn)
    );
    assert!(
        held_at.elapsed() >= Duration::from_secs(GAP_SECS - 1),
        "the walk did not wait for the gap"
    );
}
