//! org.fandex.Fandex1 called over a private bus: Search with options, Status, the daemon-only calls,
//! signals, deadlines against a hung backend, and the live introspection against the shipped XML.

mod common;

use std::collections::HashMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use fandex_dbus::names::{FANDEX_INTERFACE, FANDEX_PATH, KRUNNER_PATH, SEARCH_PROVIDER_PATH};
use fandex_dbus::{Backend, BackendError};
use fandex_query::{SearchRequest, SearchResults};
use zbus::OwnedVariant;

type Dict = HashMap<String, OwnedVariant>;

fn opts(entries: Vec<(&str, zbus::Variant<'static>)>) -> Dict {
    entries
        .into_iter()
        .map(|(k, v)| (k.to_owned(), OwnedVariant::try_from(v).unwrap()))
        .collect()
}

fn search(conn: &zbus::Connection, query: &str, options: Dict) -> zbus::Result<(u64, Vec<Dict>)> {
    call(
        conn,
        FANDEX_PATH,
        FANDEX_INTERFACE,
        "Search",
        &(query, options),
    )
}

fn hit_path(hit: &Dict) -> PathBuf {
    let bytes = Vec::<u8>::try_from(hit["path"].try_clone().unwrap()).unwrap();
    PathBuf::from(OsStr::from_bytes(&bytes))
}

#[test]
fn search_with_options_and_status() {
    let Some(bus) = test_bus() else { return };
    let _service = serve_index(&bus, StandIns::new().desktop());
    let conn = client(&bus);

    let (total, hits) = search(&conn, "budget", Dict::new()).unwrap();
    assert_eq!(total, 3);
    assert_eq!(hits.len(), 3);
    assert!(hits.iter().all(|h| is_fixture_file(&hit_path(h))));
    let report = hits
        .iter()
        .find(|h| hit_path(h) == path_of("docs/report.html"))
        .unwrap();
    assert_eq!(
        string(report, "snippet"),
        "Budget report for the kangaroo project"
    );
    let highlights =
        Vec::<(u32, u32)>::try_from(report["highlights"].try_clone().unwrap()).unwrap();
    assert_eq!(highlights, vec![(0, 6)]);
    assert!(f64::try_from(&report["score"]).unwrap() > 0.0);
    assert_eq!(u64::try_from(&report["size"]).unwrap(), 45);
    assert!(u64::try_from(&report["file_id"]).is_ok());
    assert!(i64::try_from(&report["mtime_ns"]).unwrap() > 0);

    let limited = opts(vec![("limit", 1u32.into()), ("snippets", false.into())]);
    let (total, hits) = search(&conn, "budget", limited).unwrap();
    assert_eq!((total, hits.len()), (3, 1));
    assert_eq!(string(&hits[0], "snippet"), "");

    let cwd = fixture().root.as_os_str().as_bytes().to_vec();
    let relative = opts(vec![("cwd", cwd.into()), ("limit", 10i64.into())]);
    let (total, hits) = search(&conn, "budget path:notes", relative).unwrap();
    assert_eq!(total, 2);
    assert!(
        hits.iter()
            .all(|h| hit_path(h).starts_with(path_of("notes")))
    );

    let home = opts(vec![(
        "home",
        fixture().root.as_os_str().as_bytes().to_vec().into(),
    )]);
    let (total, _) = search(&conn, "budget path:~/docs", home).unwrap();
    assert_eq!(total, 1);

    for (query, options) in [
        ("budget", opts(vec![("offset", 1u32.into())])),
        ("budget", opts(vec![("limit", "ten".into())])),
        ("budget", opts(vec![("limit", (-1i32).into())])),
        ("(budget", Dict::new()),
        ("budget", opts(vec![("limit", 100_000_000u64.into())])),
    ] {
        let err = search(&conn, query, options).unwrap_err();
        assert_eq!(
            error_name(&err),
            "org.freedesktop.DBus.Error.InvalidArgs",
            "{query}: {err}"
        );
    }

    let status: Dict = call(&conn, FANDEX_PATH, FANDEX_INTERFACE, "Status", &()).unwrap();
    assert_eq!(
        u64::try_from(&status["documents"]).unwrap(),
        (FILES.len() + FILLER) as u64
    );
    assert!(!bool::try_from(&status["daemon"]).unwrap());
}

#[test]
fn daemon_only_calls_say_so() {
    let Some(bus) = test_bus() else { return };
    let _service = serve_index(&bus, StandIns::new().desktop());
    let conn = client(&bus);
    let errors = [
        call::<_, u64>(&conn, FANDEX_PATH, FANDEX_INTERFACE, "Sync", &(1000u32,)).map(|_| ()),
        call::<_, ()>(&conn, FANDEX_PATH, FANDEX_INTERFACE, "Pause", &(60u32,)),
        call::<_, ()>(&conn, FANDEX_PATH, FANDEX_INTERFACE, "Resume", &()),
    ];
    for (err, what) in errors.into_iter().zip(["sync", "pause", "resume"]) {
        let err = err.unwrap_err();
        assert_eq!(error_name(&err), "org.freedesktop.DBus.Error.NotSupported");
        assert!(
            err.to_string()
                .contains(&format!("{what} is not supported without the daemon")),
            "{err}"
        );
    }
}

/// A backend that records daemon calls and hangs on searches whose query is "hang".
struct FakeDaemon {
    calls: std::sync::Mutex<Vec<String>>,
}

impl Backend for FakeDaemon {
    fn search(&self, request: &SearchRequest) -> Result<SearchResults, BackendError> {
        if request.query.contains("hang") {
            std::thread::sleep(Duration::from_secs(3));
        }
        Ok(SearchResults {
            hits: vec![],
            total: 0,
            suggestion: None,
        })
    }
    fn status(&self) -> Result<serde_json::Value, BackendError> {
        Ok(
            serde_json::json!({"paused": true, "until": null, "backlog": 12, "roots": ["/a", "/b"],
            "queue": {"depth": -1, "rate": 1.5}}),
        )
    }
    fn sync(&self, timeout: Duration) -> Result<u64, BackendError> {
        self.calls.lock().unwrap().push(format!("sync {timeout:?}"));
        Ok(42)
    }
    fn pause(&self, duration: Option<Duration>) -> Result<(), BackendError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("pause {duration:?}"));
        Ok(())
    }
    fn resume(&self) -> Result<(), BackendError> {
        self.calls.lock().unwrap().push("resume".into());
        Err(BackendError::Unavailable("stopping".into()))
    }
}

#[test]
fn daemon_calls_reach_the_backend_and_a_hung_search_does_not_block_the_bus() {
    let Some(bus) = test_bus() else { return };
    let backend = Arc::new(FakeDaemon {
        calls: Default::default(),
    });
    let options = fandex_dbus::ServiceOptions {
        bus: fandex_dbus::Bus::Address(bus.address.clone()),
        desktop: StandIns::new().desktop(),
        provider_deadline: Duration::from_millis(100),
        api_deadlines: fandex_dbus::api::ApiDeadlines {
            call: Duration::from_millis(300),
            sync_margin: Duration::from_millis(100),
        },
        max_in_flight: 3,
    };
    let _service = fandex_dbus::Service::start(backend.clone(), options).unwrap();
    let conn = client(&bus);

    assert_eq!(
        call::<_, u64>(&conn, FANDEX_PATH, FANDEX_INTERFACE, "Sync", &(250u32,)).unwrap(),
        42
    );
    call::<_, ()>(&conn, FANDEX_PATH, FANDEX_INTERFACE, "Pause", &(0u32,)).unwrap();
    call::<_, ()>(&conn, FANDEX_PATH, FANDEX_INTERFACE, "Pause", &(90u32,)).unwrap();
    let err = call::<_, ()>(&conn, FANDEX_PATH, FANDEX_INTERFACE, "Resume", &()).unwrap_err();
    assert_eq!(
        error_name(&err),
        "org.freedesktop.DBus.Error.LimitsExceeded"
    );
    assert_eq!(
        *backend.calls.lock().unwrap(),
        ["sync 250ms", "pause None", "pause Some(90s)", "resume"]
    );
    let status: Dict = call(&conn, FANDEX_PATH, FANDEX_INTERFACE, "Status", &()).unwrap();
    assert!(bool::try_from(&status["paused"]).unwrap());
    assert!(!status.contains_key("until"), "nulls are left out");
    assert_eq!(u64::try_from(&status["backlog"]).unwrap(), 12);
    let queue = Dict::try_from(status["queue"].try_clone().unwrap()).unwrap();
    assert_eq!(i64::try_from(&queue["depth"]).unwrap(), -1);

    // A hung search: the provider answers "nothing ready" at its deadline, the API a timeout.
    let started = Instant::now();
    let ids: Vec<String> = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        "org.gnome.Shell.SearchProvider2",
        "GetInitialResultSet",
        &(vec!["hang"],),
    )
    .unwrap();
    assert!(ids.is_empty());
    let err = search_err(&conn, "hang");
    assert_eq!(error_name(&err), "org.freedesktop.DBus.Error.TimedOut");
    // Meanwhile the bus still answers at once.
    let quick = Instant::now();
    let _: Vec<(String, String, String)> =
        call(&conn, KRUNNER_PATH, "org.kde.krunner1", "Actions", &()).unwrap();
    assert!(
        quick.elapsed() < Duration::from_millis(200),
        "{:?}",
        quick.elapsed()
    );
    // Two hung searches are still running: the third slot is the last one, then calls are refused.
    let _ = search_err(&conn, "hang");
    let err = search_err(&conn, "hang");
    assert_eq!(
        error_name(&err),
        "org.freedesktop.DBus.Error.LimitsExceeded"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

fn search_err(conn: &zbus::Connection, query: &str) -> zbus::Error {
    call::<_, (u64, Vec<Dict>)>(
        conn,
        FANDEX_PATH,
        FANDEX_INTERFACE,
        "Search",
        &(query, Dict::new()),
    )
    .unwrap_err()
}

#[test]
fn signals_reach_subscribers() {
    let Some(bus) = test_bus() else { return };
    let service = serve_index(&bus, StandIns::new().desktop());
    let conn = client(&bus);
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface(FANDEX_INTERFACE)
        .path(FANDEX_PATH)
        .build()
        .unwrap();
    let mut stream =
        zbus::block_on(zbus::MessageStream::for_match_rule(rule, &conn, None)).unwrap();
    service.index_updated(7).unwrap();
    service.status_changed().unwrap();
    let mut next = || {
        zbus::block_on(std::future::poll_fn(|cx| {
            futures_core::Stream::poll_next(std::pin::Pin::new(&mut stream), cx)
        }))
        .unwrap()
        .unwrap()
    };
    let first = next();
    assert_eq!(first.header().member().unwrap().as_str(), "IndexUpdated");
    assert_eq!(first.body().deserialize::<u64>().unwrap(), 7);
    let second = next();
    assert_eq!(second.header().member().unwrap().as_str(), "StatusChanged");
}

/// (kind, name, [(direction, type)]): one method or signal.
type Member = (String, String, Vec<(String, String)>);

/// Each method and signal of `interface` in introspection XML, sorted.
fn members(xml: &str, interface: &str) -> Vec<Member> {
    let start = xml
        .find(&format!("<interface name=\"{interface}\""))
        .unwrap_or_else(|| panic!("{interface} missing from {xml}"));
    let body = &xml[start..start + xml[start..].find("</interface>").unwrap()];
    let attr = |tag: &str, name: &str| -> Option<String> {
        let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(tag[at..at + tag[at..].find('"')?].to_owned())
    };
    let mut out: Vec<Member> = Vec::new();
    for tag in body.split('<').map(|t| t.split('>').next().unwrap_or("")) {
        if let Some(kind) = ["method ", "signal "].iter().find(|k| tag.starts_with(**k)) {
            out.push((
                kind.trim().to_owned(),
                attr(tag, "name").unwrap(),
                Vec::new(),
            ));
        } else if tag.starts_with("arg ") {
            let direction = attr(tag, "direction").unwrap_or_else(|| "out".into());
            out.last_mut()
                .unwrap()
                .2
                .push((direction, attr(tag, "type").unwrap()));
        }
    }
    out.sort();
    out
}

fn introspect(conn: &zbus::Connection, path: &str) -> String {
    call(
        conn,
        path,
        "org.freedesktop.DBus.Introspectable",
        "Introspect",
        &(),
    )
    .unwrap()
}

#[test]
fn served_interfaces_match_the_xml_and_the_specs() {
    let Some(bus) = test_bus() else { return };
    let _service = serve_index(&bus, StandIns::new().desktop());
    let conn = client(&bus);

    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist/org.fandex.Fandex1.xml"),
    )
    .unwrap();
    assert_eq!(
        members(&introspect(&conn, FANDEX_PATH), FANDEX_INTERFACE),
        members(&shipped, FANDEX_INTERFACE)
    );

    let s = |v: &[(&str, &str)]| {
        v.iter()
            .map(|(d, t)| (d.to_string(), t.to_string()))
            .collect::<Vec<_>>()
    };
    let method =
        |name: &str, args: &[(&str, &str)]| ("method".to_owned(), name.to_owned(), s(args));
    // org.gnome.Shell.SearchProvider2 as gnome-shell's data/dbus-interfaces defines it.
    let mut gnome = vec![
        method("GetInitialResultSet", &[("in", "as"), ("out", "as")]),
        method(
            "GetSubsearchResultSet",
            &[("in", "as"), ("in", "as"), ("out", "as")],
        ),
        method("GetResultMetas", &[("in", "as"), ("out", "aa{sv}")]),
        method("ActivateResult", &[("in", "s"), ("in", "as"), ("in", "u")]),
        method("LaunchSearch", &[("in", "as"), ("in", "u")]),
    ];
    gnome.sort();
    assert_eq!(
        members(
            &introspect(&conn, SEARCH_PROVIDER_PATH),
            "org.gnome.Shell.SearchProvider2"
        ),
        gnome
    );
    // org.kde.krunner1 as krunner's src/data/org.kde.krunner1.xml defines it.
    let mut krunner = vec![
        method("Actions", &[("out", "a(sss)")]),
        method("Match", &[("in", "s"), ("out", "a(sssida{sv})")]),
        method("Run", &[("in", "s"), ("in", "s")]),
    ];
    krunner.sort();
    assert_eq!(
        members(&introspect(&conn, KRUNNER_PATH), "org.kde.krunner1"),
        krunner
    );
}

#[test]
fn a_second_service_cannot_take_the_name() {
    let Some(bus) = test_bus() else { return };
    let _first = serve_index(&bus, StandIns::new().desktop());
    let backend = fandex_dbus::IndexBackend::open(
        fixture().index.clone(),
        &fandex_indexer::Config::default(),
    )
    .unwrap();
    let options = fandex_dbus::ServiceOptions {
        bus: fandex_dbus::Bus::Address(bus.address.clone()),
        ..Default::default()
    };
    let err = fandex_dbus::Service::start(Arc::new(backend), options).unwrap_err();
    assert!(err.to_string().contains("D-Bus"), "{err}");
}

#[test]
fn the_index_backend_blends_relevance_as_the_configuration_says() {
    // A strong name boost and no recency: a hit whose name holds the word scores 11 times its text
    // score, the others their text score.
    let mut config = fandex_indexer::Config::default();
    config.rank.name = 10.0;
    config.rank.recency = 0.0;
    let index = fixture().index.clone();
    let backend = fandex_dbus::IndexBackend::open(index.clone(), &config).unwrap();
    let mut text_only = config.clone();
    text_only.rank.name = 0.0;
    let (plain, _) = fandex_dbus::open_searcher(&index, &text_only).unwrap();
    let request = SearchRequest {
        query: "kangaroo".into(),
        limit: 10,
        cwd: PathBuf::from("/"),
        snippets: false,
        ..SearchRequest::default()
    };
    let blended = backend.search(&request).unwrap();
    let plain = plain.search(&request).unwrap();
    assert_eq!(blended.total, 2);
    let text_score = |path: &Path| {
        plain
            .hits
            .iter()
            .find(|h| h.path == path)
            .map(|h| f64::from(h.score))
            .unwrap()
    };
    for hit in &blended.hits {
        let in_name = hit
            .path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .contains("kangaroo");
        let factor = if in_name { 11.0 } else { 1.0 };
        let expected = text_score(&hit.path) * factor;
        assert!(
            (f64::from(hit.score) - expected).abs() <= expected * 1e-6,
            "{}: {} against {expected}",
            hit.path.display(),
            hit.score
        );
    }
    assert!(
        blended
            .hits
            .iter()
            .any(|h| h.path.ends_with("docs/kangaroo.txt"))
    );
}
