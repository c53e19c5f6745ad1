//! The writer side of a latency run: the files it may rewrite, the tokens it writes, and the thread that
//! creates and rewrites files at a steady rate, reporting each change (path, group, time of close).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::corpus::list_files;
use crate::error::{BenchError, Result};

/// Files larger than this are not rewritten (their content is held in memory).
pub const MAX_REWRITE_BYTES: u64 = 1 << 20;

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

pub(super) struct Written {
    pub(super) group: u64,
    pub(super) path: Vec<u8>,
    pub(super) at: Instant,
}

pub(super) struct WriterReport {
    pub(super) created: u64,
    pub(super) rewritten: u64,
    pub(super) first: Option<Instant>,
    pub(super) last: Option<Instant>,
}

pub(super) fn group_token(tag: &str, group: u64) -> String {
    format!("fbg{tag}{}", letters(group, 5))
}

pub(super) fn write_changes(
    load: &Load,
    tag: &str,
    tx: &mpsc::Sender<Written>,
) -> Result<WriterReport> {
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
