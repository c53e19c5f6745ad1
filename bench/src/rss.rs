//! Where a process's memory goes: peaks of anonymous and file-backed resident memory, sampled from
//! `/proc/PID/status` while it runs. `/usr/bin/time` gives the exact peak RSS but not its split, and
//! file-backed pages (a memory-mapped index) are reclaimable where anonymous ones are not.

use std::ffi::OsString;
use std::process::Command;
use std::time::Duration;

use crate::error::{BenchError, Result};

/// Peaks seen while sampling, in KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RssPeaks {
    /// Largest `RssAnon` sampled.
    pub anon_kb: u64,
    /// Largest `RssFile` sampled.
    pub file_kb: u64,
    /// Largest `VmHWM` (the kernel's own peak RSS) sampled.
    pub hwm_kb: u64,
    /// How many samples were taken.
    pub samples: u64,
}

impl RssPeaks {
    /// Folds one `/proc/PID/status` text into the peaks; returns whether it held memory figures (a
    /// process that already exited has none).
    pub fn update(&mut self, status: &str) -> bool {
        let mut seen = false;
        for line in status.lines() {
            let Some((key, rest)) = line.split_once(':') else {
                continue;
            };
            let slot = match key {
                "RssAnon" => &mut self.anon_kb,
                "RssFile" => &mut self.file_kb,
                "VmHWM" => &mut self.hwm_kb,
                _ => continue,
            };
            if let Some(kb) = rest
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
            {
                *slot = (*slot).max(kb);
                seen = true;
            }
        }
        if seen {
            self.samples += 1;
        }
        seen
    }
}

/// Runs `argv` (stdin, stdout and stderr inherited) and samples its `/proc/PID/status` every `every`
/// until it exits. Returns its exit code (`None` when killed by a signal) and the peaks. Only the
/// process itself is sampled, not its children (see [`run_watched_with`]).
pub fn run_watched(argv: &[OsString], every: Duration) -> Result<(Option<i32>, RssPeaks)> {
    run_sampling(argv, every, None)
}

/// [`run_watched`], also calling `on_sample` with the process's pid at each sample (e.g. to sample its
/// children's memory).
pub fn run_watched_with(
    argv: &[OsString],
    every: Duration,
    on_sample: &mut dyn FnMut(u32),
) -> Result<(Option<i32>, RssPeaks)> {
    run_sampling(argv, every, Some(on_sample))
}

fn run_sampling(
    argv: &[OsString],
    every: Duration,
    mut on_sample: Option<&mut dyn FnMut(u32)>,
) -> Result<(Option<i32>, RssPeaks)> {
    let (first, rest) = argv
        .split_first()
        .ok_or_else(|| BenchError::Invalid("no command given".into()))?;
    let describe = || {
        argv.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut child = Command::new(first)
        .args(rest)
        .spawn()
        .map_err(|source| BenchError::Spawn {
            command: describe(),
            source,
        })?;
    let status_path = format!("/proc/{}/status", child.id());
    let mut peaks = RssPeaks::default();
    loop {
        // Sample before checking for exit, so even a short-lived process gets one sample.
        if let Ok(text) = std::fs::read_to_string(&status_path) {
            peaks.update(&text);
        }
        if let Some(on_sample) = on_sample.as_deref_mut() {
            on_sample(child.id());
        }
        match child.try_wait() {
            Ok(Some(status)) => return Ok((status.code(), peaks)),
            Ok(None) => std::thread::sleep(every),
            Err(source) => {
                return Err(BenchError::Spawn {
                    command: describe(),
                    source,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_keeps_maxima() {
        let mut p = RssPeaks::default();
        assert!(p.update("Name:\tx\nVmHWM:\t  900 kB\nRssAnon:\t  500 kB\nRssFile:\t 300 kB\n"));
        assert!(p.update("VmHWM:\t 950 kB\nRssAnon:\t 400 kB\nRssFile:\t 350 kB\n"));
        assert!(!p.update("Name:\tzombie\nState:\tZ (zombie)\n"));
        assert_eq!(
            p,
            RssPeaks {
                anon_kb: 500,
                file_kb: 350,
                hwm_kb: 950,
                samples: 2
            }
        );
    }

    #[test]
    fn sees_a_child_allocate_memory() {
        // dd's 64 MiB block buffer is anonymous memory, touched by every read.
        let argv: Vec<OsString> = ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=40"]
            .iter()
            .map(OsString::from)
            .collect();
        let (code, peaks) = run_watched(&argv, Duration::from_millis(10)).unwrap();
        assert_eq!(code, Some(0));
        assert!(peaks.samples >= 2, "{peaks:?}");
        assert!(peaks.anon_kb >= 60 << 10, "{peaks:?}");
        assert!(peaks.hwm_kb >= peaks.anon_kb, "{peaks:?}");
    }

    #[test]
    fn reports_exit_codes_and_spawn_errors() {
        let argv: Vec<OsString> = ["sh", "-c", "exit 3"].iter().map(OsString::from).collect();
        assert_eq!(
            run_watched(&argv, Duration::from_millis(5)).unwrap().0,
            Some(3)
        );
        let missing = [OsString::from("/nonexistent/prog")];
        assert!(matches!(
            run_watched(&missing, Duration::from_millis(5)),
            Err(BenchError::Spawn { .. })
        ));
        assert!(run_watched(&[], Duration::from_millis(5)).is_err());
    }
}
