//! A burst of new files under a running daemon, and a directory move: how long until the index shows
//! them, and what the burst costs the daemon in memory and descriptors.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{BenchError, Result};
use crate::latency::{DaemonSearcher, run_tag};
use crate::procfs::{self, ProcPeaks, Sampler};

/// What a burst measured.
#[derive(Debug, Clone, PartialEq)]
pub struct BurstOutcome {
    /// Files created.
    pub files: u64,
    /// Seconds to create them (directories included).
    pub create_s: f64,
    /// Seconds the one sync after the burst took.
    pub sync_s: f64,
    /// Seconds from the first create to the count after the sync.
    pub searchable_s: f64,
    /// Files the count after the sync found (should equal `files`).
    pub found: u64,
    /// Descriptors the daemon held before the burst.
    pub fds_before: u64,
    /// `VmHWM` of the daemon before the burst, KiB.
    pub hwm_before_kb: u64,
    /// Peaks sampled from the start of the burst to the end of the count.
    pub peaks: ProcPeaks,
    /// `VmRSS` of the daemon after the count, KiB.
    pub rss_after_kb: u64,
}

/// Checks that `path` can be put in a quoted `path:"..."` filter.
fn quotable(path: &Path) -> Result<&str> {
    match path.to_str() {
        Some(s) if !s.contains('"') => Ok(s),
        _ => Err(BenchError::Invalid(format!(
            "{} cannot be used in a path: filter (not UTF-8, or holds a double quote)",
            path.display()
        ))),
    }
}

/// Creates `files` small files under `dir` (in subdirectories of `per_dir` files, created on the way)
/// as fast as possible while the daemon `pid` watches, sampling its descriptors and memory every
/// `every`; then one sync through `searcher` and a count of the files holding the burst's token.
pub fn burst(
    dir: &Path,
    files: u64,
    per_dir: u64,
    pid: u32,
    searcher: &mut DaemonSearcher,
    sync_timeout: Duration,
    every: Duration,
) -> Result<BurstOutcome> {
    if files == 0 || per_dir == 0 {
        return Err(BenchError::Invalid(
            "files and per-dir must be positive".into(),
        ));
    }
    let token = format!("fbb{}", run_tag());
    let fds_before = procfs::fd_count(pid)?;
    let hwm_before_kb = procfs::status_kb(&procfs::status_text(pid)?, "VmHWM").unwrap_or(0);
    let sampler = Sampler::start(pid, every);
    let start = Instant::now();
    let mut sub = PathBuf::new();
    for i in 0..files {
        if i % per_dir == 0 {
            sub = dir.join(format!("{token}-{:04}", i / per_dir));
            std::fs::create_dir_all(&sub).map_err(|e| BenchError::io("cannot create", &sub, e))?;
        }
        let path = sub.join(format!("f{i:06}.txt"));
        std::fs::write(&path, format!("fandex bench burst file {i} {token}\n"))
            .map_err(|e| BenchError::io("cannot write", &path, e))?;
    }
    let create_s = start.elapsed().as_secs_f64();
    let sync_start = Instant::now();
    searcher
        .client()
        .sync(sync_timeout)
        .map_err(|e| BenchError::Invalid(format!("sync after the burst: {e}")))?;
    let sync_s = sync_start.elapsed().as_secs_f64();
    // The burst's directories are named after the token too: count the files only.
    let found = searcher.count(&format!("{token} -type:folder"))? as u64;
    let searchable_s = start.elapsed().as_secs_f64();
    let peaks = sampler.finish()?;
    let rss_after_kb = procfs::status_kb(&procfs::status_text(pid)?, "VmRSS").unwrap_or(0);
    Ok(BurstOutcome {
        files,
        create_s,
        sync_s,
        searchable_s,
        found,
        fds_before,
        hwm_before_kb,
        peaks,
        rss_after_kb,
    })
}

/// What a directory move measured.
#[derive(Debug, Clone, PartialEq)]
pub struct MoveOutcome {
    /// Files in the moved directory.
    pub files: u64,
    /// Seconds from the rename to the first count of `files` at the new path (`None`: timed out).
    pub all_new_s: Option<f64>,
    /// Seconds from the rename to the first count of none at the old path (`None`: timed out).
    pub none_old_s: Option<f64>,
    /// Files found at the new path at the end.
    pub found_new: u64,
    /// Files still found at the old path at the end.
    pub left_old: u64,
    /// Counting rounds (two searches each).
    pub polls: u64,
}

/// Creates `root/NAME-a` holding `files` files, syncs and checks they are all indexed, renames it to
/// `root/NAME-b`, then counts (no sync) the files found under each path every `every` until all are at
/// the new path and none at the old one, or `timeout`.
pub fn move_dir(
    root: &Path,
    files: u64,
    searcher: &mut DaemonSearcher,
    every: Duration,
    timeout: Duration,
) -> Result<MoveOutcome> {
    let token = format!("fbm{}", run_tag());
    let src = root.join(format!("{token}-a"));
    let dst = root.join(format!("{token}-b"));
    let (src_q, dst_q) = (quotable(&src)?, quotable(&dst)?);
    std::fs::create_dir(&src).map_err(|e| BenchError::io("cannot create", &src, e))?;
    for i in 0..files {
        let path = src.join(format!("f{i:06}.txt"));
        std::fs::write(&path, format!("fandex bench move file {i} {token}\n"))
            .map_err(|e| BenchError::io("cannot write", &path, e))?;
    }
    searcher
        .client()
        .sync(Duration::from_secs(600))
        .map_err(|e| BenchError::Invalid(format!("sync before the move: {e}")))?;
    let before = searcher.count(&format!("{token} path:\"{src_q}\""))? as u64;
    if before != files {
        return Err(BenchError::Invalid(format!(
            "after a sync, {before} of the {files} files of {} are found there (daemon bug?)",
            src.display()
        )));
    }
    let start = Instant::now();
    std::fs::rename(&src, &dst).map_err(|e| BenchError::io("cannot rename", &src, e))?;
    let mut out = MoveOutcome {
        files,
        all_new_s: None,
        none_old_s: None,
        found_new: 0,
        left_old: files,
        polls: 0,
    };
    loop {
        let round = Instant::now();
        out.found_new = searcher.count(&format!("{token} path:\"{dst_q}\""))? as u64;
        out.left_old = searcher.count(&format!("{token} path:\"{src_q}\""))? as u64;
        out.polls += 1;
        let t = start.elapsed().as_secs_f64();
        if out.all_new_s.is_none() && out.found_new == files {
            out.all_new_s = Some(t);
        }
        if out.none_old_s.is_none() && out.left_old == 0 {
            out.none_old_s = Some(t);
        }
        if (out.all_new_s.is_some() && out.none_old_s.is_some()) || start.elapsed() > timeout {
            return Ok(out);
        }
        if let Some(wait) = (round + every).checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fandex::watcher::{Backend, RenameSource};
    use fandex::{Config, Daemon, DaemonOptions, IndexDir};

    /// A daemon in this process (inotify: works without privileges), listening on its socket.
    fn daemon(tmp: &Path) -> (Daemon, PathBuf, PathBuf) {
        let root = tmp.join("root");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("old.txt"), "already there\n").unwrap();
        let index_dir = IndexDir::at(tmp.join("idx"));
        let socket = index_dir.socket_path();
        let d = Daemon::start(DaemonOptions {
            index_dir,
            config: Config::default(),
            roots: vec![root.clone()],
            backend: Some(Backend::Inotify),
            rename_source: Some(RenameSource::Inotify),
            listen: true,
            parser: None,
            dbus: None,
        })
        .unwrap();
        (d, root, socket)
    }

    #[test]
    fn a_burst_is_counted_after_one_sync() {
        let tmp = tempfile::tempdir().unwrap();
        let (d, root, socket) = daemon(tmp.path());
        let mut s = DaemonSearcher::connect(&socket).unwrap();
        let me = std::process::id();
        let o = burst(
            &root.join("burst"),
            250,
            100,
            me,
            &mut s,
            Duration::from_secs(60),
            Duration::from_millis(1),
        )
        .unwrap();
        assert_eq!((o.files, o.found), (250, 250), "{o:?}");
        assert!(
            o.sync_s > 0.0 && o.searchable_s >= o.create_s + o.sync_s,
            "{o:?}"
        );
        assert!(
            o.peaks.fds >= o.fds_before.min(1) && o.peaks.rss.hwm_kb > 0,
            "{o:?}"
        );
        // Three subdirectories of at most 100 files.
        assert_eq!(std::fs::read_dir(root.join("burst")).unwrap().count(), 3);
        assert!(
            burst(
                &root,
                0,
                1,
                me,
                &mut s,
                Duration::from_secs(1),
                Duration::from_millis(1)
            )
            .is_err()
        );
        d.stop().unwrap();
    }

    #[test]
    fn a_moved_directory_is_found_at_its_new_path() {
        let tmp = tempfile::tempdir().unwrap();
        let (d, root, socket) = daemon(tmp.path());
        let mut s = DaemonSearcher::connect(&socket).unwrap();
        let o = move_dir(
            &root,
            300,
            &mut s,
            Duration::from_millis(5),
            Duration::from_secs(60),
        )
        .unwrap();
        assert_eq!((o.files, o.found_new, o.left_old), (300, 300, 0), "{o:?}");
        assert!(o.all_new_s.is_some() && o.none_old_s.is_some(), "{o:?}");
        assert!(o.polls >= 1);
        d.stop().unwrap();
    }

    #[test]
    fn latency_through_a_daemon() {
        let tmp = tempfile::tempdir().unwrap();
        let (d, root, socket) = daemon(tmp.path());
        let mut s = DaemonSearcher::connect(&socket).unwrap();
        let load = crate::latency::Load {
            rate: 100.0,
            seconds: 0.5,
            new_every: 2,
            group: 10,
            new_dir: root.join("new"),
            pool: crate::latency::rewrite_pool(&root, &root.join("new"), &[]).unwrap(),
        };
        let poll = crate::latency::Poll {
            every: Duration::from_millis(5),
            timeout: Duration::from_secs(30),
        };
        let o = crate::latency::run(&load, poll, &mut s).unwrap();
        // One old file, rewritten 25 times: a rewrite may be superseded before it is seen.
        assert_eq!(
            (o.changes, o.created, o.rewritten, o.missed),
            (50, 25, 25, 0),
            "{o:?}"
        );
        assert_eq!(o.seen_ms.len() as u64 + o.superseded, 50, "{o:?}");
        assert!(o.seen_ms.len() >= 25, "{o:?}");
        d.stop().unwrap();
    }

    #[test]
    fn path_filters_must_be_quotable() {
        assert_eq!(quotable(Path::new("/a b/c")).unwrap(), "/a b/c");
        assert!(quotable(Path::new("/a\"b")).is_err());
        use std::os::unix::ffi::OsStrExt;
        assert!(quotable(Path::new(std::ffi::OsStr::from_bytes(b"/\xff"))).is_err());
    }
}
