//! GNOME Shell's SearchProvider2 and KRunner's krunner1 called over a private bus, against an index
//! whose contents the tests built.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use fandex_dbus::names::{KRUNNER_PATH, SEARCH_PROVIDER_PATH};
use fandex_dbus::result_id;
use zbus::OwnedVariant;

const GNOME: &str = "org.gnome.Shell.SearchProvider2";
const KRUNNER: &str = "org.kde.krunner1";

type Metas = Vec<HashMap<String, OwnedVariant>>;
type Match = (
    String,
    String,
    String,
    i32,
    f64,
    HashMap<String, OwnedVariant>,
);

fn ids(rels: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = rels
        .iter()
        .map(|r| result_id::encode(&path_of(r), None))
        .collect();
    ids.sort();
    ids
}

#[test]
fn gnome_results_metas_and_subsearch() {
    let Some(bus) = test_bus() else { return };
    let stand_ins = StandIns::new();
    let _service = serve_index(&bus, stand_ins.desktop());
    let conn = client(&bus);

    let terms = vec!["budg".to_owned()];
    let mut initial: Vec<String> = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "GetInitialResultSet",
        &(terms,),
    )
    .unwrap();
    initial.sort();
    assert_eq!(
        initial,
        ids(&[
            "docs/report.html",
            "notes/meeting-2024.md",
            "notes/recipes.txt"
        ])
    );

    let refined: Vec<String> = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "GetSubsearchResultSet",
        &(initial.clone(), vec!["budget", "kanga"]),
    )
    .unwrap();
    assert_eq!(refined, ids(&["docs/report.html"]));
    // Refining keeps only previous results: kangaroo.txt matches "kanga" but was not among them.
    let narrowed: Vec<String> = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "GetSubsearchResultSet",
        &(ids(&["notes/recipes.txt"]), vec!["kanga"]),
    )
    .unwrap();
    assert!(narrowed.is_empty(), "{narrowed:?}");

    let report = ids(&["docs/report.html"]).remove(0);
    let unsearched = ids(&["filler/filler7.txt"]).remove(0);
    let metas: Metas = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "GetResultMetas",
        &(vec![
            report.clone(),
            unsearched.clone(),
            "not-an-id".to_owned(),
        ],),
    )
    .unwrap();
    assert_eq!(metas.len(), 2, "the bad id is left out");
    assert_eq!(string(&metas[0], "id"), report);
    assert_eq!(string(&metas[0], "name"), "report.html");
    assert_eq!(
        string(&metas[0], "description"),
        "Budget report for the kangaroo project"
    );
    assert_eq!(string(&metas[0], "gicon"), "text-html");
    assert_eq!(string(&metas[1], "name"), "filler7.txt");
    assert_eq!(
        string(&metas[1], "description"),
        path_of("filler").display().to_string(),
        "no snippet known: the folder"
    );
    assert_eq!(string(&metas[1], "gicon"), "text-x-generic");

    let none: Vec<String> = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "GetInitialResultSet",
        &(vec!["--", "("],),
    )
    .unwrap();
    assert!(none.is_empty());
}

#[test]
fn gnome_activation_runs_the_opener() {
    let Some(bus) = test_bus() else { return };
    let stand_ins = StandIns::new();
    let _service = serve_index(&bus, stand_ins.desktop());
    let conn = client(&bus);

    let report = ids(&["notes/recipes.txt"]).remove(0);
    let () = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "ActivateResult",
        &(report, vec!["lemon"], 0u32),
    )
    .unwrap();
    // Each opener runs detached: wait for its line before the next one starts, so the log's
    // order is the order of the calls and not of the scheduler.
    assert_eq!(stand_ins.lines("opened.log", 1).len(), 1);
    let () = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "LaunchSearch",
        &(vec!["sightings"], 0u32),
    )
    .unwrap();
    let opened = stand_ins.lines("opened.log", 2);
    assert_eq!(
        opened,
        vec![
            path_of("notes/recipes.txt").display().to_string(),
            path_of("docs/kangaroo.txt").display().to_string()
        ]
    );

    let err = call::<_, ()>(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "ActivateResult",
        &("relative", vec!["x"], 0u32),
    )
    .unwrap_err();
    assert_eq!(error_name(&err), "org.freedesktop.DBus.Error.InvalidArgs");
}

#[test]
fn krunner_actions_match_and_run() {
    let Some(bus) = test_bus() else { return };
    let stand_ins = StandIns::new();
    let _service = serve_index(&bus, stand_ins.desktop());
    let conn = client(&bus);

    let actions: Vec<(String, String, String)> =
        call(&conn, KRUNNER_PATH, KRUNNER, "Actions", &()).unwrap();
    let action_ids: Vec<&str> = actions.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(action_ids, ["open", "open-folder", "copy-path"]);

    let matches: Vec<Match> =
        call(&conn, KRUNNER_PATH, KRUNNER, "Match", &("budget kangaroo",)).unwrap();
    assert_eq!(matches.len(), 1, "{matches:?}");
    let (id, text, icon, kind, relevance, props) = &matches[0];
    assert_eq!(id, &ids(&["docs/report.html"])[0]);
    assert_eq!(text, "report.html");
    assert_eq!(icon, "text-html");
    assert_eq!(*kind, 30);
    assert!(*relevance > 0.0 && *relevance <= 1.0);
    assert_eq!(
        string(props, "subtext"),
        "Budget report for the kangaroo project"
    );

    let many: Vec<Match> = call(&conn, KRUNNER_PATH, KRUNNER, "Match", &("budget",)).unwrap();
    assert_eq!(many.len(), 3);
    assert!(
        many.windows(2).all(|w| w[0].4 > w[1].4),
        "relevance falls with the rank"
    );

    let () = call(&conn, KRUNNER_PATH, KRUNNER, "Run", &(id, "")).unwrap();
    // The opener runs detached: wait for its line so the log keeps the calls' order.
    assert_eq!(stand_ins.lines("opened.log", 1).len(), 1);
    let () = call(&conn, KRUNNER_PATH, KRUNNER, "Run", &(id, "open-folder")).unwrap();
    let () = call(&conn, KRUNNER_PATH, KRUNNER, "Run", &(id, "copy-path")).unwrap();
    let report = path_of("docs/report.html").display().to_string();
    assert_eq!(
        stand_ins.lines("opened.log", 2),
        vec![report.clone(), path_of("docs").display().to_string()]
    );
    assert_eq!(stand_ins.lines("copied.log", 1), vec![report]);

    let err = call::<_, ()>(&conn, KRUNNER_PATH, KRUNNER, "Run", &(id, "delete")).unwrap_err();
    assert_eq!(error_name(&err), "org.freedesktop.DBus.Error.InvalidArgs");
}

/// A backend whose every search finds two parts of one archive (and the archive itself).
struct Archive {
    path: std::path::PathBuf,
}

impl fandex_dbus::Backend for Archive {
    fn search(
        &self,
        _: &fandex_query::SearchRequest,
    ) -> Result<fandex_query::SearchResults, fandex_dbus::BackendError> {
        let hit = |part: Option<&str>, snippet: &str| fandex_query::Hit {
            file_id: Some(1),
            path: self.path.clone(),
            score: 1.0,
            size: 10,
            mtime_ns: 0,
            snippet: fandex_query::Snippet {
                text: snippet.to_owned(),
                highlights: Vec::new(),
            },
            part: part.map(str::to_owned),
            mime: None,
            title: None,
            author: None,
            subject: None,
        };
        let hits = vec![
            hit(None, ""),
            hit(Some("docs/readme.txt"), "comet in the readme"),
            hit(Some("inner.zip » report.pdf"), "comet in the report"),
        ];
        Ok(fandex_query::SearchResults {
            total: hits.len(),
            hits,
            suggestion: None,
        })
    }
    fn status(&self) -> Result<serde_json::Value, fandex_dbus::BackendError> {
        Ok(serde_json::Value::Null)
    }
    fn sync(&self, _: Duration) -> Result<u64, fandex_dbus::BackendError> {
        Ok(0)
    }
    fn pause(&self, _: Option<Duration>) -> Result<(), fandex_dbus::BackendError> {
        Ok(())
    }
    fn resume(&self) -> Result<(), fandex_dbus::BackendError> {
        Ok(())
    }
}

/// Parts of one archive are results of their own: each id names its part, its metas its own name, icon
/// and snippet, and activating one opens the archive.
#[test]
fn parts_of_one_archive_are_results_of_their_own() {
    let Some(bus) = test_bus() else { return };
    let stand_ins = StandIns::new();
    let archive = std::path::PathBuf::from("/srv/files/box.zip");
    let _service = serve(
        &bus,
        std::sync::Arc::new(Archive {
            path: archive.clone(),
        }),
        stand_ins.desktop(),
    );
    let conn = client(&bus);
    let initial: Vec<String> = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "GetInitialResultSet",
        &(vec!["comet"],),
    )
    .unwrap();
    assert_eq!(initial.len(), 3, "{initial:?}");
    let distinct: std::collections::BTreeSet<&String> = initial.iter().collect();
    assert_eq!(distinct.len(), 3, "one id per part: {initial:?}");
    let metas: Metas = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "GetResultMetas",
        &(initial[1..].to_vec(),),
    )
    .unwrap();
    let shown: Vec<(String, String, String)> = metas
        .iter()
        .map(|m| {
            (
                string(m, "name"),
                string(m, "description"),
                string(m, "gicon"),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (
                "box.zip » docs/readme.txt".to_owned(),
                "comet in the readme".to_owned(),
                "text-x-generic".to_owned()
            ),
            (
                "box.zip » inner.zip » report.pdf".to_owned(),
                "comet in the report".to_owned(),
                "application-pdf".to_owned()
            ),
        ]
    );
    let () = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "ActivateResult",
        &(initial[2].clone(), vec!["comet"], 0u32),
    )
    .unwrap();
    assert_eq!(
        stand_ins.lines("opened.log", 1),
        [archive.display().to_string()]
    );
    let matches: Vec<Match> = call(&conn, KRUNNER_PATH, KRUNNER, "Match", &("comet",)).unwrap();
    let texts: Vec<&str> = matches.iter().map(|m| m.1.as_str()).collect();
    assert_eq!(
        texts,
        [
            "box.zip",
            "box.zip » docs/readme.txt",
            "box.zip » inner.zip » report.pdf"
        ]
    );
    assert_eq!(matches[1].0, initial[1], "the same id in both providers");
}

#[test]
fn a_missing_opener_is_a_clear_error() {
    let Some(bus) = test_bus() else { return };
    let empty = tempfile::tempdir().unwrap();
    let _service = serve_index(&bus, fandex_dbus::Desktop::with_search_path(empty.path()));
    let conn = client(&bus);
    let id = ids(&["docs/report.html"]).remove(0);
    let err = call::<_, ()>(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "ActivateResult",
        &(id, vec!["x"], 0u32),
    )
    .unwrap_err();
    assert_eq!(error_name(&err), "org.freedesktop.DBus.Error.Failed");
    assert!(err.to_string().contains("xdg-open or gio"), "{err}");
}

/// GetInitialResultSet over the bus on an index of a few thousand files: the time a shell waits.
#[test]
fn provider_queries_are_fast() {
    let Some(bus) = test_bus() else { return };
    let stand_ins = StandIns::new();
    let _service = serve_index(&bus, stand_ins.desktop());
    let conn = client(&bus);
    let queries = [
        "topic1",
        "filler",
        "number12",
        "lorem ipsum",
        "budget",
        "kang",
        "topic4*",
        "ipsum topic33",
    ];
    // One warm-up call loads the index's files into the page cache.
    let _: Vec<String> = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "GetInitialResultSet",
        &(vec!["warm"],),
    )
    .unwrap();
    let mut times = Vec::new();
    for round in 0..5 {
        for query in queries {
            let terms: Vec<&str> = query.split(' ').collect();
            let started = Instant::now();
            let results: Vec<String> = call(
                &conn,
                SEARCH_PROVIDER_PATH,
                GNOME,
                "GetInitialResultSet",
                &(terms,),
            )
            .unwrap();
            times.push(started.elapsed());
            if round == 0 && query == "filler" {
                assert_eq!(results.len(), fandex_dbus::provider_search::PROVIDER_LIMIT);
            }
        }
    }
    times.sort();
    let median = times[times.len() / 2];
    let p90 = times[times.len() * 9 / 10];
    eprintln!(
        "GetInitialResultSet over the bus, {} files, {} calls: median {median:?}, p90 {p90:?}, max {:?}",
        FILES.len() + FILLER,
        times.len(),
        times[times.len() - 1]
    );
    // The target is 10 ms; the bound leaves room for a loaded test machine.
    assert!(median < Duration::from_millis(50), "median {median:?}");
}

/// The fixture index, recording what the providers ask of it.
struct Recording {
    index: fandex_dbus::IndexBackend,
    /// Whether its searches keep what they compiled for later snippets (`Backend::search_later`), as
    /// the daemon's and the index's do; else they keep nothing, as a daemon behind a socket.
    keeps: bool,
    /// (limit, snippets) of each search.
    searches: std::sync::Mutex<Vec<(usize, bool)>>,
    /// The paths of the hits of each `snippets` call.
    snippets: std::sync::Mutex<Vec<Vec<std::path::PathBuf>>>,
}

impl Recording {
    fn new(keeps: bool) -> std::sync::Arc<Self> {
        let config = fandex_indexer::Config::default();
        std::sync::Arc::new(Recording {
            index: fandex_dbus::IndexBackend::open(fixture().index.clone(), &config).unwrap(),
            keeps,
            searches: Default::default(),
            snippets: Default::default(),
        })
    }
}

impl fandex_dbus::Backend for Recording {
    fn search(
        &self,
        request: &fandex_query::SearchRequest,
    ) -> Result<fandex_query::SearchResults, fandex_dbus::BackendError> {
        self.searches
            .lock()
            .unwrap()
            .push((request.limit, request.snippets));
        self.index.search(request)
    }
    fn search_later(
        &self,
        request: &fandex_query::SearchRequest,
    ) -> Result<
        (
            fandex_query::SearchResults,
            Option<std::sync::Arc<fandex_query::LaterSnippets>>,
        ),
        fandex_dbus::BackendError,
    > {
        if !self.keeps {
            return Ok((fandex_dbus::Backend::search(self, request)?, None));
        }
        self.searches
            .lock()
            .unwrap()
            .push((request.limit, request.snippets));
        self.index.search_later(request)
    }
    fn snippets(
        &self,
        request: &fandex_query::SearchRequest,
        hits: &[fandex_query::Hit],
    ) -> Result<Vec<fandex_query::Snippet>, fandex_dbus::BackendError> {
        let paths = hits.iter().map(|h| h.path.clone()).collect();
        self.snippets.lock().unwrap().push(paths);
        self.index.snippets(request, hits)
    }
    fn status(&self) -> Result<serde_json::Value, fandex_dbus::BackendError> {
        self.index.status()
    }
    fn sync(&self, timeout: Duration) -> Result<u64, fandex_dbus::BackendError> {
        self.index.sync(timeout)
    }
    fn pause(&self, duration: Option<Duration>) -> Result<(), fandex_dbus::BackendError> {
        self.index.pause(duration)
    }
    fn resume(&self) -> Result<(), fandex_dbus::BackendError> {
        self.index.resume()
    }
}

/// The snippets `query` gives its first `PROVIDER_LIMIT` hits, by result id.
fn full_snippets(index: &fandex_dbus::IndexBackend, query: &str) -> HashMap<String, String> {
    let full = fandex_dbus::Backend::search(
        index,
        &fandex_query::SearchRequest {
            query: query.into(),
            limit: fandex_dbus::provider_search::PROVIDER_LIMIT,
            ..Default::default()
        },
    )
    .unwrap();
    full.hits
        .into_iter()
        .map(|h| (result_id::encode(&h.path, None), h.snippet.text))
        .collect()
}

/// GNOME's result sets are searched without snippets; the metas of the results it shows make theirs
/// (the same text a search with snippets gives), once. KRunner's matches are the first
/// `KRUNNER_LIMIT`, each with its snippet. Here the searches keep nothing (a daemon behind a socket):
/// the snippets are asked of the backend, for the shown hits alone.
#[test]
fn snippets_are_made_only_for_the_results_shown() {
    use fandex_dbus::provider_search::{KRUNNER_LIMIT, PROVIDER_LIMIT};
    let Some(bus) = test_bus() else { return };
    let stand_ins = StandIns::new();
    let recording = Recording::new(false);
    let _service = serve(&bus, recording.clone(), stand_ins.desktop());
    let conn = client(&bus);

    let initial: Vec<String> = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "GetInitialResultSet",
        &(vec!["topic7"],),
    )
    .unwrap();
    assert_eq!(initial.len(), PROVIDER_LIMIT, "{initial:?}");
    assert_eq!(
        *recording.searches.lock().unwrap(),
        [(PROVIDER_LIMIT, false)]
    );
    assert!(recording.snippets.lock().unwrap().is_empty());

    let shown = &initial[..3];
    let metas: Metas = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "GetResultMetas",
        &(shown.to_vec(),),
    )
    .unwrap();
    let asked: Vec<String> = recording.snippets.lock().unwrap()[0]
        .iter()
        .map(|p| result_id::encode(p, None))
        .collect();
    assert_eq!(asked, shown, "snippets for the shown results alone");
    // The descriptions are the snippets a search with snippets makes.
    let full = fandex_dbus::Backend::search(
        &recording.index,
        &fandex_query::SearchRequest {
            query: "topic7*".into(),
            limit: PROVIDER_LIMIT,
            ..Default::default()
        },
    )
    .unwrap();
    for meta in &metas {
        let id = string(meta, "id");
        let hit = full
            .hits
            .iter()
            .find(|h| result_id::encode(&h.path, None) == id)
            .unwrap();
        assert!(hit.snippet.text.contains("topic7"), "{:?}", hit.snippet);
        assert_eq!(string(meta, "description"), hit.snippet.text);
    }
    let again: Metas = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "GetResultMetas",
        &(shown.to_vec(),),
    )
    .unwrap();
    assert_eq!(
        string(&again[0], "description"),
        string(&metas[0], "description")
    );
    assert_eq!(recording.snippets.lock().unwrap().len(), 1, "made once");

    let matches: Vec<Match> = call(&conn, KRUNNER_PATH, KRUNNER, "Match", &("filler",)).unwrap();
    assert_eq!(matches.len(), KRUNNER_LIMIT);
    assert_eq!(
        recording.searches.lock().unwrap().last(),
        Some(&(KRUNNER_LIMIT, true))
    );
    assert!(string(&matches[0].5, "subtext").contains("filler"));
    assert_eq!(recording.snippets.lock().unwrap().len(), 1);
}

/// When the searches keep what they compiled (the daemon's, the index's), the metas of the shown
/// results make their snippets from it: no second search or compile, whatever the number of hits, and
/// the same text. A hit of a search no longer kept gets its snippet from the backend.
#[test]
fn shown_snippets_reuse_what_the_search_compiled() {
    use fandex_dbus::hit_cache::KEPT_SEARCHES;
    use fandex_dbus::provider_search::PROVIDER_LIMIT;
    let Some(bus) = test_bus() else { return };
    let stand_ins = StandIns::new();
    let recording = Recording::new(true);
    let _service = serve(&bus, recording.clone(), stand_ins.desktop());
    let conn = client(&bus);
    let full = full_snippets(&recording.index, "topic7*");

    let initial: Vec<String> = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "GetInitialResultSet",
        &(vec!["topic7"],),
    )
    .unwrap();
    assert_eq!(initial.len(), PROVIDER_LIMIT, "{initial:?}");
    let metas: Metas = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "GetResultMetas",
        &(initial[..3].to_vec(),),
    )
    .unwrap();
    assert_eq!(metas.len(), 3);
    for meta in &metas {
        let description = string(meta, "description");
        assert!(description.contains("topic7"), "{description:?}");
        assert_eq!(description, full[&string(meta, "id")]);
    }
    assert_eq!(
        *recording.searches.lock().unwrap(),
        [(PROVIDER_LIMIT, false)],
        "one search"
    );
    assert!(
        recording.snippets.lock().unwrap().is_empty(),
        "no second compile"
    );

    // Newer searches push the first out: its other hits' snippets come from the backend.
    for _ in 0..KEPT_SEARCHES {
        let _: Vec<String> = call(
            &conn,
            SEARCH_PROVIDER_PATH,
            GNOME,
            "GetInitialResultSet",
            &(vec!["filler"],),
        )
        .unwrap();
    }
    let metas: Metas = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "GetResultMetas",
        &(vec![initial[3].clone()],),
    )
    .unwrap();
    assert_eq!(string(&metas[0], "description"), full[&initial[3]]);
    let asked: Vec<String> = recording.snippets.lock().unwrap()[0]
        .iter()
        .map(|p| result_id::encode(p, None))
        .collect();
    assert_eq!(asked, [initial[3].clone()]);
}

/// A folder's result opens the folder itself, through GNOME's ActivateResult and KRunner's Run; KRunner's
/// "open containing folder" opens its parent.
#[test]
fn folders_open_through_activation_and_run() {
    let Some(bus) = test_bus() else { return };
    let stand_ins = StandIns::new();
    let _service = serve_index(&bus, stand_ins.desktop());
    let conn = client(&bus);
    let docs = path_of("docs");
    let id = result_id::encode(&docs, None);
    let () = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "ActivateResult",
        &(id.clone(), vec!["docs"], 0u32),
    )
    .unwrap();
    assert_eq!(
        stand_ins.lines("opened.log", 1),
        [docs.display().to_string()]
    );
    let () = call(&conn, KRUNNER_PATH, KRUNNER, "Run", &(id.clone(), "")).unwrap();
    let () = call(&conn, KRUNNER_PATH, KRUNNER, "Run", &(id.clone(), "open")).unwrap();
    let () = call(&conn, KRUNNER_PATH, KRUNNER, "Run", &(id, "open-folder")).unwrap();
    // Each opener runs on its own: their lines may come in any order.
    let mut opened = stand_ins.lines("opened.log", 4);
    opened.sort();
    let mut expected = [
        docs.display().to_string(),
        docs.display().to_string(),
        docs.display().to_string(),
        fixture().root.display().to_string(),
    ];
    expected.sort();
    assert_eq!(opened, expected);
}

/// The fixture index whose snippets take longer than the shell waits.
struct SlowSnippets(fandex_dbus::IndexBackend);

impl fandex_dbus::Backend for SlowSnippets {
    fn search(
        &self,
        request: &fandex_query::SearchRequest,
    ) -> Result<fandex_query::SearchResults, fandex_dbus::BackendError> {
        self.0.search(request)
    }
    fn snippets(
        &self,
        request: &fandex_query::SearchRequest,
        hits: &[fandex_query::Hit],
    ) -> Result<Vec<fandex_query::Snippet>, fandex_dbus::BackendError> {
        std::thread::sleep(Duration::from_secs(3));
        self.0.snippets(request, hits)
    }
    fn status(&self) -> Result<serde_json::Value, fandex_dbus::BackendError> {
        self.0.status()
    }
    fn sync(&self, timeout: Duration) -> Result<u64, fandex_dbus::BackendError> {
        self.0.sync(timeout)
    }
    fn pause(&self, duration: Option<Duration>) -> Result<(), fandex_dbus::BackendError> {
        self.0.pause(duration)
    }
    fn resume(&self) -> Result<(), fandex_dbus::BackendError> {
        self.0.resume()
    }
}

/// Snippets that are not ready by the provider deadline do not hold the shell: the metas come in time,
/// described by the folder.
#[test]
fn late_snippets_do_not_hold_the_metas() {
    let Some(bus) = test_bus() else { return };
    let stand_ins = StandIns::new();
    let config = fandex_indexer::Config::default();
    let index = fandex_dbus::IndexBackend::open(fixture().index.clone(), &config).unwrap();
    let _service = serve(
        &bus,
        std::sync::Arc::new(SlowSnippets(index)),
        stand_ins.desktop(),
    );
    let conn = client(&bus);
    let initial: Vec<String> = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "GetInitialResultSet",
        &(vec!["kangaroo"],),
    )
    .unwrap();
    assert_eq!(initial.len(), 2, "{initial:?}");
    let started = Instant::now();
    let metas: Metas = call(
        &conn,
        SEARCH_PROVIDER_PATH,
        GNOME,
        "GetResultMetas",
        &(initial.clone(),),
    )
    .unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "the metas waited {took:?}");
    assert_eq!(metas.len(), 2);
    assert_eq!(
        string(&metas[0], "description"),
        path_of("docs").display().to_string(),
        "no snippet in time: the folder"
    );
}
