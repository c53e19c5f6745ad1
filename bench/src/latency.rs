//! Change-to-searchable latency under load.
//!
//! A writer thread changes files at a steady rate: every `new_every`-th change creates a new file, the
//! others rewrite (truncate and write again) an existing file of the corpus with its original content
//! plus one line. Every change writes two words: a unique token, and the token of its *group* (a run of
//! `group` consecutive changes). The poller, without any sync, searches each group token that still has
//! unseen changes (one search per open group, at most every `poll` interval) and timestamps the paths it
//! sees for the first time: the latency of a change is the time from the end of its write (close) to
//! the arrival of the first answer that lists its path under its group's token. A path occurs at most
//! once per group, and a later rewrite of a path replaces the earlier token in its content, so a hit is
//! unambiguous. A change rewritten again before it was seen is counted as `superseded` (not a latency);
//! one not seen `timeout` after the last write is `missed` (an infinite latency in the percentiles).

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fandex::SearchRequest;
use fandex::query::client::Client;

use crate::corpus::list_files;
use crate::error::{BenchError, Result};
use crate::stats::percentile;

/// Files larger than this are not rewritten (their content is held in memory).
pub const MAX_REWRITE_BYTES: u64 = 1 << 20;

/// Lists every path holding a given word.
pub trait Searcher {
    /// The paths (exact bytes) of at most `limit` files whose text holds `token`.
    fn paths(&mut self, token: &str, limit: usize) -> Result<Vec<Vec<u8>>>;
}

/// Searches through a fandex daemon's socket (what `fandex search` does when a daemon runs), without
/// snippets.
pub struct DaemonSearcher {
    socket: PathBuf,
    client: Client,
}

impl DaemonSearcher {
    /// Connects to the daemon listening on `socket`.
    pub fn connect(socket: &Path) -> Result<Self> {
        let client = Client::connect(socket)
            .map_err(|e| BenchError::Invalid(format!("{e}")))?
            .ok_or_else(|| {
                BenchError::Invalid(format!("no daemon listens on {}", socket.display()))
            })?;
        Ok(Self {
            socket: socket.to_path_buf(),
            client,
        })
    }

    /// The client, for other requests (sync, status).
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// How many files match `query` (no hits fetched).
    pub fn count(&mut self, query: &str) -> Result<usize> {
        Ok(self.search(query, 0)?.total)
    }

    fn search(&mut self, query: &str, limit: usize) -> Result<fandex::SearchResults> {
        let request = SearchRequest {
            query: query.to_owned(),
            limit,
            cwd: "/".into(),
            snippets: false,
            home: None,
        };
        self.client.search(&request).map_err(|e| {
            BenchError::Invalid(format!(
                "search {query:?} through {}: {e}",
                self.socket.display()
            ))
        })
    }
}

impl Searcher for DaemonSearcher {
    fn paths(&mut self, token: &str, limit: usize) -> Result<Vec<Vec<u8>>> {
        Ok(self
            .search(token, limit)?
            .hits
            .into_iter()
            .map(|h| h.path.into_os_string().into_vec())
            .collect())
    }
}

/// Searches a recoll index by running `recollq -c CONFIG -b -n LIMIT TOKEN` (URLs only).
pub struct RecollSearcher {
    /// The recoll configuration directory.
    pub config: PathBuf,
}

/// The paths of `file://` URLs in `recollq -b` output.
pub fn parse_recollq_urls(out: &[u8]) -> Vec<Vec<u8>> {
    out.split(|b| *b == b'\n')
        .filter_map(|line| line.strip_prefix(b"file://"))
        .map(<[u8]>::to_vec)
        .collect()
}

impl Searcher for RecollSearcher {
    fn paths(&mut self, token: &str, limit: usize) -> Result<Vec<Vec<u8>>> {
        let out = Command::new("recollq")
            .arg("-c")
            .arg(&self.config)
            .arg("-b")
            .arg("-n")
            .arg(limit.to_string())
            .arg(token)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map_err(|source| BenchError::Spawn {
                command: format!("recollq -c {}", self.config.display()),
                source,
            })?;
        if !out.status.success() {
            return Err(BenchError::Invalid(format!(
                "recollq -c {} {token} failed: {}",
                self.config.display(),
                out.status
            )));
        }
        Ok(parse_recollq_urls(&out.stdout))
    }
}

/// What to write.
#[derive(Debug, Clone)]
pub struct Load {
    /// Changes per second.
    pub rate: f64,
    /// How long the writer runs.
    pub seconds: f64,
    /// Every `new_every`-th change creates a file (1: all new; 0: none), the others rewrite one.
    pub new_every: u64,
    /// Changes per group token.
    pub group: u64,
    /// Where new files go (created if missing; must be under a watched root).
    pub new_dir: PathBuf,
    /// Files to rewrite, in order (cycled when exhausted).
    pub pool: Vec<PathBuf>,
}

/// How to poll.
#[derive(Debug, Clone, Copy)]
pub struct Poll {
    /// Least time between the starts of two polling rounds.
    pub every: Duration,
    /// Give up on changes not seen this long after the last write.
    pub timeout: Duration,
}

/// The outcome of a latency run.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Changes made.
    pub changes: u64,
    /// New files among them.
    pub created: u64,
    /// Rewrites among them.
    pub rewritten: u64,
    /// Latencies of the changes seen, milliseconds, ascending.
    pub seen_ms: Vec<f64>,
    /// Changes not seen before the timeout.
    pub missed: u64,
    /// Changes rewritten again before they were seen.
    pub superseded: u64,
    /// Changes per second the writer achieved (first to last write).
    pub achieved_rate: f64,
    /// Mean time between the starts of polling rounds, milliseconds.
    pub mean_poll_ms: f64,
    /// Searches run.
    pub searches: u64,
}

impl Outcome {
    /// Percentile `p` of the latencies, missed changes counting as infinite; `None` with no changes.
    pub fn percentile_ms(&self, p: f64) -> Option<f64> {
        let mut all = self.seen_ms.clone();
        all.extend(std::iter::repeat_n(f64::INFINITY, self.missed as usize));
        percentile(&all, p)
    }
}

/// Letters for a number: a token tantivy and recoll both keep as one word (no digits, so no split at a
/// letter-digit boundary).
pub fn letters(mut n: u64, width: usize) -> String {
    let mut out = vec![b'a'; width];
    for slot in out.iter_mut().rev() {
        *slot = b'a' + (n % 26) as u8;
        n /= 26;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A tag unique to this run, so tokens of earlier runs never match.
pub fn run_tag() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    letters((nanos as u64) ^ u64::from(std::process::id()), 7)
}

/// The extensions rewritten by default: text that recoll's stock configuration indexes by content too
/// (a file it indexes by name only would never be found by the word a rewrite adds).
pub const DEFAULT_POOL_EXTENSIONS: &str = "py,txt,html,htm,md,rst,c,h";

/// The files of `root` that may be rewritten: regular, not `.gz` (appending would corrupt them), at
/// most [`MAX_REWRITE_BYTES`], not under `exclude`, with one of `extensions` (any when empty); in path
/// order.
pub fn rewrite_pool(root: &Path, exclude: &Path, extensions: &[String]) -> Result<Vec<PathBuf>> {
    let mut pool = Vec::new();
    for path in list_files(root)? {
        if path.starts_with(exclude) || path.extension() == Some(OsStr::new("gz")) {
            continue;
        }
        let ext = path.extension().map(OsStr::as_encoded_bytes);
        if !extensions.is_empty() && !extensions.iter().any(|e| Some(e.as_bytes()) == ext) {
            continue;
        }
        let meta = std::fs::metadata(&path).map_err(|e| BenchError::io("cannot stat", &path, e))?;
        if meta.len() <= MAX_REWRITE_BYTES {
            pool.push(path);
        }
    }
    Ok(pool)
}

struct Written {
    group: u64,
    path: Vec<u8>,
    at: Instant,
}

struct WriterReport {
    created: u64,
    rewritten: u64,
    first: Option<Instant>,
    last: Option<Instant>,
}

fn group_token(tag: &str, group: u64) -> String {
    format!("fbg{tag}{}", letters(group, 5))
}

fn write_changes(load: &Load, tag: &str, tx: &mpsc::Sender<Written>) -> Result<WriterReport> {
    let total = (load.rate * load.seconds).round() as u64;
    std::fs::create_dir_all(&load.new_dir)
        .map_err(|e| BenchError::io("cannot create", &load.new_dir, e))?;
    // Original contents, read before the clock starts (only as many files as will be rewritten).
    let rewrites = if load.new_every == 0 {
        total
    } else {
        total - total.div_ceil(load.new_every)
    };
    if rewrites > 0 && load.pool.is_empty() {
        return Err(BenchError::Invalid("no files to rewrite".into()));
    }
    let mut originals = Vec::new();
    for path in load.pool.iter().take(rewrites as usize) {
        let bytes = std::fs::read(path).map_err(|e| BenchError::io("cannot read", path, e))?;
        originals.push((path.clone(), bytes));
    }
    let mut report = WriterReport {
        created: 0,
        rewritten: 0,
        first: None,
        last: None,
    };
    let start = Instant::now();
    let mut next_rewrite = 0usize;
    for k in 0..total {
        let due = start + Duration::from_secs_f64(k as f64 / load.rate);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let group = k / load.group.max(1);
        let words = format!("{} fbu{tag}{}", group_token(tag, group), letters(k, 6));
        let is_new = load.new_every != 0 && k % load.new_every == 0;
        let path = if is_new {
            let path = load.new_dir.join(format!("fb-{tag}-{k:07}.txt"));
            let text = format!("fandex bench new file {k}\n{words}\n");
            std::fs::write(&path, text).map_err(|e| BenchError::io("cannot write", &path, e))?;
            report.created += 1;
            path
        } else {
            let (path, original) = &originals[next_rewrite % originals.len()];
            next_rewrite += 1;
            let mut bytes = Vec::with_capacity(original.len() + words.len() + 16);
            bytes.extend_from_slice(original);
            bytes.extend_from_slice(format!("\nfandexbench {words}\n").as_bytes());
            std::fs::write(path, &bytes).map_err(|e| BenchError::io("cannot write", path, e))?;
            report.rewritten += 1;
            path.clone()
        };
        let at = Instant::now();
        report.first.get_or_insert(at);
        report.last = Some(at);
        let sent = tx.send(Written {
            group,
            path: path.into_os_string().into_vec(),
            at,
        });
        if sent.is_err() {
            // The poller failed; its error is the one reported.
            break;
        }
    }
    Ok(report)
}

/// Runs the writer and polls `searcher` until every change is seen or the timeout passes.
pub fn run(load: &Load, poll: Poll, searcher: &mut dyn Searcher) -> Result<Outcome> {
    if load.rate <= 0.0 || load.seconds <= 0.0 || load.group == 0 {
        return Err(BenchError::Invalid(
            "rate, seconds and group must be positive".into(),
        ));
    }
    let tag = run_tag();
    let (tx, rx) = mpsc::channel();
    let writer = {
        let load = load.clone();
        let tag = tag.clone();
        std::thread::spawn(move || write_changes(&load, &tag, &tx))
    };
    let polled = poll_until_seen(load, poll, searcher, &tag, &rx);
    // Closing the channel stops a writer still running after a poller error.
    drop(rx);
    let written = writer
        .join()
        .map_err(|_| BenchError::Invalid("the writer thread panicked".into()))??;
    let mut out = polled?;
    out.created = written.created;
    out.rewritten = written.rewritten;
    out.achieved_rate = match (written.first, written.last) {
        (Some(a), Some(b)) if b > a && out.changes > 1 => {
            (out.changes - 1) as f64 / (b - a).as_secs_f64()
        }
        _ => 0.0,
    };
    Ok(out)
}

fn poll_until_seen(
    load: &Load,
    poll: Poll,
    searcher: &mut dyn Searcher,
    tag: &str,
    rx: &mpsc::Receiver<Written>,
) -> Result<Outcome> {
    // Open groups: unseen path -> when it was written.
    let mut open: BTreeMap<u64, HashMap<Vec<u8>, Instant>> = BTreeMap::new();
    // The group of each path's last change.
    let mut last_group: HashMap<Vec<u8>, u64> = HashMap::new();
    let mut out = Outcome {
        changes: 0,
        created: 0,
        rewritten: 0,
        seen_ms: Vec::new(),
        missed: 0,
        superseded: 0,
        achieved_rate: 0.0,
        mean_poll_ms: 0.0,
        searches: 0,
    };
    let mut writer_done_at: Option<Instant> = None;
    let (mut rounds, mut first_round, mut last_round) = (0u64, None, None);
    loop {
        let round_start = Instant::now();
        loop {
            match rx.try_recv() {
                Ok(w) => {
                    out.changes += 1;
                    if let Some(prev) = last_group.insert(w.path.clone(), w.group)
                        && let Some(pending) = open.get_mut(&prev)
                        && pending.remove(&w.path).is_some()
                    {
                        out.superseded += 1;
                    }
                    open.entry(w.group).or_default().insert(w.path, w.at);
                }
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    writer_done_at.get_or_insert_with(Instant::now);
                    break;
                }
            }
        }
        open.retain(|_, pending| !pending.is_empty());
        if writer_done_at.is_some() && open.is_empty() {
            break;
        }
        if let Some(done) = writer_done_at
            && done.elapsed() > poll.timeout
        {
            out.missed = open.values().map(|p| p.len() as u64).sum();
            for (group, pending) in &open {
                for path in pending.keys().take(10) {
                    tracing::warn!(
                        "missed: {} (group {})",
                        String::from_utf8_lossy(path),
                        group_token(tag, *group)
                    );
                }
            }
            break;
        }
        if !open.is_empty() {
            rounds += 1;
            first_round.get_or_insert(round_start);
            last_round = Some(round_start);
        }
        for (group, pending) in open.iter_mut() {
            let paths = searcher.paths(&group_token(tag, *group), load.group as usize + 16)?;
            out.searches += 1;
            let now = Instant::now();
            for path in paths {
                if let Some(written) = pending.remove(&path) {
                    out.seen_ms
                        .push(now.saturating_duration_since(written).as_secs_f64() * 1e3);
                }
            }
        }
        if let Some(wait) = (round_start + poll.every).checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    out.seen_ms.sort_by(f64::total_cmp);
    out.mean_poll_ms = match (first_round, last_round) {
        (Some(a), Some(b)) if rounds > 1 => (b - a).as_secs_f64() * 1e3 / (rounds - 1) as f64,
        _ => 0.0,
    };
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A searcher over the files themselves (grep): sees a change as soon as it is written.
    struct Grep {
        dirs: Vec<PathBuf>,
        delay: Duration,
    }

    impl Searcher for Grep {
        fn paths(&mut self, token: &str, limit: usize) -> Result<Vec<Vec<u8>>> {
            let mut out = Vec::new();
            for dir in &self.dirs {
                for f in list_files(dir)? {
                    let text = std::fs::read(&f).unwrap();
                    if text.windows(token.len()).any(|w| w == token.as_bytes()) {
                        out.push(f.into_os_string().into_vec());
                    }
                }
            }
            out.truncate(limit);
            // Answers arrive `delay` after the files were read.
            std::thread::sleep(self.delay);
            Ok(out)
        }
    }

    /// A searcher that never finds anything.
    struct Blind;

    impl Searcher for Blind {
        fn paths(&mut self, _: &str, _: usize) -> Result<Vec<Vec<u8>>> {
            Ok(Vec::new())
        }
    }

    #[test]
    fn letters_are_fixed_width_words() {
        assert_eq!(letters(0, 3), "aaa");
        assert_eq!(letters(27, 3), "abb");
        assert_eq!(run_tag().len(), 7);
        assert!(run_tag().chars().all(|c| c.is_ascii_lowercase()));
    }

    #[test]
    fn recollq_urls() {
        let out = b"file:///a/b c\nRecoll query: x\nfile:///d\n\n";
        assert_eq!(
            parse_recollq_urls(out),
            vec![b"/a/b c".to_vec(), b"/d".to_vec()]
        );
    }

    fn setup(files: usize) -> (tempfile::TempDir, Vec<PathBuf>) {
        let tmp = tempfile::tempdir().unwrap();
        let old = tmp.path().join("old");
        std::fs::create_dir(&old).unwrap();
        std::fs::write(old.join("big.gz"), "not rewritten").unwrap();
        for i in 0..files {
            std::fs::write(old.join(format!("f{i}.txt")), format!("original {i}\n")).unwrap();
        }
        std::fs::write(old.join("Makefile"), "all:\n").unwrap();
        let pool = rewrite_pool(tmp.path(), &tmp.path().join("new"), &["txt".to_owned()]).unwrap();
        assert_eq!(pool.len(), files);
        let any = rewrite_pool(tmp.path(), &tmp.path().join("new"), &[]).unwrap();
        assert_eq!(any.len(), files + 1);
        (tmp, pool)
    }

    #[test]
    fn measures_every_change_with_a_fast_searcher() {
        let (tmp, pool) = setup(100);
        let load = Load {
            rate: 200.0,
            seconds: 0.5,
            new_every: 2,
            group: 10,
            new_dir: tmp.path().join("new"),
            pool,
        };
        let mut grep = Grep {
            dirs: vec![tmp.path().to_path_buf()],
            delay: Duration::ZERO,
        };
        let poll = Poll {
            every: Duration::from_millis(5),
            timeout: Duration::from_secs(10),
        };
        let out = run(&load, poll, &mut grep).unwrap();
        assert_eq!((out.changes, out.created, out.rewritten), (100, 50, 50));
        assert_eq!((out.missed, out.superseded), (0, 0));
        assert_eq!(out.seen_ms.len(), 100);
        assert!(out.percentile_ms(99.0).unwrap() < 2000.0, "{out:?}");
        assert!(out.achieved_rate > 100.0, "{out:?}");
        // Rewrites keep the original text and add one line.
        let text = std::fs::read_to_string(tmp.path().join("old/f1.txt")).unwrap();
        assert!(text.starts_with("original 1\n\nfandexbench fbg"), "{text}");
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("old/big.gz")).unwrap(),
            "not rewritten"
        );
    }

    #[test]
    fn a_slow_searcher_shows_in_the_latency_and_reuse_is_superseded() {
        // 10 files rewritten 4 times each at 200/s: a path comes back every 50 ms, while the searcher
        // takes 100 ms per search, so most rewrites are superseded before they are seen.
        let (tmp, pool) = setup(10);
        let load = Load {
            rate: 200.0,
            seconds: 0.2,
            new_every: 0,
            group: 10,
            new_dir: tmp.path().join("new"),
            pool,
        };
        let mut grep = Grep {
            dirs: vec![tmp.path().to_path_buf()],
            delay: Duration::from_millis(100),
        };
        let poll = Poll {
            every: Duration::from_millis(1),
            timeout: Duration::from_secs(10),
        };
        let out = run(&load, poll, &mut grep).unwrap();
        assert_eq!(out.changes, 40);
        assert_eq!(out.created, 0);
        assert!(out.superseded > 0, "{out:?}");
        assert_eq!(
            out.seen_ms.len() as u64 + out.superseded + out.missed,
            40,
            "{out:?}"
        );
        assert!(out.seen_ms.iter().all(|ms| *ms >= 100.0), "{out:?}");
    }

    #[test]
    fn a_blind_searcher_misses_everything_and_times_out() {
        let (tmp, pool) = setup(5);
        let load = Load {
            rate: 100.0,
            seconds: 0.1,
            new_every: 1,
            group: 4,
            new_dir: tmp.path().join("new"),
            pool,
        };
        let poll = Poll {
            every: Duration::from_millis(10),
            timeout: Duration::from_millis(200),
        };
        let out = run(&load, poll, &mut Blind).unwrap();
        assert_eq!((out.changes, out.missed, out.created), (10, 10, 10));
        assert_eq!(out.percentile_ms(50.0), Some(f64::INFINITY));
        assert!(out.seen_ms.is_empty());
    }

    #[test]
    fn bad_parameters_are_errors() {
        let (tmp, pool) = setup(1);
        let load = Load {
            rate: 0.0,
            seconds: 1.0,
            new_every: 1,
            group: 1,
            new_dir: tmp.path().join("new"),
            pool,
        };
        let poll = Poll {
            every: Duration::from_millis(10),
            timeout: Duration::from_millis(10),
        };
        assert!(run(&load, poll, &mut Blind).is_err());
        let no_pool = Load {
            rate: 10.0,
            seconds: 0.1,
            new_every: 0,
            pool: vec![],
            ..load
        };
        assert!(run(&no_pool, poll, &mut Blind).is_err());
    }
}
