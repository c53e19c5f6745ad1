//! Shared by the bus tests: a private `dbus-daemon` per test, an index whose contents the tests know,
//! stand-in desktop programs that record what they were asked, and a client.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use fandex_dbus::{Backend, Bus, Desktop, IndexBackend, Service, ServiceOptions};
use fandex_indexer::engine::{Progress, UpdateRequest};
use fandex_indexer::{Config, Engine, IndexDir};
use zbus::OwnedVariant;

/// Files of the test index that are not filler: (relative path, text).
pub const FILES: &[(&str, &str)] = &[
    (
        "notes/meeting-2024.md",
        "Quarterly budget meeting with the finance team",
    ),
    ("notes/recipes.txt", "Lemon cake recipe, within budget"),
    (
        "docs/report.html",
        "<p>Budget report for the kangaroo project</p>",
    ),
    ("docs/kangaroo.txt", "Kangaroo sightings log"),
];
/// Filler files, so the index holds a few thousand documents.
pub const FILLER: usize = 3_000;

/// A `dbus-daemon` of the test's own, stopped on drop.
pub struct TestBus {
    child: Child,
    pub address: String,
}

impl Drop for TestBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a private session bus; `None` (skip) when `dbus-daemon` is missing, a failure under `CI=true`.
pub fn test_bus() -> Option<TestBus> {
    let spawned = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
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
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("dbus-daemon prints its address");
    let address = line.trim().to_owned();
    assert!(!address.is_empty(), "dbus-daemon printed no address");
    Some(TestBus { child, address })
}

/// The shared test index: its root (holding [`FILES`] and the filler) and its directory.
pub struct Fixture {
    pub root: PathBuf,
    pub index: IndexDir,
}

/// Builds the index once per test binary.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let base = fixture_dir();
        let root = base.join("files");
        for (rel, text) in FILES {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
        }
        let filler = root.join("filler");
        std::fs::create_dir_all(&filler).unwrap();
        for i in 0..FILLER {
            std::fs::write(
                filler.join(format!("filler{i}.txt")),
                format!("filler number{i} about topic{} and lorem ipsum", i % 50),
            )
            .unwrap();
        }
        let index = IndexDir::at(base.join("index"));
        let started = Instant::now();
        let mut engine = Engine::open(index.clone(), Config::default()).unwrap();
        let request = UpdateRequest {
            add_roots: vec![root.clone()],
            forget_roots: vec![],
        };
        engine.update(&request, &Progress::default()).unwrap();
        engine.close().unwrap();
        eprintln!(
            "indexed {} files in {:?}",
            FILES.len() + FILLER,
            started.elapsed()
        );
        Fixture {
            root: std::fs::canonicalize(&root).unwrap(),
            index,
        }
    })
}

/// This process's fixture directory under the target's tmp, made empty. A static is never dropped, so
/// the directories of earlier test processes (their pid no longer running) are removed here.
fn fixture_dir() -> PathBuf {
    const PREFIX: &str = "fandex-dbus-fixture-";
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    for entry in std::fs::read_dir(tmp).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix(PREFIX)
            && !Path::new("/proc").join(pid).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let base = tmp.join(format!("{PREFIX}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    base
}

/// A directory of stand-in desktop programs (`xdg-open`, `wl-copy`) that append what they got to
/// `opened.log` and `copied.log` in it.
pub struct StandIns {
    pub dir: tempfile::TempDir,
}

impl StandIns {
    pub fn new() -> Self {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let log = |name: &str| dir.path().join(name).display().to_string();
        let scripts = [
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
        ];
        for (name, body) in scripts {
            let path = dir.path().join(name);
            std::fs::write(&path, body).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Self { dir }
    }

    pub fn desktop(&self) -> Desktop {
        Desktop::with_search_path(self.dir.path())
    }

    /// The lines the programs wrote to `log`, waiting up to 15 s for `count` of them.
    pub fn lines(&self, log: &str, count: usize) -> Vec<String> {
        let path = self.dir.path().join(log);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<String> = text.lines().map(str::to_owned).collect();
            if lines.len() >= count || Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Serves `backend` on `bus` with `desktop` and a shorter provider deadline than the default.
pub fn serve(bus: &TestBus, backend: Arc<dyn Backend>, desktop: Desktop) -> Service {
    let options = ServiceOptions {
        bus: Bus::Address(bus.address.clone()),
        desktop,
        ..ServiceOptions::default()
    };
    Service::start(backend, options).unwrap()
}

/// Serves the fixture index.
pub fn serve_index(bus: &TestBus, desktop: Desktop) -> Service {
    let backend = IndexBackend::open(fixture().index.clone(), &Config::default()).unwrap();
    serve(bus, Arc::new(backend), desktop)
}

/// A client connection to `bus`.
pub fn client(bus: &TestBus) -> zbus::Connection {
    zbus::block_on(zbus::connection::Builder::address(bus.address.as_str()).build()).unwrap()
}

/// Calls `method` of `interface` at `path` of `org.fandex.Fandex` with `body`.
pub fn call<B, R>(
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
    zbus::block_on(async {
        let reply = conn
            .call_method(
                Some("org.fandex.Fandex"),
                path,
                Some(interface),
                method,
                body,
            )
            .await?;
        reply.body().deserialize::<R>()
    })
}

/// The D-Bus error name of a failed call.
pub fn error_name(err: &zbus::Error) -> String {
    match err {
        zbus::Error::MethodError(name, _, _) => name.to_string(),
        zbus::Error::FDO(e) => zbus::DBusError::name(e.as_ref()).to_string(),
        other => format!("not a method error: {other}"),
    }
}

/// The path of a fixture file.
pub fn path_of(rel: &str) -> PathBuf {
    fixture().root.join(rel)
}

/// A string value of a dictionary.
pub fn string(dict: &HashMap<String, OwnedVariant>, key: &str) -> String {
    String::try_from(dict[key].try_clone().unwrap()).unwrap()
}

/// Whether `path` is one of the fixture's files named in [`FILES`].
pub fn is_fixture_file(path: &Path) -> bool {
    FILES.iter().any(|(rel, _)| path_of(rel) == path)
}
