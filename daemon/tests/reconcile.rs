//! The start-up reconcile runs after the daemon is ready (issue 16): `Daemon::start` returns while the
//! reconcile is still walking, status says `reconciling`, searches answer from the index as it is, and
//! `sync` returns only once the reconcile is committed (read-your-writes holds across a start). The
//! reconcile is held in place by a document parser that waits for the test's word. The daemon watches
//! with inotify (no privileges needed).

use std::fs::File;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use fandex_daemon::status::StatusReport;
use fandex_daemon::{Daemon, DaemonOptions};
use fandex_indexer::extract::{DocumentParser, ParseError};
use fandex_indexer::formats::{Document, Kind};
use fandex_indexer::{Config, IndexDir};
use fandex_query::SearchRequest;
use fandex_query::protocol::status::State;
use fandex_watcher::{Backend, RenameSource};

/// A parser that answers only once the test opens the gate (and says when it was called).
#[derive(Debug, Default)]
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
    called: Mutex<Option<mpsc::Sender<()>>>,
}

impl Gate {
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

impl DocumentParser for Gate {
    fn parse(&self, _file: &File, _name: &[u8], _kind: Kind) -> Result<Document, ParseError> {
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

fn state(report: &StatusReport) -> State {
    report.state
}

#[test]
fn ready_before_the_reconcile_and_sync_waits_for_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let root = std::fs::canonicalize(&root).unwrap();
    std::fs::write(root.join("old.txt"), "an aardvark").unwrap();
    let index_dir = tmp.path().join("index");
    let options = |parser: Option<Arc<dyn DocumentParser>>| DaemonOptions {
        index_dir: IndexDir::at(&index_dir),
        config: Config::default(),
        roots: vec![root.clone()],
        backend: Some(Backend::Inotify),
        rename_source: Some(RenameSource::Inotify),
        listen: false,
        parser,
        dbus: None,
    };
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
