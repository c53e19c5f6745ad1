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

mod searchers;
mod stages;
#[cfg(test)]
mod tests;
mod writer;

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::error::{BenchError, Result};
use crate::stats::percentile;

pub use searchers::{
    CommandSearcher, DaemonSearcher, RecollSearcher, Searcher, parse_listed_paths,
    parse_recollq_urls,
};
pub use stages::{daemon_stages, stage_metrics};
pub use writer::{
    DEFAULT_POOL_EXTENSIONS, Load, MAX_REWRITE_BYTES, letters, rewrite_pool, run_tag,
};
use writer::{Written, group_token, write_changes};

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
