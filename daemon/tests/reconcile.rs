//! The start-up reconcile runs after the daemon is ready (issue 16): `Daemon::start` returns while the
//! reconcile is still walking, status says `reconciling`, searches answer from the index as it is, and
//! `sync` returns only once the reconcile is committed (read-your-writes holds across a start). The
//! reconcile is held in place by a document parser that waits for the test's word. The daemon watches
//! with inotify (no privileges needed). Rescans (issue 14) yield like the start-up walk: a pause or a stop
//! interrupts them, and they go on later.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use std::time::Instant;

use common::power;
use fandex_daemon::status::StatusReport;
use fandex_daemon::{Daemon, DaemonOptions};
use fandex_indexer::extract::{DocumentParser, ParseError};
use fandex_indexer::formats::{Document, Kind};
use fandex_indexer::{Config, IndexDir};
use fandex_query::SearchRequest;
use fandex_query::protocol::status::{PauseReason, State, WorkKind};
use fandex_watcher::{Backend, RenameSource};

/// A parser that answers only once the test opens the gate (and says when it was called, and counts
/// its calls).
#[derive(Debug, Default)]
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
    called: Mutex<Option<mpsc::Sender<()>>>,
    calls: AtomicUsize,
}

impl Gate {
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

impl DocumentParser for Gate {
    fn parse(&self, _file: &File, _name: &[u8], _kind: Kind) -> Result<Document, ParseError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(called) = self.called.lock().unwrap().take() {
            let _ = called.send(());
        }
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
        let mut doc = Document::new("application/pdf");
        doc.text = "the wombat report".into();
        Ok(doc)
    }
}

fn hits(daemon: &Daemon, query: &str) -> Vec<PathBuf> {
    let request = SearchRequest {
        query: query.into(),
        limit: 100,
        ..SearchRequest::default()
    };
    let mut paths: Vec<PathBuf> = daemon
        .searcher()
        .search(&request)
        .unwrap()
        .hits
        .into_iter()
        .map(|hit| hit.path)
        .collect();
    paths.sort();
    paths
}

/// How many files match `query` in all.
fn total(daemon: &Daemon, query: &str) -> usize {
    let request = SearchRequest {
        query: query.into(),
        limit: 1,
        ..SearchRequest::default()
    };
    daemon.searcher().search(&request).unwrap().total
}

/// A root directory `root` under `tmp`, canonical (the daemon keeps roots that way).
fn make_root(tmp: &Path) -> PathBuf {
    let root = tmp.join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::canonicalize(&root).unwrap()
}

/// A daemon on inotify over `root`, its index in `index_dir`, documents parsed by `parser` (the
/// sandboxed default without one).
fn daemon_options(
    root: &Path,
    index_dir: &Path,
    parser: Option<Arc<dyn DocumentParser>>,
) -> DaemonOptions {
    DaemonOptions {
        index_dir: IndexDir::at(index_dir),
        config: Config::default(),
        roots: vec![root.to_owned()],
        backend: Some(Backend::Inotify),
        rename_source: Some(RenameSource::Inotify),
        listen: false,
        parser,
        dbus: None,
    }
}

fn state(report: &StatusReport) -> State {
    report.state
}

#[test]
fn ready_before_the_reconcile_and_sync_waits_for_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = make_root(tmp.path());
    std::fs::write(root.join("old.txt"), "an aardvark").unwrap();
    let index_dir = tmp.path().join("index");
    let options = |parser| daemon_options(&root, &index_dir, parser);
    // A first run indexes `old.txt`.
    let first = Daemon::start(options(None)).unwrap();
    first.sync(Duration::from_secs(30)).unwrap();
    assert_eq!(hits(&first, "aardvark"), [root.join("old.txt")]);
    first.stop().unwrap();

    // While no daemon runs: a new text file and a document whose parsing the gate holds.
    std::fs::write(root.join("new.txt"), "a new numbat").unwrap();
    std::fs::write(root.join("report.pdf"), b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n").unwrap();
    let gate = Arc::new(Gate::default());
    let (called_tx, called) = mpsc::channel();
    *gate.called.lock().unwrap() = Some(called_tx);

    // Start returns although the reconcile cannot finish (it waits in the parser).
    let (started_tx, started) = mpsc::channel();
    let parser: Arc<dyn DocumentParser> = gate.clone();
    let starting = options(Some(parser));
    std::thread::spawn(move || {
        let _ = started_tx.send(Daemon::start(starting));
    });
    let daemon = match started.recv_timeout(Duration::from_secs(30)) {
        Ok(daemon) => daemon.unwrap(),
        Err(_) => {
            gate.open();
            panic!("Daemon::start waited for the reconcile");
        }
    };
    called
        .recv_timeout(Duration::from_secs(30))
        .expect("the reconcile reached the document");
    assert_eq!(state(&daemon.status()), State::Reconciling);
    assert!(daemon.status().reconcile_seconds.is_none());
    // Searches answer from the index the last run left.
    assert_eq!(hits(&daemon, "aardvark"), [root.join("old.txt")]);

    // A sync now must wait for the reconcile.
    let daemon = Arc::new(daemon);
    let (synced_tx, synced) = mpsc::channel();
    let syncing = {
        let daemon = daemon.clone();
        std::thread::spawn(move || {
            let _ = synced_tx.send(daemon.sync(Duration::from_secs(60)));
        })
    };
    let early = synced.recv_timeout(Duration::from_millis(1500));
    gate.open();
    assert!(
        early.is_err(),
        "sync returned during the reconcile: {early:?}"
    );
    synced
        .recv_timeout(Duration::from_secs(60))
        .expect("sync returned")
        .expect("sync succeeded");
    syncing.join().unwrap();
    // Everything the reconcile found is searchable once sync returned.
    assert_eq!(hits(&daemon, "numbat"), [root.join("new.txt")]);
    assert_eq!(hits(&daemon, "wombat"), [root.join("report.pdf")]);
    let report = daemon.status();
    assert_eq!(state(&report), State::Watching);
    assert!(report.reconcile_seconds.is_some());
    assert_eq!(report.reconcile.expect("reconcile counts").indexed, 2);
    Arc::try_unwrap(daemon)
        .ok()
        .expect("the sync thread let go")
        .stop()
        .unwrap();
}

/// Documents the start-up walk must read through the gate: many more than it reads at once.
const HELD_FILES: usize = 600;

/// A fresh index over [`HELD_FILES`] documents, and a daemon whose start-up walk has reached the first
/// of them and waits in the gate. Returns the daemon, the gate and the options to start again with.
fn start_held(tmp: &Path) -> (Daemon, Arc<Gate>, impl Fn(Arc<Gate>) -> DaemonOptions) {
    let root = make_root(tmp);
    for i in 0..HELD_FILES {
        std::fs::write(
            root.join(format!("r{i}.pdf")),
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
        )
        .unwrap();
    }
    let index_dir = tmp.join("index");
    let options = move |gate: Arc<Gate>| daemon_options(&root, &index_dir, Some(gate));
    let gate = Arc::new(Gate::default());
    let (called_tx, called) = mpsc::channel();
    *gate.called.lock().unwrap() = Some(called_tx);
    let daemon = Daemon::start(options(gate.clone())).unwrap();
    if called.recv_timeout(Duration::from_secs(60)).is_err() {
        gate.open();
        panic!("the start-up walk never reached a document");
    }
    assert_eq!(daemon.status().state, State::Reconciling);
    (daemon, gate, options)
}

/// An open gate: every document parses at once.
fn open_gate() -> Arc<Gate> {
    let gate = Arc::new(Gate::default());
    gate.open();
    gate
}

/// Stops `daemon` while a walk of [`HELD_FILES`] documents is held at `gate`: the stop interrupts the
/// walk at once (the documents being read when it was asked finish and are committed), and the next
/// start reads the rest.
fn stop_interrupts_the_walk(
    daemon: Daemon,
    gate: &Gate,
    options: impl Fn(Arc<Gate>) -> DaemonOptions,
    walk: &str,
) {
    let (stopped_tx, stopped) = mpsc::channel();
    let asked = Instant::now();
    std::thread::spawn(move || {
        let _ = stopped_tx.send(daemon.stop());
    });
    std::thread::sleep(Duration::from_millis(500));
    gate.open();
    stopped
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("the stop waited for the {walk}"))
        .expect("a clean stop");
    let calls = gate.calls.load(Ordering::SeqCst);
    assert!(
        calls < HELD_FILES / 2,
        "{calls} of {HELD_FILES} documents were read after the stop was asked {:?} ago",
        asked.elapsed()
    );
    // Nothing is lost: the next start reads the rest.
    let daemon = Daemon::start(options(open_gate())).unwrap();
    daemon.sync(Duration::from_secs(120)).unwrap();
    assert_eq!(total(&daemon, "wombat"), HELD_FILES);
    daemon.stop().unwrap();
}

#[test]
fn a_stop_does_not_wait_for_the_start_up_walk() {
    let tmp = tempfile::tempdir().unwrap();
    let (daemon, gate, options) = start_held(tmp.path());
    stop_interrupts_the_walk(daemon, &gate, options, "walk");
}

#[test]
fn a_pause_holds_the_start_up_walk_until_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let (daemon, gate, _options) = start_held(tmp.path());
    daemon.pause(None);
    std::thread::sleep(Duration::from_millis(500));
    gate.open();
    // Paused: the walk reads no further (what was being read when it paused is committed).
    std::thread::sleep(Duration::from_secs(2));
    let calls = gate.calls.load(Ordering::SeqCst);
    assert!(
        calls < HELD_FILES / 2,
        "{calls} of {HELD_FILES} documents read while paused"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        gate.calls.load(Ordering::SeqCst),
        calls,
        "reading went on while paused"
    );
    assert_eq!(daemon.status().state, State::Reconciling);
    // Resumed: the walk goes on, and a sync waits for it.
    daemon.resume();
    daemon.sync(Duration::from_secs(120)).unwrap();
    assert_eq!(total(&daemon, "wombat"), HELD_FILES);
    assert_eq!(daemon.status().state, State::Watching);
    daemon.stop().unwrap();
}

/// A daemon over [`HELD_FILES`] documents that its configuration first excluded, reloaded with `config`
/// (no exclusion): the reload's rescan of the root has reached the first document and waits in the gate.
fn rescan_held(
    tmp: &Path,
    config: Config,
) -> (Daemon, Arc<Gate>, impl Fn(Arc<Gate>) -> DaemonOptions) {
    let root = make_root(tmp);
    for i in 0..HELD_FILES {
        std::fs::write(
            root.join(format!("r{i}.pdf")),
            b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
        )
        .unwrap();
    }
    let index_dir = tmp.join("index");
    let options = move |gate: Arc<Gate>| daemon_options(&root, &index_dir, Some(gate));
    let gate = Arc::new(Gate::default());
    let (called_tx, called) = mpsc::channel();
    *gate.called.lock().unwrap() = Some(called_tx);
    let mut excluding = options(gate.clone());
    excluding.config = config.clone();
    excluding.config.index.exclude = vec!["*.pdf".into()];
    let daemon = Daemon::start(excluding).unwrap();
    daemon.sync(Duration::from_secs(30)).unwrap();
    assert_eq!(gate.calls.load(Ordering::SeqCst), 0);
    daemon.reload(config).unwrap();
    if called.recv_timeout(Duration::from_secs(60)).is_err() {
        gate.open();
        panic!("the rescan never reached a document");
    }
    let progress = daemon.status().progress.expect("work in hand");
    assert_eq!(progress.kind, WorkKind::Rescan);
    (daemon, gate, options)
}

#[test]
fn a_pause_interrupts_a_rescan_until_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let (daemon, gate, _options) = rescan_held(tmp.path(), Config::default());
    daemon.pause(None);
    std::thread::sleep(Duration::from_millis(500));
    gate.open();
    // Paused: the rescan reads no further (what was being read when it paused is committed).
    std::thread::sleep(Duration::from_secs(2));
    let calls = gate.calls.load(Ordering::SeqCst);
    assert!(
        calls < HELD_FILES / 2,
        "{calls} of {HELD_FILES} documents read while paused"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        gate.calls.load(Ordering::SeqCst),
        calls,
        "reading went on while paused"
    );
    // Status: paused by the user with the walk held, no work in hand, nothing failed.
    let report = daemon.status();
    let paused = report.paused.expect("paused");
    assert_eq!(paused.reason, PauseReason::User);
    assert_eq!(paused.held_walks, 1, "{paused:?}");
    assert!(report.progress.is_none(), "{:?}", report.progress);
    assert_eq!(report.last_error, None);
    // Resumed: the rescan goes on, and a sync waits for it.
    daemon.resume();
    daemon.sync(Duration::from_secs(120)).unwrap();
    assert_eq!(total(&daemon, "wombat"), HELD_FILES);
    let report = daemon.status();
    assert!(report.paused.is_none(), "{:?}", report.paused);
    assert_eq!(report.last_error, None);
    daemon.stop().unwrap();
}

#[test]
fn a_stop_does_not_wait_for_a_rescan() {
    let tmp = tempfile::tempdir().unwrap();
    let (daemon, gate, options) = rescan_held(tmp.path(), Config::default());
    stop_interrupts_the_walk(daemon, &gate, options, "rescan");
}

#[test]
fn unplugging_interrupts_a_rescan_until_mains_power() {
    let tmp = tempfile::tempdir().unwrap();
    let supplies = tempfile::tempdir().unwrap();
    power(supplies.path(), false);
    let mut config = Config::default();
    config.daemon.on_battery = fandex_indexer::config::OnBattery::Pause;
    config.daemon.power_supply_dir = Some(supplies.path().to_owned());
    let (daemon, gate, _options) = rescan_held(tmp.path(), config);
    power(supplies.path(), true);
    let unplugged = Instant::now();
    while !daemon.status().on_battery {
        if unplugged.elapsed() > Duration::from_secs(10) {
            gate.open();
            panic!("the daemon never saw the battery");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    gate.open();
    // On battery: the rescan reads no further, and waits for mains power as a held walk.
    std::thread::sleep(Duration::from_secs(2));
    let calls = gate.calls.load(Ordering::SeqCst);
    assert!(
        calls < HELD_FILES / 2,
        "{calls} of {HELD_FILES} documents read on battery"
    );
    let report = daemon.status();
    let paused = report.paused.expect("paused on battery");
    assert_eq!(paused.reason, PauseReason::Battery);
    assert_eq!(paused.held_walks, 1, "{paused:?}");
    assert_eq!(report.last_error, None);
    // Mains power: the rescan goes on and finishes.
    power(supplies.path(), false);
    daemon.sync(Duration::from_secs(120)).unwrap();
    assert_eq!(total(&daemon, "wombat"), HELD_FILES);
    daemon.stop().unwrap();
}
